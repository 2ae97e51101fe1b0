"""A subscription's replay through the index gives exactly what the full scan of every log gave: the same
events, in the same order, for any `since`, on random roots (damaged lines and deleted runs included)."""

import json
import os
import random

import pytest

from tunelab_agent.rundir import eventlog, history, replay
from tunelab_agent.serving import runs


def full_scan_after(root: str, since: int) -> list[dict]:
    """The old subscribe: read every run's log from the start, sort by seq, keep what is after `since`."""
    return [e for e in eventlog.Tail(root).poll() if e["seq"] > since]


def feed_after(root: str, since: int) -> tuple[int, list[dict]]:
    feed = replay.Feed(root, since)
    head = feed.start()
    events = []
    while batch := feed.next_batch():
        events += [json.loads(line) for line in batch]
    return head, events


def random_root(root: str, rng: random.Random) -> None:
    run_ids = [f"run-{i}" for i in range(rng.randint(2, 6))]
    for run_id in run_ids:
        os.makedirs(os.path.join(root, "runs", run_id))
        if rng.random() < 0.8:  # a folder without run.json is not listed, but its events are still sent
            with open(os.path.join(root, "runs", run_id, "run.json"), "w") as f:
                json.dump({"name": run_id, "created": rng.random() * 1e9}, f)
    assert history.sync(root)
    for _ in range(rng.randint(20, 200)):
        run_id = rng.choice(run_ids)
        roll = rng.random()
        if roll < 0.1:
            eventlog.append_many(root, run_id, [("bad_row", {"line": i, "reason": "x" * rng.randint(0, 300)})
                                                for i in range(rng.randint(2, 30))])
        elif roll < 0.13:
            with open(eventlog.events_path(root, run_id), "a") as f:  # a damaged line, skipped by both
                f.write('{"type": "event", "seq": 1, "kind": "lo{"type"\n')
        else:
            eventlog.append(root, run_id, "metrics", {"step": rng.randint(0, 99), "loss": rng.random(),
                                                      "note": "é" * rng.randint(0, 3)})  # multi-byte text
    if rng.random() < 0.7:
        listed = [r for r in run_ids if runs.exists(root, r)]
        if listed:
            eventlog.append(root, listed[0], "run_state", {"state": "completed"})
            runs.delete(root, listed[0])


@pytest.mark.parametrize("seed", range(6))
def test_replay_matches_the_full_scan_for_any_since(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    root = str(tmp_path)
    random_root(root, rng)
    monkeypatch.setattr(replay, "BATCH", rng.randint(1, 40))  # many batches, and batch edges everywhere
    monkeypatch.setattr(replay, "MERGE_GAP", rng.choice([0, 100, 64 * 1024]))
    head = eventlog.read_head(root)
    for since in {0, 1, head // 3, head // 2, head - 1, head, head + 5, rng.randint(0, head)}:
        got_head, events = feed_after(root, since)
        assert got_head == head
        assert events == full_scan_after(root, since), f"seed {seed}, since {since}"


def test_replay_without_the_index_gives_the_same(tmp_path, monkeypatch):
    root = str(tmp_path)
    random_root(root, random.Random(42))
    head = eventlog.read_head(root)

    def unavailable(*args, **kwargs):
        raise history.Unavailable("for the test")

    monkeypatch.setattr(history, "at_head", unavailable)
    for since in (0, head // 2, head):
        assert feed_after(root, since) == (head, full_scan_after(root, since))


def test_a_feed_follows_new_events_of_every_run_in_seq_order(tmp_path, monkeypatch):
    root = str(tmp_path)
    for run_id in ("a", "b"):
        os.makedirs(os.path.join(root, "runs", run_id))
    assert history.sync(root)
    monkeypatch.setattr(replay, "BATCH", 3)
    feed = replay.Feed(root, 0)
    assert feed.start() == 0 and feed.next_batch() == []
    for i in range(5):
        eventlog.append(root, "ab"[i % 2], "log", {"level": "info", "message": str(i)})
    seen = []
    while batch := feed.next_batch():
        assert len(batch) <= 3
        seen += [json.loads(line)["data"]["message"] for line in batch]
    assert seen == ["0", "1", "2", "3", "4"] and feed.head == 5
    # A writer killed before updating the index: the feed notices the index is behind and catches it up.
    with open(eventlog.events_path(root, "b"), "a") as f:
        f.write(json.dumps(eventlog.event_message(6, 0, "b", "log", {"level": "info", "message": "5"})) + "\n")
    with eventlog.locked(root, exclusive=True):
        eventlog._write_head(root, 6)
    assert [json.loads(line)["seq"] for line in feed.next_batch()] == [6]


def test_a_log_rewritten_behind_the_index_s_back_is_read_right_and_indexed_again(tmp_path, monkeypatch):
    root = str(tmp_path)
    monkeypatch.setattr(replay, "BATCH", 1)
    os.makedirs(os.path.join(root, "runs", "r"))
    assert history.sync(root)
    for i in range(4):
        eventlog.append(root, "r", "log", {"level": "info", "message": "x" * 10})
    path = eventlog.events_path(root, "r")
    with open(path) as f:
        events = [json.loads(line) for line in f]
    events[1]["data"]["message"] = "y" * 5  # the same size on disk overall, different offsets inside
    events[2]["data"]["message"] = "z" * 15
    with open(path, "w") as f:
        f.writelines(json.dumps(e) + "\n" for e in events)
    for since in (1, 0):  # seq 2 alone first: its line now ends before where the index says
        assert feed_after(root, since)[1] == events[since:]


def test_a_batch_of_a_run_deleted_under_the_feed_does_not_stall_it(tmp_path, monkeypatch):
    root = str(tmp_path)
    for run_id in ("a", "b"):
        os.makedirs(os.path.join(root, "runs", run_id))
    assert history.sync(root)
    for i in range(4):
        eventlog.append(root, "a", "log", {"level": "info", "message": f"a{i}"})
    eventlog.append(root, "b", "log", {"level": "info", "message": "b0"})
    monkeypatch.setattr(replay, "BATCH", 2)
    feed = replay.Feed(root, 0)
    assert feed.start() == 5
    os.rename(os.path.join(root, "runs", "a"), os.path.join(root, "gone"))  # its index rows are still there
    assert [json.loads(line)["data"]["message"] for line in feed.next_batch()] == ["b0"]
    assert feed.next_batch() == [] and feed.head == 5
