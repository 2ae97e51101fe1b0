"""Benchmark: training tokens/s with padded batches vs packed rows, on variable-length chat data.

One process, one tiny model (fresh LoRA for each side), the same chats: each side trains one epoch over
exactly the same samples, so both see the same real tokens; throughput is real (non-pad) tokens per
second of forward + backward + AdamW step, after one untimed warm-up step. Chat lengths are long-tailed
(lognormal: most answers short, a few long), as in real SFT data, which is where padding wastes most.

On a GPU the model trains in bf16 (the agent's dtype auto) under bf16 autocast, as the Trainer does;
--size 1b builds a 1.1B random Llama there (see bench_model.py).

Usage: python-agent/.venv/bin/python test/bench/packing_bench.py [--samples 256] [--max-length 512]
       [--batch 8] [--device auto|cpu|cuda] [--size tiny|1b]
"""

import argparse
import math
import os
import random
import sys
import tempfile
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as hf_logging

from tunelab_agent.data.collate import PackingCollator, PaddingCollator
from tunelab_agent.data.packing import pack
from tunelab_agent.data.templating import encode_conversation
from tunelab_agent.models.tiny_model import make_tiny_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_model import SIZES, default_dtype, make_model  # noqa: E402

WORDS = "the food was good and the service slow but we would come back for the bread next time".split()


def chats(count: int, max_length: int, tokenizer, seed: int = 0) -> list[dict]:
    """Encoded one- to three-turn chats with lognormal turn lengths, each fitting max_length."""
    rng = random.Random(seed)
    say = lambda n: " ".join(rng.choice(WORDS) for _ in range(max(1, n)))
    items = []
    while len(items) < count:
        messages = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            messages += [{"role": "user", "content": say(int(rng.lognormvariate(math.log(12), 0.8)))},
                         {"role": "assistant", "content": say(int(rng.lognormvariate(math.log(20), 1.0)))}]
        item = encode_conversation(tokenizer, messages)
        if len(item["input_ids"]) <= max_length:
            items.append(item)
    return items


def train_epoch(model_dir: str, batches: list[dict], device: str) -> float:
    """Seconds for one pass over `batches` (the first one is an untimed warm-up, then repeated timed)."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=default_dtype(device)).to(device)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    to_device = lambda b: {k: v.to(device) if torch.is_tensor(v) else v for k, v in b.items()}

    def step(batch):
        with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            # No KV cache on either side (the packing collator already says so in its batch): a padded
            # batch would otherwise fill a cache it never reads, which is not what the agent trains with.
            loss = model(**{"use_cache": False, **to_device(batch)}).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(batches[0])
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for batch in batches:
        step(batch)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch", type=int, default=8, help="samples per padded batch")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", choices=SIZES, default=None,
                        help="a bench_model shape instead of --hidden/--layers (1b: for GPUs)")
    args = parser.parse_args()
    hf_logging.disable_progress_bar()
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device

    with tempfile.TemporaryDirectory() as folder:
        if args.size:
            model_dir = make_model(os.path.join(folder, "model"), args.size)
        else:
            model_dir = make_tiny_model(os.path.join(folder, "model"), hidden=args.hidden, layers=args.layers)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        items = chats(args.samples, args.max_length, tokenizer)
        random.Random(1).shuffle(items)
        real_tokens = sum(len(i["input_ids"]) for i in items)

        pad = PaddingCollator(tokenizer.pad_token_id)
        padded = [pad(items[i:i + args.batch]) for i in range(0, len(items), args.batch)]
        rows = pack(items, args.max_length)
        random.Random(2).shuffle(rows)
        # as many packed rows per step as hold about the same real tokens as one padded batch
        per_step = max(1, round(args.batch * real_tokens / len(items) / args.max_length))
        packer = PackingCollator(tokenizer.pad_token_id)
        packed = [packer(rows[i:i + per_step]) for i in range(0, len(rows), per_step)]
        assert pad.tokens_seen == packer.tokens_seen == real_tokens

        slots = lambda batches: sum(b["input_ids"].numel() for b in batches)
        padding_tps = real_tokens / train_epoch(model_dir, padded, device)
        packing_tps = real_tokens / train_epoch(model_dir, packed, device)

    print(f"device {device} ({default_dtype(device)}); {len(items)} chats, {real_tokens} real tokens, lengths "
          f"{min(len(i['input_ids']) for i in items)}..{max(len(i['input_ids']) for i in items)} "
          f"(mean {real_tokens / len(items):.0f}), max_length {args.max_length}")
    print(f"padding: {len(padded)} steps of {args.batch} samples, {real_tokens / slots(padded):.0%} of slots real, "
          f"{padding_tps:,.0f} tokens/s")
    print(f"packing: {len(packed)} steps of {per_step} rows ({len(rows)} rows), "
          f"{real_tokens / slots(packed):.0%} of slots real, {packing_tps:,.0f} tokens/s")
    print(f"packing / padding tokens/s ratio: {packing_tps / padding_tps:.2f}x (goal >= 1.5x)")


if __name__ == "__main__":
    main()
