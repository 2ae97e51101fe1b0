"""Control requests and resume, end to end through the agent server and a real training process."""

import json

import pytest

from agent_client import AgentError
from conftest import PACED, write_config


def test_control_requests_reach_the_live_run(start_server, data_dir):
    client = start_server(PACED).client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, name="controlled", max_steps=100000, save_steps=100000, eval_steps=100000)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "c.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["kind"] == "metrics")

    ids = {action: client.call("control_run", {"run_id": run_id, "action": action, **extra})["id"]
           for action, extra in (("save", {}), ("eval", {}), ("set_logging_steps", {"value": 5}))}
    done = {}
    client.events_until(lambda e: e["kind"] == "control_done" and done.update({e["data"]["id"]: e["data"]}) is None
                        and set(ids.values()) <= set(done))
    saved = [e["data"] for e in client.events if e["kind"] == "checkpoint"]
    assert [c["reason"] for c in saved] == ["requested"]
    assert done[ids["save"]]["checkpoint"] == saved[0]["name"]
    assert any(e["kind"] == "eval" and e["data"]["step"] == done[ids["eval"]]["step"] for e in client.events)

    # From the step the new interval took effect, metrics come every 5 steps.
    since = done[ids["set_logging_steps"]]["step"]
    client.events_until(lambda e: e["kind"] == "metrics" and e["data"]["step"] >= since + 10)
    later = [e["data"]["step"] for e in client.events if e["kind"] == "metrics" and e["data"]["step"] > since]
    assert later[:2] and all(step % 5 == 0 for step in later), later

    stop = client.call("control_run", {"run_id": run_id, "action": "stop"})
    events = client.wait_for_end(run_id)
    assert events[-1]["data"]["state"] == "stopped"
    assert [e["data"]["reason"] for e in events if e["kind"] == "checkpoint"][-1] == "stop"
    assert any(e["kind"] == "control_done" and e["data"]["id"] == stop["id"] for e in events)

    with pytest.raises(AgentError) as err:
        client.call("control_run", {"run_id": run_id, "action": "save"})
    assert err.value.code == "conflict" and "not running" in err.value.message


def test_resume_continues_the_event_stream_in_a_new_segment(start_server, data_dir):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, name="resumable", max_steps=20, save_steps=10, eval_steps=10)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "r.tunelab.yaml")})["run_id"]
    first = list(client.wait_for_end(run_id))
    assert first[-1]["data"] == {"state": "completed", "segment": 0}

    # Cleared before the call: the resumed run's first events can arrive while the answer is awaited.
    client.events.clear()
    assert client.call("resume_run", {"run_id": run_id, "checkpoint": "checkpoint-10"}) == {"run_id": run_id, "segment": 1}
    events = client.wait_for_end(run_id)
    states = [e["data"] for e in events if e["kind"] == "run_state"]
    assert states[0] == {"state": "starting", "segment": 1, "resumed_from": "checkpoint-10"}
    assert states[-1] == {"state": "completed", "segment": 1}

    # Steps 12..20 are logged again, marked with the new segment, and nothing before the checkpoint is.
    again = [e["data"] for e in events if e["kind"] == "metrics"]
    assert [m["step"] for m in again] == list(range(12, 21, 2)) and {m["segment"] for m in again} == {1}
    before = {m["data"]["step"]: m["data"]["loss"] for m in first if m["kind"] == "metrics"}
    # The optimizer, scheduler and data order come back with the checkpoint, so training picks up where it was.
    assert again[0]["learning_rate"] == pytest.approx(
        next(m["data"]["learning_rate"] for m in first if m["kind"] == "metrics" and m["data"]["step"] == 12), rel=1e-6)
    assert again[-1]["loss"] == pytest.approx(before[20], rel=0.05)
    # Both segments stay on disk in one stream with increasing seqs.
    seqs = [e["seq"] for e in first + events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    with pytest.raises(AgentError) as err:
        client.call("resume_run", {"run_id": run_id, "checkpoint": "checkpoint-3"})
    assert err.value.code == "not_found"


def test_a_new_run_can_start_from_another_runs_checkpoint(start_server, data_dir):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, name="first", max_steps=20, save_steps=10, eval_steps=10)
    first = client.call("start_run", {"config": config, "config_path": str(data_dir / "f.tunelab.yaml")})["run_id"]
    assert client.wait_for_end(first)[-1]["data"]["state"] == "completed"

    follow_up = json.loads(write_config(data_dir, name="second", max_steps=20, save_steps=10, eval_steps=10))
    follow_up["training"]["resume_from"] = f"{first}/checkpoint-10"
    client.events.clear()
    second = client.call("start_run", {"config": json.dumps(follow_up), "config_path": str(data_dir / "f.tunelab.yaml")})["run_id"]
    events = [e for e in client.wait_for_end(second) if e["run_id"] == second]
    assert events[-1]["data"]["state"] == "completed"
    assert [e["data"]["step"] for e in events if e["kind"] == "metrics"] == list(range(12, 21, 2))

    follow_up["training"]["resume_from"] = "no-such-run/checkpoint-10"
    with pytest.raises(AgentError) as err:
        client.call("start_run", {"config": json.dumps(follow_up), "config_path": str(data_dir / "f.tunelab.yaml")})
    assert err.value.code == "bad_config" and "training.resume_from" in err.value.message


def test_resume_from_is_confined_like_every_other_path(start_server, data_dir, tmp_path):
    server = start_server()
    client = server.client()
    # A complete-looking checkpoint outside every folder this agent serves.
    decoy = tmp_path / "outside" / "checkpoints" / "checkpoint-1"
    decoy.mkdir(parents=True)
    (decoy / "manifest.json").write_text('{"step": 1, "files": []}')
    run = tmp_path / "root" / "runs" / "20250101-000000-linked-0000"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text('{"name": "linked", "created": 0}')
    config = json.loads(write_config(data_dir, name="climb"))
    # The first value reached the decoy when it was joined to the runs folder unchecked:
    # runs/<run>/checkpoints/../../../../outside/checkpoints/checkpoint-1.
    for value in (f"{run.name}/../../../../outside/checkpoints/checkpoint-1", str(decoy)):
        config["training"]["resume_from"] = value
        with pytest.raises(AgentError) as err:
            client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "c.tunelab.yaml")})
        assert err.value.code == "bad_config", value
        assert "training.resume_from" in err.value.message and "outside the folders this agent serves" in err.value.message

    # A run's checkpoint that is a symlink to somewhere else is refused too.
    (run / "checkpoints" / "checkpoint-1").symlink_to(decoy)
    config["training"]["resume_from"] = f"{run.name}/checkpoint-1"
    with pytest.raises(AgentError) as err:
        client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "c.tunelab.yaml")})
    assert err.value.code == "bad_config" and "outside the folders this agent serves" in err.value.message
    assert [r["run_id"] for r in client.call("list_runs")["runs"]] == [run.name]  # nothing was started
