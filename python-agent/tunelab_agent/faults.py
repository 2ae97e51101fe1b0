"""Fault injection points for the agent's own fault tests; inert unless TUNELAB_FAULT is set.

TUNELAB_FAULT=<point>@<n> acts the n-th time this process reaches <point> (n defaults to 1):
- `fill_disk` points (event_append, checkpoint_file, manifest, rename) fill the filesystem of
  TUNELAB_FAULT_BALLOON with that file until the kernel says ENOSPC. The write that follows then fails
  on a really full disk; nothing is faked.
- `kill_mid_append` writes half of the event lines being appended, then SIGKILLs its own process.
- `kill_before_index` SIGKILLs the process after an append is durable (log and events.seq) but before
  the history index records it: the index is left behind the log.
- `cuda_oom` raises torch.cuda.OutOfMemoryError from the training step, the exception PyTorch raises
  when a GPU allocation fails (for tests on hosts without a GPU).

TUNELAB_STEP_PACE_S=<seconds> makes every training step last at least that long, the process sleeping out
the rest. It stands in for a GPU's step time: on a GPU host a training process waits on the device between
steps, while a test's tiny model on the CPU would spin through steps as fast as a core allows. A test that
keeps a run going while it looks at other things (a live chart, a stop, a killed server) sets it, so that
run idles like a GPU-bound one instead of taking a core from every other test on the machine.
"""

import os
import signal
import time

FAULT = ""
PACE_S = 0.0
_last_step: float | None = None
_point = ""
_wanted = 0
_reached = 0


def configure_from_environment() -> None:
    """Reads TUNELAB_FAULT and TUNELAB_STEP_PACE_S. Done at import, and again by a training process forked
    from the prewarmed launcher (serving/zygote.py), which imported this module under another environment."""
    global FAULT, PACE_S, _last_step, _point, _wanted, _reached
    FAULT = os.environ.get("TUNELAB_FAULT", "")
    PACE_S = float(os.environ.get("TUNELAB_STEP_PACE_S") or 0)
    _point, _, nth = FAULT.partition("@")
    _wanted = int(nth or 1) if FAULT else 0
    _last_step, _reached = None, 0


configure_from_environment()


def pace_step() -> None:
    """Sleeps out what is left of PACE_S since the previous training step (see the module's docstring)."""
    global _last_step
    now = time.monotonic()
    if _last_step is not None and now - _last_step < PACE_S:
        time.sleep(PACE_S - (now - _last_step))
        now = time.monotonic()
    _last_step = now


def armed(point: str) -> bool:
    """True exactly the n-th time `point` is reached, when TUNELAB_FAULT names it."""
    global _reached
    if not FAULT or point != _point:
        return False
    _reached += 1
    return _reached == _wanted


def fill_disk_at(point: str) -> None:
    if armed(point):
        fill_disk(os.environ["TUNELAB_FAULT_BALLOON"])


def fill_disk(balloon: str) -> None:
    block = b"\xff" * (64 * 1024)
    with open(balloon, "ab", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError:
                block = block[: len(block) // 2]
                if not block:
                    return


def kill_mid_append(fd: int, data: bytes) -> None:
    """Leave a torn write behind, the way a kill during os.write would."""
    if armed("kill_mid_append"):
        os.write(fd, data[: max(1, len(data) // 2)])
        os.kill(os.getpid(), signal.SIGKILL)


def kill_at(point: str) -> None:
    if armed(f"kill_{point}"):
        os.kill(os.getpid(), signal.SIGKILL)


def cuda_oom() -> None:
    if armed("cuda_oom"):
        import torch

        raise torch.cuda.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.25 GiB of which "
            "1.06 GiB is free. (raised by TUNELAB_FAULT=cuda_oom for a test)")
