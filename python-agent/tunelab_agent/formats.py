"""Dataset files -> normalised samples, each remembering the file line it came from.

People bring data in many shapes: JSONL, one big JSON array, or a CSV exported from a spreadsheet;
rows in Alpaca, ShareGPT, OpenAI-chat, plain-text or preference form. This module reads all of them
into one small `Sample` shape (a conversation, a text, or a preference pair) so the rest of the agent
deals with one thing. A broken row never stops the read: it becomes a `BadRow` with its 1-based line
number and a reason that names the key, so the person can find and fix it in their editor. Only a
file that cannot be read at all (missing, a JSON array with a syntax error) raises `FormatError`.
"""

import csv
import json
import os
from dataclasses import dataclass, field

FORMATS = ("alpaca", "sharegpt", "openai", "text", "preference")
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system"}


class FormatError(ValueError):
    """The file as a whole cannot be read; the message names the file (and line when known)."""


@dataclass
class BadRow:
    file: str
    line: int
    reason: str

    def describe(self) -> str:
        return f"{self.file} line {self.line}: {self.reason}"


@dataclass
class Sample:
    """One training example. Exactly one of messages / text / (prompt, chosen, rejected) is set."""
    line: int
    messages: list[dict] | None = None
    text: str | None = None
    prompt: list[dict] | None = None
    chosen: str | None = None
    rejected: str | None = None
    label: str | None = None  # a row's `label` field, for label-style evaluation


@dataclass
class Rows:
    format: str
    samples: list[Sample] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.samples) + len(self.bad)


class RowError(ValueError):
    """Raised inside the row normalisers; turned into a BadRow by the reader."""


def read_rows(path: str, format: str = "auto") -> Rows:
    """Every row of `path` as a Sample or a BadRow, in file order."""
    name = os.path.basename(path)
    if not os.path.isfile(path):
        raise FormatError(f"{name}: file not found")
    if format not in ("auto",) + FORMATS:
        raise FormatError(f"{name}: unknown format {format!r}; expected auto or one of {', '.join(FORMATS)}")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".txt":
        if format not in ("auto", "text"):
            raise FormatError(f"{name}: a .txt file holds plain text, one sample per line; "
                              f"format {format} needs JSONL, a JSON array or CSV")
        return _read_text_lines(path, name)
    records = _csv_records(path, name, "\t" if ext == ".tsv" else ",") if ext in (".csv", ".tsv") \
        else _json_records(path, name)
    rows = Rows(format if format != "auto" else "")
    for line, record in records:
        if isinstance(record, BadRow):
            rows.bad.append(record)
            continue
        if not rows.format:
            rows.format = detect_format(record) or ""
            if not rows.format:
                rows.bad.append(BadRow(name, line, "cannot tell the format from the keys "
                                       f"{_keys(record)}; expected instruction/output, conversations, "
                                       "messages, text or prompt/chosen/rejected"))
                continue
        try:
            rows.samples.append(NORMALISERS[rows.format](record, line))
        except RowError as exc:
            rows.bad.append(BadRow(name, line, str(exc)))
    rows.format = rows.format or (format if format != "auto" else "unknown")
    return rows


def detect_format(record) -> str | None:
    if not isinstance(record, dict):
        return None
    if "messages" in record:
        return "openai"
    if "conversations" in record:
        return "sharegpt"
    if "chosen" in record and "rejected" in record:
        return "preference"
    if "instruction" in record:
        return "alpaca"
    if "text" in record:
        return "text"
    return None


# --- readers: yield (line, record) where record is a parsed row or a BadRow ---------------------------

def _read_text_lines(path: str, name: str) -> Rows:
    rows = Rows("text")
    with open(path, encoding="utf-8", errors="strict") as f:
        try:
            for number, line in enumerate(f, start=1):
                text = line.rstrip("\r\n")
                if text.strip():
                    rows.samples.append(Sample(number, text=text))
        except UnicodeDecodeError as exc:
            raise FormatError(f"{name}: not UTF-8 text ({exc.reason})") from None
    return rows


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
            for key in ("messages", "conversations", "prompt", "chosen", "rejected"):
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
    turns = row.get("conversations")
    if not isinstance(turns, list):
        raise RowError('"conversations" must be a list of {from, value}')
    messages = []
    for i, turn in enumerate(turns):
        where = f"conversations[{i}]"
        if not isinstance(turn, dict):
            raise RowError(f"{where} must be an object with from/value")
        role = SHAREGPT_ROLES.get(turn.get("from"))
        if role is None:
            raise RowError(f"{where}.from is {turn.get('from')!r}; expected human, gpt or system")
        if not isinstance(turn.get("value"), str):
            raise RowError(f"{where}.value must be a string")
        messages.append({"role": role, "content": turn["value"]})
    check_conversation(messages, "conversations")
    return Sample(line, messages=messages, label=_label(row))


def openai(record, line: int) -> Sample:
    row = _object(record, "messages")
    messages = parse_messages(row.get("messages"), "messages")
    check_conversation(messages, "messages")
    return Sample(line, messages=messages, label=_label(row))


def text(record, line: int) -> Sample:
    row = _object(record, "text")
    return Sample(line, text=_string(row, "text", non_empty=True), label=_label(row))


def preference(record, line: int) -> Sample:
    row = _object(record, "prompt/chosen/rejected")
    prompt = row.get("prompt")
    if isinstance(prompt, str):
        if not prompt.strip():
            raise RowError('"prompt" is empty')
        messages = [{"role": "user", "content": prompt}]
    else:
        messages = parse_messages(prompt, "prompt")
        if not messages or messages[-1]["role"] != "user":
            raise RowError('"prompt" must end with a user turn')
        check_conversation(messages + [{"role": "assistant", "content": "-"}], "prompt")
    chosen, rejected = (_answer(row, key) for key in ("chosen", "rejected"))
    return Sample(line, prompt=messages, chosen=chosen, rejected=rejected, label=_label(row))


def _answer(row: dict, key: str) -> str:
    """chosen/rejected as a string, or as a one-message assistant list (the TRL convention)."""
    value = row.get(key)
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) \
            and value[0].get("role") == "assistant":
        value = value[0].get("content")
    if not isinstance(value, str):
        raise RowError(f'"{key}" must be a string' + ("" if key in row else " (it is missing)"))
    if not value.strip():
        raise RowError(f'"{key}" is empty')
    return value


NORMALISERS = {"alpaca": alpaca, "sharegpt": sharegpt, "openai": openai, "text": text, "preference": preference}


def parse_messages(value, key: str) -> list[dict]:
    """OpenAI-style [{role, content}] with string content (or a list of text parts)."""
    if not isinstance(value, list):
        raise RowError(f'"{key}" must be a list of {{role, content}}')
    messages = []
    for i, message in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(message, dict):
            raise RowError(f"{where} must be an object with role/content")
        role = message.get("role")
        if role not in ("system", "user", "assistant"):
            raise RowError(f"{where}.role is {role!r}; expected system, user or assistant")
        content = message.get("content")
        if isinstance(content, list):  # [{"type": "text", "text": ...}] parts
            if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                       for p in content):
                raise RowError(f"{where}.content has non-text parts; only text is supported")
            content = "".join(p["text"] for p in content)
        if not isinstance(content, str):
            raise RowError(f"{where}.content must be a string")
        messages.append({"role": role, "content": content})
    return messages


def check_conversation(messages: list[dict], key: str) -> None:
    """Optional system first, then user/assistant alternating, ending on a non-empty assistant turn."""
    if not messages:
        raise RowError(f'"{key}" is empty')
    start = 1 if messages[0]["role"] == "system" else 0
    if start == len(messages):
        raise RowError(f'"{key}" has only a system message')
    for i in range(start, len(messages)):
        expected = "user" if (i - start) % 2 == 0 else "assistant"
        role = messages[i]["role"]
        if role != expected:
            raise RowError(f"role order broken at {key}[{i}]: expected {expected}, got {role}")
        if role == "assistant" and not messages[i]["content"].strip():
            raise RowError(f"empty assistant turn at {key}[{i}]")
    if messages[-1]["role"] != "assistant":
        raise RowError(f"{key} ends with a user turn; the last turn must be the assistant's answer")
