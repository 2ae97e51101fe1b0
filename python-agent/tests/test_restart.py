import json
import os
import signal
import subprocess
import sys
import time

import psutil
from conftest import PACED, write_config

from tunelab_agent.serving import runs


def test_server_killed_mid_run_loses_and_doubles_nothing(start_server, data_dir):
    first = start_server()
    client = first.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, max_steps=60, logging_steps=1, save_steps=20, eval_steps=20)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "r.tunelab.yaml")})["run_id"]
    seen = client.events_until(lambda e: e["kind"] == "metrics")
    first.kill()  # SIGKILL: no cleanup at all

    second = start_server()
    again = second.client()
    tail = second.client()
    last = seen[-1]["seq"]
    assert tail.call("subscribe", {"since": last})["head"] >= last
    assert again.call("subscribe", {"since": 0})["head"] >= last
    everything = again.wait_for_end(run_id)
    rest = tail.wait_for_end(run_id)

    seqs = [e["seq"] for e in everything]
    assert seqs == list(range(1, len(everything) + 1))
    assert everything[-1]["data"]["state"] == "completed"  # the run process outlived the server
    assert seen + rest == everything  # replay after the gap: nothing lost, nothing twice
    assert [e["data"]["step"] for e in everything if e["kind"] == "metrics"] == list(range(1, 61))


def test_a_run_whose_process_died_is_marked_failed(start_server, data_dir):
    server = start_server(PACED)
    client = server.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, max_steps=100000)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "d.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["kind"] == "metrics")
    with open(os.path.join(server.root, "runs", run_id, "run.json")) as f:
        os.killpg(json.load(f)["pid"], signal.SIGKILL)  # the training process and its launcher
    final = client.wait_for_end(run_id)[-1]["data"]
    assert final == {"state": "failed", "error": runs.VANISHED, "segment": 0}


def training_process(root, run_id) -> psutil.Process:
    """The training process: the only child of the run's launcher (whose pid run.json holds)."""
    with open(os.path.join(root, "runs", run_id, "run.json")) as f:
        [child] = psutil.Process(json.load(f)["pid"]).children()
    return child


def test_a_training_process_killed_like_the_oom_killer_does_ends_with_that_cause(start_server, data_dir):
    server = start_server(PACED)
    client = server.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, max_steps=100000, logging_steps=1)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "o.tunelab.yaml")})["run_id"]
    metrics = client.events_until(lambda e: e["kind"] == "metrics" and e["data"]["step"] >= 2)[-1]["data"]
    child = training_process(server.root, run_id)
    child.send_signal(signal.SIGKILL)
    final = client.wait_for_end(run_id)[-1]["data"]
    assert final["state"] == "failed"
    error = final["error"]
    assert error.startswith("the training process was killed by SIGKILL (signal 9). The kernel's out-of-memory "
                            "killer is the usual reason; at the last metrics event (step ")
    memory = metrics["host_memory"]
    assert f"of {memory['total_mb'] / 1024:.1f} GB memory available" in error
    assert f"Killed process {child.pid}'" in error
    with open(os.path.join(server.root, "runs", run_id, "exit.json")) as f:
        assert json.load(f)["signal"] == "SIGKILL"
    with open(os.path.join(server.root, "runs", run_id, "train.log")) as f:
        assert f"tunelab: training process {child.pid} ended: killed by SIGKILL (signal 9)" in f.read()


def test_a_run_started_by_an_earlier_server_still_gets_its_exit_status(start_server, data_dir):
    first = start_server(PACED)
    config = write_config(data_dir, max_steps=100000, logging_steps=1)
    run_id = first.client().call("start_run", {"config": config, "config_path": str(data_dir / "p.tunelab.yaml")})["run_id"]
    client = first.client()
    client.call("subscribe", {"since": 0})
    client.events_until(lambda e: e["kind"] == "metrics")
    first.kill()  # the run is now nobody's child but its launcher's
    training_process(first.root, run_id).send_signal(signal.SIGSEGV)
    second = start_server().client()
    second.call("subscribe", {"since": 0})
    final = second.wait_for_end(run_id)[-1]["data"]
    assert final["error"].startswith("the training process crashed with SIGSEGV (signal 11) outside Python")
    assert [r["state"] for r in second.call("list_runs")["runs"]] == ["failed"]


def test_a_restarted_server_marks_runs_that_died_while_it_was_down(start_server, data_dir):
    server = start_server(PACED)
    client = server.client()
    config = write_config(data_dir, max_steps=100000)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "e.tunelab.yaml")})["run_id"]
    server.kill()
    with open(os.path.join(server.root, "runs", run_id, "run.json")) as f:
        pid = json.load(f)["pid"]
    os.killpg(pid, signal.SIGKILL)
    while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.05)
    runs = start_server().client().call("list_runs")["runs"]
    assert [(r["run_id"], r["state"]) for r in runs] == [(run_id, "failed")]


def test_a_server_killed_inside_an_event_append_loses_and_repeats_no_seq(start_server, data_dir):
    first = start_server(PACED)
    client = first.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, max_steps=100000, logging_steps=1)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "k.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["kind"] == "metrics")
    first.kill()
    with open(os.path.join(first.root, "runs", run_id, "run.json")) as f:
        pid = json.load(f)["pid"]
    os.killpg(pid, signal.SIGKILL)  # the run and its launcher: recording the end falls to the next server
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        time.sleep(0.05)

    # This server's first append is the reaper's `failed` for the run; it is SIGKILLed halfway through it.
    doomed = subprocess.run([sys.executable, "-m", "tunelab_agent", "serve", "--root", first.root],
                            env={**os.environ, "TUNELAB_FAULT": "kill_mid_append"}, capture_output=True, timeout=60)
    assert doomed.returncode == -signal.SIGKILL
    path = os.path.join(first.root, "runs", run_id, "events.jsonl")
    with open(path, "rb") as f:
        assert not f.read().endswith(b"\n")  # the torn line is there

    everything = start_server().client()
    assert everything.call("subscribe", {"since": 0})["head"] >= len(client.events)
    events = everything.wait_for_end(run_id)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))  # nothing lost, nothing twice, across the repair
    assert events[: len(client.events)] == client.events
    assert [e["data"]["state"] for e in events if e["kind"] == "run_state"] == ["starting", "running", "failed"]
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    assert all(json.loads(line)["seq"] for line in lines)  # every line is whole again


def test_the_reaper_leaves_a_run_alone_while_it_is_being_launched(tmp_path, monkeypatch):
    """A reaper round that meets a launch between its `starting` event and the launcher's pid being recorded
    must not mark the run failed (it did, when the launch was slow: the first one of a server imports torch)."""
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "runs"))
    during = []

    def spawn(root_, folder):
        run_id = os.path.basename(folder)
        assert runs.last_state(root, run_id) == "starting"  # the window a reaper round can meet
        during.append(runs.mark_if_dead(root, run_id))
        return 2**22 + 7  # above Linux's pid_max: no such process
    monkeypatch.setattr(runs, "spawn", spawn)

    run_id = runs.create_and_launch(root, "r", "model: m\n", None, {})
    assert during == [None] and runs.last_state(root, run_id) == "starting"
    # Launched, a run whose process is gone is marked as before.
    assert runs.mark_if_dead(root, run_id) == runs.VANISHED and runs.last_state(root, run_id) == "failed"

    assert runs.resume(root, run_id, {"path": os.path.join(root, "nowhere"), "name": "checkpoint-1"}) == 1
    assert during == [None, None] and runs.last_state(root, run_id) == "starting"
    assert runs.mark_if_dead(root, run_id) == runs.VANISHED
