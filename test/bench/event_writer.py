"""Stands in for a training process in the event-trip bench (test/bench/event_trip.ts).

Usage: event_writer.py ROOT RUN_ID RATE SECONDS. Creates runs/RUN_ID/run.json as runs.py does (enough for
the server to list the run) and appends `metrics` events through eventlog.append, the one writer path,
at RATE per second for SECONDS. Prints one JSON line: how many it sent and their first and last seq.
"""

import json
import os
import sys
import time

from tunelab_agent.rundir import eventlog
from tunelab_agent.serving import runs


def main() -> None:
    root, run_id, rate, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    os.makedirs(runs.run_dir(root, run_id))
    # pid None and no run_state event: the server's reaper then leaves this fake run alone.
    runs.write_meta(root, run_id, {"name": run_id, "created": time.time(), "config_path": None,
                                   "resolved": {}, "pid": None})
    count = round(rate * seconds)
    first = last = None
    worst_lag = 0.0
    start = time.perf_counter()
    for i in range(count):
        # A fixed schedule, not a fixed sleep: a slow append is caught up on, so the rate holds on average.
        due = start + i / rate
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        else:
            worst_lag = max(worst_lag, now - due)
        ev = eventlog.append(root, run_id, "metrics", {
            "step": i + 1, "max_steps": count, "epoch": (i + 1) / count, "loss": 2.0 / (1 + i / 100),
            "learning_rate": 2e-4, "grad_norm": 1.0, "tokens_per_sec": 5000.0, "eta_s": (count - i - 1) / rate})
        first = first or ev["seq"]
        last = ev["seq"]
    elapsed = time.perf_counter() - start
    print(json.dumps({"sent": count, "first_seq": first, "last_seq": last, "seconds": elapsed,
                      "worst_lag_ms": worst_lag * 1e3}), flush=True)


if __name__ == "__main__":
    main()
