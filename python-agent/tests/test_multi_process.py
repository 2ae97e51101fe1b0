"""training.gpus > 1: torchrun with DDP. Here it runs as 2 CPU processes on the gloo backend, the
stand-in for 2 GPUs that this machine does not have (TUNELAB_ALLOW_CPU_DDP=1 allows it)."""

import json

from agent_client import AgentError
from conftest import write_config


def test_two_processes_train_one_run_and_only_rank_0_writes(start_server, data_dir, monkeypatch):
    monkeypatch.setenv("TUNELAB_ALLOW_CPU_DDP", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = json.loads(write_config(data_dir, name="ddp", max_steps=6, eval_steps=3, save_steps=3, logging_steps=1))
    config["training"]["gpus"] = 2
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "d.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id, timeout=300)
    assert events[-1]["data"]["state"] == "completed", events[-1]

    logs = [e["data"]["message"] for e in events if e["kind"] == "log"]
    assert any("2 processes" in m for m in logs), logs
    metrics = [e["data"] for e in events if e["kind"] == "metrics"]
    # One writer: every step appears once, not once per rank.
    assert [m["step"] for m in metrics] == [1, 2, 3, 4, 5, 6]
    # The ranks split the data: 96 train rows at 8 per process per step is 6 steps per epoch for two
    # processes (12 for one), so step 6 ends the first epoch.
    assert [m["epoch"] for m in metrics][-1] == 1.0, [m["epoch"] for m in metrics]
    assert [e["data"]["step"] for e in events if e["kind"] == "eval"] == [3, 6]
    saved = [e["data"]["name"] for e in events if e["kind"] == "checkpoint"]
    assert saved == ["checkpoint-3", "checkpoint-6"]
    assert [c["name"] for c in client.call("list_checkpoints", {"run_id": run_id})["checkpoints"]] == saved


def test_more_processes_than_gpus_is_refused_before_anything_starts(start_server, data_dir, monkeypatch):
    monkeypatch.delenv("TUNELAB_ALLOW_CPU_DDP", raising=False)
    client = start_server().client()
    config = json.loads(write_config(data_dir))
    config["training"]["gpus"] = 4
    try:
        client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "g.tunelab.yaml")})
        raise AssertionError("start_run accepted 4 GPUs on a host without any")
    except AgentError as err:
        assert err.code == "bad_config"
        assert "g.tunelab.yaml: training.gpus: 4 requested but this host has no GPU" in err.message
    assert client.call("list_runs")["runs"] == []
