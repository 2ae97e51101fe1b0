"""GPU memory and utilisation for the metrics event, read without synchronising the device.

torch.cuda.memory_allocated/memory_reserved/max_memory_allocated read the caching allocator's
counters on the host, so they never wait for queued kernels. Utilisation comes from NVML
(torch.cuda.utilization), which also asks the driver rather than the stream; it is only tried
when pynvml is importable, because without it torch raises.
"""

import importlib.util

MB = 1024 * 1024


def gpu_memory(device=None) -> dict | None:
    """{allocated_mb, reserved_mb, peak_mb, utilization (percent or None)} for this process's GPU; None on CPU."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    device = torch.cuda.current_device() if device is None else device
    return {
        "allocated_mb": round(torch.cuda.memory_allocated(device) / MB, 1),
        "reserved_mb": round(torch.cuda.memory_reserved(device) / MB, 1),
        "peak_mb": round(torch.cuda.max_memory_allocated(device) / MB, 1),
        "utilization": _utilization(device),
    }


_HAS_NVML = None


def _utilization(device) -> float | None:
    global _HAS_NVML
    if _HAS_NVML is None:
        _HAS_NVML = importlib.util.find_spec("pynvml") is not None
    if not _HAS_NVML:
        return None
    import torch

    try:
        return float(torch.cuda.utilization(device))
    except Exception:  # NVML missing from the driver, or no permission: utilisation is optional
        return None
