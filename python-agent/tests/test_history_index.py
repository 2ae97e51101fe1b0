"""The history index beside the event logs: kept by every append, rebuilt or caught up from the logs when
it is missing, garbage or behind, and never the reason an append fails."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tunelab_agent.rundir import eventlog, history, index

METRICS = {"max_steps": 100, "loss": 2.0, "learning_rate": 1e-4, "grad_norm": 1.0, "tokens_per_sec": 900.0, "segment": 0}


def make_run(root: str, run_id: str, created: float | None = None) -> None:
    os.makedirs(os.path.join(root, "runs", run_id))
    with open(os.path.join(root, "runs", run_id, "run.json"), "w") as f:
        json.dump({"name": f"name of {run_id}", "created": created or time.time(), "pid": None}, f)


def train(root: str, run_id: str, steps: range, state: str | None = "completed") -> None:
    eventlog.append(root, run_id, "run_state", {"state": "running"})
    for step in steps:
        eventlog.append(root, run_id, "metrics", {**METRICS, "step": step, "loss": 10.0 / step})
    eventlog.append(root, run_id, "checkpoint", {"name": f"checkpoint-{steps[-1]}", "step": steps[-1], "path": "x",
                                                  "files": [], "eval_loss": None, "reason": "final", "segment": 0})
    if state:
        eventlog.append(root, run_id, "run_state", {"state": state})


def indexed(root: str) -> tuple[list[tuple], list[dict], int]:
    """(every event row, every summary, the index's head), read straight from the database."""
    conn = index.connect(root)
    rows = conn.execute("SELECT e.seq, r.run_id, e.offset, e.length, e.kind, e.step FROM events e "
                        "JOIN runs r ON r.id = e.run ORDER BY e.seq").fetchall()
    return rows, index.summaries(conn)[0], index.head(conn)


def fresh_process_view(root: str) -> tuple:
    """What a newly started process would build: the cached connection is dropped first."""
    index.close(root)
    assert history.sync(root)
    return indexed(root)


def root_with_history(tmp_path) -> str:
    root = str(tmp_path)
    make_run(root, "a", created=1000)
    make_run(root, "b", created=2000)
    assert history.sync(root)  # the server creates the index; appends keep it from then on
    train(root, "a", range(1, 21))
    train(root, "b", range(1, 11), state=None)
    return root


def test_appends_keep_the_index_complete_with_offsets_that_point_at_the_lines(tmp_path):
    root = root_with_history(tmp_path)
    rows, summaries, head = indexed(root)
    assert head == eventlog.read_head(root) == len(rows) == (1 + 20 + 1 + 1) + (1 + 10 + 1)
    for seq, run_id, offset, length, kind, step in rows:
        with open(eventlog.events_path(root, run_id), "rb") as f:
            f.seek(offset)
            event = json.loads(f.read(length))
        assert (event["seq"], event["kind"], event["data"].get("step") if kind == "metrics" else None) == (
            seq, kind, step if kind == "metrics" else None)
    assert summaries == [
        {"run_id": "b", "name": "name of b", "state": "running", "created": 2000, "step": 10, "max_steps": 100,
         "loss": 1.0, "error": None, "checkpoints": 1},
        {"run_id": "a", "name": "name of a", "state": "completed", "created": 1000, "step": 20, "max_steps": 100,
         "loss": 0.5, "error": None, "checkpoints": 1}]


def test_a_deleted_index_is_rebuilt_from_the_logs(tmp_path):
    root = root_with_history(tmp_path)
    before = indexed(root)
    index.reset(root)
    assert not os.path.exists(index.db_path(root))
    eventlog.append(root, "b", "log", {"level": "info", "message": "while there is no index"})
    after = fresh_process_view(root)
    assert after[0][:-1] == before[0] and after[2] == before[2] + 1
    assert after[1][0]["state"] == "running" and after[1][1] == before[1][1]


def test_a_garbage_index_is_rebuilt_and_appends_meanwhile_still_succeed(tmp_path, caplog):
    root = root_with_history(tmp_path)
    before = indexed(root)
    index.close(root)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(index.db_path(root) + suffix):
            os.remove(index.db_path(root) + suffix)
    with open(index.db_path(root), "wb") as f:
        f.write(os.urandom(8192))
    event = eventlog.append(root, "b", "log", {"level": "info", "message": "next"})
    assert event["seq"] == before[2] + 1  # the append went through
    assert "file is not a database" in caplog.text
    after = fresh_process_view(root)
    assert after[0][:-1] == before[0] and after[0][-1][0] == event["seq"]
    assert after[1] == before[1]
    assert "rebuilding it from the event logs" in caplog.text


def test_an_index_left_behind_by_a_writer_killed_before_updating_it_catches_up(tmp_path):
    root = root_with_history(tmp_path)
    script = ("import sys; from tunelab_agent.rundir import eventlog; "
              "eventlog.append(sys.argv[1], 'b', 'metrics', {'step': 11, 'loss': 0.25, 'max_steps': 100})")
    result = subprocess.run([sys.executable, "-c", script, root],
                            env={**os.environ, "TUNELAB_FAULT": "kill_before_index"}, timeout=60)
    assert result.returncode == -signal.SIGKILL
    head = eventlog.read_head(root)
    conn = index.connect(root)
    assert index.head(conn) == head - 1  # the log and events.seq have it, the index does not
    # The next append, to the same run, sees the run behind and leaves it alone (a training process never
    # reads history); the server's catch-up reads only the new tail of that run.
    eventlog.append(root, "b", "metrics", {"step": 12, "loss": 0.2, "max_steps": 100})
    assert index.head(conn) == head - 1
    assert history.sync(root)
    rows, summaries, index_head = indexed(root)
    assert index_head == eventlog.read_head(root) == head + 1
    assert [r[0] for r in rows] == list(range(1, head + 2))
    assert summaries[0]["step"] == 12 and summaries[0]["loss"] == 0.2


def test_lines_appended_behind_the_index_s_back_and_a_shortened_log_are_caught_up(tmp_path):
    root = root_with_history(tmp_path)
    head = eventlog.read_head(root)
    # A writer from before the index (or any process without it) appends straight to the log.
    with open(eventlog.events_path(root, "a"), "a") as f:
        f.write(json.dumps(eventlog.event_message(head + 1, 0, "a", "run_state", {"state": "failed", "error": "x"})) + "\n")
    with eventlog.locked(root, exclusive=True):
        eventlog._write_head(root, head + 1)
    assert history.sync(root)
    assert indexed(root)[1][1]["state"] == "failed"
    # The log loses its last line (edited by hand): the run is indexed again from the start.
    with open(eventlog.events_path(root, "a"), "rb+") as f:
        data = f.read()
        f.truncate(data.rstrip(b"\n").rfind(b"\n") + 1)
    assert history.sync(root)
    rows, summaries, _ = indexed(root)
    assert summaries[1]["state"] == "completed" and head + 1 not in [r[0] for r in rows]
    open(eventlog.events_path(root, "a"), "w").close()  # emptied
    assert history.sync(root)
    rows, summaries, _ = indexed(root)
    assert summaries[1]["state"] == "starting" and summaries[1]["step"] == 0 and {r[1] for r in rows} == {"b"}


def test_a_run_folder_deleted_by_hand_leaves_the_index(tmp_path):
    root = root_with_history(tmp_path)
    os.rename(os.path.join(root, "runs", "a"), os.path.join(str(tmp_path), "elsewhere"))
    assert history.sync(root)
    rows, summaries, _ = indexed(root)
    assert {r[1] for r in rows} == {"b"} and [s["run_id"] for s in summaries] == ["b"]


def test_damaged_lines_are_noted_like_the_full_scan_notes_them(tmp_path):
    root = root_with_history(tmp_path)
    with open(eventlog.events_path(root, "b"), "a") as f:
        f.write('{"type": "event", "seq": 99, "ti{"type": "event"}\n')
    eventlog.append(root, "b", "log", {"level": "info", "message": "after the damage"})
    index.reset(root)
    assert history.sync(root)
    summary = indexed(root)[1][0]
    from tunelab_agent.serving import runs

    assert summary["damaged"] == runs.summary(root, "b")["damaged"] == (
        "events.jsonl line 13 is not a complete event (a torn or damaged write); skipped")


def test_a_locked_index_never_fails_or_delays_an_append(tmp_path, caplog):
    root = root_with_history(tmp_path)
    other = sqlite3.connect(index.db_path(root), isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # someone outside the agent holds the database
    try:
        began = time.monotonic()
        event = eventlog.append(root, "b", "log", {"level": "info", "message": "while locked"})
        assert time.monotonic() - began < 1.0
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "database is locked" in caplog.text
    assert eventlog.read_run_events(root, "b")[-1]["seq"] == event["seq"]
    assert history.sync(root)
    assert indexed(root)[0][-1][0] == event["seq"]


def test_a_listing_the_index_cannot_record_is_refused_rather_than_incomplete(tmp_path, monkeypatch):
    root = root_with_history(tmp_path)
    make_run(root, "new", created=3000)
    eventlog.append(root, "new", "run_state", {"state": "running"})  # indexed, but not yet listed

    def disk_full(*args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(index, "set_meta", disk_full)
    with pytest.raises(history.Unavailable):  # the server then lists from the logs themselves
        history.summaries(root)
    monkeypatch.undo()
    assert [s["run_id"] for s in history.summaries(root)[0]] == ["new", "b", "a"]
