"""host_info on this CPU-only machine: real numbers from psutil and the installed libraries."""

import json
import platform
import subprocess
import sys

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


def test_a_host_without_a_gpu_driver_is_described_without_importing_torch(tmp_path):
    # In a fresh interpreter, as the server answers host_info and start_run asks for the GPU count: the torch
    # version comes from its version file, and no GPU driver here means no GPU, so torch is never imported.
    code = ("import json, sys\n"
            "from tunelab_agent import hostinfo\n"
            f"info = hostinfo.host_info({str(tmp_path)!r})\n"
            "print(json.dumps([info['gpus'], info['versions']['torch'], info['versions']['cuda'],"
            " hostinfo.gpu_count(), 'torch' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [[], torch.__version__, torch.version.cuda, 0, False]
