"""Checks a run config against the host before anything starts: will it fit, and can it run here.

The memory estimate, per training process (= per GPU), in bytes:

    weights      = P_quantized · q + (P − P_quantized) · w
                   P: every parameter of the base model, counted exactly by building it on the meta
                   device from its config (no weights are read); w: bytes of the compute dtype (fp32 4,
                   bf16/fp16 2, auto: 2 on a GPU, 4 on the CPU); with 4/8-bit loading the Linear
                   weights outside the output head (P_quantized) take q = 0.5/1 byte each.
    lora         = T · (4 + 4 + 8)
                   T: trainable parameters, r·(in + out) per targeted Linear (+ out per module with
                   DoRA, + biases with bias all/lora_only); each kept in fp32, with an fp32 gradient and
                   AdamW's two fp32 moments.
    activations  = b·s·L·(6h + 2k + 4i)·w            saved per layer: the two norms' inputs and outputs,
                                                      q, k, v, the attention output, and the MLP's
                                                      gate, up, act(gate) and their product
                 + b·s·L·2·a·s·w   with eager attention (the s×s scores and probabilities per head)
                 + b·s·V·(w + 8)                      logits, their fp32 copy for the loss, and its grad
                   b: training.batch_size, s: dataset.max_length, L layers, h hidden size,
                   k = kv heads·head dim, i MLP size, a attention heads, V vocabulary.
                   With gradient checkpointing only each layer's input is kept, and one layer's
                   activations are rebuilt at a time: b·s·L·h·w + b·s·(6h + 2k + 4i)·w (+ logits).
    overhead     = 10% of the above (allocator fragmentation, temporary buffers) + 1 GiB per GPU
                   (CUDA context, cuBLAS workspace).

With DDP every GPU holds all of it (the batch size is per device). With FSDP the weights and the
LoRA states are split over the N processes, plus one layer's gathered weights. It is an estimate for
dense decoder models; it is meant to catch "70B in bf16 on a 24 GB card", not to be exact to the MB.
"""

import os

from . import trackers
from .data_check import check_data
from .launch import LaunchError, process_count

MB = 1024 * 1024
GB = 1024 * MB
CUDA_CONTEXT = 1 * GB
FRAGMENTATION = 0.10
LORA_BYTES_PER_PARAM = 4 + 4 + 8  # fp32 weight, fp32 grad, AdamW exp_avg + exp_avg_sq
CHECKPOINT_BYTES_PER_PARAM = 4 + 8  # fp32 adapter + optimizer moments kept for resume
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
QUANT_BYTES = {"4bit": 0.5, "8bit": 1.0}
LOG_KB_PER_LINE = 1.6  # a metrics event with its loss terms, lr groups and memory, plus its train.log share


def model_config(model_config_or_path, revision: str | None = None):
    """A transformers config from a config object, a dict (with model_type) or a folder / Hub id."""
    from transformers import AutoConfig, PretrainedConfig

    if isinstance(model_config_or_path, PretrainedConfig):
        return model_config_or_path
    if isinstance(model_config_or_path, dict):
        fields = dict(model_config_or_path)
        return AutoConfig.for_model(fields.pop("model_type"), **fields)
    return AutoConfig.from_pretrained(model_config_or_path, revision=revision)


def empty_model(config):
    """The model with all its modules and parameter shapes but no storage (meta device)."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def count_parameters(model, lora: dict) -> dict:
    """Exact counts from module shapes: all parameters, the quantizable Linear weights, LoRA's."""
    import torch
    from transformers.pytorch_utils import Conv1D

    output_head = model.get_output_embeddings()
    targets = lora["target_modules"]
    total = sum(p.numel() for p in model.parameters())  # tied weights are one parameter, counted once
    quantizable = trainable = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            fan_in, fan_out = module.in_features, module.out_features
        elif isinstance(module, Conv1D):  # GPT-2 style: weight stored transposed
            fan_in, fan_out = module.weight.shape
        else:
            continue
        if module is output_head:
            continue
        quantizable += module.weight.numel()
        if not is_target(name, targets):
            continue
        trainable += lora["r"] * (fan_in + fan_out) + (fan_out if lora.get("use_dora") else 0)
        if lora.get("bias") == "lora_only" and module.bias is not None:
            trainable += module.bias.numel()
    if lora.get("bias") == "all":
        trainable += sum(p.numel() for n, p in model.named_parameters() if n.endswith(".bias"))
    return {"parameters": total, "quantizable": quantizable, "trainable": trainable}


def is_target(module_name: str, targets) -> bool:
    # peft's rule for a list: the module's name, or its last dotted parts, equal a target.
    if targets == "all-linear":
        return True
    return any(module_name == t or module_name.endswith("." + t) for t in targets)


def dtype_bytes(dtype: str, on_gpu: bool) -> int:
    if dtype == "auto":
        return 2 if on_gpu else 4
    return DTYPE_BYTES[dtype]


def estimate_memory(model_config_or_path, config: dict, on_gpu: bool = True, processes: int = 1) -> dict:
    """Memory one training process needs, by part (see the module docstring), in MB and in bytes."""
    model_opts, lora = config["model"], config["lora"]
    cfg = model_config(model_config_or_path, model_opts.get("revision"))
    text = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    counts = count_parameters(empty_model(cfg), lora)

    w = dtype_bytes(model_opts["dtype"], on_gpu)
    quant = QUANT_BYTES.get(model_opts["quantization"])
    if quant is None:
        weights = counts["parameters"] * w
    else:
        weights = counts["quantizable"] * quant + (counts["parameters"] - counts["quantizable"]) * w
    lora_states = counts["trainable"] * LORA_BYTES_PER_PARAM

    h, layers, vocab = text.hidden_size, text.num_hidden_layers, text.vocab_size
    heads = text.num_attention_heads
    head_dim = getattr(text, "head_dim", None) or h // heads
    kv = (getattr(text, "num_key_value_heads", None) or heads) * head_dim
    mlp = getattr(text, "intermediate_size", None) or 4 * h
    b, s = config["training"]["batch_size"], config["dataset"]["max_length"]
    per_layer = b * s * (6 * h + 2 * kv + 4 * mlp) * w
    if model_opts["attn_implementation"] == "eager":
        per_layer += b * s * 2 * heads * s * w
    logits = b * s * vocab * (w + 8)
    if model_opts["gradient_checkpointing"]:
        activations = b * s * layers * h * w + per_layer + logits
    else:
        activations = per_layer * layers + logits

    fsdp = processes > 1 and on_gpu and config["training"]["distributed"] == "fsdp"
    if fsdp:
        weights = weights / processes + weights / layers  # own shard + one gathered block
        lora_states = lora_states / processes
    overhead = FRAGMENTATION * (weights + lora_states + activations) + (CUDA_CONTEXT if on_gpu else 0)
    total = weights + lora_states + activations + overhead
    mb = lambda n: round(n / MB, 1)
    return {"parameters": counts["parameters"], "trainable_parameters": counts["trainable"],
            "weights_mb": mb(weights), "lora_mb": mb(lora_states), "activations_mb": mb(activations),
            "overhead_mb": mb(overhead), "total_mb": mb(total), "device": "gpu" if on_gpu else "cpu",
            "processes": processes, "sharded": fsdp,
            "checkpoint_mb": mb(counts["trainable"] * CHECKPOINT_BYTES_PER_PARAM + MB),
            "bytes": {"weights": int(weights), "lora": int(lora_states), "activations": int(activations),
                      "overhead": int(overhead), "total": int(total)}}


def preflight(config: dict, resolved: dict, host: dict, root: str) -> dict:
    """Blocking errors and warnings for running `config` on `host`; each message starts with its key."""
    errors, warnings = [], []
    model_opts, opts = config["model"], config["training"]
    gpus = host["gpus"]
    on_gpu = bool(gpus)
    versions = host.get("versions", {})

    try:
        processes = process_count(config, len(gpus))
    except LaunchError as exc:
        errors.append(str(exc))
        processes = 1
    if not on_gpu:
        warnings.append("training.gpus: this host has no CUDA GPU; the run trains on the CPU, which is slow "
                        "beyond tiny models")
    if processes > 1 and opts["distributed"] == "fsdp" and not on_gpu:
        warnings.append("training.distributed: fsdp needs CUDA GPUs; the CPU processes train with DDP instead")

    quantization = model_opts["quantization"]
    if quantization != "none" and not on_gpu:
        errors.append(f"model.quantization: {quantization} loading needs a CUDA GPU and this host has none")
    elif quantization != "none" and not versions.get("bitsandbytes"):
        errors.append(f"model.quantization: {quantization} loading needs bitsandbytes, which is not installed here "
                      "(pip install bitsandbytes)")
    if model_opts["attn_implementation"] == "flash_attention_2":
        if not versions.get("flash_attn"):
            errors.append("model.attn_implementation: flash_attention_2 needs the flash-attn package, which is not "
                          "installed here; use sdpa or auto")
        elif not on_gpu:
            errors.append("model.attn_implementation: flash_attention_2 needs a CUDA GPU and this host has none")
    used_gpus = gpus[:processes]
    if model_opts["dtype"] == "bf16":
        for gpu in used_gpus:
            if gpu.get("bf16") is False:
                errors.append(f"model.dtype: GPU {gpu['index']} ({gpu['name']}) has no bf16 support; use fp16 or auto")
    elif model_opts["dtype"] == "fp16" and not on_gpu:
        warnings.append("model.dtype: fp16 on the CPU is slow and loses precision; use auto or fp32")

    errors.extend(trackers.missing(opts["report_to"]))
    errors.extend(trackers.missing_for_method(opts["method"]))

    estimate = None
    try:
        estimate = estimate_memory(resolved["model"], config, on_gpu=on_gpu, processes=processes)
    except Exception as exc:  # a Hub id without network, a config transformers cannot build, ...
        errors.append(f"model.name: cannot read the model's config from {resolved['model']}: {exc}")
    if estimate:
        check_memory(estimate, used_gpus, host, errors, warnings)
        estimate["disk"] = disk_need(estimate, config, resolved)
        check_disk(estimate["disk"], host, root, warnings)
    data, data_errors, data_warnings = check_data(config, resolved, root)
    errors += data_errors
    warnings += data_warnings
    return {"errors": errors, "warnings": warnings, "estimate": estimate, "data": data}


def check_memory(estimate: dict, used_gpus: list[dict], host: dict, errors: list, warnings: list) -> None:
    need = estimate["total_mb"]
    parts = (f"weights {size_text(estimate['weights_mb'])}, LoRA + optimizer {size_text(estimate['lora_mb'])}, "
             f"activations {size_text(estimate['activations_mb'])}, overhead {size_text(estimate['overhead_mb'])}")
    remedies = ("try model.quantization: 4bit, model.gradient_checkpointing: true, a smaller training.batch_size "
                "or dataset.max_length")
    if not used_gpus:
        if need > host["ram_total_mb"]:
            errors.append(f"model.name: training needs about {size_text(need)} of RAM ({parts}) but this host has "
                          f"{size_text(host['ram_total_mb'])}; {remedies}")
        elif need > host["ram_available_mb"]:
            warnings.append(f"model.name: training needs about {size_text(need)} of RAM but only "
                            f"{size_text(host['ram_available_mb'])} is available now")
        return
    for gpu in used_gpus:
        where = f"GPU {gpu['index']} ({gpu['name']})"
        if need > gpu["memory_total_mb"]:
            errors.append(f"model.name: training needs about {size_text(need)} per GPU ({parts}) but {where} has "
                          f"{size_text(gpu['memory_total_mb'])}; {remedies}")
        elif need > gpu["memory_free_mb"]:
            warnings.append(f"model.name: training needs about {size_text(need)} per GPU but {where} has only "
                            f"{size_text(gpu['memory_free_mb'])} free now (another process is using it)")


def disk_need(estimate: dict, config: dict, resolved: dict) -> dict:
    """Disk a run fills under the agent root, in MB: the checkpoints kept (the last save_total_limit plus the
    best) × (adapter + optimizer state), and its logs (events.jsonl and train.log, about LOG_KB_PER_LINE
    per logged step and evaluation)."""
    opts = config["training"]
    count = opts["save_total_limit"] + 1
    steps = opts.get("max_steps") or _steps_from_rows(resolved.get("train"), opts)
    lines = steps // max(opts["logging_steps"], 1) + steps // max(opts["eval_steps"], 1) + 50
    logs = round(lines * LOG_KB_PER_LINE / 1024 + 1, 1)
    checkpoints = round(count * estimate["checkpoint_mb"], 1)
    return {"checkpoints": count, "checkpoint_mb": estimate["checkpoint_mb"], "checkpoints_mb": checkpoints,
            "logs_mb": logs, "total_mb": round(checkpoints + logs, 1)}


def _steps_from_rows(train_path: str | None, opts: dict) -> int:
    rows = 10_000  # when the file cannot be counted (not there yet): a typical fine-tuning set
    if train_path and os.path.isfile(train_path) and train_path.endswith(".parquet"):
        try:
            import pyarrow.parquet

            rows = pyarrow.parquet.ParquetFile(train_path).metadata.num_rows  # the footer says; nothing is read
        except (ImportError, OSError, ValueError):
            pass  # the data check reports an unreadable file; the estimate keeps its default
    elif train_path and os.path.isfile(train_path) and train_path.endswith((".jsonl", ".json", ".csv", ".txt")):
        with open(train_path, "rb") as f:
            rows = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
    per_step = opts["batch_size"] * opts["gradient_accumulation_steps"]
    return max(1, -(-rows // per_step) * int(opts["epochs"] or 1))


def check_disk(need: dict, host: dict, root: str, warnings: list) -> None:
    free = host.get("disk_free_mb")
    if free is None:
        from .hostinfo import disk_free_mb

        free = disk_free_mb(root)
    if need["total_mb"] > free:
        warnings.append(
            f"training.save_total_limit: this run needs about {need['total_mb']:.0f} MB of disk ({need['checkpoints']} "
            f"checkpoints × {need['checkpoint_mb']:.1f} MB of adapter + optimizer state, plus {need['logs_mb']:.0f} MB "
            f"of logs) but {os.path.abspath(root)} has {free} MB free; free some space, lower "
            "training.save_total_limit, or move the agent root. A run that fills the disk fails at its next save")


def size_text(mb: float) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MB"
