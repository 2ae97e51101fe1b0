"""Checks a run config against the host before anything starts: will it fit, and can it run here.

The memory estimate is models/sizing.py's; this module compares it with the host's GPUs and RAM, counts the
disk a run fills, and gathers the data check, the trackers and the launch settings.
"""

import os

from ..data.data_check import check_data
from ..models.sizing import UnknownModel, estimate_memory, size_text
from ..models.throughput import epoch_estimate
from . import trackers
from .launch import LaunchError, process_count

LOG_KB_PER_LINE = 1.6  # a metrics event with its loss terms, lr groups and memory, plus its train.log share


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
    except UnknownModel as exc:  # a Hub id not downloaded yet: the run may still fetch it; only the estimate is missing
        warnings.append(f"model.name: {exc}")
    except Exception as exc:  # a config transformers cannot build, ...
        errors.append(f"model.name: cannot read the model's config from {resolved['model']}: {exc}")
    if estimate:
        check_memory(estimate, used_gpus, host, errors, warnings)
        estimate["disk"] = disk_need(estimate, config, resolved)
        check_disk(estimate["disk"], host, root, warnings)
    data, data_errors, data_warnings = check_data(config, resolved, root)
    errors += data_errors
    warnings += data_warnings
    if estimate:
        estimate["epoch"] = epoch_estimate(estimate, data, config, used_gpus)
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
        from ..hostinfo import disk_free_mb

        free = disk_free_mb(root)
    if need["total_mb"] > free:
        warnings.append(
            f"training.save_total_limit: this run needs about {need['total_mb']:.0f} MB of disk ({need['checkpoints']} "
            f"checkpoints × {need['checkpoint_mb']:.1f} MB of adapter + optimizer state, plus {need['logs_mb']:.0f} MB "
            f"of logs) but {os.path.abspath(root)} has {free} MB free; free some space, lower "
            "training.save_total_limit, or move the agent root. A run that fills the disk fails at its next save")
