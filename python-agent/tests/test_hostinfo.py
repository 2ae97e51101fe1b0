"""host_info on this CPU-only machine: real numbers from psutil and the installed libraries."""

import platform

import peft
import torch
import transformers

from tunelab_agent.hostinfo import disk_free_mb, host_info


def test_host_info_describes_this_cpu_host(tmp_path):
    info = host_info(str(tmp_path / "root-not-created-yet"))
    assert info["gpus"] == []  # no CUDA here
    assert info["cpu_count"] >= 1
    assert 0 < info["ram_available_mb"] <= info["ram_total_mb"]
    assert info["disk_free_mb"] > 0
    versions = info["versions"]
    assert versions["python"] == platform.python_version()
    assert versions["torch"] == torch.__version__ and versions["cuda"] is None
    assert versions["transformers"] == transformers.__version__
    assert versions["peft"] == peft.__version__
    assert versions["accelerate"]
    assert versions["bitsandbytes"] is None  # not installed on this host


def test_disk_free_is_measured_on_the_nearest_existing_folder(tmp_path):
    assert disk_free_mb(str(tmp_path / "a" / "b")) == disk_free_mb(str(tmp_path))
