"""Models and rows for the benchmarks, built locally with random weights (nothing is downloaded).

A throughput ratio does not depend on what the weights have learned, only on the model's shape, so
a random model of the right shape measures what a real one would. Two shapes:

- "tiny": the demo's model (hidden 256, 4 layers), for CPU runs;
- "1b": TinyLlama's shape (hidden 2048, 22 layers, 32 heads, 4 KV heads, vocab 32000, about 1.1B
  parameters), the first row of ../shared/notes/gpu-baseline.md, for GPU runs.

The tokenizer is always tiny_model's small BPE trained on the sample data; the 1b model simply has
more embedding rows than the tokenizer uses, which costs the same compute as a real vocabulary.
"""

import json
import os
import random

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from tunelab_agent.data.templating import encode_conversation
from tunelab_agent.models.tiny_model import build_tokenizer, corpus_texts, make_tiny_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "samples", "sentiment", "train.jsonl")
SIZES = ("tiny", "1b")


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def default_dtype(device: str) -> torch.dtype:
    """What the agent picks for model.dtype auto: bf16 on a GPU that has it, fp32 on the CPU."""
    if device == "cpu":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def make_model(folder: str, size: str = "tiny", dtype: torch.dtype | None = None) -> str:
    """A saved model + tokenizer in `folder` (save_pretrained layout), ready for from_pretrained."""
    if size == "tiny":
        return make_tiny_model(folder, SAMPLE, hidden=256, layers=4)
    if size != "1b":
        raise ValueError(f"unknown model size {size!r}; one of {', '.join(SIZES)}")
    device = default_device()
    dtype = dtype or default_dtype(device)
    tokenizer = build_tokenizer(SAMPLE, 1000)
    config = LlamaConfig(
        vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=4096, tie_word_embeddings=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    torch.manual_seed(0)
    # Built directly on the GPU in its training dtype: a 1.1B random init on the CPU in fp32 takes minutes.
    with torch.device(device):
        model = LlamaForCausalLM._from_config(config, dtype=dtype)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return folder


def long_rows(path: str, tokenizer, count: int, length: int, seed: int = 0) -> str:
    """Write `count` Alpaca rows of `length - 16` to `length` tokens each (as the chat template encodes
    them), so that a batch is batch x length tokens like the GPU reference figures' batch x seq."""
    rng = random.Random(seed)
    words = [w for text in corpus_texts(SAMPLE) for w in text.split()]
    instruction = "Continue the review in the same words."

    def tokens(n_words: int) -> tuple[int, str]:
        text = " ".join(rng.choice(words) for _ in range(n_words))
        item = encode_conversation(tokenizer, [{"role": "user", "content": instruction},
                                               {"role": "assistant", "content": text}])
        return len(item["input_ids"]), text

    with open(path, "w", encoding="utf-8") as f:
        guess = length // 2
        for _ in range(count):
            while True:
                n, text = tokens(guess)
                if length - 16 <= n <= length:
                    break
                # Words are a couple of tokens each; step the word count toward the target.
                guess = max(1, guess + (length - 8 - n) // 2 or (1 if n < length else -1))
            f.write(json.dumps({"instruction": instruction, "input": "", "output": text}) + "\n")
    return path
