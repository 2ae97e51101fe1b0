"""The reaper and a launch in progress: a run whose "starting" is written but whose process pid is not recorded
yet is being spawned, not dead (seen in the e2e: a healthy run flashed "failed", then trained on)."""

import time

from tunelab_agent.rundir import eventlog
from tunelab_agent.serving import runs


def states(root, run_id):
    return [e["data"]["state"] for e in eventlog.read_run_events(root, run_id) if e["kind"] == "run_state"]


def test_a_run_being_launched_is_not_marked_dead(tmp_path):
    root = str(tmp_path)
    run_id = runs.create(root, "demo", "name: demo\n", None, {"model": "m", "train": "t"})
    assert runs.mark_if_dead(root, run_id) is None
    assert states(root, run_id) == ["starting"]


def test_a_run_whose_launch_never_recorded_a_pid_is_failed_after_the_grace(tmp_path):
    root = str(tmp_path)
    run_id = runs.create(root, "demo", "name: demo\n", None, {"model": "m", "train": "t"})
    meta = runs.read_meta(root, run_id)
    meta["created"] = time.time() - runs.LAUNCH_GRACE_S - 1
    runs.write_meta(root, run_id, meta)
    assert runs.mark_if_dead(root, run_id) == runs.VANISHED
    assert states(root, run_id) == ["starting", "failed"]
