"""Benchmark: how long a run takes to reach its first step, spawned (the baseline) vs forked warm.

One real agent server per side, on its own root, with the same tiny model, data and config. The baseline
server has TUNELAB_WARM_START=0: each run's training process is spawned and imports torch, transformers and
peft itself. The warm server forks runs from its prewarmed launcher (serving/zygote.py), which is started
and left to finish its own imports before the timed runs. For each run: start_run until the first
metrics event, and until the run completes. The ratio is baseline / warm (higher is better).

Usage: python-agent/.venv/bin/python test/bench/warm_start_bench.py [--runs 3] [--steps 4]
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "python-agent", "tests"))

from agent_client import AgentClient  # noqa: E402
from conftest import Server, write_config  # noqa: E402

from tunelab_agent.models.tiny_model import make_tiny_model  # noqa: E402
from tunelab_agent.serving import warm_launch  # noqa: E402

SAMPLE = os.path.join(REPO, "samples", "sentiment", "train.jsonl")


def timed_run(client: AgentClient, data: str, name: str, steps: int) -> tuple[float, float]:
    config = write_config(data, name=name, max_steps=steps, eval_steps=1000, save_steps=1000, logging_steps=1)
    began = time.perf_counter()
    run_id = client.call("start_run", {"config": config, "config_path": os.path.join(data, f"{name}.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["run_id"] == run_id and e["kind"] == "metrics")
    first = time.perf_counter() - began
    final = client.wait_for_end(run_id)[-1]["data"]
    assert final["state"] == "completed", final
    return first, time.perf_counter() - began


def side(label: str, env: dict, data: str, work: str, runs: int, steps: int) -> list[tuple[float, float]]:
    root = os.path.join(work, label)
    os.makedirs(root)
    server = Server(root, [data], env=env)
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        if env.get("TUNELAB_WARM_START") == "1":
            timed_run(client, data, "prime", 1)  # spawned; starts the launcher
            path = warm_launch.socket_path({**os.environ, **env, "PYTHONUNBUFFERED": "1"})
            while not os.path.exists(path):
                time.sleep(0.2)
        return [timed_run(client, data, f"{label}-{i}", steps) for i in range(runs)]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="tunelab-warm-bench-")
    warm_dir = os.path.join(work, "sockets")
    try:
        data = os.path.join(work, "data")
        os.makedirs(data)
        with open(SAMPLE) as f:
            rows = f.readlines()[:96]
        for name, part in (("train.jsonl", rows), ("eval.jsonl", rows[:16])):
            with open(os.path.join(data, name), "w") as f:
                f.writelines(part)
        make_tiny_model(os.path.join(data, "model"), os.path.join(data, "train.jsonl"))
        spawned = side("spawned", {"TUNELAB_WARM_START": "0"}, data, work, args.runs, args.steps)
        warm = side("warm", {"TUNELAB_WARM_START": "1", "TUNELAB_WARM_START_DIR": warm_dir}, data, work, args.runs, args.steps)
        report = {}
        for what, index in (("to first step", 0), (f"whole {args.steps}-step run", 1)):
            base = statistics.median(r[index] for r in spawned)
            fast = statistics.median(r[index] for r in warm)
            report[what] = {"spawned_s": round(base, 2), "warm_s": round(fast, 2), "ratio": round(base / fast, 2)}
            print(f"{what:>22}: spawned {base:6.2f} s   warm {fast:6.2f} s   ratio {base / fast:5.2f}x "
                  f"(median of {args.runs})")
        print(json.dumps(report))
    finally:
        for lock in os.listdir(warm_dir) if os.path.isdir(warm_dir) else []:
            if lock.endswith(".lock"):
                with open(os.path.join(warm_dir, lock)) as f:
                    pid = int(f.read().split()[0])
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
