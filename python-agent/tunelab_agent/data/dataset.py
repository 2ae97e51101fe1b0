"""The agent's data API: a dataset file -> tokenised training items, with every bad row reported.

`load_split` is the one entry point for training: read the file in any supported format (formats.py),
render and mask each sample (templating.py), drop rows that are bad or longer than max_length (or cut
them, when dataset.truncation asks: truncation.py), emit a `bad_row` event per dropped row, a
`truncated_row` event per cut row and one `data_report`, and fail only when too large a share is bad.
The result is cached per (file hash, tokenizer, template, options) (token_cache.py).

Generation shares `prompt_ids` with training, so a prompt at inference time is tokenised exactly like
the same context was during training.
"""

import os
from dataclasses import dataclass, field

from . import token_cache, truncation
from .formats import BadRow, FormatError, Rows, read_rows
from .templating import (IGNORE, TemplateError, assemble, chat_template, encode_conversation, pieces, text_item,
                         tokenise_pieces, tokenise_texts)
from .templating import prompt_ids as _prompt_ids
from .templating import render_prompt as _render_prompt

FIRST_REASONS = 3  # how many bad-row reasons a DatasetError quotes


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the file."""


@dataclass
class Split:
    items: list[dict]
    bad: list[BadRow] = field(default_factory=list)
    total: int = 0
    format: str = ""
    tokens: int = 0
    cached: bool = False
    truncated: list[BadRow] = field(default_factory=list)  # rows kept after a cut; reason says how


def load_split(path: str, dataset_opts: dict, tokenizer, cache_root: str, emit, split: str = "train",
               emit_many=None) -> Split:
    """Tokenised items of one dataset file; emits bad_row events and a data_report; raises DatasetError."""
    name = os.path.basename(path)
    max_length, train_on = dataset_opts["max_length"], dataset_opts.get("train_on", "assistant")
    requested, cutting = dataset_opts.get("format", "auto"), dataset_opts.get("truncation", "none")
    try:
        # all of a tokenizer's named templates: tool rows may use its tool_use template
        templates = tokenizer.chat_template if isinstance(tokenizer.chat_template, dict) else chat_template(tokenizer)
        key = token_cache.cache_key(token_cache.file_sha256(path), tokenizer, templates,
                                    max_length, train_on, requested, cutting)
    except OSError as exc:
        raise DatasetError(f"{name}: cannot read ({exc.strerror})") from None
    hit = token_cache.load(cache_root, key) if cache_root else None
    if hit:
        items, meta = hit
        unit = "row" if path.lower().endswith(".parquet") else "line"
        result = Split(items, [BadRow(name, line, reason, unit) for line, reason in meta["bad"]], meta["total"],
                       meta["format"], meta["tokens"], cached=True,
                       truncated=[BadRow(name, line, reason, unit) for line, reason in meta.get("truncated", [])])
    else:
        result = tokenise_file(path, requested, tokenizer, max_length, train_on, cutting)
        if cache_root:
            token_cache.store(cache_root, key, result.items, {
                "format": result.format, "total": result.total, "tokens": result.tokens,
                "bad": [(b.line, b.reason) for b in result.bad],
                "truncated": [(t.line, t.reason) for t in result.truncated]})
    report(result, name, split, emit, emit_many)
    check(result, name, dataset_opts.get("max_bad_rows", 0.0))
    return result


def tokenise_file(path: str, format: str, tokenizer, max_length: int, train_on: str,
                  truncation_mode: str = "none") -> Split:
    name = os.path.basename(path)
    unit = "row" if path.lower().endswith(".parquet") else "line"
    try:
        rows: Rows = read_rows(path, format)
    except (FormatError, UnicodeDecodeError) as exc:
        raise DatasetError(str(exc) if isinstance(exc, FormatError) else f"{name}: not UTF-8 text") from None
    bad, cut = list(rows.bad), []
    kept: list[tuple[int, dict]] = []
    encode = lambda s: encode_sample(tokenizer, s, train_on)  # noqa: E731
    for sample in rows.samples:
        head = lambda messages, s=sample: _prompt_ids(tokenizer, messages, tools=s.tools)  # noqa: E731
        try:
            _, encoded, note = truncation.fit(sample, encode, head, max_length, truncation_mode)
        except (TemplateError, truncation.TooLong) as exc:
            bad.append(BadRow(name, sample.line, str(exc), unit))
            continue
        if not any(label != IGNORE for e in encoded for label in e["labels"]):
            bad.append(BadRow(name, sample.line, "no token carries loss", unit))
            continue
        if note:
            cut.append(BadRow(name, sample.line, note, unit))
        # preference and KTO rows are only validated here; data/preference_split.py trains them
        if sample.messages is not None or sample.text is not None:
            kept.append((sample.line, encoded[0]))
        else:
            kept.append((sample.line, {"input_ids": [], "labels": []}))
    bad.sort(key=lambda b: b.line)
    items = [item for _, item in kept]
    return Split(items, bad, rows.total, rows.format, sum(len(i["input_ids"]) for i in items), truncated=cut)


def encode_sample(tokenizer, sample, train_on: str) -> list[dict]:
    """The sample's items (two for a preference pair); raises TemplateError."""
    batch = EncodeBatch(tokenizer, train_on)
    batch.add(sample)
    batch.tokenise()
    encoded = batch.results()[0]
    if isinstance(encoded, TemplateError):
        raise encoded
    return encoded


class EncodeBatch:
    """encode_sample for many samples at once: the same pieces, tokenised in one call for all of them.

    A tokenizer encodes each text of a batch on its own, so the ids are the ones a call per sample gives;
    the call's own overhead is paid once. `add` renders (the chat template), `tokenise` makes the only
    tokenizer calls (so another thread may run it while the next batch is rendered), `results` puts each
    sample's items together.
    """

    def __init__(self, tokenizer, train_on: str):
        self.tokenizer, self.train_on = tokenizer, train_on
        self.plans: list = []  # per sample: its TemplateError, or where its items' ids will be
        self.pieces: list[str] = []  # conversation pieces, tokenised without special tokens
        self.texts: list[str] = []  # plain-text samples, tokenised with them
        self.piece_ids: list[list[int]] = []
        self.text_ids: list[list[int]] = []

    def __len__(self) -> int:
        """Texts to tokenise so far."""
        return len(self.pieces) + len(self.texts)

    def add(self, sample) -> None:
        try:
            self.plans.append(self._plan(sample))
        except TemplateError as exc:
            self.plans.append(exc)

    def _plan(self, sample) -> list[tuple]:
        """[(pieces, train_on, first piece's index)] per conversation, or [(None, None, text's index)]."""
        if sample.text is not None:
            self.texts.append(sample.text)
            return [(None, None, len(self.texts) - 1)]
        plan = []
        for messages, train_on in conversations(sample, self.train_on):
            parts = pieces(self.tokenizer, messages, tools=sample.tools)
            plan.append((parts, train_on, len(self.pieces)))
            self.pieces += [text for text, _ in parts]
        return plan

    def tokenise(self) -> None:
        self.piece_ids = tokenise_pieces(self.tokenizer, self.pieces)
        self.text_ids = tokenise_texts(self.tokenizer, self.texts)

    def results(self) -> list:
        """Per sample, in the order added: its items, or the TemplateError that refused it."""
        return [plan if isinstance(plan, TemplateError) else [self._item(*step) for step in plan]
                for plan in self.plans]

    def _item(self, parts, train_on: str | None, at: int) -> dict:
        if parts is None:
            return text_item(self.tokenizer, self.text_ids[at])
        return assemble(parts, self.piece_ids[at:at + len(parts)], train_on)


def conversations(sample, train_on: str) -> list[tuple[list[dict], str]]:
    """The conversations a chat or preference sample is encoded as, each with its train_on: a pair's
    answers always train on the answer alone."""
    if sample.messages is not None:
        return [(sample.messages, train_on)]
    answers = (sample.chosen, sample.rejected) if sample.completion is None else (sample.completion,)
    return [(sample.prompt + [{"role": "assistant", "content": answer}], "assistant") for answer in answers]


def report(result: Split, name: str, split: str, emit, emit_many=None) -> None:
    events = [("bad_row", {"split": split, "file": b.file, "line": b.line, "reason": b.reason}) for b in result.bad]
    events += [("truncated_row", {"split": split, "file": t.file, "line": t.line, "reason": t.reason})
               for t in result.truncated]
    events.append(("data_report", {"split": split, "file": name, "format": result.format, "rows": result.total,
                                   "kept": len(result.items), "bad": len(result.bad), "cached": result.cached,
                                   "tokens": result.tokens, "truncated": len(result.truncated)}))
    if emit_many is not None:
        emit_many(events)
    else:
        for kind, data in events:
            emit(kind, data)


def check(result: Split, name: str, max_bad_share: float, method: str = "sft") -> None:
    if result.total == 0:
        raise DatasetError(f"{name}: no rows")
    mismatch = method_mismatch(result.format, method)
    if mismatch:
        raise DatasetError(f"{name}: {mismatch}")
    share = len(result.bad) / result.total
    if share > max_bad_share:
        first = "; ".join(f"line {b.line}: {b.reason}" for b in result.bad[:FIRST_REASONS])
        raise DatasetError(f"{name}: {len(result.bad)} of {result.total} rows are bad ({share:.1%}), over the "
                           f"dataset.max_bad_rows limit of {max_bad_share:.1%}; first: {first}")
    if not result.items:
        raise DatasetError(f"{name}: no usable rows")


# Which row formats each training.method can learn from (KTO unpairs preference pairs).
METHOD_FORMATS = {"dpo": ("preference",), "kto": ("kto", "preference")}
FORMAT_WORDS = {"preference": "preference pairs (prompt, chosen, rejected)",
                "kto": "answers labelled desirable or undesirable (format kto)"}


def method_mismatch(format: str, method: str) -> str | None:
    """Why rows of `format` cannot be trained by training.method `method`; None when they can."""
    wanted = METHOD_FORMATS.get(method)
    if wanted is None:
        if format in FORMAT_WORDS:
            fits = "dpo or kto" if format == "preference" else "kto"
            return (f"the rows are {FORMAT_WORDS[format]}, which training.method sft cannot learn from; "
                    f"set training.method to {fits}")
        return None
    if format in wanted:
        return None
    return (f"training.method {method} needs {' or '.join(FORMAT_WORDS[f] for f in wanted)}, "
            f"but the rows are {format or 'of no known format'}"
            + ("; set training.method to kto for those" if format == "kto" else ""))


# --- generation side -----------------------------------------------------------------------------------

def user_messages(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _conversation(messages) -> list[dict]:
    return user_messages(messages) if isinstance(messages, str) else messages


def render_prompt(tokenizer, messages, tools: list[dict] | None = None) -> str:
    """The rendered generation prompt of a conversation ([{role, content}], optional system first)."""
    return _render_prompt(tokenizer, _conversation(messages), tools=tools)


def prompt_ids(tokenizer, messages, tools: list[dict] | None = None) -> list[int]:
    """Token ids of the generation prompt, split exactly as training splits the same context.

    A plain string is taken as one user message (the old signature).
    """
    return _prompt_ids(tokenizer, _conversation(messages), tools=tools)


# --- the first slice's API, kept for its callers (bench/train_overhead.py, tests/test_data.py) -------------

def read_alpaca(path: str) -> list[dict]:
    """Rows {instruction, input, output}; the first bad row raises DatasetError naming the file and line."""
    rows = read_rows(path, "alpaca")
    if rows.bad:
        raise DatasetError(rows.bad[0].describe())
    if not rows.samples:
        raise DatasetError(f"{os.path.basename(path)}: no rows")
    return [_alpaca_row(s.messages) for s in rows.samples]


def _alpaca_row(messages: list[dict]) -> dict:
    instruction, _, extra = messages[-2]["content"].partition("\n\n")
    return {"instruction": instruction, "input": extra, "output": messages[-1]["content"]}


def user_message(row: dict) -> str:
    return row["instruction"] + "\n\n" + row["input"] if row.get("input") else row["instruction"]


def encode_row(tokenizer, row: dict, max_length: int) -> dict | None:
    """An Alpaca row truncated to max_length; None when truncation leaves no answer token."""
    item = encode_conversation(tokenizer, [{"role": "user", "content": user_message(row)},
                                           {"role": "assistant", "content": row["output"]}])
    ids, labels = item["input_ids"][:max_length], item["labels"][:max_length]
    return {"input_ids": ids, "labels": labels} if any(label != IGNORE for label in labels) else None
