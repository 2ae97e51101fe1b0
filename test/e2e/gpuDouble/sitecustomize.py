"""Test double for a GPU (see pynvml.py next to this file): with this folder on PYTHONPATH, the agent's
host_info asks NVML (here the fake pynvml) for its GPUs even though torch sees no CUDA device on this machine.

Only tunelab_agent.hostinfo.gpus is redirected, when that module is imported; training and evaluation still
ask torch, so they run on the CPU as they must here. Used by test/e2e/launcher.test.ts.
"""

import importlib.abc
import os
import sys

_TARGET = "tunelab_agent.hostinfo"


class _HostInfoPatch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            # The real NVML reader, without the torch.cuda.is_available() gate a CPU-only torch closes.
            module.gpus = lambda: module._gpus_from_nvml() or []

        spec.loader.exec_module = exec_and_patch
        return spec


if os.environ.get("TUNELAB_FAKE_GPUS"):
    sys.meta_path.insert(0, _HostInfoPatch())
