import multiprocessing
import os

from tunelab_agent.rundir import eventlog


def write_many(root: str, run_id: str, count: int) -> None:
    for i in range(count):
        eventlog.append(root, run_id, "log", {"level": "info", "message": f"{run_id} {i}"})


def test_seq_is_contiguous_across_concurrent_writer_processes(tmp_path):
    root = str(tmp_path)
    for run_id in ("run-a", "run-b"):
        os.makedirs(os.path.join(root, "runs", run_id))
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=write_many, args=(root, r, 150)) for r in ("run-a", "run-b")]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
        assert w.exitcode == 0

    events = eventlog.Tail(root).poll()
    assert [e["seq"] for e in events] == list(range(1, 301))
    with eventlog.locked(root, exclusive=False):
        assert eventlog.read_head(root) == 300
    # Each run's own file is in seq order and holds its own 150 events in the order written.
    for run_id in ("run-a", "run-b"):
        mine = eventlog.read_run_events(root, run_id)
        assert [e["data"]["message"] for e in mine] == [f"{run_id} {i}" for i in range(150)]
        assert [e["seq"] for e in mine] == sorted(e["seq"] for e in mine)


def test_tail_returns_only_new_events_and_ignores_partial_lines(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "runs", "r"))
    tail = eventlog.Tail(root)
    write_many(root, "r", 3)
    assert [e["seq"] for e in tail.poll()] == [1, 2, 3]
    assert tail.poll() == []
    with open(eventlog.events_path(root, "r"), "a") as f:
        f.write('{"type": "event", "seq": 4')  # a writer killed mid-line
    assert tail.poll() == []


def test_only_if_skips_the_append_under_the_lock(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "runs", "r"))
    assert eventlog.append(root, "r", "log", {"level": "info", "message": "x"}, only_if=lambda *_: False) is None
    assert eventlog.read_run_events(root, "r") == []
