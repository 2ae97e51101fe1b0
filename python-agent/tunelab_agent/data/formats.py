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
import re
from itertools import chain, repeat
from operator import attrgetter
from typing import Literal, NamedTuple

try:  # decodes and checks a plain chat row in C (plain_chats); without it every row takes the general way
    import msgspec
except ImportError:  # pragma: no cover - an agent installed before msgspec became a dependency
    msgspec = None

from .conversation import (MEDIA_WHY, ROLES, check_conversation, check_prompt, parse_messages,  # noqa: F401
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
        keep exactly as they are come as PlainChats (their turns) instead of Samples.

        For a reader that needs only what the turns say (inspection without a tokenizer): those rows are
        decoded and checked a chunk at a time, and no Sample is built. Every other row, bad ones included,
        comes exactly as from iterating, in file order.
        """
        if plain_chats and msgspec is not None and self.ext not in (".parquet", ".csv", ".tsv", ".txt") \
                and not _is_json_array(self.path):
            return self._jsonl_chunks()
        return iter(self)

    def _jsonl_chunks(self):
        with open(self.path, encoding="utf-8") as f:
            number = 1
            while lines := f.readlines(CHUNK_BYTES):
                yield from self._chunk(number, lines)
                number += len(lines)
        self._settle_format()

    def _chunk(self, number: int, lines: list[str]):
        chats = self._plain(number, lines)
        if chats is None:
            yield from self._line_by_line(number, lines)
        else:
            self.line = number + len(lines) - 1
            yield chats

    def _line_by_line(self, number: int, lines: list[str]):
        """A chunk with some row that is not a plain chat (or read before the format was known): the
        plain ones still come as PlainChats, one per run of consecutive lines."""
        if self.format == "openai":
            yield from self._split(number, lines)
            return
        known = bool(self.format)
        run = PlainChats(number, [], [], [])
        for at, line in enumerate(lines):
            n = number + at
            chats = self._plain(n, [line])
            if chats is not None:
                run.add(chats)
                continue
            if run:
                self.line = n - 1
                yield run
            run = PlainChats(n + 1, [], [], [])
            if line.strip():
                self.line = n
                yield self._row(n, _json_line(self.name, n, line))
                if not known and self.format:  # the first row told the format: the rest may go in bulk
                    yield from self._chunk(n + 1, lines[at + 1:])
                    return
        if run:
            self.line = run.first + len(run) - 1
            yield run

    def _split(self, number: int, lines: list[str]):
        """`_line_by_line` for OpenAI rows: each line is decoded on its own (in C, as in bulk) to find the
        ones that are not shaped as a plain chat, and the runs between them are checked in bulk, so one odd
        row does not cost its neighbours their speed."""
        rows = list(map(_decoded_plain, lines))
        at = 0
        while at < len(lines):
            if rows[at] is None:  # not a plain chat's shape: the general way (a blank line is no row)
                if lines[at].strip():
                    self.line = number + at
                    yield self._row(number + at, _json_line(self.name, number + at, lines[at]))
                at += 1
                continue
            end = at + 1
            while end < len(lines) and rows[end] is not None:
                end += 1
            chats = _plain_rows(number + at, rows[at:end])
            if chats is not None:
                self.line = number + end - 1
                yield chats
            else:  # some row's roles or blank answer are the normaliser's to judge: one row at a time
                for n in range(at, end):
                    self.line = line = number + n
                    chats = _plain_rows(line, rows[n:n + 1])
                    yield chats if chats is not None else self._row(line, _json_line(self.name, line, lines[n]))
            at = end

    def _plain(self, first: int, lines: list[str]) -> "PlainChats | None":
        if self.format != "openai":  # known from an earlier row, or requested
            return None
        return plain_chats(first, lines)

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
    """The parsed line, or the BadRow that says why it is not JSON (or holds a lone surrogate)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRow(name, number, f"not valid JSON ({exc.msg} at column {exc.colno})")
    if "\\u" in line and _SURROGATE_ESCAPE.search(line):
        return _lone_surrogate(name, number, record)
    return record


# How JSON text spells a UTF-16 surrogate: one half of a pair (which json.loads joins into one character)
# or a lone one, which it keeps: a str no tokenizer accepts (the fast ones raise on it), so such a row is bad.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(name: str, number: int, record):
    """`record` as it is, or a BadRow naming the first key (in file order) whose text, or name, holds a lone
    surrogate. Called only for rows whose JSON spells a surrogate, so a row without one costs nothing."""
    stack = [("", record)]
    while stack:
        where, value = stack.pop()
        if value.__class__ is str:
            found = _SURROGATE.search(value)
            if found:
                return BadRow(name, number, f"{where or 'the row'} has a lone surrogate (\\u{ord(found.group()):04x}) "
                              f"at character {found.start()}: not valid Unicode text, so no tokenizer can read it; "
                              "write the character itself, or both halves of its surrogate pair")
        elif isinstance(value, dict):
            for key in value:
                if found := _SURROGATE.search(key):
                    return BadRow(name, number, f"a key in {where or 'the row'} has a lone surrogate "
                                  f"(\\u{ord(found.group()):04x}): not valid Unicode text")
            stack.extend((f"{where}.{key}" if where else key, item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return record


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
        if text.find("\\u", pos, end) != -1 and _SURROGATE_ESCAPE.search(text, pos, end):
            record = _lone_surrogate(name, line_at(pos), record)
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


CHUNK_BYTES = 1 << 17  # read and checked at a time: small enough for the rows to stay in the CPU's cache, big enough
# for the per-chunk calls (numpy's above all) to cost little beside the rows
_MESSAGES, _ROLE, _CONTENT = attrgetter("messages"), attrgetter("role"), attrgetter("content")
_ACCEPTED: set[tuple] = set()  # role orders the normaliser accepts (judged by _accepted)
_REFUSED: set[tuple] = set()


if msgspec is not None:
    class Turn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
        """A message of a plain chat: just a role and a string content (no cycles: the GC need not track it).

        A role is one of the normaliser's: msgspec checks it and gives each row the same few str objects,
        whose hashes are kept, so role orders and digests cost less than with a fresh str per message."""
        role: Literal[ROLES]
        content: str

    # Other keys are ignored, as openai() ignores them; the ones it or the reader act on keep a row plain
    # only when absent or null (what openai() and the media check take as none).
    _PlainRow = msgspec.defstruct("_PlainRow", [("messages", tuple[Turn, ...])]
                                  + [(key, None, None) for key in ("tools", "label") + MEDIA_KEYS], gc=False)
    _decode_plain = msgspec.json.Decoder(_PlainRow).decode
else:  # pragma: no cover
    class Turn(NamedTuple):
        role: str
        content: str


class PlainChats:
    """Plain chats (see plain_chats) of consecutive lines, from `first` on: each one's turns and roles, and
    all their contents in one list (the lengths and hashes of a chunk are taken from it in C)."""

    __slots__ = ("first", "chats", "roles", "contents")

    def __init__(self, first: int, chats: list[tuple[Turn, ...]], roles: list[tuple], contents: list[str]):
        self.first, self.chats, self.roles, self.contents = first, chats, roles, contents

    def __len__(self) -> int:
        return len(self.chats)

    def add(self, other: "PlainChats") -> None:
        self.chats += other.chats
        self.roles += other.roles
        self.contents += other.contents

    def head(self, rows: int) -> "PlainChats":
        if rows >= len(self):
            return self
        chats = self.chats[:rows]
        return PlainChats(self.first, chats, self.roles[:rows], self.contents[:sum(map(len, chats))])


def plain_chats(first: int, lines: list[str]) -> PlainChats | None:
    """Lines `first`, `first` + 1, ... as PlainChats when every one is a plain chat; None when any one is
    not (then each goes the general way: json.loads and openai()).

    A plain chat is an OpenAI row that openai() keeps exactly as it is: {"messages": [{"role", "content"},
    ...]} where every message has just those two keys and a string content, the roles come in an order
    check_conversation accepts and no answer is blank, and nothing else in the row matters to openai() or
    the reader. msgspec decodes the lines and checks their shape in C, and the rest is checked for all the
    lines at once with C-level maps: a Python loop per row would cost more than reading the row.
    """
    try:
        rows = list(map(_decode_plain, lines))
    except (msgspec.DecodeError, msgspec.ValidationError):  # not JSON, or another shape
        return None
    return _plain_rows(first, rows)


def _decoded_plain(line: str):
    """The line decoded as a plain chat's shape (_PlainRow), or None."""
    try:
        return _decode_plain(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _plain_rows(first: int, rows: list) -> PlainChats | None:
    """plain_chats for rows already decoded as _PlainRow: the checks that are not the shape's."""
    chats = list(map(_MESSAGES, rows))
    roles = list(map(tuple, map(map, repeat(_ROLE), chats)))
    orders = set(roles)
    if not orders <= _ACCEPTED and not all(map(_accepted, orders)):
        return None
    contents = list(map(_CONTENT, chain.from_iterable(chats)))
    if ("" in contents or any(map(str.isspace, contents))) and any(map(_blank_answer, chats)):
        return None  # looked at row by row only when some turn is blank, which is rare
    return PlainChats(first, chats, roles, contents)


def _accepted(order: tuple) -> bool:
    """Whether the normaliser accepts this order of roles; judged by its own checks on stand-in contents,
    and remembered (a dataset has few orders)."""
    if order in _ACCEPTED:
        return True
    if order in _REFUSED:
        return False
    try:
        check_conversation(parse_messages([{"role": role, "content": "x"} for role in order], "messages"), "messages")
        accepted = True
    except RowError:
        accepted = False
    if len(_ACCEPTED) + len(_REFUSED) < 4096:
        (_ACCEPTED if accepted else _REFUSED).add(order)
    return accepted


def _blank_answer(chat: tuple[Turn, ...]) -> bool:
    return any(turn.role == "assistant" and not turn.content.strip() for turn in chat)


def text(record, line: int) -> Sample:
    row = _object(record, "text")
    return Sample(line, text=_string(row, "text", non_empty=True), label=_label(row))


NORMALISERS = {"alpaca": alpaca, "sharegpt": sharegpt, "openai": openai, "text": text, "preference": preference,
               "kto": kto}
