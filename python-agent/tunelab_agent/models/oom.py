"""CUDA out-of-memory: telling it apart, and saying what happened beside what preflight expected.

PyTorch raises torch.cuda.OutOfMemoryError (a RuntimeError) when an allocation on the GPU fails. The
run, or the generation request, ends with the allocator's own first line and the preflight estimate
for the same config, so the person sees at once whether the estimate was wrong or the GPU was shared.
"""

OOM_TEXT = "cuda out of memory"
REMEDIES = ("model.gradient_checkpointing: true, a smaller training.batch_size or dataset.max_length, "
            "or model.quantization: 4bit")


def is_cuda_oom(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if type(exc).__name__ == "OutOfMemoryError" and type(exc).__module__.startswith("torch"):
            return True
        if OOM_TEXT in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300].rstrip(". ") if text else type(exc).__name__


def estimate_text(model_path: str, config: dict, processes: int) -> str:
    """'the preflight estimate is 21.3 GiB per GPU (weights ..., ...)' or why there is none."""
    from .sizing import estimate_memory, size_text

    try:
        e = estimate_memory(model_path, config, on_gpu=True, processes=processes)
    except Exception as exc:  # the estimate must never hide the real failure
        return f"no preflight estimate ({type(exc).__name__}: {exc})"
    return (f"the preflight estimate for this config is {size_text(e['total_mb'])} per GPU (weights "
            f"{size_text(e['weights_mb'])}, LoRA + optimizer {size_text(e['lora_mb'])}, activations "
            f"{size_text(e['activations_mb'])}, overhead {size_text(e['overhead_mb'])})")


def training_cause(exc: BaseException, step: int, model_path: str, config: dict, processes: int) -> str:
    return (f"CUDA out of memory at step {step} ({first_line(exc)}); {estimate_text(model_path, config, processes)}"
            f"{gpu_note()}; try {REMEDIES}")


def generation_cause(exc: BaseException, model_path: str, adapters: list[str], max_new_tokens: int) -> str:
    from .sizing import load_size_text

    return (f"CUDA out of memory while generating with {', '.join(adapters)} ({first_line(exc)}); loading the model "
            f"takes {load_size_text(model_path)} (preflight estimate){gpu_note()}; fewer adapters side by side or "
            f"a smaller max_new_tokens (now {max_new_tokens}) needs less")


def gpu_note() -> str:
    """'; GPU 0 (H100) has 1.2 GiB of 80.0 GiB free now' when torch can tell, else ''."""
    try:
        import torch

        if not torch.cuda.is_available():
            return ""
        device = torch.cuda.current_device()
        torch.cuda.empty_cache()  # what the failed allocation's neighbours held is not in use any more
        free, total = torch.cuda.mem_get_info(device)
        name = torch.cuda.get_device_name(device)
        return f"; GPU {device} ({name}) has {free / 2**30:.1f} GiB of {total / 2**30:.1f} GiB free now"
    except Exception:
        return ""
