"""training.report_to: trackers fed by the Trainer's integrations, checked by preflight, writing inside the run."""

import glob
import json
import os

from conftest import write_config

from tunelab_agent.training import trackers


def test_a_missing_tracker_package_is_a_preflight_error_naming_the_pip_package(start_server, data_dir):
    client = start_server().client()
    assert trackers.missing(["tensorboard"]) == []  # installed with the agent's test extras
    config = json.loads(write_config(data_dir))
    config["training"]["report_to"] = ["tensorboard", "wandb"]
    result = client.call("preflight", {"config": json.dumps(config), "config_path": str(data_dir / "t.tunelab.yaml")})
    assert [e for e in result["errors"] if e.startswith("training.report_to")] == [
        "training.report_to: wandb needs the wandb package, which is not installed on this host (pip install wandb)"]


def test_tensorboard_gets_the_runs_metrics_next_to_its_events(start_server, data_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    server = start_server()
    client = server.client()
    client.call("subscribe", {"since": 0})
    config = json.loads(write_config(data_dir, name="tb", max_steps=12, logging_steps=2, eval_steps=6, save_steps=6))
    config["training"]["report_to"] = ["tensorboard"]
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "tb.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id)
    assert events[-1]["data"]["state"] == "completed"
    folder = os.path.join(server.root, "runs", run_id)
    files = glob.glob(os.path.join(folder, "tensorboard", "events.out.tfevents.*"))
    assert files, os.listdir(folder)
    board = EventAccumulator(os.path.join(folder, "tensorboard"))
    board.Reload()
    ours = [e["data"] for e in events if e["kind"] == "metrics"]
    logged = board.Scalars("train/loss")
    assert [s.step for s in logged] == [m["step"] for m in ours]
    assert [round(s.value, 4) for s in logged] == [round(m["loss"], 4) for m in ours]
    assert len(board.Scalars("eval/loss")) == 2


def test_dpo_on_a_host_without_trl_is_a_preflight_error_naming_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    assert trackers.missing_for_method("sft") == []
    [error] = trackers.missing_for_method("dpo")
    assert error.startswith("training.method: dpo trains through TRL, which is not installed on this host (pip install trl")
