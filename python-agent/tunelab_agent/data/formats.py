"""Dataset files -> normalised samples, each remembering the file line it came from.

People bring data in many shapes: JSONL, one big JSON array, a CSV exported from a spreadsheet, or
the Parquet files dataset hubs publish; rows in Alpaca, ShareGPT, OpenAI-chat (tool calls included),
plain-text, preference or KTO form. This module reads all of them into one small `Sample` shape
(samples.py) so the rest of the agent deals with one thing. A broken row never stops the read: it
becomes a `BadRow` with its 1-based line number (row number for Parquet) and a reason that names the
key, so the person can find and fix it in their editor. Only a file that cannot be read at all
(missing, a JSON array with a syntax error, rows with images/video/audio) raises `FormatError`.
"""

import csv
import json
import os

from .conversation import (MEDIA_WHY, check_conversation, check_prompt, parse_messages, parse_tools,  # noqa: F401
                           sharegpt_messages)
from .pairs import kto, preference
from .parquet_rows import parquet_records
from .samples import BadRow, FormatError, MediaRefused, RowError, Rows, Sample  # noqa: F401  (this module's API)

FORMATS = ("alpaca", "sharegpt", "openai", "text", "preference", "kto")
# Keys under which multimodal datasets (LLaVA, LLaMA-Factory, TRL) keep their media.
MEDIA_KEYS = ("images", "videos", "audios", "image", "video", "audio")
# CSV cells parsed as JSON when they start with "[" (a `tools` cell is a JSON string that parse_tools reads).
LIST_COLUMNS = ("messages", "conversations", "prompt", "chosen", "rejected")


def read_rows(path: str, format: str = "auto") -> Rows:
    """Every row of `path` as a Sample or a BadRow, in file order."""
    reader = RowReader(path, format)
    rows = Rows("")
    for row in reader:
        (rows.bad if isinstance(row, BadRow) else rows.samples).append(row)
    rows.format = reader.format
    return rows


class RowReader:
    """Iterate for each row's Sample or BadRow, in file order, holding one row at a time.

    `format` is known once the first good row is read (and final after the iteration); `unit` is what a
    row number counts: "line", or "row" for Parquet. Opening checks what can fail before any row is
    read (missing file, unknown format); a FormatError during iteration fails the whole file.
    """

    def __init__(self, path: str, format: str = "auto"):
        self.path, self.name = path, os.path.basename(path)
        if not os.path.isfile(path):
            raise FormatError(f"{self.name}: file not found")
        if format not in ("auto",) + FORMATS:
            raise FormatError(f"{self.name}: unknown format {format!r}; expected auto or one of {', '.join(FORMATS)}")
        self.requested = format
        self.format = format if format != "auto" else ""
        self.ext = os.path.splitext(path)[1].lower()
        self.unit = "row" if self.ext == ".parquet" else "line"
        self.line = 0  # the row last read, for progress
        if self.ext == ".txt" and format not in ("auto", "text"):
            raise FormatError(f"{self.name}: a .txt file holds plain text, one sample per line; "
                              f"format {format} needs JSONL, a JSON array, CSV or Parquet")

    def _records(self):
        if self.ext == ".parquet":
            return parquet_records(self.path, self.name)
        if self.ext in (".csv", ".tsv"):
            return _csv_records(self.path, self.name, "\t" if self.ext == ".tsv" else ",")
        return _json_records(self.path, self.name)

    def __iter__(self):
        if self.ext == ".txt":
            self.format = "text"
            for sample in _text_lines(self.path, self.name):
                self.line = sample.line
                yield sample
            return
        for line, record in self._records():
            self.line = line
            if isinstance(record, BadRow):
                yield record
                continue
            _refuse_media(record, self.name, self.unit, line)
            if not self.format:
                self.format = detect_format(record) or ""
                if not self.format:
                    yield BadRow(self.name, line, "cannot tell the format from the keys "
                                 f"{_keys(record)}; expected instruction/output, conversations, "
                                 "messages, text or prompt/chosen/rejected", self.unit)
                    continue
            try:
                yield NORMALISERS[self.format](record, line)
            except MediaRefused as exc:
                raise FormatError(f"{self.name} {self.unit} {line}: {exc}") from None
            except RowError as exc:
                yield BadRow(self.name, line, str(exc), self.unit)
        self.format = self.format or (self.requested if self.requested != "auto" else "unknown")


def _refuse_media(record, name: str, unit: str, line: int) -> None:
    """Fails the file at the first row that carries media: training on the text alone would teach the
    model to answer about `<image>` placeholders it never saw."""
    if not isinstance(record, dict):
        return
    for key in MEDIA_KEYS:
        value = record.get(key)
        if isinstance(value, str):  # a CSV cell
            value = value.strip()
        if value not in (None, "", [], {}, "[]", "{}", "null"):
            raise FormatError(f'{name} {unit} {line}: "{key}" holds media; {MEDIA_WHY} '
                              f'(remove the "{key}" key, or use a text-only dataset)')


def detect_format(record) -> str | None:
    if not isinstance(record, dict):
        return None
    if "chosen" in record and "rejected" in record:
        return "preference"
    if isinstance(record.get("label"), bool) and any(k in record for k in ("messages", "conversations", "completion")):
        return "kto"  # a string label stays a class label for evaluation
    if "messages" in record:
        return "openai"
    if "conversations" in record:
        return "sharegpt"
    if "instruction" in record:
        return "alpaca"
    if "text" in record:
        return "text"
    return None


# --- readers: yield (line, record) where record is a parsed row or a BadRow ---------------------------

def _text_lines(path: str, name: str):
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for number, line in enumerate(f, start=1):
                text = line.rstrip("\r\n")
                if text.strip():
                    yield Sample(number, text=text)
        except UnicodeDecodeError as exc:
            raise FormatError(f"{name}: not UTF-8 text ({exc.reason})") from None


def _json_records(path: str, name: str):
    with open(path, encoding="utf-8") as f:
        head = f.read(4096).lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        yield from _json_array(path, name)
        return
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, BadRow(name, number, f"not valid JSON ({exc.msg} at column {exc.colno})")


def _json_array(path: str, name: str):
    """Elements of a top-level JSON array, each with the line where it starts.

    A syntax error inside an array leaves no reliable place to resume, so it fails the file.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read().lstrip("\ufeff")
    decoder = json.JSONDecoder()
    pos, line, counted = text.index("[") + 1, 1, 0

    def line_at(p: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, p)  # counted incrementally: the file is scanned once
        counted = p
        return line

    def skip(p: int) -> int:
        while p < len(text) and text[p] in " \t\r\n":
            p += 1
        return p

    pos = skip(pos)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        try:
            record, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        yield line_at(pos), record
        pos = skip(end)
        if pos < len(text) and text[pos] == ",":
            pos = skip(pos + 1)
        elif pos < len(text) and text[pos] == "]":
            return
        else:
            raise FormatError(f"{name} line {line_at(pos)}: expected ',' or ']' after an array element")


def _csv_records(path: str, name: str, delimiter: str):
    """Records as dicts keyed by the header; JSON-looking cells of list columns are parsed."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header, end = None, 0
        for cells in reader:
            start, end = end + 1, reader.line_num  # a quoted cell may span lines: report where it starts
            if not cells or not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip().lstrip("\ufeff") for c in cells]
                continue
            if len(cells) != len(header):
                yield start, BadRow(name, start, f"{len(cells)} cells but the header has {len(header)} columns")
                continue
            record = dict(zip(header, cells))
            for key in LIST_COLUMNS:
                value = record.get(key, "")
                if value.lstrip().startswith("["):
                    try:
                        record[key] = json.loads(value)
                    except json.JSONDecodeError as exc:
                        yield start, BadRow(name, start, f"column {key!r} is not valid JSON ({exc.msg})")
                        break
            else:
                yield start, record


# --- normalisers: a parsed record -> Sample, or RowError naming the key ---------------------------

def _keys(record) -> str:
    return "[" + ", ".join(sorted(record)) + "]" if isinstance(record, dict) else type(record).__name__


def _object(record, expected: str) -> dict:
    if not isinstance(record, dict):
        raise RowError(f"expected an object with {expected}, got {type(record).__name__}")
    return record


def _string(record: dict, key: str, required: bool = True, non_empty: bool = False) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise RowError(f'"{key}" must be a string' + ("" if key in record else " (it is missing)"))
    if non_empty and not value.strip():
        raise RowError(f'"{key}" is empty')
    return value


def _label(record: dict) -> str | None:
    value = record.get("label")
    return None if value is None else str(value)


def alpaca(record, line: int) -> Sample:
    row = _object(record, "instruction/input/output")
    instruction = _string(row, "instruction", non_empty=True)
    extra = _string(row, "input", required=False)
    output = _string(row, "output", non_empty=True)
    system = _string(row, "system", required=False)
    messages = ([{"role": "system", "content": system}] if system.strip() else []) + [
        {"role": "user", "content": instruction + "\n\n" + extra if extra.strip() else instruction},
        {"role": "assistant", "content": output}]
    return Sample(line, messages=messages, label=_label(row))


def sharegpt(record, line: int) -> Sample:
    row = _object(record, "conversations")
    messages = sharegpt_messages(row.get("conversations"), "conversations")
    check_conversation(messages, "conversations")  # before the insert below, so indices match the row's
    system = row.get("system")  # LLaMA-Factory keeps the system prompt in its own column
    if isinstance(system, str) and system.strip() and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": system})
    return Sample(line, messages=messages, label=_label(row), tools=parse_tools(row.get("tools")))


def openai(record, line: int) -> Sample:
    row = _object(record, "messages")
    messages = parse_messages(row.get("messages"), "messages")
    check_conversation(messages, "messages")
    return Sample(line, messages=messages, label=_label(row), tools=parse_tools(row.get("tools")))


def text(record, line: int) -> Sample:
    row = _object(record, "text")
    return Sample(line, text=_string(row, "text", non_empty=True), label=_label(row))


NORMALISERS = {"alpaca": alpaca, "sharegpt": sharegpt, "openai": openai, "text": text, "preference": preference,
               "kto": kto}
