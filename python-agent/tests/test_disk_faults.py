"""A full disk under a real agent: the agent root on a real tmpfs of a few MB, mounted by the test.

Mounting a tmpfs needs root. CI runs these tests as root, so there they always run; elsewhere they are
reported as skipped, never as passed.

TUNELAB_FAULT=<point>@<n> makes the training process fill the tmpfs (a balloon file, written until the
kernel says ENOSPC) just before its n-th write of that kind, so the write itself fails for real.
"""

import os
import re
import subprocess
import time

import pytest
from conftest import Server, wait_for_runs_to_end, write_config

from tunelab_agent import diskspace
from tunelab_agent.rundir import eventlog
from tunelab_agent.rundir.checkpoints import checkpoints_dir, verify

DISK = "size=12m"
# (fault, what the run's error must say). event_append@40 lands near step 24 of 30, after four saves;
# the other points hit the second save (checkpoint-10), after checkpoint-5 is complete.
FAULTS = [
    ("event_append@40", r"disk full while writing the event log of run {run}: (0 MB|\d+ KB) free on {disk}$"),
    ("checkpoint_file@2", r"disk full while saving checkpoint-10: (0 MB|\d+ KB) free on {disk}, "
                          r"the checkpoint needs about \d+ KB$"),
    ("manifest@2", r"disk full while saving checkpoint-10: (0 MB|\d+ KB) free on {disk}, "
                   r"the checkpoint needs about \d+ KB$"),
    # A rename needs no new blocks, so it succeeds and checkpoint-10 is complete; the event announcing
    # it is the write that fails.
    ("rename@2", r"disk full while writing the event log of run {run}: (0 MB|\d+ KB) free on {disk}$"),
]


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", DISK, "tmpfs", str(disk)], check=True)
    (disk / "root").mkdir()
    yield disk
    wait_for_runs_to_end(disk / "root")
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_at_each_kind_of_write_ends_the_run_with_the_cause_and_loses_nothing(small_disk, data_dir, tmp_path):
    root = small_disk / "root"
    balloon = small_disk / "balloon"
    seen: list[dict] = []  # every event the clients received, across servers
    failed = {}
    for fault, expected in FAULTS:
        server = Server(root, [data_dir], env={"TUNELAB_FAULT": fault, "TUNELAB_FAULT_BALLOON": str(balloon)},
                        log_dir=tmp_path)  # its log off the full disk, to read it afterwards
        try:
            client = server.client()
            client.call("subscribe", {"since": seen[-1]["seq"] if seen else 0})
            config = write_config(data_dir, name=fault.split("@")[0], max_steps=30, save_steps=5, eval_steps=5,
                                  logging_steps=1, save_total_limit=10)
            run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "f.tunelab.yaml")})["run_id"]
            final = client.wait_for_end(run_id, timeout=180)[-1]["data"]
            # Full but for the reserve the failure used, and what processes freed as they exited (SQLite's WAL
            # files, a temporary file whose write failed): tens of KB, not the megabytes of a disk never filled.
            free = diskspace.free_bytes(str(root))
            assert balloon.exists() and free <= diskspace.RESERVE_BYTES + 256 * 1024, f"the disk was not full: {free} bytes free"
            assert final["state"] == "failed", final
            assert re.match(expected.format(run=run_id, disk=re.escape(str(small_disk))), final["error"]), final["error"]

            folder = os.path.join(root, "runs", run_id)
            assert [n for n in os.listdir(checkpoints_dir(folder)) if n.startswith(".")] == []
            listed = client.call("list_checkpoints", {"run_id": run_id})["checkpoints"]
            steps = [c["step"] for c in listed]
            assert (steps[:2] == [5, 10]) if fault.startswith(("event", "rename")) else (steps == [5]), steps
            if fault.startswith("event"):
                # Nothing else freed space, so the final events went into what the reserve held.
                assert not os.path.exists(diskspace.reserve_path(str(root)))
            assert all(verify(c) == [] for c in listed)
            summaries = {r["run_id"]: r for r in client.call("list_runs")["runs"]}
            assert summaries[run_id]["state"] == "failed" and summaries[run_id]["error"] == final["error"]
            assert "damaged" not in summaries[run_id]
            failed[fault] = (run_id, listed[-1])
            seen += client.events
        finally:
            server.stop()
        balloon.unlink()  # space is freed before the next fault

    # With space back, the same agent trains again: a new run, and a failed run resumed from its last
    # complete checkpoint. The reserve the failures used is put back.
    server = Server(root, [data_dir])
    try:
        client = server.client()
        client.call("subscribe", {"since": seen[-1]["seq"]})
        config = write_config(data_dir, name="after", max_steps=8, save_steps=4, eval_steps=4)
        fresh = client.call("start_run", {"config": config, "config_path": str(data_dir / "g.tunelab.yaml")})["run_id"]
        assert client.wait_for_end(fresh, timeout=180)[-1]["data"]["state"] == "completed"
        run_id, last = failed["event_append@40"]
        client.call("resume_run", {"run_id": run_id, "checkpoint": last["name"]})
        assert client.wait_for_end(run_id, timeout=180)[-1]["data"]["state"] == "completed"
        deadline = time.monotonic() + 10
        while not os.path.exists(diskspace.reserve_path(str(root))) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert os.path.getsize(diskspace.reserve_path(str(root))) == diskspace.RESERVE_BYTES
        seen += client.events
    finally:
        server.stop()

    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(1, len(seqs) + 1)), "the client's stream has a gap or a duplicate"
    on_disk = sorted(e["seq"] for r in os.listdir(root / "runs") for e in eventlog.read_run_events(str(root), r))
    assert on_disk == seqs
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


def test_the_reaper_waits_out_a_full_disk_with_one_log_line_and_records_the_end_when_space_returns(
        small_disk, data_dir, tmp_path):
    from tunelab_agent import faults

    root = small_disk / "root"
    server = Server(root, [data_dir], log_dir=tmp_path)
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        config = write_config(data_dir, max_steps=100000, logging_steps=1)
        run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "h.tunelab.yaml")})["run_id"]
        client.events_until(lambda e: e["kind"] == "metrics")
        # Nothing left at all: the reserve is gone too, so neither the run, its launcher nor the reaper can
        # write its end. The run dies at its next event.
        diskspace.release_reserve(str(root))
        faults.fill_disk(str(small_disk / "balloon"))
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(root, "runs", run_id, "train.log")) or _alive(server.root, run_id):
            assert time.monotonic() < deadline, "the run kept training on a full disk"
            time.sleep(0.2)
        time.sleep(9)  # the reaper tries at 2 s, then backs off to 4 and 8 s
        assert [r["state"] for r in client.call("list_runs")["runs"]] == ["running"]  # unrecorded, still served
        log = (tmp_path / "server.log").read_text()
        lines = [ln for ln in log.splitlines() if f"run {run_id}: cannot record" in ln]
        assert len(lines) == 1, log[-3000:]
        assert "disk full while writing the event log" in lines[0] and "Traceback" not in log

        (small_disk / "balloon").unlink()
        final = client.wait_for_end(run_id, timeout=60)[-1]["data"]
        assert final["state"] == "failed"
        assert "recording this was delayed by: disk full while writing the event log" in final["error"]
        assert f"run {run_id}: checked again after" in (tmp_path / "server.log").read_text()
    finally:
        server.stop()


def _alive(root: str, run_id: str) -> bool:
    import json

    from tunelab_agent.serving import runs

    with open(os.path.join(root, "runs", run_id, "run.json")) as f:
        return runs.pid_alive(json.load(f)["pid"], os.path.join(root, "runs", run_id))


def test_a_run_warns_once_with_disk_low_when_free_space_falls_under_two_checkpoints(small_disk, data_dir, tmp_path):
    root = small_disk / "root"
    server = Server(root, [data_dir], log_dir=tmp_path)
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        # Leave about 2 MB: the first checkpoints fit, and each one brings the free space closer to the line.
        balloon = small_disk / "balloon"
        with open(balloon, "wb") as f:
            f.write(b"\0" * max(0, diskspace.free_bytes(str(root)) - 2 * diskspace.MB))
        config = write_config(data_dir, max_steps=40, save_steps=2, eval_steps=100, logging_steps=1, save_total_limit=100)
        run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "l.tunelab.yaml")})["run_id"]
        events = client.wait_for_end(run_id, timeout=180)
    finally:
        server.stop()
    warnings = [e["data"] for e in events if e["kind"] == "disk_low"]
    assert len(warnings) == 1, warnings  # once, not at every step while it stays low
    warning = warnings[0]
    assert warning["free_mb"] < 2 * warning["checkpoint_mb"]
    assert warning["path"] == str(small_disk)
    checkpoint = next(e["data"] for e in events if e["kind"] == "checkpoint")
    assert abs(warning["checkpoint_mb"] - sum(f["size"] for f in checkpoint["files"]) / diskspace.MB) < 0.05
    assert warning["message"].startswith(f"disk almost full: ") and f"free on {small_disk}" in warning["message"]
    assert [e["data"]["step"] for e in events if e["kind"] == "checkpoint"][-1] < warning["step"] + 6
