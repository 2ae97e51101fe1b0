"""The index beside the event logs: where each event sits, and a summary of each run (SQLite).

events.jsonl stays the durable, human-readable record; this database only saves re-reading it. It maps
each seq to (run, byte offset, length, kind) so a reader can seek straight to the events it wants, and
keeps per run the summary the Runs view lists plus how many bytes of the log it has indexed.

Writers update it under the same flock as their append (record_append), so an index that is complete
stays complete. It can always be rebuilt from the logs, so it is kept with synchronous=NORMAL, and any
failure to write it (locked, corrupt, full disk) is logged once and skipped: an append never fails or is
lost because of the index. A run left behind is caught up from its log (see history.sync).

`meta.head` is the seq up to which the index is known to hold every event. An append moves it only when
the index held everything before the append's first event; anything else (a skipped update, a writer
killed between its append and the index) leaves it behind events.seq, which tells readers to catch up.
"""

import logging
import os
import sqlite3
import threading

from . import run_summary
from .eventfiles import DAMAGED, damage_sentence, events_path, parse

DB_FILE = "index.sqlite"
VERSION = 1  # PRAGMA user_version; a database of another version is rebuilt
CHUNK = 4 * 2**20  # bytes of log indexed per transaction while catching up (and per lock hold)
BUSY_MS = 2000  # how long a query waits for a database another process is writing
# The same for a writer appending events. Nothing else writes the index while the event lock is held, so
# it is only ever busy when something outside the agent holds it: waiting long would stall training.
APPEND_BUSY_MS = 100

log = logging.getLogger("tunelab_agent")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('head', 0);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL DEFAULT 0,          -- bytes of events.jsonl indexed; always just after a newline
    lines INTEGER NOT NULL DEFAULT 0,         -- lines in those bytes (to number damaged ones as readers do)
    damaged_lines INTEGER NOT NULL DEFAULT 0,
    first_damaged INTEGER,
    listed INTEGER NOT NULL DEFAULT 0,        -- run.json exists: list_runs shows the run
    meta_stamp TEXT,                          -- run.json's mtime and size when name and created were read
    meta_damage TEXT,                         -- why run.json cannot be read, if it cannot
    name TEXT,
    created REAL NOT NULL DEFAULT 0,
    state TEXT,                               -- the last run_state's; NULL before the first one
    error TEXT,
    step INTEGER NOT NULL DEFAULT 0,
    max_steps INTEGER,
    loss REAL,
    checkpoints INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,                  -- without the newline
    kind TEXT NOT NULL,
    step INTEGER                              -- data.step of metrics and eval events, for run_history ranges
);
CREATE INDEX IF NOT EXISTS events_of_run ON events (run, seq);
CREATE INDEX IF NOT EXISTS runs_newest_first ON runs (listed, created DESC, run_id);
"""

RUN_FIELDS = ("id", "size", "lines", "damaged_lines", "first_damaged", *run_summary.FROM_EVENTS)


class Corrupt(Exception):
    """The database file is not a usable index (garbage, another version); it must be rebuilt."""


def db_path(root: str) -> str:
    return os.path.join(root, DB_FILE)


# --- connections --------------------------------------------------------------------------------

_local = threading.local()  # sqlite connections are per thread; a forked child opens its own


class _Held:
    def __init__(self, conn: sqlite3.Connection, inode: int, pid: int):
        self.conn, self.inode, self.pid = conn, inode, pid


def connect(root: str, create: bool = True, for_append: bool = False) -> sqlite3.Connection | None:
    """This thread's connection to the root's index; None when there is none and `create` is False.

    The file's inode is checked each time: a server that rebuilt a corrupt index replaced the file, and a
    connection to the old one would write where nobody reads. Writers appending events get a connection
    of their own that gives up sooner on a busy database (see record_append).
    """
    path = db_path(root)
    held_all = _local.__dict__.setdefault("held", {})
    key = (root, for_append)
    held = held_all.get(key)
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        inode = None
    if held and held.pid == os.getpid() and held.inode == inode:
        return held.conn
    if held:
        held_all.pop(key)
        if held.pid == os.getpid():
            held.conn.close()
    if inode is None and not create:
        return None
    busy_ms = APPEND_BUSY_MS if for_append else BUSY_MS
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000)
    try:
        _prepare(conn)
    except sqlite3.OperationalError:
        conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise Corrupt(f"{path}: {exc}") from None
    held_all[key] = _Held(conn, os.stat(path).st_ino, os.getpid())
    return conn


def _prepare(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]  # reads the header: garbage fails here
    if version not in (0, VERSION):
        raise sqlite3.DatabaseError(f"index version {version}, this agent writes {VERSION}")
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # a lost commit is caught up from the log, which is fsync'd
    # A small WAL, truncated after each checkpoint: the index must not eat the space a full disk's last
    # events need.
    conn.execute("PRAGMA wal_autocheckpoint=256")
    conn.execute("PRAGMA journal_size_limit=1048576")
    if version == 0:
        try:  # one transaction, so two processes creating it at once cannot interleave
            conn.executescript(f"BEGIN IMMEDIATE; {SCHEMA}; PRAGMA user_version={VERSION}; COMMIT;")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")


class transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (a failed COMMIT on a full disk included)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, value, tb):
        if kind is None:
            try:
                self.conn.execute("COMMIT")
                return False
            except BaseException:
                self._rollback()
                raise
        self._rollback()
        return False

    def _rollback(self):
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def close(root: str) -> None:
    """Close this thread's connections to the root's index (the next connect opens the file afresh)."""
    for for_append in (False, True):
        held = _local.__dict__.setdefault("held", {}).pop((root, for_append), None)
        if held and held.pid == os.getpid():
            held.conn.close()


def reset(root: str) -> None:
    """Delete the index (call under the exclusive event lock); the next connect starts an empty one."""
    close(root)
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(db_path(root) + suffix)
        except FileNotFoundError:
            pass


# --- failures -----------------------------------------------------------------------------------

_told: set[tuple[str, str]] = set()


def trouble(root: str, exc: BaseException, doing: str) -> None:
    """Say once per process and kind of failure that the index is behind; never raises."""
    reason = f"{type(exc).__name__}: {exc}"
    if (root, reason) in _told:
        return
    _told.add((root, reason))
    try:
        log.warning("the history index %s could not be updated while %s (%s); the event logs are intact and "
                    "the index catches up from them later", db_path(root), doing, reason)
    except Exception:
        pass


# --- writing ------------------------------------------------------------------------------------


def record_append(root: str, run_id: str, start: int, events: list[dict], lengths: list[int]) -> None:
    """Index events just appended at byte `start` of the run's log (each line `lengths[i]` bytes with its
    newline). Called under the exclusive event lock by every writer; never raises.

    Only an index that is already up to date with this run's log is extended: a run behind (or a missing
    database) is left for the server to catch up from the log, so a training process never reads history.
    """
    try:
        conn = connect(root, create=False, for_append=True)
        if conn is not None:
            _record(conn, run_id, start, events, lengths)
    except Exception as exc:  # the append is done and durable; the index must not be able to undo it
        trouble(root, exc, f"appending to run {run_id}")


def _record(conn: sqlite3.Connection, run_id: str, start: int, events: list[dict], lengths: list[int]) -> None:
    with transaction(conn):
        run = load_run(conn, run_id)
        if run is None and start == 0:
            run = new_run(conn, run_id)
        if run is None or run["size"] != start:
            return
        rows, offset = [], start
        for event, length in zip(events, lengths):
            rows.append((event["seq"], run["id"], offset, length - 1, event["kind"], _step_of(event)))
            run_summary.fold(run, event["kind"], event["data"])
            offset += length
        run["size"], run["lines"] = offset, run["lines"] + len(events)
        conn.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
        save_run(conn, run)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head' AND value = ?",
                     (events[-1]["seq"], events[0]["seq"] - 1))


def catch_up_run(conn: sqlite3.Connection, root: str, run_id: str, limit: int = CHUNK) -> bool:
    """Index up to `limit` more bytes of the run's log (under the exclusive event lock); True when the
    index then holds the whole log. A log shorter than what was indexed, or one that no longer has a
    newline where the indexed part ended, was rewritten: the run is indexed again from the start."""
    path = events_path(root, run_id)
    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        fd = None
    try:
        size = os.fstat(fd).st_size if fd is not None else 0
        with transaction(conn):
            run = load_run(conn, run_id) or new_run(conn, run_id)
            if size < run["size"] or (run["size"] and os.pread(fd, 1, run["size"] - 1) != b"\n"):
                log.warning("run %s: %s changed below what the history index holds; indexing it again",
                            run_id, path)
                forget_events(conn, run)
                save_run(conn, run)
            if run["size"] >= size:
                return True
            data = os.pread(fd, min(limit, size - run["size"]), run["size"])
            end = data.rfind(b"\n") + 1
            if end == 0 and run["size"] + len(data) < size:  # one line longer than `limit`
                data = os.pread(fd, size - run["size"], run["size"])
                end = data.rfind(b"\n") + 1
            _index_lines(conn, run, data[:end])
            save_run(conn, run)
            # A partial last line is a dead writer's; the next append cuts it, so it is never indexed.
            return run["size"] + (len(data) - end) >= size
    finally:
        if fd is not None:
            os.close(fd)


def _index_lines(conn: sqlite3.Connection, run: dict, data: bytes) -> None:
    """Index whole lines `data`, which start at byte run['size'] of the log."""
    rows, offset, number = [], run["size"], run["lines"]
    for line in data.split(b"\n")[:-1]:
        number += 1
        event = parse(line) if line.strip() else None
        if event is not None:
            rows.append((event["seq"], run["id"], offset, len(line), event["kind"], _step_of(event)))
            run_summary.fold(run, event["kind"], event["data"])
        elif line.strip():
            run["damaged_lines"] += 1
            run["first_damaged"] = run["first_damaged"] or number
        offset += len(line) + 1
    conn.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
    run["size"], run["lines"] = offset, number


def _step_of(event: dict) -> int | None:
    step = event["data"].get("step") if event["kind"] in ("metrics", "eval") else None
    return step if isinstance(step, int) and not isinstance(step, bool) else None


def load_run(conn: sqlite3.Connection, run_id: str) -> dict | None:
    row = conn.execute(f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return dict(zip(RUN_FIELDS, row)) if row else None


def new_run(conn: sqlite3.Connection, run_id: str) -> dict:
    conn.execute("INSERT INTO runs (run_id) VALUES (?)", (run_id,))
    return load_run(conn, run_id)


def save_run(conn: sqlite3.Connection, run: dict) -> None:
    fields = RUN_FIELDS[1:]
    conn.execute(f"UPDATE runs SET {', '.join(f + ' = ?' for f in fields)} WHERE id = ?",
                 [run[f] for f in fields] + [run["id"]])


def forget_events(conn: sqlite3.Connection, run: dict) -> None:
    """Drop what the index knows from a run's log (to index it again from the start)."""
    conn.execute("DELETE FROM events WHERE run = ?", (run["id"],))
    set_head(conn, -1)  # incomplete until the run is caught up again (sync sets the head then)
    run.update(size=0, lines=0, damaged_lines=0, first_damaged=None, **run_summary.empty())


def forget_run(conn: sqlite3.Connection, run_id: str) -> None:
    """Drop a run (deleted, or gone from disk) from the index."""
    row = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row:
        conn.execute("DELETE FROM events WHERE run = ?", (row[0],))
        conn.execute("DELETE FROM runs WHERE id = ?", (row[0],))


def set_meta(conn: sqlite3.Connection, run_id: str, listed: bool, stamp: str | None, name: str | None,
             created: float, damage: str | None) -> None:
    conn.execute("UPDATE runs SET listed = ?, meta_stamp = ?, name = ?, created = ?, meta_damage = ? WHERE run_id = ?",
                 (int(listed), stamp, name, created, damage, run_id))


def set_head(conn: sqlite3.Connection, head: int) -> None:
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head,))


# --- reading ------------------------------------------------------------------------------------


def head(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()
    return row[0] if row else 0


def known_runs(conn: sqlite3.Connection) -> dict[str, tuple[int, str | None]]:
    """run id -> (bytes indexed, run.json stamp) for every run in the index."""
    return {r: (size, stamp) for r, size, stamp in conn.execute("SELECT run_id, size, meta_stamp FROM runs")}


def events_after(conn: sqlite3.Connection, since: int, until: int, limit: int) -> list[tuple]:
    """(seq, run id, offset, length) of the next `limit` events with since < seq <= until, by seq."""
    return conn.execute(
        "SELECT e.seq, r.run_id, e.offset, e.length FROM events e JOIN runs r ON r.id = e.run "
        "WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?", (since, until, limit)).fetchall()


def run_events(conn: sqlite3.Connection, run_id: str, kinds: tuple[str, ...], until: int,
               from_step: int | None = None, to_step: int | None = None) -> list[tuple]:
    """(seq, offset, length) of one run's events of `kinds` up to seq `until`, by seq, steps in range."""
    sql = (f"SELECT e.seq, e.offset, e.length FROM events e JOIN runs r ON r.id = e.run WHERE r.run_id = ? "
           f"AND e.seq <= ? AND e.kind IN ({', '.join('?' * len(kinds))})")
    args: list = [run_id, until, *kinds]
    if from_step is not None:
        sql += " AND e.step >= ?"
        args.append(from_step)
    if to_step is not None:
        sql += " AND e.step <= ?"
        args.append(to_step)
    return conn.execute(sql + " ORDER BY e.seq", args).fetchall()


SUMMARY_SQL = ("SELECT run_id, name, state, created, step, max_steps, loss, error, checkpoints, meta_damage, "
               "damaged_lines, first_damaged FROM runs WHERE listed = 1")


def summaries(conn: sqlite3.Connection, offset: int = 0, limit: int | None = None) -> tuple[list[dict], int]:
    """(a page of listed runs' summaries, newest first, ties by id; how many runs are listed)."""
    total = conn.execute("SELECT COUNT(*) FROM runs WHERE listed = 1").fetchone()[0]
    rows = conn.execute(SUMMARY_SQL + " ORDER BY created DESC, run_id LIMIT ? OFFSET ?",
                        (-1 if limit is None else limit, offset)).fetchall()
    return [_summary(row) for row in rows], total


def summary_of(conn: sqlite3.Connection, run_id: str) -> dict | None:
    row = conn.execute(SUMMARY_SQL + " AND run_id = ?", (run_id,)).fetchone()
    return _summary(row) if row else None


def states(conn: sqlite3.Connection) -> dict[str, str | None]:
    return dict(conn.execute("SELECT run_id, state FROM runs WHERE listed = 1"))


def _summary(row: tuple) -> dict:
    (run_id, name, state, created, step, max_steps, loss, error, checkpoints, meta_damage, damaged,
     first_damaged) = row
    out = {"run_id": run_id, "name": name if name is not None else run_id, "state": state or "starting", "created": created,
           "step": step, "max_steps": max_steps, "loss": loss, "error": error, "checkpoints": checkpoints}
    damage = meta_damage or (damage_sentence(damaged, first_damaged, DAMAGED) if damaged else None)
    if damage:
        out["damaged"] = damage
    return out
