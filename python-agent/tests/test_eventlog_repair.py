"""The event log after torn writes, killed writers and corrupt lines: repaired on the next append, skipped
(and reported) by readers, and never a seq lost or given twice."""

import json
import logging
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time

from tunelab_agent.rundir import eventlog

LOG = "tunelab_agent"


def make_runs(root: str, *run_ids: str) -> None:
    for run_id in run_ids:
        os.makedirs(os.path.join(root, "runs", run_id), exist_ok=True)


def log_event(root: str, run_id: str, message: str) -> dict:
    return eventlog.append(root, run_id, "log", {"level": "info", "message": message})


def all_seqs(root: str) -> list[int]:
    return sorted(e["seq"] for r in os.listdir(os.path.join(root, "runs")) for e in eventlog.read_run_events(root, r))


def test_a_torn_last_line_and_a_head_behind_it_are_repaired_by_the_next_append(tmp_path, caplog):
    root = str(tmp_path)
    make_runs(root, "r")
    for i in range(3):
        log_event(root, "r", f"m{i}")
    # What the full disk left: two more complete lines (a batch written before the failure), then
    # a torn third, while events.seq still says 3.
    path = eventlog.events_path(root, "r")
    with open(path, "a") as f:
        for seq in (4, 5):
            f.write(json.dumps({"type": "event", "seq": seq, "time": 0, "run_id": "r", "kind": "log",
                                "data": {"level": "info", "message": f"batch {seq}"}}) + "\n")
        f.write('{"type": "event", "seq": 6, "time": 0, "run_id": "r", "ki')
    assert eventlog.read_head(root) == 3

    with caplog.at_level(logging.WARNING, LOG):
        event = log_event(root, "r", "after the fault")
    assert event["seq"] == 6  # after the complete lines, reusing the torn line's seq: no gap, no duplicate
    events = eventlog.read_run_events(root, "r")
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["data"]["message"] == "after the fault"
    assert open(path, "rb").read().endswith(b"\n")
    # The torn line was cut first, then the head was reconciled, in that order.
    messages = [r.getMessage() for r in caplog.records]
    torn = next(i for i, m in enumerate(messages) if "torn line" in m)
    behind = next(i for i, m in enumerate(messages) if "events.seq said 3" in m)
    assert torn < behind


def test_a_writer_that_died_mid_append_in_another_run_keeps_its_complete_lines(tmp_path):
    root = str(tmp_path)
    make_runs(root, "a", "b")
    log_event(root, "a", "a1")
    log_event(root, "b", "b1")
    # A writer of run a was killed after its lines reached the file but before events.seq moved; its
    # intent is still in the lock file. The next append is to run b.
    with eventlog.locked(root, exclusive=True) as fd:
        eventlog._set_intent(fd, "a")
    with open(eventlog.events_path(root, "a"), "a") as f:
        f.write(json.dumps({"type": "event", "seq": 3, "time": 0, "run_id": "a", "kind": "log",
                            "data": {"level": "info", "message": "a2"}}) + "\n")
        f.write('{"type": "event", "seq": 4, "ti')
    assert log_event(root, "b", "b2")["seq"] == 4
    assert all_seqs(root) == [1, 2, 3, 4]
    assert open(eventlog.events_path(root, "a"), "rb").read().endswith(b"\n")


def test_readers_skip_a_corrupt_line_and_report_it_once_with_run_and_line(tmp_path, caplog):
    root = str(tmp_path)
    make_runs(root, "good", "bad")
    log_event(root, "good", "g1")
    log_event(root, "bad", "b1")
    # The damage: a final event appended onto a torn fragment, one line of invalid JSON.
    with open(eventlog.events_path(root, "bad"), "a") as f:
        f.write('{"type": "event", "seq": 3, "time": 0, "run_id": "bad", "ki'
                '{"type": "event", "seq": 3, "time": 1, "run_id": "bad", "kind": "run_state", "data": {"state": "failed"}}\n')
    with eventlog.locked(root, exclusive=True):
        eventlog._write_head(root, 3)
    log_event(root, "bad", "b3")

    with caplog.at_level(logging.WARNING, LOG):
        events, problems = eventlog.read_run_events_checked(root, "bad")
        eventlog.read_run_events(root, "bad")
        tail_events = eventlog.Tail(root).poll()
    assert [e["data"]["message"] for e in events] == ["b1", "b3"]
    assert problems == [(2, "not a complete event (a torn or damaged write); skipped")]
    assert eventlog.damage_note(problems) == "events.jsonl line 2 is not a complete event (a torn or damaged write); skipped"
    reports = [r.getMessage() for r in caplog.records if "line 2" in r.getMessage()]
    assert reports == ["run bad: events.jsonl line 2 is not a complete event (a torn or damaged write); skipped"]
    assert [e["seq"] for e in tail_events] == [1, 2, 4]  # the other run is untouched


def test_a_failed_write_is_cut_back_whole_and_names_the_full_disk(tmp_path, monkeypatch):
    # The disk is a double here (a write that stops with ENOSPC after 10 bytes); test_disk_faults.py fills
    # a real tmpfs.
    from tunelab_agent import diskspace

    root = str(tmp_path)
    make_runs(root, "r")
    log_event(root, "r", "before")

    def write_some_then_fail(fd, data):
        os.write(fd, bytes(data[:10]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(eventlog, "_write_all", write_some_then_fail)
    try:
        eventlog.append(root, "r", "log", {"level": "info", "message": "lost"})
        raise AssertionError("the append should have failed")
    except diskspace.DiskFullError as exc:
        assert str(exc).startswith("disk full while writing the event log of run r: ")
        assert " free on /" in str(exc)
    monkeypatch.undo()
    assert open(eventlog.events_path(root, "r"), "rb").read().endswith(b"\n")  # no torn line left
    assert eventlog.read_head(root) == 1
    assert log_event(root, "r", "after")["seq"] == 2


def _append_forever(root: str, run_id: str, ready) -> None:
    ready.set()
    i = 0
    while True:
        items = [("log", {"level": "info", "message": f"{run_id}-{i}-{k}" + "x" * 2000}) for k in range(20)]
        eventlog.append_many(root, run_id, items)
        i += 1


def test_twenty_writers_killed_at_random_moments_never_lose_or_repeat_a_seq(tmp_path):
    root = str(tmp_path)
    make_runs(root, "a", "b")
    rng = random.Random()
    ctx = multiprocessing.get_context("fork")
    for trial in range(20):
        ready = ctx.Event()
        run_id = "ab"[trial % 2]
        writer = ctx.Process(target=_append_forever, args=(root, run_id, ready))
        writer.start()
        ready.wait()
        time.sleep(rng.uniform(0.001, 0.03))
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
        # The next writer (of the other run, or the same) repairs what was left.
        log_event(root, "ba"[trial % 2], f"after kill {trial}")
        seqs = all_seqs(root)
        assert seqs == list(range(1, len(seqs) + 1)), f"trial {trial}: seqs have a gap or a duplicate"
        assert eventlog.read_head(root) == seqs[-1]
        for r in ("a", "b"):
            assert eventlog.read_run_events_checked(root, r)[1] == []


def test_a_process_killed_inside_an_append_leaves_a_torn_line_that_the_next_append_cuts(tmp_path):
    root = str(tmp_path)
    make_runs(root, "r")
    log_event(root, "r", "first")
    script = ("import sys; from tunelab_agent.rundir import eventlog; "
              "eventlog.append(sys.argv[1], 'r', 'log', {'level': 'info', 'message': 'half'})")
    result = subprocess.run([sys.executable, "-c", script, root], env={**os.environ, "TUNELAB_FAULT": "kill_mid_append"})
    assert result.returncode == -signal.SIGKILL
    assert not open(eventlog.events_path(root, "r"), "rb").read().endswith(b"\n")
    assert log_event(root, "r", "second")["seq"] == 2
    assert [e["data"]["message"] for e in eventlog.read_run_events(root, "r")] == ["first", "second"]
