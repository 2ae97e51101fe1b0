"""Requests to a live run (stop, save, eval, change the logging interval) through a file.

The server appends one JSON line per request to <run_dir>/control.jsonl; the training process
polls it once per step. A file (not a socket) because the run is a detached process that must
survive the server restarting: a request written before a restart is still there after it.

Writing uses O_APPEND with one write() per line, so concurrent senders never interleave inside
a line. Reading stats the size first and only reads the new bytes, so an idle poll is one stat().
"""

import json
import os
import uuid

CONTROL_FILE = "control.jsonl"
ACTIONS = ("stop", "save", "eval", "set_logging_steps")


def control_path(run_dir: str) -> str:
    return os.path.join(run_dir, CONTROL_FILE)


def validate(action: str, value=None) -> None:
    """Raises ValueError naming what is wrong with a request."""
    if action not in ACTIONS:
        raise ValueError(f"action: unknown control action {action!r}; expected one of {', '.join(ACTIONS)}")
    if action == "set_logging_steps":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"value: set_logging_steps needs a whole number of steps >= 1, got {value!r}")
    elif value is not None:
        raise ValueError(f"value: action {action!r} takes no value, got {value!r}")


def send(run_dir: str, action: str, value=None) -> str:
    """Append a request for the run in `run_dir` and return its id (echoed by the run's control_done)."""
    validate(action, value)
    request = {"id": uuid.uuid4().hex[:12], "action": action}
    if value is not None:
        request["value"] = value
    line = (json.dumps(request) + "\n").encode()
    fd = os.open(control_path(run_dir), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return request["id"]


class ControlReader:
    """The training side: `poll()` returns the requests appended since the last poll, each once.

    It starts after the last complete line already in the file, so a resumed run does not replay
    requests that were meant for the process before it. A line still being written stays unread
    until its newline arrives. Lines that are not a valid request are returned as
    {"error": ..., "line": n} so the caller can report them instead of silently dropping them.
    """

    def __init__(self, run_dir: str, from_start: bool = False):
        self.path = control_path(run_dir)
        self.offset = 0
        self.line_no = 0
        if not from_start:
            self._skip_existing()

    def _skip_existing(self) -> None:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.offset, self.line_no = end, data[:end].count(b"\n")

    def poll(self) -> list[dict]:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return []
        if size <= self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size - self.offset)
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        requests = []
        for raw in complete.splitlines():
            self.line_no += 1
            if raw.strip():
                requests.append(self._parse(raw))
        return requests

    def _parse(self, raw: bytes) -> dict:
        where = f"{CONTROL_FILE} line {self.line_no}"
        try:
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ValueError("not a JSON object")
            validate(request.get("action"), request.get("value"))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return {"id": None, "action": None, "error": f"{where}: {exc}", "line": self.line_no}
        return request
