"""SIGKILL of the training process while it writes a checkpoint, 20 times at random moments.

Each trial starts a real training process the way the server does (runs.spawn: forked by the prewarmed
launcher once it is up, so that 20 starts do not cost 20 torch imports), resuming from the run's last
complete checkpoint; it waits until
a save is under way (a .tmp-checkpoint-N folder exists), then SIGKILLs the process after a random delay
(up to KILL_WINDOW_S), so that it dies inside a save or between two. After every kill no listed
checkpoint may be partial, and the next trial must resume from the last one listed.
"""

import json
import os
import random
import signal
import time

import psutil

from conftest import write_config

from tunelab_agent.rundir import eventlog
from tunelab_agent.serving import runs, supervise
from tunelab_agent.rundir.checkpoints import checkpoints_dir, verify

TRIALS = 20
KILL_WINDOW_S = 0.15  # about two saves and a step of the tiny model: some kills land inside a save, some between


def test_twenty_kills_during_checkpoint_writes_never_list_a_partial_checkpoint(tmp_path, data_dir):
    root = tmp_path / "root"
    os.makedirs(root / "runs")
    root = str(root)
    config = write_config(data_dir, max_steps=100000, save_steps=1, eval_steps=100000, logging_steps=1,
                          save_total_limit=3)
    resolved = {"model": str(data_dir / "model"), "train": str(data_dir / "train.jsonl"), "eval": str(data_dir / "eval.jsonl")}
    run_id = runs.create(root, "kills", config, str(data_dir / "kills.tunelab.yaml"), resolved)
    folder = runs.run_dir(root, run_id)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    mid_write = 0
    resumed_steps = []
    # Where in a save the kill lands depends on how fast this machine saves: on a loaded one a save outlasts
    # the first window, so every kill would land inside one and no save would ever complete. The window
    # widens after a kill inside a save and narrows after one between saves, keeping both kinds coming.
    window = KILL_WINDOW_S
    launcher = None
    try:
        for trial in range(TRIALS):
            listed = runs.checkpoints(root, run_id)
            resume_from = listed[-1] if listed else None
            if resume_from:
                runs.prepare_resume(root, run_id, resume_from)
            seen = len(eventlog.read_run_events(root, run_id))
            launcher = psutil.Process(runs.spawn(root, folder))
            runs.set_pid(root, run_id, launcher.pid)
            pid = training_process(launcher)

            wait_for_a_save_in_progress(folder, pid, trial, seed)
            time.sleep(rng.uniform(0, window))
            os.kill(pid, signal.SIGKILL)
            launcher.wait(60)
            assert supervise.read_exit(folder)["returncode"] == -signal.SIGKILL
            inside = bool(temporary(checkpoints_dir(folder)))
            mid_write += inside
            window = min(window * 1.5, 5.0) if inside else max(window * 0.8, KILL_WINDOW_S / 3)

            after = runs.checkpoints(root, run_id)
            for checkpoint in after:
                assert verify(checkpoint) == [], f"trial {trial} (seed {seed}): {checkpoint['name']} is listed but partial"
            names = {c["name"] for c in after}
            assert not any(n.startswith(".") for n in names)
            if resume_from:
                # The process really resumed: it trained the step after the checkpoint before saving again.
                new = eventlog.read_run_events(root, run_id)[seen:]
                running = [e["data"] for e in new if e["kind"] == "run_state" and e["data"]["state"] == "running"]
                assert running and running[0].get("resumed_from") == resume_from["name"], (trial, seed, running)
                first_step = min(e["data"]["step"] for e in new if e["kind"] == "metrics")
                assert first_step == resume_from["step"] + 1, (trial, seed, first_step, resume_from["name"])
                resumed_steps.append(resume_from["step"])
    finally:
        if launcher is not None and launcher.is_running():
            os.killpg(launcher.pid, signal.SIGKILL)
    print(f"seed {seed}: {mid_write} of {TRIALS} kills left a save half written; resumed from steps {resumed_steps}")
    assert len(resumed_steps) >= TRIALS // 2, f"too few saves ever completed (seed {seed})"
    # About half land inside a save; fewer than 3 of 20 would mean the test no longer hits saves.
    assert mid_write >= 3, f"only {mid_write} kills landed inside a save (seed {seed})"
    # What the dead processes left half written is gone once a new process of the run starts.
    runs.prepare_resume(root, run_id, runs.checkpoints(root, run_id)[-1])
    with open(os.path.join(folder, "run.json")) as f:
        assert json.load(f)["segment"] == len(resumed_steps) + 1


def training_process(launcher: psutil.Process, timeout: float = 30) -> int:
    """The launcher's one child: the training process (spawned or forked, it is there at once or nearly)."""
    deadline = time.monotonic() + timeout
    while not (children := launcher.children()):
        assert time.monotonic() < deadline, f"launcher {launcher.pid} started no training process"
        time.sleep(0.01)
    return children[0].pid


def temporary(parent: str) -> list[str]:
    try:
        return [n for n in os.listdir(parent) if n.startswith(".tmp-")]
    except FileNotFoundError:
        return []


def wait_for_a_save_in_progress(folder: str, pid: int, trial: int, seed: int, timeout: float = 120) -> None:
    """Returns once the new process is writing a checkpoint. What an earlier, killed process left half
    written must first disappear (the new process removes it as it starts; the test hangs if not)."""
    parent = checkpoints_dir(folder)
    stale = temporary(parent)
    deadline = time.monotonic() + timeout
    while stale and time.monotonic() < deadline:
        stale = temporary(parent)
        time.sleep(0.0005)
    assert not stale, f"trial {trial} (seed {seed}): the new process never removed {stale}"
    while time.monotonic() < deadline:
        if temporary(parent):
            return
        if not os.path.exists(f"/proc/{pid}"):
            raise AssertionError(f"trial {trial} (seed {seed}): the training process ended before saving; "
                                 f"see {folder}/train.log")
        time.sleep(0.0005)
    raise AssertionError(f"trial {trial} (seed {seed}): no save began within {timeout} s; see {folder}/train.log")
