"""A dataset is tokenised once per (file content, tokenizer, template, options), then read from disk.

Tokenising a large chat dataset through a Jinja template takes minutes; re-running a config, resuming
or tweaking the learning rate should not pay that again. The key hashes everything that changes the
ids: the file's bytes, the tokenizer (its serialised vocabulary and merges, special tokens, vocabulary
size), the chat template, max_length, train_on, the requested format, dataset.truncation, and
CACHE_VERSION (bump it when the encoding code changes its output).

An entry is two files under `<cache_root>/tokenized/`: `<key>.pt` (all ids and labels as two flat int32
tensors plus offsets; compact and fast to load) and `<key>.json` (format, counts, bad rows). Both are
written to a temp name and renamed; the .json goes last, so an entry without it is never read.
"""

import hashlib
import json
import os

from ..files import sha256_of, write_atomically

CACHE_VERSION = 2  # 2: tool calls and tool results became trainable rows instead of bad ones


file_sha256 = sha256_of  # the dataset file's identity in the cache key


def tokenizer_identity(tokenizer) -> dict:
    """What makes two tokenizers produce the same ids (not where they were loaded from)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        content = backend.to_str()
    else:  # slow tokenizers: the vocabulary itself
        content = json.dumps(sorted(tokenizer.get_vocab().items()))
    return {"name_or_path": getattr(tokenizer, "name_or_path", ""), "vocab_size": len(tokenizer),
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
            "special_tokens": {k: str(v) for k, v in sorted(tokenizer.special_tokens_map.items())}}


def cache_key(file_hash: str, tokenizer, template: str, max_length: int, train_on: str, format: str,
              truncation: str = "none") -> str:
    identity = tokenizer_identity(tokenizer)
    identity.pop("name_or_path")  # the same tokenizer under another folder name gives the same ids
    parts = {"version": CACHE_VERSION, "file": file_hash, "tokenizer": identity, "template": template,
             "max_length": max_length, "train_on": train_on, "format": format, "truncation": truncation}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _folder(cache_root: str) -> str:
    return os.path.join(cache_root, "tokenized")


def load(cache_root: str, key: str) -> tuple[list[dict], dict] | None:
    """(items, meta) of a complete entry, or None on a miss (or an unreadable entry)."""
    base = os.path.join(_folder(cache_root), key)
    try:
        with open(base + ".json") as f:
            meta = json.load(f)
        import torch  # here, not at the top: the agent server imports this module and must stay torch-free

        tensors = torch.load(base + ".pt", weights_only=True)
    except (OSError, ValueError, RuntimeError):
        return None
    ids, labels = tensors["input_ids"].tolist(), tensors["labels"].tolist()
    offsets = tensors["offsets"].tolist()
    items = [{"input_ids": ids[a:b], "labels": labels[a:b]} for a, b in zip(offsets, offsets[1:])]
    return items, meta


def store(cache_root: str, key: str, items: list[dict], meta: dict) -> None:
    import torch  # see load

    folder = _folder(cache_root)
    os.makedirs(folder, exist_ok=True)
    offsets = [0]
    for item in items:
        offsets.append(offsets[-1] + len(item["input_ids"]))
    flat = lambda k: torch.tensor([t for item in items for t in item[k]], dtype=torch.int32)
    tensors = {"input_ids": flat("input_ids"), "labels": flat("labels"),
               "offsets": torch.tensor(offsets, dtype=torch.int64)}
    write_atomically(os.path.join(folder, key + ".pt"), lambda f: torch.save(tensors, f))
    write_atomically(os.path.join(folder, key + ".json"), lambda f: f.write(json.dumps(meta).encode()))
