"""Runs on disk: creating one, launching its training process, stopping it, and reading its state.

The events.jsonl of a run is the truth about it; nothing here keeps state in memory that a
restarted server could not rebuild from disk.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time

from ..hostinfo import gpu_count
from ..rundir import control, eventlog, history, index, run_summary
from ..rundir.checkpoints import list_checkpoints, remove_temporary
from ..training import launch
from ..training.run_config import load_run_config
from . import supervise, warm_launch

ACTIVE = ("starting", "running")
STATES = run_summary.STATES
TRASH_DIR = "trash"  # under the root: a deleted run is renamed here first, then removed


class RunConflict(Exception):
    """The run is in a state that does not allow the request (e.g. resuming a run that still trains)."""


# When even the launcher that records the exit status is gone, all that is known is that the run ended.
# How long a run just created may have no pid yet: its process is being spawned.
LAUNCH_GRACE_S = 60

VANISHED = ("the training process ended without a recorded exit status: its launcher was killed too (a SIGKILL "
            "to the run's whole process group, or the host restarted), or the disk was too full to record it; "
            "see train.log")


def run_dir(root: str, run_id: str) -> str:
    return os.path.join(eventlog.runs_dir(root), run_id)


def exists(root: str, run_id: str) -> bool:
    return os.path.isfile(os.path.join(run_dir(root, run_id), "run.json"))


def new_run_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(2)}"


def read_meta(root: str, run_id: str) -> dict:
    with open(os.path.join(run_dir(root, run_id), "run.json")) as f:
        return json.load(f)


def write_meta(root: str, run_id: str, meta: dict) -> None:
    path = os.path.join(run_dir(root, run_id), "run.json")
    with open(path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(path + ".tmp", path)


def create_and_launch(root: str, name: str, config_text: str, config_path: str | None, resolved: dict) -> str:
    """Write the run folder, record run_created + starting, and spawn the detached training process."""
    run_id = new_run_id(name)
    with launching(run_id):
        create(root, name, config_text, config_path, resolved, run_id)
        set_pid(root, run_id, spawn(root, run_dir(root, run_id)))
    return run_id


# Runs this server is launching right now: `starting` in their log, but their launcher's pid not recorded yet
# (run.json holds none, or a resumed run's old one). The reaper, on another thread, must not take them for dead
# (it did when a launch took long enough to meet one of its rounds, e.g. the first one importing torch).
_launching: set[str] = set()


@contextlib.contextmanager
def launching(run_id: str):
    _launching.add(run_id)
    try:
        yield
    finally:
        _launching.discard(run_id)


def create(root: str, name: str, config_text: str, config_path: str | None, resolved: dict,
           run_id: str | None = None) -> str:
    """The run's folder, config and first events, ready for a training process to be started in it."""
    run_id = run_id or new_run_id(name)
    folder = run_dir(root, run_id)
    os.makedirs(folder)
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write(config_text)
    meta = {"name": name, "created": time.time(), "config_path": config_path, "resolved": resolved, "pid": None}
    write_meta(root, run_id, meta)
    eventlog.append(root, run_id, "run_created", {"name": name, "config": config_text})
    eventlog.append(root, run_id, "run_state", {"state": "starting"})
    return run_id


def set_pid(root: str, run_id: str, pid: int) -> None:
    meta = read_meta(root, run_id)
    meta["pid"] = pid
    write_meta(root, run_id, meta)


def read_config(root: str, run_id: str) -> dict:
    meta = read_meta(root, run_id)
    with open(os.path.join(run_dir(root, run_id), "config.yaml")) as f:
        return load_run_config(f.read(), os.path.basename(meta.get("config_path") or "config.yaml"))


def resume(root: str, run_id: str, checkpoint: dict) -> int:
    """Relaunch a finished run from one of its checkpoints; its events continue in a new segment."""
    with launching(run_id):
        segment = prepare_resume(root, run_id, checkpoint)
        set_pid(root, run_id, spawn(root, run_dir(root, run_id)))
    return segment


def prepare_resume(root: str, run_id: str, checkpoint: dict) -> int:
    """Point the run at `checkpoint` for its next training process and record the new segment's start."""
    folder = run_dir(root, run_id)
    with eventlog.locked(root, exclusive=False):
        state = last_state(root, run_id)
    if state in ACTIVE and pid_alive(read_meta(root, run_id).get("pid"), folder):
        raise RunConflict(f"run {run_id} is still {state}; stop it before resuming")
    meta = read_meta(root, run_id)
    segment = meta.get("segment", 0) + 1
    meta.update(segment=segment, resume={"checkpoint": checkpoint["path"], "name": checkpoint["name"]})
    write_meta(root, run_id, meta)
    eventlog.append(root, run_id, "run_state", {"state": "starting", "segment": segment, "resumed_from": checkpoint["name"]})
    return segment


def training_on_this_host(root: str) -> str | None:
    """A sentence naming the runs that train right now, for messages about a busy GPU; None when none does."""
    active = [r for r, state in states(root).items() if state in ACTIVE]
    return f"training run {', '.join(active)} is using this host" if active else None


def state_of(root: str, run_id: str) -> str | None:
    """One run's state, from the history index (or its log when the index cannot be used)."""
    return states(root, [run_id])[run_id]


def states(root: str, run_ids: list[str] | None = None) -> dict[str, str | None]:
    """The state of each run (all listed runs by default): from the history index, or, when it cannot be
    used, from each run's log."""
    try:
        known = history.states(root)
    except history.Unavailable:
        known = {}
    ids = all_run_ids(root) if run_ids is None else run_ids
    return {r: known[r] if r in known else last_state(root, r) for r in ids}


def spawn(root: str, folder: str) -> int:
    """Start the run's training process under its launcher (supervise.py); returns the launcher's pid.

    A new session: the run outlives the server, the SSH link and VS Code; stop_run signals the group. A
    single-process run is forked by the prewarmed launcher when one is up (warm_launch.py), else spawned.
    """
    with open(os.path.join(folder, "config.yaml")) as f:
        config = load_run_config(f.read())
    try:
        os.remove(os.path.join(folder, supervise.EXIT_FILE))  # an earlier segment's
    except FileNotFoundError:
        pass
    training = launch.command(folder, root, config)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if training == launch.single_process_command(folder, root):
        warm = warm_launch.launch(folder, root, env)
        if warm is not None:
            return warm
    command = [sys.executable, "-m", "tunelab_agent", "supervise", "--root", root, folder, "--", *training]
    with open(os.path.join(folder, "train.log"), "ab") as log:
        process = subprocess.Popen(
            command,
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            cwd=folder, env=env)
    _children[process.pid] = process
    return process.pid


_children: dict[int, subprocess.Popen] = {}


def collect_exited_children() -> None:
    """wait() for run processes this server started that have ended, so none lingers as a zombie."""
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]
    warm_launch.reap()


def pid_alive(pid: int | None, folder: str) -> bool:
    """True while the run's own process lives (a zombie or a recycled pid does not count)."""
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z" and os.fsencode(folder) in cmdline
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def last_state(root: str, run_id: str) -> str | None:
    state = None
    for ev in eventlog.read_run_events(root, run_id):
        if ev["kind"] == "run_state" and ev["data"].get("state") in STATES:
            state = ev["data"]["state"]
    return state


def mark_if_dead(root: str, run_id: str, note: str | None = None) -> str | None:
    """Append `failed` for a run that claims to be active but whose process is gone; returns the cause.

    The launcher normally records the failure itself; this covers a launcher that could not (killed with
    its child, or the disk was full). The cause comes from exit.json when the launcher wrote it; `note`
    adds what the caller knows (e.g. that a full disk delayed this). A run this server is launching right
    now is not dead, only not started yet (see `launching`).
    """
    if run_id in _launching:  # checked before run.json is read: once out of the set, its pid is recorded
        return None
    meta = read_meta(root, run_id)
    folder = run_dir(root, run_id)
    if pid_alive(meta.get("pid"), folder):
        return None
    if not meta.get("pid") and time.time() - float(meta.get("created") or 0) < LAUNCH_GRACE_S:
        # create_and_launch runs in a worker thread: between writing "starting" and recording the pid of the
        # process it spawns, a reap must not call the run dead (it then trained on under a false "failed").
        return None
    status = supervise.read_exit(folder)
    if status is None:
        cause = VANISHED
    elif status["returncode"] == 0:
        cause = "the training process exited (status 0) without recording its final state; see train.log"
    else:
        cause = supervise.exit_cause(root, run_id, status)
    if note:
        cause = f"{cause} ({note})"
    remove_temporary(folder)  # a save its process never finished
    # Re-read under the event lock: the process may have written its final state just before exiting.
    still_active = lambda r, rid: last_state(r, rid) in ACTIVE
    appended = eventlog.append(root, run_id, "run_state", {"state": "failed", "error": cause, "segment": meta.get("segment", 0)},
                               only_if=still_active, critical=True)
    return cause if appended is not None else None


def all_run_ids(root: str) -> list[str]:
    try:
        return sorted(r for r in os.listdir(eventlog.runs_dir(root)) if exists(root, r))
    except FileNotFoundError:
        return []


def stop(root: str, run_id: str) -> None:
    """Ask the run to save a checkpoint and stop at its next step.

    The request goes through the run's control file, which every rank of a multi-GPU run reads at the same
    step. A single-process run also gets SIGTERM, which reaches it even while it loads data or a model.
    """
    folder = run_dir(root, run_id)
    pid = read_meta(root, run_id).get("pid")
    if not pid_alive(pid, folder):
        return
    control.send(folder, "stop")
    if launch.process_count(read_config(root, run_id), gpu_count()) == 1:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def summary(root: str, run_id: str) -> dict:
    """The run as the Runs view lists it, from a full read of its log (list_runs uses the history index,
    and this only when the index cannot be used); a run whose files are damaged still gets one, saying so."""
    try:
        meta = read_meta(root, run_id)
    except (OSError, ValueError) as exc:
        meta = {"name": run_id, "created": 0.0}
        damage = f"run.json cannot be read ({type(exc).__name__}: {exc})"
    else:
        damage = None
    out = {"run_id": run_id, "name": meta.get("name", run_id), "created": meta.get("created", 0.0), **run_summary.empty()}
    events, problems = eventlog.read_run_events_checked(root, run_id)
    damage = damage or eventlog.damage_note(problems)
    if damage:
        out["damaged"] = damage
    for ev in events:
        run_summary.fold(out, ev["kind"], ev["data"])
    out["state"] = out["state"] or "starting"
    return out


def delete(root: str, run_id: str) -> None:
    """Remove a run that is not training: its folder and its rows in the history index.

    The check and a rename into the trash happen under the event lock, so a run cannot start appending
    between them and nothing ever sees half a folder; the slow removal comes after, outside the lock.
    """
    trash = os.path.join(root, TRASH_DIR)
    os.makedirs(trash, exist_ok=True)
    doomed = os.path.join(trash, f"{run_id}.{secrets.token_hex(4)}")
    with eventlog.locked(root, exclusive=True):
        state = last_state(root, run_id)
        if state in ACTIVE:
            raise RunConflict(f"run {run_id} is {state}; stop it first (stop_run), then delete it")
        os.rename(run_dir(root, run_id), doomed)
        try:
            conn = index.connect(root)
            with index.transaction(conn):
                index.forget_run(conn, run_id)
        except Exception as exc:  # the folder is gone; the next catch-up drops the rows
            index.trouble(root, exc, f"deleting run {run_id}")
    shutil.rmtree(doomed, ignore_errors=True)


def empty_trash(root: str) -> None:
    """Finish deletions a killed server left in the trash."""
    trash = os.path.join(root, TRASH_DIR)
    for name in os.listdir(trash) if os.path.isdir(trash) else []:
        shutil.rmtree(os.path.join(trash, name), ignore_errors=True)


def checkpoints(root: str, run_id: str) -> list[dict]:
    return list_checkpoints(run_dir(root, run_id))
