"""Preference rows -> the token ids TRL's DPO and KTO trainers take, split by the agent's own template.

TRL can tokenise prompt/chosen/rejected text itself, but then a prompt would be split one way in
training and another at generation time, and bad rows would be TRL's warnings instead of `bad_row`
events. So the rows are encoded here with templating.py (the same pieces as SFT and generation):

- DPO: {"prompt_ids", "chosen_ids", "rejected_ids"} from a pair (format "preference").
- KTO: {"prompt_ids", "completion_ids", "label"} from a single judged answer (format "kto"); a pair
  file also works and gives one desirable and one undesirable example per pair, as in the KTO paper.

A row is dropped (and reported) when the template cannot split it, when prompt plus its longest answer
is over dataset.max_length (TRL would truncate silently) and dataset.truncation does not allow a cut, or
when an answer renders to no tokens. With `answer` both answers of a pair lose their tails; with `left`
the prompt's oldest exchanges go (truncation.py), and each cut row is reported as `truncated_row`.
The result is cached like SFT data (token_cache.py), under a key that includes the method.
"""

import os

from . import token_cache, truncation
from .dataset import DatasetError, Split, check, report
from .formats import BadRow, FormatError, read_rows
from .templating import IGNORE, TemplateError, chat_template, encode_conversation, prompt_ids

PAIR_FORMATS = ("preference",)
SINGLE_FORMATS = ("kto",)


def load_preference_split(path: str, dataset_opts: dict, tokenizer, cache_root: str, emit, method: str,
                          split: str = "train", emit_many=None) -> Split:
    """Items for `method` ("dpo" or "kto"); emits bad_row events and a data_report; raises DatasetError."""
    name = os.path.basename(path)
    max_length, requested = dataset_opts["max_length"], dataset_opts.get("format", "auto")
    cutting = dataset_opts.get("truncation", "none")
    try:
        key = token_cache.cache_key(token_cache.file_sha256(path), tokenizer, chat_template(tokenizer),
                                    max_length, "completion", f"{requested}+{method}", cutting)
    except OSError as exc:
        raise DatasetError(f"{name}: cannot read ({exc.strerror})") from None
    hit = token_cache.load(cache_root, key) if cache_root else None
    if hit:
        flat, meta = hit
        bad = [BadRow(name, line, why, unit_of(path)) for line, why in meta["bad"]]
        cut = [BadRow(name, line, why, unit_of(path)) for line, why in meta["truncated"]]
        result = Split(unflatten(flat, meta["labels"], method), bad, meta["total"], meta["format"], meta["tokens"],
                       cached=True, truncated=cut)
    else:
        result = tokenise_preferences(path, requested, tokenizer, max_length, method, cutting)
        if cache_root:
            flat, labels = flatten(result.items, method)
            token_cache.store(cache_root, key, flat, {
                "format": result.format, "total": result.total, "tokens": result.tokens, "labels": labels,
                "bad": [(b.line, b.reason) for b in result.bad],
                "truncated": [(t.line, t.reason) for t in result.truncated]})
    report(result, name, split, emit, emit_many)
    check(result, name, dataset_opts.get("max_bad_rows", 0.0), method)
    return result


def tokenise_preferences(path: str, format: str, tokenizer, max_length: int, method: str,
                         truncation_mode: str = "none") -> Split:
    name, unit = os.path.basename(path), unit_of(path)
    try:
        rows = read_rows(path, format)
    except (FormatError, UnicodeDecodeError) as exc:
        raise DatasetError(str(exc) if isinstance(exc, FormatError) else f"{name}: not UTF-8 text") from None
    wanted = PAIR_FORMATS if method == "dpo" else PAIR_FORMATS + SINGLE_FORMATS
    if rows.format not in wanted:
        # check() words the mismatch; nothing here can be trained, so skip the encoding.
        return Split([], list(rows.bad), rows.total, rows.format)
    bad, cut, items = list(rows.bad), [], []
    for sample in rows.samples:
        try:
            encoded, note = encode_preference(tokenizer, sample, method, max_length, truncation_mode)
        except (TemplateError, truncation.TooLong) as exc:
            bad.append(BadRow(name, sample.line, str(exc), unit))
            continue
        items += encoded
        if note:
            cut.append(BadRow(name, sample.line, note, unit))
    bad.sort(key=lambda b: b.line)
    return Split(items, bad, rows.total, rows.format, sum(tokens(item) for item in items), truncated=cut)


def encode_preference(tokenizer, sample, method: str, max_length: int, truncation_mode: str = "none"):
    """(the items of one row, the truncation note or None); TemplateError or TooLong when it cannot be trained."""
    head = lambda messages: prompt_ids(tokenizer, messages, tools=sample.tools)  # noqa: E731
    sample, sequences, note = truncation.fit(sample, lambda s: answer_sequences(tokenizer, s), head, max_length,
                                             truncation_mode)
    prompt, *answers = split_prompt(sequences)
    if method == "dpo":
        return [{"prompt_ids": prompt, "chosen_ids": answers[0], "rejected_ids": answers[1]}], note
    if sample.completion is not None:
        return [{"prompt_ids": prompt, "completion_ids": answers[0], "label": bool(sample.desirable)}], note
    return [{"prompt_ids": prompt, "completion_ids": answers[0], "label": True},
            {"prompt_ids": prompt, "completion_ids": answers[1], "label": False}], note


def answer_sequences(tokenizer, sample) -> list[dict]:
    """{input_ids, labels} of prompt + each answer (chosen and rejected, or the completion), as truncation.fit
    takes them: the prompt is where the labels are IGNORE."""
    prompt = prompt_ids(tokenizer, sample.prompt, tools=sample.tools)
    if sample.completion is None:
        answers = {"chosen": sample.chosen, "rejected": sample.rejected}
    else:
        answers = {"completion": sample.completion}
    sequences = []
    for key, text in answers.items():
        ids = answer_ids(tokenizer, sample.prompt, prompt, text, key, sample.tools)
        sequences.append({"input_ids": prompt + ids, "labels": [IGNORE] * len(prompt) + ids})
    return sequences


def split_prompt(sequences: list[dict]) -> list[list[int]]:
    """[prompt ids, answer ids...]: every sequence shares the prompt, and a cut never reaches it."""
    start = next(n for n, label in enumerate(sequences[0]["labels"]) if label != IGNORE)
    return [sequences[0]["input_ids"][:start]] + [seq["input_ids"][start:] for seq in sequences]


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
