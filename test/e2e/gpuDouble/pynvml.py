"""A test double of NVML (the nvidia-ml-py `pynvml` module), for end-to-end tests on a machine without a GPU.

Only the calls tunelab_agent/hostinfo.py makes are here. The GPUs it reports come from the JSON file named by
TUNELAB_FAKE_GPUS (a list of {name, memory_total_mb, memory_used_mb, utilization, compute_capability}), read on
every call, so a test can change a GPU's load and see the Hosts view follow it. Nothing else is faked: the
agent, its host_info and preflight code and the extension are the real ones.
"""

import json
import os

MB = 1024 * 1024


class NVMLError(Exception):
    pass


class _Memory:
    def __init__(self, total, used):
        self.total, self.used, self.free = total, used, total - used


class _Utilization:
    def __init__(self, gpu):
        self.gpu, self.memory = gpu, 0


def _gpus():
    path = os.environ.get("TUNELAB_FAKE_GPUS")
    if not path:
        raise NVMLError("TUNELAB_FAKE_GPUS is not set")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def nvmlInit():
    _gpus()


def nvmlShutdown():
    pass


def nvmlDeviceGetCount():
    return len(_gpus())


def nvmlDeviceGetHandleByIndex(index):
    return index


def nvmlDeviceGetMemoryInfo(handle):
    g = _gpus()[handle]
    return _Memory(g["memory_total_mb"] * MB, g["memory_used_mb"] * MB)


def nvmlDeviceGetCudaComputeCapability(handle):
    return tuple(_gpus()[handle].get("compute_capability", [9, 0]))


def nvmlDeviceGetName(handle):
    return _gpus()[handle]["name"]


def nvmlDeviceGetUtilizationRates(handle):
    return _Utilization(_gpus()[handle]["utilization"])
