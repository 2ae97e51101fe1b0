"""render_sample: one row as the model sees it in training, token by token.

The ids and the trained flags are data.encode_sample's, the function the trainer's items come from, so
what a person sees here is what the collator gets (tests/test_render_sample.py checks that for every
format). The text and the character offsets come from the same pieces of the chat template that
encode_conversation tokenises one by one; they are checked to give back the same ids.
"""

import os
import threading

from .dataset import encode_sample
from .formats import NORMALISERS, BadRow, FormatError, RowError, RowReader, detect_format
from .templating import IGNORE, pieces
from ..libraries import from_transformers

_tokenizers: dict[tuple, object] = {}
_tokenizers_lock = threading.Lock()


def load_tokenizer(model: str, local_only: bool = False):
    """The model's tokenizer, as recipe.py loads it; kept while its folder is unchanged (editors ask often).

    Nothing here sets truncation or padding on it, so threads can share one. local_only: a Hub id is only
    looked up in the local cache (a check must not wait on the network).
    """
    (AutoTokenizer,) = from_transformers("AutoTokenizer")

    key = (model, os.stat(model).st_mtime_ns if os.path.isdir(model) else None)
    with _tokenizers_lock:
        if key not in _tokenizers:
            tokenizer = AutoTokenizer.from_pretrained(model, local_files_only=local_only)
            if tokenizer.pad_token_id is None:
                tokenizer.pad_token = tokenizer.eos_token
            _tokenizers.clear()  # one model at a time: an editor looks at one run config's model
            _tokenizers[key] = tokenizer
        return _tokenizers[key]


class RenderError(ValueError):
    """The row cannot be rendered (bad row, refused by the template); the message says why."""


class NoSuchRow(RenderError):
    """No row starts at the line asked for."""


def find_row(path: str, line: int, format: str = "auto"):
    """The Sample at `line` of `path`, read by the trainer's reader; RenderError for a bad or missing row."""
    try:
        rows = RowReader(path, format)
        for row in rows:
            if row.line < line:
                continue
            if row.line > line:
                break
            if isinstance(row, BadRow):
                raise RenderError(row.describe())
            return row, rows.format
    except FormatError as exc:
        raise RenderError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise RenderError(f"{os.path.basename(path)}: not UTF-8 text ({exc.reason})") from None
    raise NoSuchRow(f"{os.path.basename(path)}: no row starts at line {line}")


def sample_of(record, format: str = "auto"):
    """A row given inline (a parsed JSON object) -> (Sample, format), as the readers would make it."""
    chosen = format if format != "auto" else detect_format(record)
    if chosen is None:
        raise RenderError("row: cannot tell the format from its keys; give format, or a row with "
                          "instruction/output, conversations, messages, text or prompt/chosen/rejected")
    try:
        return NORMALISERS[chosen](record, 0), chosen
    except RowError as exc:
        raise RenderError(f"row: {exc}") from None


def render_sample(tokenizer, sample, format: str, line: int | None, train_on: str = "assistant",
                  max_length: int | None = None) -> dict:
    """The render_sample result (see the protocol's results/render_sample)."""
    sequences = render(tokenizer, sample, train_on)
    return {"format": format, "line": line, "sequences": sequences, "max_length": max_length,
            "over_length": max_length is not None and max(s["length"] for s in sequences) > max_length}


def render(tokenizer, sample, train_on: str = "assistant") -> list[dict]:
    """[{name, text, tokens: [{id, text, start, end, trained}], length, trained_tokens}], one per sequence
    the trainer builds from the sample (two for a preference pair: chosen, then rejected)."""
    from .templating import TemplateError

    try:
        encoded = encode_sample(tokenizer, sample, train_on)
    except TemplateError as exc:
        raise RenderError(str(exc)) from None
    names = ["sample"] if len(encoded) == 1 else ["chosen", "rejected"][:len(encoded)]
    out = []
    for name, item, conversation in zip(names, encoded, conversations(sample)):
        try:
            text, ids, offsets = text_and_offsets(tokenizer, sample, conversation)
        except NotImplementedError:  # slow tokenizers have no offset mapping
            ids = None
        if ids != item["input_ids"]:
            text, offsets = tokenizer.decode(item["input_ids"]), decoded_offsets(tokenizer, item["input_ids"])
        tokens = []
        for token_id, label, (start, end) in zip(item["input_ids"], item["labels"], offsets):
            piece = text[start:end] if end > start else tokenizer.convert_ids_to_tokens(token_id)
            tokens.append({"id": token_id, "text": piece, "start": start, "end": end, "trained": label != IGNORE})
        out.append({"name": name, "text": text, "tokens": tokens, "length": len(tokens),
                    "trained_tokens": sum(t["trained"] for t in tokens)})
    return out


def conversations(sample) -> list:
    """The conversation behind each encoded sequence, in encode_sample's order (None for plain text)."""
    if sample.messages is not None:
        return [sample.messages]
    if sample.text is not None:
        return [None]
    answers = [a for a in (sample.chosen, sample.rejected) if a is not None] or [getattr(sample, "completion", None)]
    return [sample.prompt + [{"role": "assistant", "content": a}] for a in answers]


def text_and_offsets(tokenizer, sample, conversation) -> tuple[str, list[int], list[tuple[int, int]]]:
    """The rendered text, its ids and each token's (start, end) in it, split as the trainer splits it.

    render() uses them only when the ids equal encode_sample's, so a drift shows as decoded offsets,
    never as offsets of other tokens.
    """
    if conversation is None:
        text = sample.text
        encoding = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
        ids, offsets = list(encoding["input_ids"]), [tuple(o) for o in encoding["offset_mapping"]]
        eos = tokenizer.eos_token_id
        if eos is not None and (not ids or ids[-1] != eos):
            ids.append(eos)
            offsets.append((len(text), len(text)))  # encode_text appends EOS; it has no characters
        return text, ids, offsets
    text, ids, offsets = "", [], []
    for piece, _ in pieces(tokenizer, conversation, tools=sample.tools):
        encoding = tokenizer(piece, add_special_tokens=False, return_offsets_mapping=True)
        ids += encoding["input_ids"]
        offsets += [(len(text) + start, len(text) + end) for start, end in encoding["offset_mapping"]]
        text += piece
    return text, ids, offsets


def decoded_offsets(tokenizer, ids: list[int]) -> list[tuple[int, int]]:
    """Offsets from decoding growing prefixes: for tokenizers without an offset mapping."""
    out, before = [], 0
    for i in range(len(ids)):
        after = len(tokenizer.decode(ids[: i + 1]))
        out.append((before, after))
        before = after
    return out
