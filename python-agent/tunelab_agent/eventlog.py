"""The agent's event stream: one global seq per root, events stored in each run's events.jsonl.

Writers take an exclusive flock on root/events.lock, allocate seq+1, append and fsync the line,
then record the seq in root/events.seq. Readers take a shared lock, so a snapshot always holds
every event up to the recorded seq and nothing half-written.
"""

import fcntl
import json
import os
import time
from contextlib import contextmanager

from .protocol import event as event_message

EVENTS_FILE = "events.jsonl"


def runs_dir(root: str) -> str:
    return os.path.join(root, "runs")


def events_path(root: str, run_id: str) -> str:
    return os.path.join(runs_dir(root), run_id, EVENTS_FILE)


@contextmanager
def locked(root: str, exclusive: bool):
    fd = os.open(os.path.join(root, "events.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def read_head(root: str) -> int:
    """The last seq allocated (call while holding the lock, or to peek: the file is replaced atomically)."""
    # Raw os calls, not open(): a server subscription peeks at this many times a second, even when idle.
    try:
        fd = os.open(os.path.join(root, "events.seq"), os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        return int(os.read(fd, 64).strip() or 0)
    finally:
        os.close(fd)


def _write_head(root: str, seq: int) -> None:
    tmp = os.path.join(root, "events.seq.tmp")
    with open(tmp, "w") as f:
        f.write(str(seq))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(root, "events.seq"))


def append(root: str, run_id: str, kind: str, data: dict, only_if=None) -> dict | None:
    """Append one event and return it. `only_if(root, run_id)` runs under the lock; False skips the append."""
    appended = append_many(root, run_id, [(kind, data)], only_if)
    return appended[0] if appended else None


def append_many(root: str, run_id: str, items: list[tuple[str, dict]], only_if=None) -> list[dict]:
    """Append several events of one run under one lock and one fsync (e.g. a file's bad rows)."""
    if not items:
        return []
    with locked(root, exclusive=True):
        if only_if is not None and not only_if(root, run_id):
            return []
        head = read_head(root)
        now = time.time()
        events = [event_message(head + i + 1, now, run_id, kind, data) for i, (kind, data) in enumerate(items)]
        with open(events_path(root, run_id), "a") as f:
            f.write("".join(json.dumps(ev) + "\n" for ev in events))
            f.flush()
            os.fsync(f.fileno())
        _write_head(root, events[-1]["seq"])
        return events


def read_run_events(root: str, run_id: str) -> list[dict]:
    """All complete events of one run, in order."""
    try:
        with open(events_path(root, run_id), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    return _parse_lines(data[: data.rfind(b"\n") + 1])


def _parse_lines(chunk: bytes) -> list[dict]:
    return [json.loads(line) for line in chunk.splitlines() if line.strip()]


class Tail:
    """Follows every run's events.jsonl; `poll()` returns the events appended since the last call, by seq."""

    def __init__(self, root: str):
        self.root = root
        self.offsets: dict[str, int] = {}
        self.head = 0

    def poll(self) -> list[dict]:
        with locked(self.root, exclusive=False):
            head = read_head(self.root)
            if head == self.head and self.offsets:
                return []
            events = []
            for run_id in _list_runs(self.root):
                events.extend(self._read_new(events_path(self.root, run_id)))
            self.head = head
        events.sort(key=lambda e: e["seq"])
        return events

    def _read_new(self, path: str) -> list[dict]:
        start = self.offsets.get(path, 0)
        try:
            with open(path, "rb") as f:
                f.seek(start)
                data = f.read()
        except FileNotFoundError:
            return []
        # A writer killed mid-line leaves a fragment; only whole lines count.
        complete = data[: data.rfind(b"\n") + 1]
        self.offsets[path] = start + len(complete)
        return _parse_lines(complete)


def _list_runs(root: str) -> list[str]:
    try:
        return sorted(os.listdir(runs_dir(root)))
    except FileNotFoundError:
        return []
