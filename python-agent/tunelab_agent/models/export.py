"""Merge a LoRA checkpoint into its base model and export a standalone model folder.

The result loads with plain `AutoModelForCausalLM.from_pretrained(dest)`: merged weights in
safetensors, the config, the generation config and the tokenizer. It is written to `<dest>.partial`
and renamed to `dest` only when every file is on disk, so an interrupted export never looks complete.
"""

import os
import shutil

from ..files import sha256_of
from ..libraries import from_transformers

DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model")


class ExportError(ValueError):
    pass


def export_merged(base_path: str, checkpoint_folder: str, dest: str, dtype: str = "auto",
                  on_progress=None) -> dict:
    """Returns {path, files: [{name, size, sha256}]}; `on_progress(stage, fraction)` hears each stage.

    dtype "auto" keeps the base model's stored dtype; fp32/bf16/fp16 convert the merged weights.
    """
    dest = os.path.abspath(dest)
    if os.path.isfile(dest) or (os.path.isdir(dest) and os.listdir(dest)):
        raise ExportError(f"{dest}: the export folder must be new or empty")
    if not os.path.isfile(os.path.join(checkpoint_folder, "adapter_config.json")):
        raise ExportError(f"{checkpoint_folder}: not a LoRA checkpoint (no adapter_config.json)")
    if dtype != "auto" and dtype not in DTYPES:
        raise ExportError(f"dtype: expected auto, {', '.join(DTYPES)}, got {dtype!r}")
    progress = on_progress or (lambda stage, fraction: None)

    import torch
    from peft import PeftModel
    AutoModelForCausalLM, AutoTokenizer = from_transformers("AutoModelForCausalLM", "AutoTokenizer")

    progress("loading base model", 0.0)
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, DTYPES[dtype])
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch_dtype)
    progress("merging adapter", 0.4)
    merged = PeftModel.from_pretrained(base, checkpoint_folder).merge_and_unload()
    # A checkpoint that saved its tokenizer (possibly with added tokens) wins over the base's.
    has_own_tokenizer = any(os.path.isfile(os.path.join(checkpoint_folder, f)) for f in TOKENIZER_FILES)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_folder if has_own_tokenizer else base_path)

    progress("saving", 0.6)
    partial = dest + ".partial"
    shutil.rmtree(partial, ignore_errors=True)  # left by an earlier export that died
    merged.save_pretrained(partial)  # transformers 5 always writes safetensors
    tokenizer.save_pretrained(partial)
    progress("hashing", 0.9)
    files = []
    for name in sorted(os.listdir(partial)):
        path = os.path.join(partial, name)
        fsync(path)
        files.append({"name": name, "size": os.path.getsize(path), "sha256": sha256_of(path)})
    if os.path.isdir(dest):
        os.rmdir(dest)  # empty, checked above; rename cannot replace it on every platform
    os.rename(partial, dest)
    progress("done", 1.0)
    return {"path": dest, "files": files}


def fsync(path: str) -> None:
    # Before the rename: a crash after it must not leave a complete-looking folder of empty files.
    with open(path, "rb") as f:
        os.fsync(f.fileno())
