"""How much memory a model needs: to train it with LoRA (preflight, the CUDA out-of-memory message) and
to load it for generation.

The training estimate, per training process (= per GPU), in bytes:

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
                   DPO: b counts each pair's chosen and rejected rows (2 × batch_size). KTO: a no-grad
                   pass over mismatched answers for the KL term adds b·s·V·(w + 4) of logits. The reference
                   model is the base with the adapter switched off, so it adds no weights.
    overhead     = 10% of the above (allocator fragmentation, temporary buffers) + 1 GiB per GPU
                   (CUDA context, cuBLAS workspace).

With DDP every GPU holds all of it (the batch size is per device). With FSDP the weights and the
LoRA states are split over the N processes, plus one layer's gathered weights. It is an estimate for
dense decoder models; it is meant to catch "70B in bf16 on a 24 GB card", not to be exact to the MB.

torch and transformers are imported inside the functions that use them: the agent server imports this
module (through preflight) and stays torch-free until a request needs a model.
"""

import os

from ..libraries import from_transformers
from . import architectures

MB = 1024 * 1024
GB = 1024 * MB
CUDA_CONTEXT = 1 * GB
FRAGMENTATION = 0.10
LORA_BYTES_PER_PARAM = 4 + 4 + 8  # fp32 weight, fp32 grad, AdamW exp_avg + exp_avg_sq
CHECKPOINT_BYTES_PER_PARAM = 4 + 8  # fp32 adapter + optimizer moments kept for resume
DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
QUANT_BYTES = {"4bit": 0.5, "8bit": 1.0}


class UnknownModel(Exception):
    """A Hub id whose config.json is not here and whose shape is not built in: no estimate is made."""


def model_config(model_config_or_path, revision: str | None = None):
    """A transformers config from a config object, a dict (with model_type), a folder or a Hub id.

    A Hub id is read from the Hugging Face cache, never downloaded (preflight runs as the person types); else
    its built-in shape (architectures.py) stands in, and the config says so in `tunelab_basis`.
    """
    AutoConfig, PretrainedConfig = from_transformers("AutoConfig", "PretrainedConfig")

    if isinstance(model_config_or_path, PretrainedConfig):
        return model_config_or_path
    if isinstance(model_config_or_path, dict):
        fields = dict(model_config_or_path)
        return AutoConfig.for_model(fields.pop("model_type"), **fields)
    if os.path.isabs(model_config_or_path) or os.path.isdir(model_config_or_path):  # a folder (missing: an error)
        return AutoConfig.from_pretrained(model_config_or_path, revision=revision)
    try:
        return AutoConfig.from_pretrained(model_config_or_path, revision=revision, local_files_only=True)
    except (OSError, ValueError):
        pass
    key = architectures.shape_name(model_config_or_path)
    if key is None:
        raise UnknownModel(f"unknown model: {model_config_or_path} is not in this host's Hugging Face cache and its "
                           f"shape is not built in ({', '.join(architectures.SHAPES)}); there is no memory estimate "
                           "until its config.json is here (a local folder, or the Hub cache)")
    fields = architectures.config_fields(key)
    cfg = AutoConfig.for_model(fields.pop("model_type"), **fields)
    cfg.tunelab_basis = f"the built-in shape of {key}"
    return cfg


def empty_model(config):
    """The model with all its modules and parameter shapes but no storage (meta device)."""
    import torch
    (AutoModelForCausalLM,) = from_transformers("AutoModelForCausalLM")

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
    method = config["training"].get("method", "sft")
    # DPO runs chosen and rejected through the model in one batch, so every row counts twice; KTO's batch is
    # its own rows, plus a no-grad pass over mismatched pairs for the KL term whose logits exist meanwhile.
    b, s = config["training"]["batch_size"] * (2 if method == "dpo" else 1), config["dataset"]["max_length"]
    per_layer = b * s * (6 * h + 2 * kv + 4 * mlp) * w
    if model_opts["attn_implementation"] == "eager":
        per_layer += b * s * 2 * heads * s * w
    logits = b * s * vocab * (w + 8)
    if method == "kto":
        logits += b * s * vocab * (w + 4)
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
            "basis": getattr(cfg, "tunelab_basis", "the model's config.json"),
            "weights_mb": mb(weights), "lora_mb": mb(lora_states), "activations_mb": mb(activations),
            "overhead_mb": mb(overhead), "total_mb": mb(total), "device": "gpu" if on_gpu else "cpu",
            "processes": processes, "sharded": fsdp, "method": method,
            "checkpoint_mb": mb(counts["trainable"] * CHECKPOINT_BYTES_PER_PARAM + MB),
            "bytes": {"weights": int(weights), "lora": int(lora_states), "activations": int(activations),
                      "overhead": int(overhead), "total": int(total)}}


def size_text(mb: float) -> str:
    return f"{mb / 1024:.1f} GiB" if mb >= 1024 else f"{mb:.0f} MB"


# --- loading a model for generation ---------------------------------------------------------------

LOAD_OVERHEAD = 1.2  # weights × this ≈ what loading needs (buffers, allocator slack, the KV cache)
LOAD_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}  # by torch dtype name


def load_dtype(model_path: str, device: str):
    """The torch.dtype to load with: fp32 on the CPU; on a GPU the dtype the checkpoint was saved in
    (bf16/fp16 for real models)."""
    import torch

    if device == "cpu":
        return torch.float32
    (AutoConfig,) = from_transformers("AutoConfig")

    saved = getattr(AutoConfig.from_pretrained(model_path), "dtype", None)
    if isinstance(saved, str):
        saved = getattr(torch, saved, None)
    return saved if isinstance(saved, torch.dtype) and _dtype_name(saved) in LOAD_DTYPE_BYTES else torch.float32


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def load_dtype_bytes(model_path: str, device: str) -> int:
    return LOAD_DTYPE_BYTES[_dtype_name(load_dtype(model_path, device))]


def parameter_count(model_path: str) -> int:
    """Exact parameter count from the config alone: the model is built on the meta device (no memory)."""
    return sum(p.numel() for p in empty_model(model_config(model_path)).parameters())


def load_bytes(model_path: str, device: str = "cuda") -> int:
    return int(parameter_count(model_path) * load_dtype_bytes(model_path, device) * LOAD_OVERHEAD)


def load_size_text(model_path: str, device: str = "cuda") -> str:
    params = parameter_count(model_path)
    return (f"about {load_bytes(model_path, device) / 2**30:.1f} GiB ({params / 1e6:.1f}M parameters × "
            f"{load_dtype_bytes(model_path, device)} bytes × {LOAD_OVERHEAD})")
