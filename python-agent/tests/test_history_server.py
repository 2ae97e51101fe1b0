"""History through a real agent server: list_runs pages from the index with a head that subscribe continues
from exactly, run_history per series with steps, segments and downsampling, and delete_run."""

import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest
from agent_client import AgentError
from conftest import Server

from tunelab_agent.rundir import eventlog, history, index


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "root"
    folder.mkdir()
    return str(folder)


@pytest.fixture
def serve(root):
    servers = []

    def start():
        servers.append(Server(root, []))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def make_run(root: str, run_id: str, created: float, pid: int | None = None) -> str:
    folder = os.path.join(root, "runs", run_id)
    os.makedirs(folder)
    with open(os.path.join(folder, "run.json"), "w") as f:
        json.dump({"name": run_id.upper(), "created": created, "pid": pid}, f)
    return folder


def metrics(step: int, segment: int = 0, **extra) -> dict:
    return {"step": step, "max_steps": 100, "epoch": step / 100, "segment": segment, "loss": 5.0 / step,
            "learning_rate": step * 1e-5, "grad_norm": 1.0 + step % 3, "tokens_per_sec": 1000.0 + step, "eta_s": 1.0,
            **extra}


def finished_run(root: str, run_id: str, created: float, steps: int = 5) -> None:
    make_run(root, run_id, created)
    eventlog.append(root, run_id, "run_state", {"state": "running"})
    eventlog.append_many(root, run_id, [("metrics", metrics(s)) for s in range(1, steps + 1)])
    eventlog.append(root, run_id, "run_state", {"state": "completed"})


def test_list_runs_pages_newest_first_with_total_and_a_head_subscribe_continues_from(root, serve):
    for i, created in enumerate([500, 300, 900, 300, 100, 700, 800]):
        finished_run(root, f"run-{i}", created, steps=i + 1)
    client = serve().client()
    everything = client.call("list_runs")
    order = [r["run_id"] for r in everything["runs"]]
    assert order == ["run-2", "run-6", "run-5", "run-0", "run-1", "run-3", "run-4"]  # ties by id
    assert everything["total"] == 7 and everything["head"] == eventlog.read_head(root)
    assert everything["runs"][0] == {"run_id": "run-2", "name": "RUN-2", "state": "completed", "created": 900,
                                     "step": 3, "max_steps": 100, "loss": 5.0 / 3, "error": None, "checkpoints": 0}
    page = client.call("list_runs", {"offset": 2, "limit": 3})
    assert [r["run_id"] for r in page["runs"]] == order[2:5] and page["total"] == 7
    assert client.call("list_runs", {"offset": 7})["runs"] == []
    with pytest.raises(AgentError) as err:
        client.call("list_runs", {"limit": 0})
    assert err.value.code == "bad_params"


def _append_steps(root: str, run_id: str, stop) -> None:
    # Logs until told to stop, so the lists below are always taken while it writes, however slow the machine.
    step = 0
    while not stop.is_set() and step < 100_000:
        step += 1
        eventlog.append(root, run_id, "metrics", metrics(step))
        time.sleep(0.002)


def test_a_list_taken_while_a_run_logs_agrees_with_its_head(root, serve):
    make_run(root, "live", 1.0)
    eventlog.append(root, "live", "log", {"level": "info", "message": "no run_state: the reaper leaves it alone"})
    base = eventlog.read_head(root)
    server = serve()
    client = server.client()
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    writer = context.Process(target=_append_steps, args=(root, "live", stop))
    writer.start()
    try:
        for _ in range(3):
            listed = client.call("list_runs")
            step, head = listed["runs"][0]["step"], listed["head"]
            assert step == head - base  # the summary holds every event up to head, and none after
            follower = server.client()  # subscribe from that head: the next event is head + 1
            assert follower.call("subscribe", {"since": head})["head"] >= head
            first = follower.events_until(lambda e: True, timeout=30)[0]
            assert first["seq"] == head + 1 and first["data"]["step"] == step + 1
            follower.close()
    finally:
        stop.set()
        writer.join()
    assert writer.exitcode == 0


def test_run_history_filters_series_and_steps_and_keeps_segments(root, serve):
    make_run(root, "r", 1.0)
    eventlog.append(root, "r", "run_state", {"state": "running"})
    eventlog.append_many(root, "r", [("metrics", metrics(s)) for s in range(1, 31)])
    eventlog.append(root, "r", "eval", {"step": 30, "segment": 0, "eval_loss": 0.7, "metrics": {}, "best": True})
    eventlog.append(root, "r", "run_state", {"state": "stopped"})
    # Resumed from checkpoint-20: segment 1 logs steps 21.. again.
    eventlog.append(root, "r", "run_state", {"state": "starting", "segment": 1, "resumed_from": "checkpoint-20"})
    eventlog.append_many(root, "r", [("metrics", metrics(s, segment=1)) for s in range(21, 41)])
    eventlog.append(root, "r", "metrics", metrics(41, segment=1, loss=None, tokens_per_sec=None))  # no value: no point
    eventlog.append(root, "r", "eval", {"step": 40, "segment": 1, "eval_loss": 0.6, "metrics": {}, "best": True})
    client = serve().client()

    whole = client.call("run_history", {"run_id": "r"})
    assert whole["head"] == eventlog.read_head(root)
    assert set(whole["series"]) == {"loss", "eval_loss", "learning_rate", "grad_norm", "tokens_per_sec"}
    loss = whole["series"]["loss"]
    assert loss["step"] == list(range(1, 31)) + list(range(21, 41))
    assert loss["segment"] == [0] * 30 + [1] * 20 and loss["total"] == 50
    assert loss["value"] == [5.0 / s for s in loss["step"]]
    assert whole["series"]["eval_loss"] == {"step": [30, 40], "value": [0.7, 0.6], "segment": [0, 1], "total": 2}

    part = client.call("run_history", {"run_id": "r", "series": ["grad_norm"], "from_step": 25, "to_step": 35})
    assert list(part["series"]) == ["grad_norm"]
    grad = part["series"]["grad_norm"]
    assert grad["step"] == [25, 26, 27, 28, 29, 30, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35]
    assert grad["segment"] == [0] * 6 + [1] * 11 and grad["total"] == 17

    small = client.call("run_history", {"run_id": "r", "series": ["loss", "tokens_per_sec"], "max_points": 8})
    for name, series in small["series"].items():
        assert series["total"] == 50 and len(series["step"]) <= 8
        full = whole["series"][name]
        points = list(zip(full["step"], full["value"], full["segment"]))
        kept = list(zip(series["step"], series["value"], series["segment"]))
        assert kept[0] == points[0] and kept[-1] == points[-1]
        assert min(full["value"]) in series["value"] and max(full["value"]) in series["value"]
        assert all(p in points for p in kept)

    for params, code in (({"run_id": "nope"}, "not_found"), ({"run_id": "r", "from_step": 9, "to_step": 3}, "bad_params"),
                         ({"run_id": "r", "max_points": 2}, "bad_params"), ({"run_id": "r", "series": ["acc"]}, "bad_params")):
        with pytest.raises(AgentError) as err:
            client.call("run_history", params)
        assert err.value.code == code, params


def test_delete_run_refuses_an_active_run_and_removes_a_finished_one_everywhere(root, serve):
    finished_run(root, "old", 1.0)
    finished_run(root, "keep", 2.0)
    # An active run: its process (anything with the run folder on its command line) is alive.
    folder = os.path.join(root, "runs", "busy")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", folder])
    try:
        make_run(root, "busy", 3.0, pid=sleeper.pid)
        eventlog.append(root, "busy", "run_state", {"state": "running"})
        server = serve()
        client = server.client()
        with pytest.raises(AgentError) as err:
            client.call("delete_run", {"run_id": "busy"})
        assert err.value.code == "conflict"
        assert err.value.message == "run busy is running; stop it first (stop_run), then delete it"
        assert os.path.isdir(folder)

        with pytest.raises(AgentError) as err:
            client.call("delete_run", {"run_id": "ghost"})
        with pytest.raises(AgentError) as same:
            client.call("stop_run", {"run_id": "ghost"})
        assert (err.value.code, err.value.message) == (same.value.code, same.value.message) == ("not_found", "no run ghost")

        old_seqs = {e["seq"] for e in eventlog.read_run_events(root, "old")}
        assert client.call("delete_run", {"run_id": "old"}) == {"run_id": "old"}
        assert not os.path.exists(os.path.join(root, "runs", "old"))
        assert os.listdir(os.path.join(root, "trash")) == []
        conn = index.connect(root)
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE run_id = 'old'").fetchone()[0] == 0
        assert conn.execute(f"SELECT COUNT(*) FROM events WHERE seq IN ({','.join(map(str, old_seqs))})").fetchone()[0] == 0

        listed = client.call("list_runs")
        assert [r["run_id"] for r in listed["runs"]] == ["busy", "keep"] and listed["total"] == 2
        watcher = server.client()
        head = watcher.call("subscribe", {"since": 0})["head"]
        replayed = watcher.events_until(lambda e: e["seq"] == head)
        assert {e["run_id"] for e in replayed} == {"keep", "busy"}
        with pytest.raises(AgentError) as err:
            client.call("run_history", {"run_id": "old"})
        assert err.value.code == "not_found"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_server_rebuilds_a_garbage_index_at_start(root, serve):
    finished_run(root, "a", 1.0, steps=7)
    assert history.sync(root)
    index.reset(root)  # (this process's connection too)
    with open(index.db_path(root), "wb") as f:
        f.write(b"not a database at all " * 500)
    eventlog.append(root, "a", "metrics", metrics(8))  # an append meanwhile still goes through
    client = serve().client()
    listed = client.call("list_runs")
    assert listed["runs"][0]["step"] == 8 and listed["head"] == eventlog.read_head(root) == 10
    client.call("subscribe", {"since": 0})
    assert [e["seq"] for e in client.events_until(lambda e: e["seq"] == 10)] == list(range(1, 11))
    with open(index.db_path(root), "rb") as f:
        assert f.read(16) == b"SQLite format 3\0"
