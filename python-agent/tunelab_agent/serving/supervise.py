"""The launcher a run's training process runs under: it waits for the process and records how it ended.

A server can only wait() for the processes it started, and a run outlives its server, so a later server
could never learn the exit status of a training process killed by the out-of-memory killer. This small
process is the training process's parent for its whole life instead. It is started in the run's new
session (`python -m tunelab_agent supervise --root ROOT RUN_DIR -- COMMAND...`, or `--pid PID` for a training
process forked by the prewarmed launcher), imports nothing heavy,
and when the training process ends it:
- writes the exit status to `exit.json` in the run folder,
- adds a line about it to train.log (the training process, killed, had no chance to),
- and, when the run had not recorded its own end (killed, or crashed outside Python), appends the
  `failed` state with the true cause: the signal, and for SIGKILL the usual reason and the host's memory
  at the last metrics event.
"""

import json
import os
import signal
import subprocess
import time

from ..files import write_json_atomically
from ..rundir import eventlog

EXIT_FILE = "exit.json"
ACTIVE = ("starting", "running")


def main(run_dir: str, root: str, command: list[str] | None = None, pid: int | None = None) -> int:
    """Run `command` and wait for it; or, with `pid`, wait for that child, which the prewarmed launcher
    (zygote.py) forked before it exec'd this launcher in the same process."""
    # stop_run signals the whole session; the training process saves and stops on SIGTERM, and the
    # launcher must live on to see that happen. A handler (unlike SIG_IGN) is not inherited by the child.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    if pid is None:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=run_dir)
        code, pid = child.wait(), child.pid
    else:
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    record_exit(root, os.path.basename(run_dir), code, pid)
    return 0


def record_exit(root: str, run_id: str, code: int, pid: int | None = None) -> str | None:
    """Write exit.json and the train.log line; append `failed` with the cause if the run is still active."""
    run_dir = os.path.join(eventlog.runs_dir(root), run_id)
    status = {"returncode": code, "pid": pid, "time": time.time()}
    if code < 0:
        status["signal"] = signal_name(-code)
    try:
        write_json_atomically(os.path.join(run_dir, EXIT_FILE), status)
    except OSError:
        pass  # a full disk: the cause below still goes through the event log's reserve
    cause = None if code == 0 else exit_cause(root, run_id, status)
    _say(f"tunelab: training process {pid} ended: {describe_status(status)}")
    if cause is None:
        return None
    try:
        eventlog.append(root, run_id, "run_state", {"state": "failed", "error": cause, "segment": _segment(run_dir)},
                        only_if=_still_active, critical=True)
    except OSError as exc:
        _say(f"tunelab: could not record the run's failure ({exc}); the agent server will retry")
    return cause


def _say(line: str) -> None:
    try:
        print(line, flush=True)
    except OSError:
        pass  # train.log is on the full disk too


def _still_active(root: str, run_id: str) -> bool:
    state = None
    for ev in eventlog.read_run_events(root, run_id):
        if ev["kind"] == "run_state":
            state = ev["data"].get("state")
    return state in ACTIVE


def _segment(run_dir: str) -> int:
    try:
        with open(os.path.join(run_dir, "run.json")) as f:
            return int(json.load(f).get("segment", 0))
    except (OSError, ValueError):
        return 0


def read_exit(run_dir: str) -> dict | None:
    try:
        with open(os.path.join(run_dir, EXIT_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_status(status: dict) -> str:
    if status.get("signal"):
        return f"killed by {status['signal']} (signal {-status['returncode']})"
    return f"exit status {status['returncode']}"


def exit_cause(root: str, run_id: str, status: dict) -> str:
    """Why the run failed, from its training process's exit status (see the module docstring)."""
    run_dir = os.path.join(eventlog.runs_dir(root), run_id)
    sig = status.get("signal")
    if sig == "SIGKILL":
        return ("the training process was killed by SIGKILL (signal 9). The kernel's out-of-memory killer is the "
                f"usual reason{_memory_note(root, run_id)}; `dmesg` or `journalctl -k` on the host shows "
                f"'Out of memory: Killed process {status.get('pid')}' if so")
    if sig in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"):
        return (f"the training process crashed with {sig} (signal {-status['returncode']}) outside Python "
                f"(a CUDA driver, NCCL or a native extension){_last_line(run_dir)}")
    if sig:
        return f"the training process was ended by {sig} (signal {-status['returncode']}) before it could stop cleanly"
    return f"the training process exited with status {status['returncode']} without recording why{_last_line(run_dir)}"


def _memory_note(root: str, run_id: str) -> str:
    last = None
    for ev in eventlog.read_run_events(root, run_id):
        if ev["kind"] == "metrics" and ev["data"].get("host_memory"):
            last = ev["data"]
    if last is None:
        return ""
    mem = last["host_memory"]
    note = (f"; at the last metrics event (step {last['step']}) the host had {_gb(mem['available_mb'])} of "
            f"{_gb(mem['total_mb'])} memory available")
    if mem.get("process_rss_mb") is not None:
        note += f" and the training process used {_gb(mem['process_rss_mb'])}"
    return note


def _gb(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _last_line(run_dir: str) -> str:
    """'; train.log ends with: ...' (the last non-empty line a crashing process printed), or ''."""
    try:
        with open(os.path.join(run_dir, "train.log"), "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = [ln.strip() for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "; see train.log"
    lines = [ln for ln in lines if not ln.startswith("tunelab: training process")]
    return f"; train.log ends with: {lines[-1][:300]}" if lines else "; train.log is empty"
