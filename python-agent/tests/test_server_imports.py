"""The agent server stays small: torch, transformers and peft are imported by the requests that need a model
(generate, evaluate, export, preflight, render_sample with a tokenizer...), never at start nor by the
history requests. A server that only lists runs and streams events holds ~50 MB, not the ~230 MB torch
alone costs (issue 11: RSS <= 200 MB, flat in history size).

Both checks would fail if a module on the serving path imported torch at its top again: the first in a
fresh interpreter (sys.modules after importing the server's modules), the second in a real server process
(/proc/<pid>/maps: torch's shared libraries are mapped once it is imported)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import Server, write_config

from tunelab_agent.rundir import eventlog

HEAVY = ("torch", "transformers", "peft", "accelerate", "trl", "datasets", "bitsandbytes")


def test_importing_the_server_imports_no_heavy_library():
    code = ("import json, sys\n"
            "import tunelab_agent.cli, tunelab_agent.serving.server\n"
            f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], f"importing the server imported {out.stdout.strip()}: import them lazily"


def mapped_torch(pid: int) -> bool:
    with open(f"/proc/{pid}/maps") as f:
        return any("/torch/" in line for line in f)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads /proc")
def test_a_server_lists_and_streams_without_torch_and_imports_it_when_a_request_needs_it(tmp_path, data_dir):
    root = tmp_path / "root"
    os.makedirs(root / "runs" / "r1")
    with open(root / "runs" / "r1" / "run.json", "w") as f:
        json.dump({"name": "r1", "created": 1.0}, f)
    eventlog.append(str(root), "r1", "run_state", {"state": "running", "max_steps": 50})
    eventlog.append_many(str(root), "r1", [("metrics", {"step": s, "max_steps": 50, "epoch": s / 50, "loss": 1.0 / s,
                                                        "learning_rate": 1e-4, "grad_norm": 1.0, "tokens_per_sec": 1e3,
                                                        "eta_s": 1.0}) for s in range(1, 51)])
    eventlog.append(str(root), "r1", "run_state", {"state": "completed"})
    server = Server(root, [data_dir])
    try:
        client = server.client()
        head = client.call("list_runs")["head"]
        assert head == 52
        client.call("subscribe", {"since": 0, "batch": True})
        assert [e["seq"] for e in client.events_until(lambda e: e["seq"] == head)] == list(range(1, head + 1))
        assert client.call("run_history", {"run_id": "r1", "max_points": 10})["series"]["loss"]["total"] == 50
        client.call("list_checkpoints", {"run_id": "r1"})
        assert not mapped_torch(server.process.pid), "the server imported torch for history requests"
        # This host has no GPU driver: describing it (as the Hosts view asks) needs no torch either.
        assert client.call("host_info")["gpus"] == []
        assert not mapped_torch(server.process.pid), "the server imported torch to find no GPU"
        assert rss_mb(server.process.pid) <= 200

        # The control: a request that needs the model's size imports torch then, and the check above sees it.
        checked = client.call("preflight", {"config": write_config(data_dir), "config_path": str(data_dir / "p.tunelab.yaml")})
        assert checked["estimate"] is not None
        assert mapped_torch(server.process.pid)
    finally:
        server.stop()
