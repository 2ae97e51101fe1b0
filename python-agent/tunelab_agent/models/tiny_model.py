"""A tiny Llama with a byte-level BPE tokenizer and a chat template, built locally (no downloads).

It starts from random weights; LoRA on it can still learn a small task, which is all the tests
and the demo need. The init range is wider than Llama's 0.02: with 0.02 a tiny random model's
outputs are nearly uniform, and LoRA (which leaves embeddings and norms frozen) can hardly
sharpen them, so the loss would barely move even when greedy answers become right.
"""

import json
import os

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

EOS = "<|end|>"
PAD = "<|pad|>"
SPECIAL = [PAD, EOS, "<|user|>", "<|assistant|>", "<|system|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + '<|end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def corpus_texts(path: str):
    """Plain lines of a text file, or the text of a JSONL file's Alpaca rows (for the tokenizer's merges)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if path.endswith(".jsonl"):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, dict):
                    yield "\n\n".join(str(row[k]) for k in ("instruction", "input", "output")
                                       if row.get(k))
            elif line.strip():
                yield line.rstrip("\n")


def build_tokenizer(corpus: str | None, vocab_size: int) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus_texts(corpus) if corpus else [], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, pad_token=PAD)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def make_tiny_model(out_dir: str, corpus: str | None = None, hidden: int = 64, layers: int = 2,
                    vocab_size: int = 1000, init_range: float = 0.1, seed: int = 0) -> str:
    os.makedirs(out_dir, exist_ok=True)
    tokenizer = build_tokenizer(corpus, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=1024, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None, tie_word_embeddings=True, initializer_range=init_range)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir

