"""Keeping the history index in step with the event logs, and reading it at a consistent point.

The logs are the truth. The index (index.py) is caught up from them whenever it is behind: a run whose
log is longer than what was indexed gets only its new tail read, a run whose log got shorter (or a
database that is garbage) is indexed again, and a run folder deleted by hand is dropped. One `stat` per
run tells which runs need it. Listing runs does less: while the index's head matches events.seq, every
append went through the index, so only run folders that appeared or vanished (one listdir) and runs not
yet listed are looked at; the full check runs at start and every so often (the server's reaper).

Catching up takes the exclusive event lock for at most one chunk of one run at a time, so a training
process waiting to append is held up for milliseconds, not for the whole rebuild.
"""

import json
import logging
import os
import sqlite3
import threading

from . import eventlog, index
from .eventfiles import events_path, list_runs, runs_dir

log = logging.getLogger("tunelab_agent")
META_FILE = "run.json"


class Unavailable(Exception):
    """The index cannot be brought up to date right now (a full disk, a locked file); read the logs."""


_mutexes: dict[str, threading.Lock] = {}
_mutexes_guard = threading.Lock()


def _mutex(root: str) -> threading.Lock:
    # One catch-up at a time per root in this process: a second caller waits, then finds nothing to do.
    with _mutexes_guard:
        return _mutexes.setdefault(root, threading.Lock())


def sync(root: str, full: bool = True) -> bool:
    """Catch the index up with the logs; True when it then holds every event up to events.seq.

    `full` compares every run's log with the index; otherwise, while the index's head is current, only run
    folders that are new, gone or not yet listed are checked (see the module's docstring)."""
    with _mutex(root):
        try:
            return _sync(root, full)
        except Exception as exc:
            if not _corrupt(exc):
                index.trouble(root, exc, "catching up with the event logs")
                return False
            log.warning("the history index %s is unusable (%s); rebuilding it from the event logs",
                        index.db_path(root), exc)
        try:
            with eventlog.locked(root, exclusive=True):
                index.reset(root)
            return _sync(root)
        except Exception as exc:
            index.trouble(root, exc, "rebuilding from the event logs")
            return False


def _corrupt(exc: BaseException) -> bool:
    """True for a database that is not a usable index, as opposed to one that is busy or on a full disk."""
    if isinstance(exc, index.Corrupt):
        return True
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)


def _sync(root: str, full: bool = True) -> bool:
    conn = index.connect(root)
    for _ in range(3):
        known = index.known_runs(conn)
        current = index.head(conn) == eventlog.read_head(root)
        # Listed runs' rows are trusted only while every append since went through the index.
        disk = _scan(root, trusted={} if full or not current else {r: v for r, v in known.items() if v[1]})
        gone = sorted(known.keys() - disk.keys())
        behind = sorted(r for r, (size, _) in disk.items() if r not in known or known[r][0] != size)
        restamp = sorted(r for r, (_, stamp) in disk.items() if r not in known or known[r][1] != stamp)
        if not (gone or behind or restamp) and current:
            return True
        if gone or restamp:
            with eventlog.locked(root, exclusive=True), index.transaction(conn):
                for run_id in gone:
                    index.forget_run(conn, run_id)
                for run_id in restamp:
                    if index.load_run(conn, run_id) is None:
                        index.new_run(conn, run_id)
                    index.set_meta(conn, run_id, *_read_meta(root, run_id))
        if len(behind) > 10:
            log.info("history index: catching up %d runs from their event logs", len(behind))
        for run_id in behind:
            done = False
            while not done:  # chunk by chunk, letting writers in between
                with eventlog.locked(root, exclusive=True):
                    done = index.catch_up_run(conn, root, run_id)
        # The index is complete when, with no writer running, every log is indexed to its end.
        with eventlog.locked(root, exclusive=True):
            known = index.known_runs(conn)
            sizes = _scan(root)
            if sizes.keys() == known.keys() and all(
                    known[r][0] == size or index.catch_up_run(conn, root, r, limit=0) for r, (size, _) in sizes.items()):
                with index.transaction(conn):
                    index.set_head(conn, eventlog.read_head(root))
                return True
    return False


def _scan(root: str, trusted: dict | None = None) -> dict[str, tuple[int, str | None]]:
    """run id -> (size of its events.jsonl, stamp of its run.json or None) for every run folder; for the
    runs in `trusted`, what it says, without a look at their files."""
    out = {}
    base = runs_dir(root)
    for run_id in list_runs(root):
        if trusted and run_id in trusted:
            out[run_id] = trusted[run_id]
            continue
        try:
            size = os.stat(events_path(root, run_id)).st_size
        except FileNotFoundError:
            if not os.path.isdir(os.path.join(base, run_id)):
                continue  # a stray file, or a run deleted meanwhile
            size = 0
        except NotADirectoryError:
            continue
        try:
            st = os.stat(os.path.join(base, run_id, META_FILE))
            stamp = f"{st.st_mtime_ns}:{st.st_size}"
        except OSError:
            stamp = None
        out[run_id] = (size, stamp)
    return out


def _read_meta(root: str, run_id: str) -> tuple:
    """(listed, stamp, name, created, damage) from the run's run.json, as set_meta takes them."""
    path = os.path.join(runs_dir(root), run_id, META_FILE)
    try:
        st = os.stat(path)
    except OSError:
        return False, None, None, 0.0, None
    stamp = f"{st.st_mtime_ns}:{st.st_size}"
    try:
        with open(path) as f:
            meta = json.load(f)
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return True, stamp, None, 0.0, f"run.json cannot be read ({type(exc).__name__}: {exc})"
    name = meta.get("name") if isinstance(meta.get("name"), str) else None
    created = meta.get("created") if isinstance(meta.get("created"), (int, float)) else 0.0
    return True, stamp, name, float(created), None


def reindex_run(root: str, run_id: str) -> None:
    """Index one run again from the start (its log was rewritten where the index could not see it)."""
    log.warning("run %s: its event log does not match the history index; indexing it again", run_id)
    try:
        conn = index.connect(root)
        with eventlog.locked(root, exclusive=True), index.transaction(conn):
            run = index.load_run(conn, run_id)
            if run is not None:
                index.forget_events(conn, run)
                index.save_run(conn, run)
    except Exception as exc:
        index.trouble(root, exc, f"indexing run {run_id} again")
    sync(root)


def at_head(root: str, work, check_logs: bool = False):
    """work(conn, head) under the shared event lock, with the index holding every event up to head.

    `check_logs` first looks for run folders added or deleted by hand (sync with full=False); otherwise
    only the head is compared. Raises Unavailable when the index cannot be made current.
    """
    if check_logs and not sync(root, full=False):
        # E.g. a new run that could not be recorded as listed (a full disk): the index would leave it out.
        raise Unavailable("the history index could not be caught up with the run folders")
    for _ in range(3):
        with eventlog.locked(root, exclusive=False):
            head = eventlog.read_head(root)
            try:
                conn = index.connect(root)
                if index.head(conn) == head:
                    return work(conn, head)
            except (sqlite3.Error, index.Corrupt, OSError):
                pass  # sync below says what went wrong, once
        if not sync(root):
            break
    raise Unavailable("the history index is not available")


def summaries(root: str, offset: int = 0, limit: int | None = None) -> tuple[list[dict], int, int]:
    """(a page of run summaries, newest first; how many runs; the seq they include events up to)."""
    return at_head(root, lambda conn, head: (*index.summaries(conn, offset, limit), head), check_logs=True)


def states(root: str) -> dict[str, str]:
    """Each listed run's state, from the index."""
    return at_head(root, lambda conn, head: index.states(conn))
