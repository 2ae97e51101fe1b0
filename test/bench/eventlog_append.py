"""What the event log's crash safety costs per append: eventlog.append against the bare protocol it grew from.

Both write the same metrics-sized event lines to a run's events.jsonl and advance events.seq the same way
(fsync'd write, then a fsync'd rename of the head file), under the same flock. The bare writer does only
that; eventlog.append also notes its run in the lock file, checks the target log's last line (cutting a
torn one, reconciling the head) and clears the note. Prints appends/s of each and their ratio (goal: the
repair costs under 10%, i.e. ratio >= 0.90).

A third writer is eventlog.append in a root that has the history index (rundir/index.py), as every root a
server has opened does: each append then also records its event in the index, under the same lock. Its
line says what that adds to one append.

Usage: eventlog_append.py [--appends N] [--dir PATH]   (PATH: a folder on the disk to measure, default /tmp)
"""

import argparse
import fcntl
import json
import os
import tempfile
import time

from tunelab_agent.rundir import eventlog, history
from tunelab_agent.serving.protocol import event as event_message

DATA = {"step": 1, "max_steps": 1000, "epoch": 0.1, "loss": 2.345678, "learning_rate": 1e-4, "grad_norm": 3.2,
        "tokens_per_sec": 12345.6, "samples_per_sec": 45.6, "eta_s": 1234.5, "segment": 0,
        "loss_terms": {"ce_loss": 2.3, "length_penalty": 0.01, "kl": 0.03},
        "lr_groups": {"default": 1e-4, "layers.0-11": 5e-5}, "gpu": None,
        "host_memory": {"available_mb": 20000, "total_mb": 24000, "process_rss_mb": 3000}}


def bare_append(root: str, run_id: str, seq_holder: list) -> None:
    fd = os.open(os.path.join(root, "events.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seq = seq_holder[0] + 1
        line = json.dumps(event_message(seq, time.time(), run_id, "metrics", DATA)) + "\n"
        log = os.open(eventlog.events_path(root, run_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(log, line.encode())
            os.fsync(log)
        finally:
            os.close(log)
        eventlog._write_head(root, seq)
        seq_holder[0] = seq
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def timed(label: str, count: int, append) -> float:
    start = time.perf_counter()
    for _ in range(count):
        append()
    rate = count / (time.perf_counter() - start)
    print(f"{label:<28} {rate:10.0f} appends/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=3000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    rates = {"bare": [], "agent": [], "indexed": []}
    with tempfile.TemporaryDirectory(dir=args.dir) as base:
        for round_ in range(5):  # interleaved, so drift in the disk's speed hits all alike
            for kind in ("bare", "agent", "indexed"):
                root = os.path.join(base, f"{kind}{round_}")
                os.makedirs(os.path.join(root, "runs", "r"))
                if kind == "bare":
                    holder = [0]
                    rates[kind].append(timed("bare write + fsync + head", args.appends,
                                             lambda: bare_append(root, "r", holder)))
                    continue
                if kind == "indexed":
                    assert history.sync(root)  # what a server does when it opens the root
                label = "eventlog.append (repairing)" if kind == "agent" else "eventlog.append + index"
                rates[kind].append(timed(label, args.appends, lambda: eventlog.append(root, "r", "metrics", DATA)))
    bare, agent, indexed = max(rates["bare"]), max(rates["agent"]), max(rates["indexed"])
    print(f"eventlog.append / bare: {agent / bare:.2f}x (best of 5 each: {agent:.0f} vs {bare:.0f} appends/s)")
    print(f"eventlog.append with the history index / without: {indexed / agent:.2f}x "
          f"(the index adds {1e6 / indexed - 1e6 / agent:.0f} us per append)")


if __name__ == "__main__":
    main()
