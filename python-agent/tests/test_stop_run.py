import json
import os
import time

from conftest import PACED, write_config


def test_stop_run_ends_the_run_as_stopped(start_server, data_dir):
    server = start_server(PACED)
    client = server.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, max_steps=100000, save_steps=100000)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "s.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["kind"] == "metrics")
    assert client.call("stop_run", {"run_id": run_id}) == {"run_id": run_id, "state": "stopped"}
    events = client.wait_for_end(run_id)
    assert events[-1]["data"] == {"state": "stopped", "segment": 0}
    last_step = max(e["data"]["step"] for e in events if e["kind"] == "metrics")
    assert last_step < 1000  # it stopped within a few steps, nowhere near max_steps
    # A graceful stop saves where it stopped, so the work is not lost.
    saved = [e["data"] for e in events if e["kind"] == "checkpoint"]
    assert saved and saved[-1]["reason"] == "stop" and saved[-1]["step"] >= last_step
    # Stopping again is harmless and reports the final state.
    assert client.call("stop_run", {"run_id": run_id})["state"] == "stopped"

    # The server collects its exited child, so no zombie is left behind (a zombie keeps its /proc entry).
    with open(os.path.join(server.root, "runs", run_id, "run.json")) as f:
        pid = json.load(f)["pid"]
    deadline = time.monotonic() + 30
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}"), "the stopped run's process was never reaped"
