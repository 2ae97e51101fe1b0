"""Benchmark: the agent's training recipe against a bare PyTorch loop, same model, rows, LoRA and batches.

Both sides run in this one process. The agent side is the real recipe (tunelab_agent.training.recipe.Recipe:
setup, train, cleanup) with its TunelabTrainer, EventCallback and fsync'd event log, on a run folder
written as the server writes one; it is timed between its own `metrics` events, so model loading and
the final save are not counted. With logging_steps 1 (the default here) every step writes an event
and syncs with the device for the Trainer's log: the worst case.

The bare side is what one would write by hand for the same training: the model, LoRA and rows come from
the same Recipe setup (so dtype, attention, LoRA options and tokenised rows are identical), then a plain
loop of forward, backward, gradient clipping (training.max_grad_norm, as the agent does) and the same
optimizer the Trainer picks, under the same autocast. It replays exactly the batches the agent's Trainer
drew, in the same order, so both sides do the same work; it is timed over the same steps.

The ratio is steps/s agent / steps/s bare (goal >= 0.99); the sides alternate --repeats times and the
fastest pass of each counts (a shared machine only ever makes a pass slower). It runs on the GPU when there is one (bf16,
as the agent's dtype auto picks), else on the CPU; see run_all_gpu.sh for GPU-sized settings.

Usage: python-agent/.venv/bin/python test/bench/train_overhead.py [--size tiny|1b] [--seq 0|N]
       [--batch 8] [--steps 30] [--warmup 3] [--logging-steps 1] [--repeats 3]
       [--targets q_proj,v_proj|all-linear]
"""

import argparse
import contextlib
import gc
import json
import math
import os
import sys
import tempfile
import time

import torch
import yaml
from transformers import Trainer
from transformers.utils import logging as hf_logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_model import SAMPLE, SIZES, long_rows, make_model  # noqa: E402

from tunelab_agent.rundir import eventlog  # noqa: E402
from tunelab_agent.training import recipe as training_recipe
from tunelab_agent.training.callbacks import StopFlag  # noqa: E402
from tunelab_agent.data.collate import PaddingCollator  # noqa: E402

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def write_run(root: str, run_id: str, model_dir: str, data: str, args, max_length: int, max_steps: int) -> str:
    """A run folder as the server leaves it for `python -m tunelab_agent run` (config.yaml + run.json)."""
    folder = os.path.join(eventlog.runs_dir(root), run_id)
    os.makedirs(folder)
    targets = "all-linear" if args.targets == "all-linear" else args.targets.split(",")
    config = {
        "name": "bench",
        "model": {"name": model_dir},
        "dataset": {"train": data, "eval_ratio": 0, "max_length": max_length},
        "lora": {"r": 16, "alpha": 32, "dropout": 0.1, "target_modules": targets},
        # Constant LR and no warmup: the schedule costs nothing and would only add a warmup_capped warning.
        # save_steps beyond the run: the only save is the final one, after the last timed event.
        "training": {"scheduler": "constant", "warmup_steps": 0, "batch_size": args.batch, "max_steps": max_steps,
                     "save_steps": 10 * max_steps, "logging_steps": args.logging_steps},
    }
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        yaml.safe_dump(config, f)
    with open(os.path.join(folder, "run.json"), "w") as f:
        json.dump({"name": "bench", "created": time.time(), "config_path": None, "pid": os.getpid(),
                   "resolved": {"model": model_dir, "train": data}}, f)
    return folder


class BatchRecorder:
    """Passes batches through to the agent's collator and notes which rows each one held (a dict lookup
    per row, so the agent's side pays nothing measurable for it)."""

    def __init__(self, collator, items: list[dict]):
        self.collator = collator
        self.index = {id(item): i for i, item in enumerate(items)}
        self.batches: list[list[int]] = []

    def __call__(self, batch: list[dict]) -> dict:
        self.batches.append([self.index[id(item)] for item in batch])
        return self.collator(batch)


def agent_side(run_dir: str, root: str, first: int) -> dict:
    """Runs the recipe as recipe.run does; returns the batches its Trainer drew and its timed window."""
    recipe = training_recipe.Recipe(run_dir, root)
    recipe.setup(StopFlag())
    recorder = BatchRecorder(recipe.trainer.data_collator, recipe.train_items)
    recipe.trainer.data_collator = recorder
    # In a real run stdout is train.log; the Trainer prints each log there too.
    with open(os.path.join(run_dir, "train.log"), "w") as log, contextlib.redirect_stdout(log):
        outcome = recipe.train()
        recipe.cleanup(outcome)
    events = eventlog.read_run_events(root, os.path.basename(run_dir))
    if outcome != "completed":
        errors = [e["data"].get("message") for e in events if e["kind"] == "log" and e["data"].get("level") == "error"]
        sys.exit(f"the agent's run ended {outcome}: {errors or recipe.ctx.extra.get('error')}")
    metrics = [e for e in events if e["kind"] == "metrics" and e["data"]["step"] >= first]
    start, end = metrics[0], metrics[-1]
    result = {
        "batches": recorder.batches, "first": start["data"]["step"], "last": end["data"]["step"],
        "seconds": end["time"] - start["time"], "events": len(events),
        "dtype": str(recipe.model.get_base_model().dtype).replace("torch.", ""),
        "device": str(recipe.trainer.args.device),
    }
    del recipe, recorder
    release_memory()
    return result


def bare_side(run_dir: str, root: str, batches: list[list[int]], first: int, last: int) -> float:
    """Seconds of a hand-written loop over steps first+1..last of the same batches."""
    recipe = training_recipe.Recipe(run_dir, root)
    recipe.is_writer = False  # only its loaders are wanted; its events would mix into the agent's log
    recipe.setup(StopFlag())
    args = recipe.trainer.args
    device = args.device
    model = recipe.model.to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(args, model)
    optimizer = optimizer_cls(params, weight_decay=args.weight_decay, **optimizer_kwargs)
    half = torch.bfloat16 if args.bf16 else torch.float16
    collate = PaddingCollator(recipe.tokenizer.pad_token_id)
    items = recipe.train_items

    started = None
    for step, rows in enumerate(batches[:last], start=1):
        if step == first + 1:
            synchronize(device)
            started = time.perf_counter()
        batch = {k: v.to(device, non_blocking=True) for k, v in collate([items[i] for i in rows]).items()}
        with torch.autocast(device.type, dtype=half, enabled=args.bf16 or args.fp16):
            loss = model(**batch, use_cache=False).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    synchronize(device)
    seconds = time.perf_counter() - started
    del recipe, model, optimizer
    release_memory()
    return seconds


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def release_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def rounded_up(value: int, multiple: int) -> int:
    return max(multiple, math.ceil(value / multiple) * multiple)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="tiny", help="model shape (see bench_model.py)")
    parser.add_argument("--seq", type=int, default=0,
                        help="0: the sentiment sample rows (max_length 96); N: synthetic rows of about N tokens")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=30, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first, on both sides")
    parser.add_argument("--logging-steps", type=int, default=1, help="the agent's training.logging_steps")
    parser.add_argument("--repeats", type=int, default=3, help="passes of both sides; the fastest of each counts")
    parser.add_argument("--targets", default=",".join(ALL_PROJECTIONS),
                        help="LoRA target_modules, comma-separated, or all-linear")
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    # Timing is read at logging steps only, so the window starts and ends on one.
    first = rounded_up(args.warmup, args.logging_steps)
    last = first + rounded_up(args.steps, args.logging_steps)

    with tempfile.TemporaryDirectory(prefix="tunelab-bench-") as tmp:
        model_dir = make_model(os.path.join(tmp, "model"), args.size)
        if args.seq:
            from transformers import AutoTokenizer

            data = long_rows(os.path.join(tmp, "rows.jsonl"), AutoTokenizer.from_pretrained(model_dir),
                             count=8 * args.batch, length=args.seq)
            max_length = args.seq
        else:
            data, max_length = SAMPLE, 96
        root = os.path.join(tmp, "root")
        agent, bare = None, None
        for attempt in range(args.repeats):
            run_dir = write_run(root, f"bench-{attempt}", model_dir, data, args, max_length, last)
            this = agent_side(run_dir, root, first)
            seconds = bare_side(run_dir, root, this["batches"], this["first"], this["last"])
            agent = this if agent is None or this["seconds"] < agent["seconds"] else agent
            bare = seconds if bare is None else min(bare, seconds)

    steps = agent["last"] - agent["first"]
    device = agent["device"]
    if device.startswith("cuda"):
        device = f"{device} ({torch.cuda.get_device_name(0)})"
    else:
        device = f"cpu ({torch.get_num_threads()} threads)"
    print(f"device {device}, {agent['dtype']}; model {args.size}, rows "
          f"{'sample, max_length 96' if not args.seq else f'~{args.seq} tokens'}, batch {args.batch}, "
          f"LoRA r=16 on {args.targets}; steps {agent['first'] + 1}..{agent['last']} timed "
          f"({steps}), logging_steps {args.logging_steps}")
    print(f"bare PyTorch loop : {steps / bare:8.3f} steps/s")
    print(f"agent recipe      : {steps / agent['seconds']:8.3f} steps/s "
          f"(Trainer + EventCallback, {agent['events']} fsync'd events)")
    print(f"agent / bare steps/s ratio: {bare / agent['seconds']:.3f}x (goal >= 0.99x)")


if __name__ == "__main__":
    main()
