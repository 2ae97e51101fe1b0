"""Reading events by seq: a subscription's replay and its live follow, at a cost set by what it reads.

The index gives each event's run, byte offset and length; events of one run that sit close together in
its log are read with one pread, and lines are sent exactly as stored (the log holds what a client
receives), so replaying K events costs about K lines, whatever the history holds. Work comes in
batches, so memory stays flat even for a replay from seq 0.

When the index cannot be brought up to date (a full disk, a locked database), the logs themselves are
read: each run's log from its end back to the first event already seen, which is slower but still
skips the history a subscriber already has.
"""

import os
import re

from . import eventlog, history, index
from .eventfiles import events_path, list_runs, parse

BATCH = 1000  # events per batch: memory stays flat, and a batch reads in a few milliseconds
MERGE_GAP = 64 * 1024  # events of one run closer than this are read together (a read beats a seek)
SEQ_AT_START = re.compile(rb'^\{"type": "event", "seq": (\d+),')


class Feed:
    """One subscriber's events after `since`: first what is stored, then what is appended, in seq order."""

    def __init__(self, root: str, since: int):
        self.root = root
        self.last = since  # the last seq handed out
        self.head = since  # the head it has caught up with (nothing stored after `last` up to it)

    def start(self) -> int:
        """The head to answer the subscription with; the index is brought up to it if it can be."""
        try:
            return history.at_head(self.root, lambda conn, head: head)
        except history.Unavailable:
            with eventlog.locked(self.root, exclusive=False):
                return eventlog.read_head(self.root)

    def next_batch(self) -> list[bytes]:
        """The next lines (each one event's JSON, UTF-8) after the last handed out, up to BATCH; [] when
        there are no more right now. Blocking (file reads): call from a worker thread."""
        while True:
            try:
                head, rows = history.at_head(self.root, lambda conn, head: (
                    head, index.events_after(conn, self.last, head, BATCH)))
                lines = read_lines(self.root, rows)
            except Stale as exc:
                history.reindex_run(self.root, exc.run_id)
                return self._scan()
            except history.Unavailable:
                return self._scan()
            if rows:
                self.last = rows[-1][0]
            if len(rows) < BATCH:
                self.head = head  # caught up with the head these rows were read at
                return lines
            if lines:
                return lines
            # A whole batch of a run deleted meanwhile: nothing to send, but more may follow.

    def _scan(self) -> list[bytes]:
        # All at once, as the server before the index did: scanning again for each batch would cost more.
        with eventlog.locked(self.root, exclusive=False):
            head = eventlog.read_head(self.root)
            lines = scan_after(self.root, self.last)
        if lines:
            self.last = _seq_of(lines[-1])
        self.head = head
        return lines


class Stale(Exception):
    """The index points at a line that does not hold the event it names (a log rewritten by hand)."""

    def __init__(self, run_id: str, message: str):
        super().__init__(message)
        self.run_id = run_id


def read_lines(root: str, rows: list[tuple]) -> list[bytes]:
    """The lines of events (seq, run id, offset, length), in the order given. An event whose run folder is
    gone (deleted meanwhile) is left out."""
    by_run: dict[str, list[tuple]] = {}
    for seq, run_id, offset, length in rows:
        by_run.setdefault(run_id, []).append((offset, length, seq))
    found: dict[int, bytes] = {}
    for run_id, spots in by_run.items():
        try:
            fd = os.open(events_path(root, run_id), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            spots.sort()
            for group in _close_together(spots):
                start = group[0][0]
                end = group[-1][0] + group[-1][1] + 1  # with the last line's newline
                data = os.pread(fd, end - start, start)
                for offset, length, seq in group:
                    line = data[offset - start: offset - start + length + 1]
                    # The line must still start with its seq and end where the index says: a log changed
                    # behind the index's back shows here, and is indexed again rather than sent torn.
                    if not (line.endswith(b"}\n") and _holds(line[:-1], seq)):
                        raise Stale(run_id, f"run {run_id}: byte {offset} of its log does not hold event {seq}")
                    found[seq] = line[:-1]
        finally:
            os.close(fd)
    return [found[seq] for seq, *_ in rows if seq in found]


def _close_together(spots: list[tuple]):
    group = [spots[0]]
    for spot in spots[1:]:
        if spot[0] - (group[-1][0] + group[-1][1]) <= MERGE_GAP:
            group.append(spot)
        else:
            yield group
            group = [spot]
    yield group


def _holds(line: bytes, seq: int) -> bool:
    # Lines the agent wrote start with their seq: a prefix check, no parsing, for all but hand-made ones.
    return line.startswith(b'{"type": "event", "seq": %d,' % seq) or _seq_of(line) == seq


def _seq_of(line: bytes) -> int | None:
    # Lines the agent wrote start with the seq; parsing the whole line is only for others.
    match = SEQ_AT_START.match(line)
    if match:
        return int(match[1])
    event = parse(line)
    return event["seq"] if event else None


def scan_after(root: str, since: int) -> list[bytes]:
    """Without the index: every stored event after `since`, by seq, reading each run's log backwards
    from its end until an event at or before `since` (each log is in seq order)."""
    found: list[tuple[int, bytes]] = []
    for run_id in list_runs(root):
        try:
            fd = os.open(events_path(root, run_id), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            size = os.fstat(fd).st_size
            end = eventlog._last_newline_end(fd, size)  # a partial last line is a writer still at work
            for line in eventlog._lines_backward(fd, end):
                event = parse(line)
                if event is None:
                    continue
                if event["seq"] <= since:
                    break
                found.append((event["seq"], line))
        finally:
            os.close(fd)
    found.sort(key=lambda pair: pair[0])
    return [line for _, line in found]
