"""Alpaca JSONL -> chat-rendered token ids, with the loss only on the assistant's answer.

Training and generate() share `render_prompt`, so a prompt at inference time is tokenized
exactly like the user turn was during training.
"""

import json
import os

import torch

IGNORE = -100


class DatasetError(ValueError):
    pass


def read_alpaca(path: str) -> list[dict]:
    """Rows {instruction, input, output}; a bad line raises DatasetError naming the file and line."""
    name = os.path.basename(path)
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{name} line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            rows.append(_check_row(row, name, number))
    if not rows:
        raise DatasetError(f"{name}: no rows")
    return rows


def _check_row(row, name: str, number: int) -> dict:
    if not isinstance(row, dict):
        raise DatasetError(f"{name} line {number}: expected an object with instruction/input/output")
    for key in ("instruction", "output"):
        if not isinstance(row.get(key), str):
            raise DatasetError(f"{name} line {number}: \"{key}\" must be a string")
    if not isinstance(row.get("input", ""), str):
        raise DatasetError(f"{name} line {number}: \"input\" must be a string")
    return {"instruction": row["instruction"], "input": row.get("input", ""), "output": row["output"]}


def user_message(row: dict) -> str:
    return row["instruction"] + "\n\n" + row["input"] if row.get("input") else row["instruction"]


def render_prompt(tokenizer, user_text: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": user_text}], tokenize=False, add_generation_prompt=True)


def prompt_ids(tokenizer, user_text: str) -> list[int]:
    return tokenizer(render_prompt(tokenizer, user_text), add_special_tokens=False)["input_ids"]


def encode_row(tokenizer, row: dict, max_length: int) -> dict | None:
    """input_ids + labels masked to the answer; None when truncation leaves no answer token."""
    user = user_message(row)
    prompt = render_prompt(tokenizer, user)
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}], tokenize=False)
    if not full.startswith(prompt):
        raise DatasetError("the chat template renders the user turn differently with and without the answer")
    # Tokenizing the two halves separately keeps the prompt's ids identical to what generate() feeds the model.
    head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    ids = (head + answer)[:max_length]
    labels = ([IGNORE] * len(head) + answer)[:max_length]
    if all(label == IGNORE for label in labels):
        return None
    return {"input_ids": ids, "labels": labels}


class Collator:
    """Pads a batch; counts real tokens on the CPU so tokens/s needs no device sync."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id
        self.tokens_seen = 0

    def __call__(self, batch: list[dict]) -> dict:
        width = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            pad = width - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_id] * pad)
            labels.append(item["labels"] + [IGNORE] * pad)
            mask.append([1] * len(item["input_ids"]) + [0] * pad)
            self.tokens_seen += len(item["input_ids"])
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
