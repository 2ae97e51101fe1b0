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
from itertools import chain, repeat
from operator import itemgetter

try:  # optional: parses a chat row in about half the time; only trusted for rows of strings (plain_chats)
    from orjson import loads as _quick_loads
except ImportError:  # pragma: no cover - the standard parser then; the shortcut still skips the normaliser
    _quick_loads = json.loads

from .conversation import (MEDIA_WHY, check_conversation, check_prompt, parse_messages,  # noqa: F401
                           parse_tools, sharegpt_messages)
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
            yield self._row(line, record)
        self._settle_format()

    def rows(self, plain_chats: bool = False):
        """An iterator like iterating the reader; with `plain_chats`, runs of JSONL rows that openai() would
        keep exactly as they are come as PlainChats (their roles and contents) instead of Samples.

        For a reader that needs only what the turns say (inspection without a tokenizer): those rows are
        parsed by the quicker parser and checked a chunk at a time, and no Sample is built. Every other
        row, bad ones included, comes exactly as from iterating, in file order.
        """
        if plain_chats and self.ext not in (".parquet", ".csv", ".tsv", ".txt") and not _is_json_array(self.path):
            return self._jsonl_chunks()
        return iter(self)

    def _jsonl_chunks(self):
        with open(self.path, encoding="utf-8") as f:
            number = 1
            while lines := f.readlines(CHUNK_BYTES):
                chats = self._plain(lines)
                if chats is not None:
                    self.line = number + len(lines) - 1
                    yield PlainChats(number, *chats)
                else:
                    yield from self._line_by_line(number, lines)
                number += len(lines)
        self._settle_format()

    def _line_by_line(self, number: int, lines: list[str]):
        """A chunk with some row that is not a plain chat (or read before the format was known): the
        plain ones still come as PlainChats, one per run of consecutive lines."""
        run = PlainChats(number, [], [])
        for n, line in enumerate(lines, start=number):
            chats = self._plain([line])
            if chats is not None:
                run.add(*chats)
                continue
            if run.roles:
                self.line = n - 1
                yield run
            run = PlainChats(n + 1, [], [])
            if line.strip():
                self.line = n
                yield self._row(n, _json_line(self.name, n, line))
        if run.roles:
            self.line = run.first + len(run) - 1
            yield run

    def _plain(self, lines: list[str]):
        if self.format != "openai":  # known from an earlier row, or requested
            return None
        try:
            return plain_chats(list(map(_quick_loads, lines)))
        except ValueError:  # not JSON: the standard parser says why, as it always did
            return None

    def _row(self, line: int, record):
        """The Sample or BadRow of one parsed record (or the BadRow the parser made)."""
        if isinstance(record, BadRow):
            return record
        _refuse_media(record, self.name, self.unit, line)
        if not self.format:
            self.format = detect_format(record) or ""
            if not self.format:
                return BadRow(self.name, line, "cannot tell the format from the keys "
                              f"{_keys(record)}; expected instruction/output, conversations, "
                              "messages, text or prompt/chosen/rejected", self.unit)
        try:
            return NORMALISERS[self.format](record, line)
        except MediaRefused as exc:
            raise FormatError(f"{self.name} {self.unit} {line}: {exc}") from None
        except RowError as exc:
            return BadRow(self.name, line, str(exc), self.unit)

    def _settle_format(self) -> None:
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
    if _is_json_array(path):
        yield from _json_array(path, name)
        return
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield number, _json_line(name, number, line)


def _is_json_array(path: str) -> bool:
    with open(path, encoding="utf-8") as f:
        return f.read(4096).lstrip("\ufeff \t\r\n").startswith("[")


def _json_line(name: str, number: int, line: str):
    """The parsed line, or the BadRow that says why it is not JSON."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRow(name, number, f"not valid JSON ({exc.msg} at column {exc.colno})")


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


CHUNK_BYTES = 1 << 18  # lines read and checked at a time for plain chats
_MESSAGES, _ROLE, _CONTENT = itemgetter("messages"), itemgetter("role"), itemgetter("content")
# Keys of an OpenAI row that openai() or the reader act on besides "messages" (media fails the file).
_ACTED_ON = frozenset(("tools", "label") + MEDIA_KEYS)
_SHAPES: dict[tuple, tuple[int, ...] | None] = {}  # role order -> where its answers are; None: refused


class PlainChats:
    """Plain chats (see plain_chats) of consecutive lines, from `first` on: each one's roles and contents."""

    __slots__ = ("first", "roles", "contents")

    def __init__(self, first: int, roles: list[tuple], contents: list[tuple]):
        self.first, self.roles, self.contents = first, roles, contents

    def __len__(self) -> int:
        return len(self.roles)

    def add(self, roles: list[tuple], contents: list[tuple]) -> None:
        self.roles += roles
        self.contents += contents

    def head(self, rows: int) -> "PlainChats":
        return self if rows >= len(self) else PlainChats(self.first, self.roles[:rows], self.contents[:rows])


def plain_chats(records: list) -> tuple[list[tuple], list[tuple]] | None:
    """Each record's (roles, contents) when every one is an OpenAI row that openai() keeps exactly as it is;
    None when any one is not (then openai() decides about each, as ever).

    Such a row is {"messages": [{"role", "content"}, ...]} (other keys ignored, none that openai() or the
    reader act on), every message has just those two keys, every content is a string, the roles come in
    an order check_conversation accepts and no answer is blank: openai() would return the same turns as
    new dicts. All records are checked at once with C-level maps: a Python loop per row would cost more
    than parsing the row.
    """
    try:
        chats = list(map(_MESSAGES, records))  # KeyError: no messages; TypeError: not an object
        if not {list}.issuperset(map(type, chats)):
            return None
        roles = list(map(tuple, map(map, repeat(_ROLE), chats)))  # KeyError, TypeError: not {role, ...}
        contents = list(map(tuple, map(map, repeat(_CONTENT), chats)))
        for order in set(roles).difference(_SHAPES):  # TypeError: a role that is not even hashable
            _shape(order)
        answers = list(map(_SHAPES.__getitem__, roles))  # KeyError: past the remembered orders
    except (KeyError, TypeError):
        return None
    turns = list(chain.from_iterable(contents))
    if None in answers or not _ACTED_ON.isdisjoint(chain.from_iterable(records)) \
            or sum(map(len, chain.from_iterable(chats))) != 2 * len(turns) \
            or not all(map(isinstance, turns, repeat(str))):
        return None
    if ("" in turns or any(map(str.isspace, turns))) and any(map(_blank_answer, contents, answers)):
        return None  # only looked at per row when some turn is blank, which is rare
    return roles, contents


def _blank_answer(contents: tuple, answers: tuple) -> bool:
    return any(not contents[i].strip() for i in answers)


def _shape(roles: tuple) -> tuple[int, ...] | None:
    """Where the answers of a role sequence are, or None when the normaliser refuses that order; judged by
    the normaliser's own checks on stand-in contents, and remembered (a dataset has few orders)."""
    try:
        check_conversation(parse_messages([{"role": role, "content": "x"} for role in roles], "messages"), "messages")
        answers = tuple(i for i, role in enumerate(roles) if role == "assistant")
    except RowError:
        answers = None
    if len(_SHAPES) < 4096:
        _SHAPES[roles] = answers
    return answers


def text(record, line: int) -> Sample:
    row = _object(record, "text")
    return Sample(line, text=_string(row, "text", non_empty=True), label=_label(row))


NORMALISERS = {"alpaca": alpaca, "sharegpt": sharegpt, "openai": openai, "text": text, "preference": preference,
               "kto": kto}
