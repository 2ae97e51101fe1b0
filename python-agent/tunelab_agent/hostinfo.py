"""What this host has to train with: GPUs, CPUs, RAM, free disk under the root, library versions.

The server answers `host_info` with this, and preflight checks a run config against it. GPU facts come
from NVML when it is importable (it also knows utilisation and never creates a CUDA context, which would
hold memory in the long-lived server); otherwise from torch, which sees every GPU but not its load.

A host with no GPU driver at all is answered without importing torch: that import costs the server seconds
of CPU and ~200 MB, and would only say what the missing driver already does.
"""

import ast
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys

import psutil

MB = 1024 * 1024
LIBRARIES = ("transformers", "peft", "accelerate", "bitsandbytes", "flash_attn")


def host_info(root: str) -> dict:
    memory = psutil.virtual_memory()
    return {
        "gpus": gpus(),
        "cpu_count": os.cpu_count() or 1,
        "ram_total_mb": memory.total // MB,
        "ram_available_mb": memory.available // MB,
        "disk_free_mb": disk_free_mb(root),
        "versions": versions(),
    }


# What a CUDA (or ROCm, or WSL2 GPU) driver puts on a Linux host; torch finds no GPU where none exists.
_DRIVER_NODES = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/kfd", "/dev/dxg")


def no_gpu_driver() -> bool:
    """True when this host certainly has no GPU torch.cuda could use (macOS has none; Windows is not judged)."""
    if sys.platform == "darwin":
        return True
    return sys.platform.startswith("linux") and not any(os.path.exists(p) for p in _DRIVER_NODES)


def gpus() -> list[dict]:
    """[{index, name, memory_total_mb, memory_free_mb, utilization, bf16}], [] without CUDA."""
    if no_gpu_driver():
        return []
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return _gpus_from_nvml() or _gpus_from_torch(torch)


def gpu_count() -> int:
    """GPUs a training process started from here would see (CUDA_VISIBLE_DEVICES applies)."""
    if no_gpu_driver():
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _gpus_from_nvml() -> list[dict] | None:
    if importlib.util.find_spec("pynvml") is None:
        return None
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        found = []
        for index in _visible_indices(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, _ = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            found.append({"index": len(found), "name": name.decode() if isinstance(name, bytes) else name,
                          "memory_total_mb": memory.total // MB, "memory_free_mb": memory.free // MB,
                          "utilization": pynvml.nvmlDeviceGetUtilizationRates(handle).gpu,
                          "bf16": major >= 8})
        return found
    except pynvml.NVMLError:
        return None
    finally:
        pynvml.nvmlShutdown()


def _visible_indices(count: int) -> list[int]:
    # NVML numbers every GPU on the host; a run only gets the ones CUDA_VISIBLE_DEVICES names.
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return list(range(count))
    picked = [int(v) for v in visible.split(",") if v.strip().isdigit() and int(v) < count]
    return picked


def _gpus_from_torch(torch) -> list[dict]:
    found = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        free, total = torch.cuda.mem_get_info(index)
        found.append({"index": index, "name": props.name, "memory_total_mb": total // MB,
                      "memory_free_mb": free // MB, "utilization": None, "bf16": props.major >= 8})
    return found


def host_memory() -> dict:
    """{available_mb, total_mb, process_rss_mb} now: the numbers that explain an out-of-memory kill later."""
    global _process
    if _process is None:
        _process = psutil.Process()
    memory = psutil.virtual_memory()
    return {"available_mb": memory.available // MB, "total_mb": memory.total // MB,
            "process_rss_mb": _process.memory_info().rss // MB}


_process = None  # this process, once (it is asked at every logging step)


def disk_free_mb(root: str) -> int:
    # The root may not exist yet; the disk it will live on is the one of its nearest existing parent.
    path = os.path.abspath(root)
    while not os.path.exists(path):
        path = os.path.dirname(path)
    return shutil.disk_usage(path).free // MB


def versions() -> dict:
    out = {"python": platform.python_version(), **torch_version()}
    for name in LIBRARIES:
        out[name] = _installed_version(name)
    return out


def torch_version() -> dict:
    """{torch, cuda}: torch's own version file, read rather than imported (importing torch takes seconds)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return {"torch": torch.__version__, "cuda": torch.version.cuda}
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return {"torch": None, "cuda": None}
    found = {"__version__": None, "cuda": None}
    try:
        with open(os.path.join(spec.submodule_search_locations[0], "version.py"), encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return {"torch": _installed_version("torch"), "cuda": None}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id in found and isinstance(value, ast.Constant):
            found[target.id] = value.value
    return {"torch": found["__version__"] or _installed_version("torch"), "cuda": found["cuda"]}


def _installed_version(module: str) -> str | None:
    # Read from package metadata: importing bitsandbytes or flash_attn just to ask is slow and noisy.
    if importlib.util.find_spec(module) is None:
        return None
    for dist in (module, module.replace("_", "-")):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"
