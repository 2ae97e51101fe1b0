"""The agent's event stream: one global seq per root, events stored in each run's events.jsonl.

Writers take an exclusive flock on root/events.lock, allocate seq+1, append and fsync the lines,
then record the seq in root/events.seq. Readers take a shared lock, so a snapshot always holds
every event up to the recorded seq and nothing half-written.

A writer can die anywhere in that sequence (SIGKILL, a full disk), so every append first repairs
what a dead writer may have left, still under the lock:
- the run a writer is appending to is named in the lock file (its "intent") until the append is
  done; a name still there means that writer died mid-append;
- that run's log and the target run's log lose any partial last line (cut back to the last newline);
- events.seq is raised to the last complete event of those logs, so the complete lines of a dead
  writer keep their seqs and the next event continues after them: no seq is lost or given twice.
A write that fails with an error (rather than a kill) truncates its own lines away before raising.

Readers skip a line that is not a valid event (damage from an older agent, or a disk fault) and
report it once, naming the run and the line.

Each append also records its events in the history index (index.py) under the same lock. The index
is only a way to find events fast: it can fail or fall behind without the append failing, and is
caught up from the logs (history.py).
"""

import errno
import fcntl
import json
import logging
import os
import time
from contextlib import contextmanager

from .. import diskspace, faults
from . import index
from .eventfiles import DAMAGED, EVENTS_FILE, damage_note, events_path, parse as _parse, runs_dir  # noqa: F401
from .eventfiles import list_runs as _list_runs

LOCK_FILE = "events.lock"
INTENT_BYTES = 256  # the lock file's fixed size: overwriting it never needs a new block on a full disk
CHUNK = 64 * 1024

log = logging.getLogger("tunelab_agent")


def event_message(seq: int, time: float, run_id: str, kind: str, data: dict) -> dict:
    """An event as the protocol sends it; the log holds exactly what a client will receive."""
    return {"type": "event", "seq": seq, "time": time, "run_id": run_id, "kind": kind, "data": data}


@contextmanager
def locked(root: str, exclusive: bool):
    """Hold the event lock; yields the lock file's descriptor (which also holds the writer's intent)."""
    fd = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield fd
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
    except ValueError:
        return 0  # damaged; the next append reconciles it with the logs
    finally:
        os.close(fd)


def _write_head(root: str, seq: int) -> None:
    tmp = os.path.join(root, "events.seq.tmp")
    with open(tmp, "w") as f:
        f.write(str(seq))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(root, "events.seq"))


# --- writing ------------------------------------------------------------------------------------


def append(root: str, run_id: str, kind: str, data: dict, only_if=None, critical: bool = False) -> dict | None:
    """Append one event and return it. `only_if(root, run_id)` runs under the lock; False skips the append."""
    appended = append_many(root, run_id, [(kind, data)], only_if, critical)
    return appended[0] if appended else None


def append_many(root: str, run_id: str, items: list[tuple[str, dict]], only_if=None,
                critical: bool = False) -> list[dict]:
    """Append several events of one run under one lock and one fsync (e.g. a file's bad rows).

    Raises DiskFullError when the disk is full. A `critical` append (a run's final state and its cause)
    then releases the disk reserve (see diskspace) and tries once more.
    """
    if not items:
        return []
    try:
        return _append_or_say_full(root, run_id, items, only_if)
    except diskspace.DiskFullError:
        if not critical or not diskspace.release_reserve(root):
            raise
        log.warning("run %s: disk full; released the disk reserve to record its final events", run_id)
        return _append_or_say_full(root, run_id, items, only_if)


def _append_or_say_full(root: str, run_id: str, items: list[tuple[str, dict]], only_if) -> list[dict]:
    try:
        return _append_many(root, run_id, items, only_if)
    except OSError as exc:
        if exc.errno in diskspace.FULL_ERRNOS and not isinstance(exc, diskspace.DiskFullError):
            raise diskspace.DiskFullError(
                f"disk full while writing the event log of run {run_id}: {diskspace.where_free(root)}") from exc
        raise


def _append_many(root: str, run_id: str, items: list[tuple[str, dict]], only_if) -> list[dict]:
    with locked(root, exclusive=True) as lock_fd:
        fd = os.open(events_path(root, run_id), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            head = _recover(root, lock_fd, run_id, fd)
            if only_if is not None and not only_if(root, run_id):
                return []
            now = time.time()
            events = [event_message(head + i + 1, now, run_id, kind, data) for i, (kind, data) in enumerate(items)]
            lines = [(json.dumps(ev) + "\n").encode() for ev in events]
            data = b"".join(lines)
            start = os.fstat(fd).st_size
            try:
                _set_intent(lock_fd, run_id)
                faults.fill_disk_at("event_append")
                faults.kill_mid_append(fd, data)
                _write_all(fd, data)
                os.fsync(fd)
                _write_head(root, events[-1]["seq"])
            except OSError:
                # The append fails whole: no torn line is left, and no reader saw these lines (they need the lock).
                os.ftruncate(fd, start)
                _set_intent(lock_fd, None)
                raise
            _set_intent(lock_fd, None)
            # Still under the lock, so readers that take it see the log and the index agree. This never
            # raises: a failure leaves the index behind, to be caught up from the log.
            faults.kill_at("before_index")
            index.record_append(root, run_id, start, events, [len(line) for line in lines])
            return events
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.EIO, "write wrote nothing")
        view = view[written:]


def _set_intent(lock_fd: int, run_id: str | None) -> None:
    os.pwrite(lock_fd, (run_id or "").encode().ljust(INTENT_BYTES, b"\0"), 0)


def _recover(root: str, lock_fd: int, run_id: str, fd: int) -> int:
    """Repair what a writer that died mid-append left behind (under the exclusive lock); returns the head.

    `fd` is the target run's log. When no writer left an intent and that log ends in a newline, the last
    append finished, so there is nothing to read: the common case costs two small reads.
    """
    intent = os.pread(lock_fd, INTENT_BYTES, 0).rstrip(b"\0").decode(errors="replace")
    head = read_head(root)
    size = os.fstat(fd).st_size
    if not intent and (size == 0 or os.pread(fd, 1, size - 1) == b"\n"):
        return head
    suspects = {run_id}
    if intent and intent == os.path.basename(intent) and intent not in (".", ".."):
        suspects.add(intent)
    top = max([head] + [repair_tail(root, r) for r in sorted(suspects)])
    if top != head:
        log.warning("events.seq said %d but the event log holds seq %d; continuing from %d", head, top, top)
        _write_head(root, top)
    if intent:
        _set_intent(lock_fd, None)
    return top


def repair_tail(root: str, run_id: str) -> int:
    """Cut a partial last line from a run's log; returns the seq of its last complete event (0 if none)."""
    path = events_path(root, run_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    try:
        size = os.fstat(fd).st_size
        end = size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            end = _last_newline_end(fd, size)
            os.ftruncate(fd, end)
            os.fsync(fd)
            log.warning("run %s: %s ended in a torn line (%d bytes, from a writer that was killed or ran out "
                        "of disk); cut back to the last complete event", run_id, EVENTS_FILE, size - end)
        for line in _lines_backward(fd, end):
            event = _parse(line)
            if event is not None:
                return event["seq"]
        return 0
    finally:
        os.close(fd)


def repair_all(root: str) -> int:
    """Repair every run's log and reconcile events.seq with them (a server does this once at start)."""
    with locked(root, exclusive=True) as lock_fd:
        _ensure_lock_size(lock_fd)
        intent = os.pread(lock_fd, INTENT_BYTES, 0).rstrip(b"\0")
        if intent:
            _set_intent(lock_fd, None)  # every run is checked below, the one it names included
        head = read_head(root)
        top = max([head] + [repair_tail(root, r) for r in _list_runs(root)])
        if top != head:
            log.warning("events.seq said %d but the event log holds seq %d; continuing from %d", head, top, top)
            _write_head(root, top)
        return top


def _ensure_lock_size(lock_fd: int) -> None:
    if os.fstat(lock_fd).st_size < INTENT_BYTES:
        os.pwrite(lock_fd, os.pread(lock_fd, INTENT_BYTES, 0).ljust(INTENT_BYTES, b"\0"), 0)


def _last_newline_end(fd: int, end: int) -> int:
    pos = end
    while pos > 0:
        n = min(CHUNK, pos)
        pos -= n
        nl = os.pread(fd, n, pos).rfind(b"\n")
        if nl >= 0:
            return pos + nl + 1
    return 0


def _lines_backward(fd: int, end: int):
    """The lines before offset `end` (which follows a newline), last first."""
    pos, rest, chunk = end, b"", 4096  # an event line is usually under 4 KB: one small read per append
    while pos > 0:
        n = min(chunk, pos)
        chunk = CHUNK
        pos -= n
        parts = (os.pread(fd, n, pos) + rest).split(b"\n")
        rest = parts[0]
        for line in reversed(parts[1:]):
            if line.strip():
                yield line
    if rest.strip():
        yield rest


# --- reading ------------------------------------------------------------------------------------
# The full-scan readers: one run's whole log, or every log from the start (Tail). Servers read through
# the index instead (history.py); these stay for the places that need one run's truth under the lock,
# and as the reference the index is tested against.


_reported: set[tuple[str, int]] = set()


def _parse_chunk(chunk: bytes, run_id: str, first_line: int, problems: list | None = None) -> list[dict]:
    """Events in `chunk` (whole lines; the first is line `first_line` of the run's log); damaged lines are
    skipped, logged once per process, and listed in `problems` as (line number, reason)."""
    events = []
    for number, line in enumerate(chunk.split(b"\n")[:-1], first_line):
        if not line.strip():
            continue
        event = _parse(line)
        if event is not None:
            events.append(event)
            continue
        reason = DAMAGED
        if problems is not None:
            problems.append((number, reason))
        if (run_id, number) not in _reported:
            _reported.add((run_id, number))
            log.warning("run %s: %s line %d is %s", run_id, EVENTS_FILE, number, reason)
    return events


def read_run_events(root: str, run_id: str) -> list[dict]:
    """All complete events of one run, in order."""
    return read_run_events_checked(root, run_id)[0]


def read_run_events_checked(root: str, run_id: str) -> tuple[list[dict], list[tuple[int, str]]]:
    """(events, damaged lines as (line number, reason)) of one run."""
    try:
        with open(events_path(root, run_id), "rb") as f:
            data = f.read()
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    problems: list[tuple[int, str]] = []
    # A partial last line belongs to a writer still at work (or one that died: the next append cuts it).
    return _parse_chunk(data[: data.rfind(b"\n") + 1], run_id, 1, problems), problems


class Tail:
    """Follows every run's events.jsonl; `poll()` returns the events appended since the last call, by seq.

    Its first poll reads every log from the start: fine for tests and tools, not for a server (history.py).
    """

    def __init__(self, root: str):
        self.root = root
        self.offsets: dict[str, tuple[int, int]] = {}  # run id -> (byte offset, lines read)
        self.head = 0

    def poll(self) -> list[dict]:
        with locked(self.root, exclusive=False):
            head = read_head(self.root)
            if head == self.head and self.offsets:
                return []
            events = []
            for run_id in _list_runs(self.root):
                events.extend(self._read_new(run_id))
            self.head = head
        events.sort(key=lambda e: e["seq"])
        return events

    def _read_new(self, run_id: str) -> list[dict]:
        start, lines = self.offsets.get(run_id, (0, 0))
        try:
            with open(events_path(self.root, run_id), "rb") as f:
                f.seek(start)
                data = f.read()
        except (FileNotFoundError, NotADirectoryError):
            return []
        # A writer killed mid-line leaves a fragment; only whole lines count (the next append cuts it).
        complete = data[: data.rfind(b"\n") + 1]
        self.offsets[run_id] = (start + len(complete), lines + complete.count(b"\n"))
        return _parse_chunk(complete, run_id, lines + 1)

