"""Benchmark: the agent's training recipe against a bare PyTorch loop on the same model, data and LoRA.

Both run in this one process on the same tiny model (the demo's size) and the same encoded rows. The
agent side is the real `tunelab_agent.train.run` with its Trainer and event callback (an fsync'd event per
step, logging_steps 1, the worst case), timed between its own step events, as the bare loop is timed
between steps. The ratio is steps/s agent / steps/s bare.

Usage: python-agent/.venv/bin/python test/bench/train_overhead.py [--steps 60] [--batch 16]
"""

import argparse
import json
import os
import sys
import tempfile
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunelab_agent import eventlog, train
from tunelab_agent.data import Collator, encode_row, read_alpaca
from tunelab_agent.tiny_model import make_tiny_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(REPO, "samples", "sentiment", "train.jsonl")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
LR, MAX_LENGTH, WARMUP = 1e-3, 96, 3


def bare_loop(model_dir: str, steps: int, batch: int) -> float:
    """Steps per second of forward, backward and AdamW step on the peft model, after WARMUP steps."""
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    rows = [encode_row(tokenizer, r, MAX_LENGTH) for r in read_alpaca(DATA)]
    rows = [r for r in rows if r is not None]
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                           LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM"))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    collate = Collator(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
    order = torch.randperm(len(rows)).tolist()
    started = None
    for step in range(WARMUP + steps):
        if step == WARMUP:
            started = time.perf_counter()
        ids = [order[(step * batch + i) % len(order)] for i in range(batch)]
        loss = model(**collate([rows[i] for i in ids])).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return steps / (time.perf_counter() - started)


def agent_run(model_dir: str, root: str, steps: int, batch: int) -> float:
    """Steps per second of the agent's recipe, from its own step events (so model loading is not counted)."""
    run_id = "bench-run"
    folder = os.path.join(eventlog.runs_dir(root), run_id)
    os.makedirs(folder)
    config = f"""name: bench
model: {model_dir}
dataset: {{ train: {DATA}, eval_ratio: 0, max_length: {MAX_LENGTH} }}
lora: {{ r: 16, alpha: 32, dropout: 0.05, target_modules: {json.dumps(TARGETS)} }}
training: {{ learning_rate: {LR}, scheduler: constant, warmup_steps: 0, batch_size: {batch},
            max_steps: {WARMUP + steps}, save_steps: 100000, logging_steps: 1 }}
"""
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write(config)
    with open(os.path.join(folder, "run.json"), "w") as f:
        json.dump({"name": "bench", "created": time.time(), "config_path": None, "pid": os.getpid(),
                   "resolved": {"model": model_dir, "train": DATA}}, f)
    if train.run(folder, root) != 0:
        sys.exit(f"the agent's run failed; see {folder}/events.jsonl")
    metrics = [e for e in eventlog.read_run_events(root, run_id) if e["kind"] == "metrics"]
    first = next(e for e in metrics if e["data"]["step"] == WARMUP)
    last = metrics[-1]
    return (last["data"]["step"] - first["data"]["step"]) / (last["time"] - first["time"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="tunelab-bench-") as tmp:
        model_dir = os.path.join(tmp, "model")
        make_tiny_model(model_dir, DATA, hidden=256, layers=4)
        bare = bare_loop(model_dir, args.steps, args.batch)
        agent = agent_run(model_dir, os.path.join(tmp, "root"), args.steps, args.batch)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU ({os.cpu_count()} cores)"
    print(f"device: {device}; tiny Llama 256x4, LoRA r=16 on 7 projections, batch {args.batch}, {args.steps} timed steps")
    print(f"bare PyTorch loop : {bare:6.2f} steps/s")
    print(f"agent recipe      : {agent:6.2f} steps/s (Trainer + an fsync'd event per step)")
    print(f"ratio agent/bare  : {agent / bare:.2f}")


if __name__ == "__main__":
    main()
