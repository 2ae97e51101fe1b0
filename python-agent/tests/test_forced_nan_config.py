"""A run config alone can blow a run up, on CPU, with no test hook (test/e2e/newcomer.test.ts relies on it for
the NaN notification): learning rate 1 and a LoRA alpha of 1e30 overflow the adapter's output to Inf after the
first optimizer step, so the loss turns NaN and the callback ends the run as diverged."""

import json

from conftest import write_config

BLOW_UP = {"learning_rate": 1.0, "warmup_steps": 0, "max_steps": 30, "logging_steps": 1, "eval_steps": 100, "save_steps": 100}


def test_a_config_with_a_huge_learning_rate_fails_with_a_non_finite_loss_warning(start_server, data_dir):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = json.loads(write_config(data_dir, name="blow-up", **BLOW_UP))
    config["lora"]["alpha"] = 1e30
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "blow.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id)
    warnings = [e["data"] for e in events if e["kind"] == "log" and e["data"].get("code") == "non_finite_loss"]
    states = [e["data"] for e in events if e["kind"] == "run_state"]
    assert len(warnings) == 1, [(e["kind"], e["data"].get("loss"), e["data"].get("state"), e["data"].get("message"))
                                for e in events if e["kind"] in ("log", "run_state", "metrics")]
    assert states[-1]["state"] == "failed" and "diverged" in states[-1]["error"]
