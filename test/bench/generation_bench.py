"""Benchmark: comparing N checkpoints side by side through the GenerationService vs plain `generate`.

Both sides run in this one process on the same model, the same N LoRA adapters (random lora_B, so
each answers differently) and the same prompts, greedy. The baseline is what one would write without
the service: a PeftModel holding the N adapters, `set_adapter` then `model.generate` per adapter
(unmerged). The service decodes the N adapters in one batch. A second line compares one adapter alone:
the service's merged fast path vs `generate` on the unmerged adapter.

tok/s = all new tokens / wall time; TTFT is the median over prompts and adapters. Each side is
measured --repeats times, interleaved, and the fastest pass counts (a shared machine only ever makes a
pass slower). The ratio is service tok/s / baseline tok/s (goal >= 2x for side by side).

Usage: python-agent/.venv/bin/python test/bench/generation_bench.py [--adapters 3] [--prompts 4]
       [--new-tokens 48] [--hidden 256] [--layers 4] [--repeats 3]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.streamers import BaseStreamer
from transformers.utils import logging as hf_logging

from tunelab_agent.data.dataset import prompt_ids
from tunelab_agent.generation.generate import GenerationService
from tunelab_agent.models.tiny_model import make_tiny_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, "samples", "sentiment", "train.jsonl")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PROMPTS = ["Classify the sentiment of this review as positive or negative.\n\nThe movie was fantastic.",
           "Classify the sentiment of this review as positive or negative.\n\nThe food was slow. Never again.",
           "Write a short review of a hotel.",
           "Classify the sentiment of this review as positive or negative.\n\nThe game was fun, I would come back."]


class FirstTokenClock(BaseStreamer):
    """Notes when generate() hands out its first new token (its first put() is the prompt)."""

    def __init__(self):
        self.calls, self.first_at = 0, None

    def put(self, value):
        self.calls += 1
        if self.calls == 2:
            self.first_at = time.perf_counter()

    def end(self):
        pass


def make_adapters(model_dir: str, folder: str, count: int) -> list[str]:
    folders = []
    for i in range(count):
        base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        model = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, target_modules=TARGETS, task_type="CAUSAL_LM"))
        generator = torch.Generator().manual_seed(100 + i)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
        folders.append(os.path.join(folder, f"checkpoint-{(i + 1) * 10}"))
        model.save_pretrained(folders[-1])
    return folders


def plain_model(model_dir: str, adapters: list[str], device: str):
    """The baseline's PeftModel holding every adapter, unmerged."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(model, adapters[0], adapter_name="a0")
    for i, folder in enumerate(adapters[1:], start=1):
        model.load_adapter(folder, adapter_name=f"a{i}")
    return tokenizer, model.to(device).eval()


def baseline(plain, prompts: list[str], count: int, new_tokens: int, device: str):
    """Plain generate per adapter (the first `count`): (tokens, seconds, ttfts in ms)."""
    tokenizer, model = plain

    def run(prompt, i):
        ids = torch.tensor([prompt_ids(tokenizer, [{"role": "user", "content": prompt}])], device=device)
        model.set_adapter(f"a{i}")
        clock = FirstTokenClock()
        started = time.perf_counter()
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                 do_sample=False, streamer=clock, pad_token_id=tokenizer.pad_token_id)
        return out.shape[1] - ids.shape[1], (clock.first_at - started) * 1000

    run(prompts[0], 0)  # warm-up
    tokens, ttfts = 0, []
    started = time.perf_counter()
    for prompt in prompts:
        for i in range(count):
            made, ttft = run(prompt, i)
            tokens += made
            ttfts.append(ttft)
    return tokens, time.perf_counter() - started, ttfts


def service_side_by_side(service, model_dir, adapters, prompts, new_tokens):
    named = [(f"checkpoint-{(i + 1) * 10}", folder) for i, folder in enumerate(adapters)]
    service.generate(model_dir, named, prompts[0], {"max_new_tokens": new_tokens})  # warm-up + attach
    tokens, ttfts = 0, []
    started = time.perf_counter()
    for prompt in prompts:
        for result in service.generate(model_dir, named, prompt, {"max_new_tokens": new_tokens}):
            tokens += result["new_tokens"]
            ttfts.append(result["ttft_ms"])
    return tokens, time.perf_counter() - started, ttfts


def best(runs: list) -> tuple:
    return min(runs, key=lambda run: run[1] / run[0])


def report(label: str, tokens: int, seconds: float, ttfts: list) -> float:
    print(f"{label:<44} {tokens:>5} tokens  {tokens / seconds:>9.1f} tok/s  TTFT median {statistics.median(ttfts):7.1f} ms")
    return tokens / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapters", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    hf_logging.disable_progress_bar()
    prompts = (PROMPTS * args.prompts)[:args.prompts]
    with tempfile.TemporaryDirectory() as folder:
        model_dir = make_tiny_model(os.path.join(folder, "model"), corpus=CORPUS, hidden=args.hidden, layers=args.layers)
        adapters = make_adapters(model_dir, folder, args.adapters)
        service = GenerationService(device=device)
        print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, model hidden "
              f"{args.hidden} x {args.layers} layers, {args.adapters} adapters (all-linear r=16), "
              f"{len(prompts)} prompts x {args.new_tokens} new tokens, greedy")

        plain = plain_model(model_dir, adapters, device)
        for count, label in ((args.adapters, "side-by-side"), (1, "single-adapter")):
            named = adapters[:count]
            plain_runs, service_runs = [], []
            for _ in range(args.repeats):
                plain_runs.append(baseline(plain, prompts, count, args.new_tokens, device))
                service_runs.append(service_side_by_side(service, model_dir, named, prompts, args.new_tokens))
            if count > 1:
                slow = report(f"plain generate, unmerged, x{count} in turn", *best(plain_runs))
                fast = report(f"service side by side ({count} in one batch)", *best(service_runs))
            else:
                slow = report("plain generate, one adapter unmerged", *best(plain_runs))
                fast = report("service, one adapter (merged fast path)", *best(service_runs))
            print(f"{label} ratio: {fast / slow:.2f}x" + (" (goal >= 2x)" if count > 1 else ""))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
