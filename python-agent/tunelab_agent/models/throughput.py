"""How long one epoch takes: the tokens the data holds, and the compute they need on the host's GPUs.

Tokens come from preflight's data check (the trainer's template and tokenizer, or the characters/4
approximation it labels). Compute is FLOPs per token times tokens, divided by the GPUs' peak dense bf16/fp16
tensor throughput at an assumed model FLOPs utilisation (MFU). The figures are an estimate and say so.

FLOPs per trained token, for N model parameters: the forward pass is 2N; the backward pass computes the
gradients of the activations through the frozen weights, another 2N (the adapter's own weight gradients are
negligible), so LoRA is 4N, not full fine-tuning's 6N. Gradient checkpointing runs the forward again (+2N), and
DPO and KTO also run the reference model (the adapter disabled) forward (+2N).
"""

import math

# Assumed share of the peak that a LoRA run reaches: padding, small adapter matmuls and the optimizer step
# keep it well under a pretraining run's 40-50%.
MFU = 0.35

# Peak dense bf16/fp16 tensor TFLOPS by GPU name (the first match wins, so the longer names come first).
PEAK_TFLOPS = [
    ("H200", 989), ("H100 PCIe", 756), ("H100", 989), ("GH200", 989),
    ("A100", 312), ("A800", 312), ("L40S", 362), ("L40", 181), ("L4", 121), ("A10G", 70), ("A10", 125),
    ("A6000", 155), ("RTX 6000 Ada", 365), ("4090", 165), ("3090", 71), ("V100", 125), ("T4", 65),
]


def peak_tflops(gpu_name: str) -> float | None:
    for part, tflops in PEAK_TFLOPS:
        if part.lower() in gpu_name.lower():
            return tflops
    return None


def flops_per_token(parameters: int, config: dict) -> float:
    factor = 4.0
    if config["model"].get("gradient_checkpointing"):
        factor += 2
    if config["training"].get("method", "sft") in ("dpo", "kto"):
        factor += 2
    return factor * parameters


def epoch_estimate(estimate: dict, data: dict, config: dict, gpus: list[dict], train_lines: int | None = None) -> dict | None:
    """{tokens, rows, steps, approximate, sampled, seconds, basis} for one epoch of the train split, or None
    without a checked train file."""
    train = data.get("train")
    if not train or not train.get("tokens"):
        return None
    tokens, rows = train["tokens"], train["rows"] - train["bad_rows"] - train["over_length"]
    if train.get("sampled") and train["rows"] and train.get("lines", 0) > train["rows"]:
        # Only the first rows were read: the rest of the file is assumed alike.
        scale = train["lines"] / train["rows"]
        tokens, rows = round(tokens * scale), round(rows * scale)
    opts = config["dataset"]
    if not opts.get("eval") and opts.get("eval_ratio", 0.1) > 0:  # the held-out share does not train
        keep = 1 - opts["eval_ratio"]
        tokens, rows = round(tokens * keep), round(rows * keep)
    processes = max(1, estimate.get("processes", 1))
    t = config["training"]
    per_step = t["batch_size"] * t.get("gradient_accumulation_steps", 1) * processes
    out = {"tokens": tokens, "rows": rows, "steps": math.ceil(rows / per_step) if rows else 0, "rows_per_step": per_step,
           "approximate": bool(train.get("approximate")), "sampled": bool(train.get("sampled")),
           "seconds": None, "basis": None, "mfu": MFU}
    used = gpus[:processes]
    peaks = [peak_tflops(g["name"]) for g in used]
    if not used:
        out["basis"] = "no GPU on this host: CPU time is not estimated"
        return out
    if any(p is None for p in peaks):
        unknown = next(g["name"] for g, p in zip(used, peaks) if p is None)
        out["basis"] = f"no peak figure for {unknown}: time is not estimated"
        return out
    flops = flops_per_token(estimate["parameters"], config) * tokens
    out["seconds"] = round(flops / (sum(peaks) * 1e12 * MFU), 1)
    per = flops_per_token(estimate["parameters"], config) / estimate["parameters"]
    names = f"{len(used)} × {used[0]['name']}" if len(used) > 1 else used[0]["name"]
    out["basis"] = (f"{per:g} × {estimate['parameters'] / 1e9:.2g}B parameters × tokens, on {names} at "
                    f"{peaks[0]:g} TFLOPS peak and an assumed {round(MFU * 100)}% utilisation")
    return out
