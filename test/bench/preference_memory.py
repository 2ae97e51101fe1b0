"""Benchmark: peak memory of one DPO step with the agent's reference (the base, adapter disabled) against
a DPO step with a separate reference model, same model, LoRA, rows and batch. Goal: ratio <= 0.7.

Both sides are TRL's DPOTrainer as the agent builds it (tunelab_agent.training.preference: PreferenceTrainer,
TRL's collator, the rows tokenised by preference_data), run for one optimizer step; the only difference
is the reference: `ref_model=None` (the agent's way) or a second copy of the base loaded from disk.

What is measured, in this one process:
- on a GPU: torch.cuda.max_memory_allocated() during the side (model load, trainer setup, the step),
  minus what was allocated before it: the allocator's own count of tensor memory;
- on the CPU: the kernel's peak resident set size (VmHWM, reset through /proc/self/clear_refs before
  each side) minus the RSS before it. That is the whole process (tensors, allocator slack, Python), so
  it is the honest "how much RAM did this need" figure, not tensor bytes alone.
The weights are built in the process's own memory (see build()). One unmeasured step runs
first, so one-time costs (imports, the first Trainer) fall on neither side. Then the agent's side runs:
memory a side frees but the C allocator keeps would make the *second* side look smaller, so any such
bias works against the agent's way, never for it. Freed memory is handed back to the OS (malloc_trim)
between the sides. The sides alternate --repeats times and each side's smallest peak counts.

The default "medium" shape (hidden 768, 6 layers, vocab 32000, about 106M parameters) makes the weights
a realistic share of a step's memory on a CPU; "tiny" is the demo model, whose activations dwarf its
weights; "1b" is TinyLlama's shape, for GPU runs.

Usage: python-agent/.venv/bin/python test/bench/preference_memory.py [--size medium|tiny|1b]
       [--batch 4] [--rows 16] [--repeats 2]
"""

import argparse
import ctypes
import gc
import json
import os
import re
import sys
import tempfile
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM
from transformers.trainer_callback import PrinterCallback
from transformers.utils import logging as hf_logging

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_model import SAMPLE, default_device, default_dtype, make_model  # noqa: E402

from tunelab_agent.training import preference  # noqa: E402
from tunelab_agent.data.preference_split import tokenise_preferences  # noqa: E402
from tunelab_agent.models.tiny_model import build_tokenizer  # noqa: E402

FLIP = {"positive": "negative", "negative": "positive"}


def make_medium(folder: str) -> str:
    tokenizer = build_tokenizer(SAMPLE, 1000)
    config = LlamaConfig(vocab_size=32000, hidden_size=768, intermediate_size=2048, num_hidden_layers=6,
                         num_attention_heads=12, num_key_value_heads=12, max_position_embeddings=1024,
                         tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_pairs(path: str, rows: int) -> None:
    with open(SAMPLE) as f:
        source = [json.loads(line) for line in f][:rows]
    with open(path, "w") as f:
        for r in source:
            f.write(json.dumps({"prompt": r["instruction"] + "\n\n" + r["input"], "chosen": r["output"],
                                "rejected": FLIP[r["output"]]}) + "\n")


# --- memory meters ---------------------------------------------------------------------------------

def rss_kb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/self/status").read()).group(1))


def peak_rss_kb() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))


def give_back() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass  # not glibc: the agent's side runs first anyway (see the docstring)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class Meter:
    def __init__(self, device: str):
        self.device = device

    def start(self) -> None:
        give_back()
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            self.base = rss_kb() * 1024

    def peak(self) -> int:
        if self.device == "cuda":
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - self.base
        return peak_rss_kb() * 1024 - self.base


# --- one side ----------------------------------------------------------------------------------------

def build(model_dir: str, dtype, device: str):
    """The saved model's architecture with seeded random weights, made in this process's own memory.

    from_pretrained on the CPU may leave weights mapped from the safetensors file, and two models mapping
    one file share its pages, so a separate reference would look almost free in RSS, which it is not on a
    GPU or once either copy is written to. A ratio of memory does not depend on what the weights are.
    """
    config = AutoConfig.from_pretrained(model_dir)
    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype)


def dpo_step(model_dir: str, items: list, batch: int, separate_reference: bool, device: str, dtype, out: str) -> float:
    """Builds the model (and the reference copy), builds the trainer, runs one optimizer step; returns the loss."""
    from peft import LoraConfig, get_peft_model

    load = lambda: build(model_dir, dtype, device)
    model = get_peft_model(load(), LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, task_type="CAUSAL_LM",
                                              target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    model.config.use_cache = False
    reference = None
    if separate_reference:
        reference = load().eval()
        reference.requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = {"training": {"method": "dpo"}, "dpo": {"beta": 0.1, "loss_type": "sigmoid", "label_smoothing": 0.0}}
    args_cls, extra = preference.arguments(config)
    gpu = device == "cuda"
    args = args_cls(output_dir=out, per_device_train_batch_size=batch, max_steps=1, learning_rate=1e-4,
                    logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True, remove_unused_columns=False,
                    gradient_checkpointing=False, bf16=gpu and dtype == torch.bfloat16, fp16=gpu and dtype == torch.float16,
                    use_cpu=not gpu, dataloader_num_workers=0, seed=0, **extra)
    trainer = preference.trainer_class("dpo")(
        model=model, ref_model=reference, args=args, train_dataset=items,
        data_collator=preference.collator("dpo", tokenizer.pad_token_id), processing_class=tokenizer)
    trainer.remove_callback(PrinterCallback)  # the ratio lines are the output; the Trainer's log dicts are noise
    if not separate_reference:
        assert trainer.ref_model is None and "ref" not in model.peft_config, "the reference must be the base, adapter off"
    result = trainer.train()
    loss = result.training_loss
    del trainer, model, reference
    return loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=("medium", "tiny", "1b"), default="medium")
    parser.add_argument("--batch", type=int, default=4, help="pairs per step")
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="passes of both sides, alternating")
    opts = parser.parse_args()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    device = default_device()
    dtype = default_dtype(device)
    meter = Meter(device)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = os.path.join(tmp, "model")
        make_medium(model_dir) if opts.size == "medium" else make_model(model_dir, opts.size)
        pairs = os.path.join(tmp, "pairs.jsonl")
        write_pairs(pairs, opts.rows)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        items = tokenise_preferences(pairs, "auto", tokenizer, 512, "dpo").items
        params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
        # One unmeasured step first: imports, the first Trainer and the allocator's one-time costs would
        # otherwise be charged to whichever side runs first.
        dpo_step(model_dir, items, opts.batch, False, device, dtype, os.path.join(tmp, "warmup"))
        give_back()
        peaks = {}
        for _ in range(opts.repeats):
            for name, separate in (("adapter-disabled reference", False), ("separate reference model", True)):
                meter.start()
                began = time.monotonic()
                loss = dpo_step(model_dir, items, opts.batch, separate, device, dtype, os.path.join(tmp, "out"))
                peak = meter.peak()
                # The smallest of the passes counts: what a pass needs at least; allocator slack only adds.
                peaks[name] = min(peaks.get(name, peak), peak)
                print(f"{name}: peak {peak / 2**20:.1f} MiB over the step's start "
                      f"(loss {loss:.4f}, {time.monotonic() - began:.1f} s)")
                give_back()
    what = "torch.cuda.max_memory_allocated" if device == "cuda" else "peak RSS (VmHWM)"
    ratio = peaks["adapter-disabled reference"] / peaks["separate reference model"]
    print(f"model {opts.size}: {params / 1e6:.0f}M parameters, {dtype}, {device}; {opts.batch} pairs per step; "
          f"measured as {what}")
    print(f"preference memory ratio (adapter-disabled / separate reference): {ratio:.2f}x (goal <= 0.70)")
    return 0 if ratio <= 0.7 else 1


if __name__ == "__main__":
    sys.exit(main())
