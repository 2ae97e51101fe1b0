"""Preference rows -> the token ids TRL's DPO and KTO trainers take, split by the agent's own template.

TRL can tokenise prompt/chosen/rejected text itself, but then a prompt would be split one way in
training and another at generation time, and bad rows would be TRL's warnings instead of `bad_row`
events. So the rows are encoded here with templating.py (the same pieces as SFT and generation):

- DPO: {"prompt_ids", "chosen_ids", "rejected_ids"} from a pair (format "preference").
- KTO: {"prompt_ids", "completion_ids", "label"} from a single judged answer (format "kto"); a pair
  file also works and gives one desirable and one undesirable example per pair, as in the KTO paper.

A row is dropped (and reported) when the template cannot split it, when prompt plus its longest answer
is over dataset.max_length (TRL would truncate silently), or when an answer renders to no tokens.
The result is cached like SFT data (token_cache.py), under a key that includes the method.
"""

import os

from . import token_cache
from .data import DatasetError, Split, check, report
from .formats import BadRow, FormatError, read_rows
from .templating import IGNORE, TemplateError, chat_template, encode_conversation, prompt_ids

PAIR_FORMATS = ("preference",)
SINGLE_FORMATS = ("kto",)


def load_preference_split(path: str, dataset_opts: dict, tokenizer, cache_root: str, emit, method: str,
                          split: str = "train", emit_many=None) -> Split:
    """Items for `method` ("dpo" or "kto"); emits bad_row events and a data_report; raises DatasetError."""
    name = os.path.basename(path)
    max_length, requested = dataset_opts["max_length"], dataset_opts.get("format", "auto")
    try:
        key = token_cache.cache_key(token_cache.file_sha256(path), tokenizer, chat_template(tokenizer),
                                    max_length, "completion", f"{requested}+{method}")
    except OSError as exc:
        raise DatasetError(f"{name}: cannot read ({exc.strerror})") from None
    hit = token_cache.load(cache_root, key) if cache_root else None
    if hit:
        flat, meta = hit
        bad = [BadRow(name, line, why, unit_of(path)) for line, why in meta["bad"]]
        result = Split(unflatten(flat, meta["labels"], method), bad, meta["total"], meta["format"], meta["tokens"],
                       cached=True)
    else:
        result = tokenise_preferences(path, requested, tokenizer, max_length, method)
        if cache_root:
            flat, labels = flatten(result.items, method)
            token_cache.store(cache_root, key, flat, {
                "format": result.format, "total": result.total, "tokens": result.tokens, "labels": labels,
                "bad": [(b.line, b.reason) for b in result.bad]})
    report(result, name, split, emit, emit_many)
    check(result, name, dataset_opts.get("max_bad_rows", 0.0), method)
    return result


def tokenise_preferences(path: str, format: str, tokenizer, max_length: int, method: str) -> Split:
    name = os.path.basename(path)
    try:
        rows = read_rows(path, format)
    except (FormatError, UnicodeDecodeError) as exc:
        raise DatasetError(str(exc) if isinstance(exc, FormatError) else f"{name}: not UTF-8 text") from None
    wanted = PAIR_FORMATS if method == "dpo" else PAIR_FORMATS + SINGLE_FORMATS
    if rows.format not in wanted:
        # check() words the mismatch; nothing here can be trained, so skip the encoding.
        return Split([], list(rows.bad), rows.total, rows.format)
    bad, items = list(rows.bad), []
    for sample in rows.samples:
        try:
            items += encode_preference(tokenizer, sample, method, max_length)
        except TemplateError as exc:
            bad.append(BadRow(name, sample.line, str(exc), unit_of(path)))
    bad.sort(key=lambda b: b.line)
    return Split(items, bad, rows.total, rows.format, sum(tokens(item) for item in items))


def encode_preference(tokenizer, sample, method: str, max_length: int) -> list[dict]:
    """The items of one row; TemplateError (the row's reason) when it cannot be trained."""
    tools = getattr(sample, "tools", None)
    prompt = prompt_ids(tokenizer, sample.prompt, tools=tools)
    if getattr(sample, "chosen", None) is not None:
        answers = {"chosen": sample.chosen, "rejected": sample.rejected}
    else:
        answers = {"completion": sample.completion}
    encoded = {key: answer_ids(tokenizer, sample.prompt, prompt, text, key, tools) for key, text in answers.items()}
    longest = len(prompt) + max(len(ids) for ids in encoded.values())
    if longest > max_length:
        raise TemplateError(f"{longest} tokens, over max_length {max_length}")
    if method == "dpo":
        return [{"prompt_ids": prompt, "chosen_ids": encoded["chosen"], "rejected_ids": encoded["rejected"]}]
    if "completion" in encoded:
        return [{"prompt_ids": prompt, "completion_ids": encoded["completion"], "label": bool(sample.desirable)}]
    return [{"prompt_ids": prompt, "completion_ids": encoded["chosen"], "label": True},
            {"prompt_ids": prompt, "completion_ids": encoded["rejected"], "label": False}]


def answer_ids(tokenizer, messages: list[dict], prompt: list[int], answer: str, key: str, tools=None) -> list[int]:
    full = encode_conversation(tokenizer, messages + [{"role": "assistant", "content": answer}],
                               tools=tools)["input_ids"]
    if full[:len(prompt)] != prompt:
        raise TemplateError(f'the chat template splits the prompt differently once "{key}" follows it')
    if len(full) == len(prompt):
        raise TemplateError(f'"{key}" renders to no tokens')
    return full[len(prompt):]


def unit_of(path: str) -> str:
    """What a BadRow's number counts: Parquet has rows, text files have lines."""
    return "row" if path.lower().endswith(".parquet") else "line"


def tokens(item: dict) -> int:
    answers = [ids for key, ids in item.items() if key.endswith("_ids") and key != "prompt_ids"]
    return len(item["prompt_ids"]) * len(answers) + sum(len(ids) for ids in answers)


# --- the token cache holds {input_ids, labels} items: a prompt is where the labels are IGNORE ---------------

def flatten(items: list[dict], method: str) -> tuple[list[dict], list]:
    """(cache items, per-item KTO labels or None): one cache item per answer sequence."""
    flat = []
    for item in items:
        for key in ANSWER_KEYS[method]:
            flat.append({"input_ids": item["prompt_ids"] + item[key],
                         "labels": [IGNORE] * len(item["prompt_ids"]) + item[key]})
    return flat, [item["label"] for item in items] if method == "kto" else None


def unflatten(flat: list[dict], labels, method: str) -> list[dict]:
    keys = ANSWER_KEYS[method]
    items = []
    for i in range(0, len(flat), len(keys)):
        item = {}
        for key, seq in zip(keys, flat[i:i + len(keys)]):
            cut = next(n for n, label in enumerate(seq["labels"]) if label != IGNORE)
            item["prompt_ids"], item[key] = seq["input_ids"][:cut], seq["input_ids"][cut:]
        if method == "kto":
            item["label"] = bool(labels[len(items)])
        items.append(item)
    return items


ANSWER_KEYS = {"dpo": ("chosen_ids", "rejected_ids"), "kto": ("completion_ids",)}
