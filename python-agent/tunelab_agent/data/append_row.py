"""Appending one conversation to a dataset file, in that file's own format (the chat panel's Promote and Prefer).

Why it is built this way:
- The agent reads the data it trains on, so it also decides how a new row is written: the file's format is
  the one its reader detects, and the new row is read back through that same reader before it counts.
- The file is read at write time, the row appended to those bytes, the result written under a temporary name
  in the same folder, read back, and renamed over the file. A file that changed on disk between the read and
  the rename (an editor saved it) is read again and the append redone, so no edit is overwritten blindly.
- Only JSONL: a row appended to a JSON array, a CSV or a Parquet file would rewrite the whole file in a
  shape the person did not choose; those get a message that says so.
"""

import json
import os
import secrets
import tempfile

from .formats import RowReader
from .samples import BadRow, FormatError

SFT_FORMATS = ("alpaca", "sharegpt", "openai")
ATTEMPTS = 5  # re-reads when the file keeps changing under the append
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


class AppendError(ValueError):
    """A row that cannot be appended; the message names the file and why."""


class FileChanged(Exception):
    """The file changed on disk while the row was being appended: read it again."""


def format_row(name: str, head: str, messages: list[dict], answer: str, rejected: str | None = None) -> dict:
    """The row append_row would add to a file whose first lines are `head`, for a file this agent cannot read
    (the extension's workspace, with the agent on an SSH host). The format is detected from `head`, and `head`
    plus the new row is read back through the trainer's reader. Returns {row: one JSON line, format}."""
    _check_request(name, messages, answer, rejected)
    with tempfile.TemporaryDirectory(prefix="tunelab-row-") as folder:
        sample = os.path.join(folder, name)
        data = head.encode("utf-8")
        with open(sample, "wb") as f:
            f.write(data)
        fmt, first = _file_format(sample, name) if data.strip() else ("", None)
        row = build_row(name, fmt, first, messages, answer, rejected)
        if data and not data.endswith(b"\n"):
            data += b"\n"
        text = json.dumps(row, ensure_ascii=False)
        with open(sample, "wb") as f:
            f.write(data + text.encode("utf-8") + b"\n")
        found = _read_back(sample, name, fmt or _format_of(row), data.count(b"\n") + 1)
        _check_same(name, found, answer, rejected)
    return {"row": text, "format": found.format}


def _check_request(name: str, messages, answer: str, rejected: str | None) -> None:
    if os.path.splitext(name)[1].lower() != ".jsonl":
        raise AppendError(f"{name}: rows can be appended to JSONL files only (one JSON object per line); "
                          "pick a .jsonl file")
    _check_prompt(messages)
    for key, value in (("answer", answer), ("rejected", rejected)):
        if value is not None and not value.strip():
            raise AppendError(f"{key}: the answer is empty")


def append_row(path: str, messages: list[dict], answer: str, rejected: str | None = None,
               before_rename=None) -> dict:
    """Append `messages` + `answer` (or the pair answer/rejected) to the JSONL file at `path`.

    messages: the prompt, [system?] then turns ending with a user turn. rejected: set for a preference pair.
    before_rename(tmp_path): called after the read-back, before the rename (tests change the file there).
    Returns {path, format, line}: the 1-based line the new row starts at.
    """
    name = os.path.basename(path)
    _check_request(name, messages, answer, rejected)
    if not os.path.isdir(os.path.dirname(path) or "."):
        raise AppendError(f"{name}: its folder does not exist")
    for _ in range(ATTEMPTS):
        try:
            return _append_once(path, messages, answer, rejected, before_rename)
        except FileChanged:
            continue
    raise AppendError(f"{name}: the file kept changing on disk while the row was appended; try again")


def _check_prompt(messages) -> None:
    if not isinstance(messages, list) or not messages:
        raise AppendError("messages: the conversation is empty")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in SHAREGPT_FROM or not isinstance(m.get("content"), str):
            raise AppendError(f"messages[{i}]: must be {{role: system|user|assistant, content: string}}")
        if m["role"] == "system" and i != 0:
            raise AppendError(f"messages[{i}]: a system prompt can only come first")
    if messages[-1]["role"] != "user":
        raise AppendError(f"messages[{len(messages) - 1}]: the conversation must end with the user's turn")


def _signature(path: str):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _append_once(path: str, messages, answer, rejected, before_rename) -> dict:
    name = os.path.basename(path)
    seen = _signature(path)
    data = b""
    if seen is not None:
        with open(path, "rb") as f:
            data = f.read()
        if _signature(path) != seen:
            raise FileChanged()
    fmt, first = _file_format(path, name) if data.strip() else ("", None)
    row = build_row(name, fmt, first, messages, answer, rejected)
    if data and not data.endswith(b"\n"):
        data += b"\n"
    line = data.count(b"\n") + 1
    data += json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"

    temp = os.path.join(os.path.dirname(path) or ".", f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if seen is not None:
            os.chmod(temp, os.stat(path).st_mode & 0o7777)
        found = _read_back(temp, name, fmt or _format_of(row), line)
        _check_same(name, found, answer, rejected)
        if before_rename:
            before_rename(temp)
        if _signature(path) != seen:
            raise FileChanged()
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return {"path": path, "format": found.format, "line": line}


class _Found:
    def __init__(self, sample, format: str):
        self.sample, self.format = sample, format


def _file_format(path: str, name: str) -> tuple[str, dict | None]:
    """The format the trainer's reader detects, and the first good row as written (its shape is copied)."""
    try:
        reader = RowReader(path, "auto")
        for row in reader:
            if isinstance(row, BadRow):
                continue
            with open(path, encoding="utf-8") as f:
                for number, text in enumerate(f, start=1):
                    if number == row.line:
                        return reader.format, json.loads(text)
    except (FormatError, UnicodeDecodeError, ValueError) as exc:
        raise AppendError(f"{name}: cannot be read as a dataset: {exc}") from None
    return "", None


def _format_of(row: dict) -> str:
    return "preference" if "rejected" in row else "openai" if "messages" in row else "alpaca"


def build_row(name: str, fmt: str, first: dict | None, messages: list[dict], answer: str, rejected: str | None) -> dict:
    """The new row in the file's format; `first` is the file's first good row, whose shape is followed."""
    if rejected is not None:
        if fmt not in ("", "preference"):
            raise AppendError(f"{name}: holds {fmt} rows, not preference pairs; pick a preference file "
                              "(prompt/chosen/rejected) or a new .jsonl file")
        return _pair_row(first, messages, answer, rejected)
    if fmt not in ("",) + SFT_FORMATS:
        raise AppendError(f"{name}: holds {fmt} rows; a promoted answer is written to Alpaca, ShareGPT or "
                          "OpenAI-chat files")
    turns = messages + [{"role": "assistant", "content": answer}]
    if fmt == "alpaca":
        system = [m for m in messages if m["role"] == "system"]
        users = [m for m in messages if m["role"] != "system"]
        if len(users) != 1:
            raise AppendError(f"{name}: Alpaca rows hold one instruction and its answer, and this conversation has "
                              f"{len(users)} turns before the answer; pick a ShareGPT or OpenAI-chat file")
        row = {"instruction": users[0]["content"], "input": "", "output": answer}
        if system and system[0]["content"].strip():
            row["system"] = system[0]["content"]
        return row
    if fmt == "sharegpt":
        return {"conversations": _sharegpt(turns)}
    return {"messages": turns}


def _sharegpt(turns: list[dict]) -> list[dict]:
    return [{"from": SHAREGPT_FROM[t["role"]], "value": t["content"]} for t in turns]


def _pair_row(first: dict | None, messages: list[dict], chosen: str, rejected: str) -> dict:
    """A preference pair in the shape of the file's first row (TRL's prompt/chosen/rejected for a new file)."""
    first = first or {}
    if "conversations" in first and "messages" not in first:
        return {"conversations": _sharegpt(messages), "chosen": {"from": "gpt", "value": chosen},
                "rejected": {"from": "gpt", "value": rejected}}
    if "messages" in first:
        return {"messages": messages, "chosen": chosen, "rejected": rejected}
    if "prompt" not in first and isinstance(first.get("chosen"), list):
        return {"chosen": messages + [{"role": "assistant", "content": chosen}],
                "rejected": messages + [{"role": "assistant", "content": rejected}]}
    single = len(messages) == 1 and isinstance(first.get("prompt"), str)
    return {"prompt": messages[0]["content"] if single else messages, "chosen": chosen, "rejected": rejected}


def _read_back(temp: str, name: str, fmt: str, line: int) -> _Found:
    """The new row through the trainer's reader: a row it would drop is refused before the rename."""
    try:
        reader = RowReader(temp, fmt)
        for row in reader:
            if row.line < line:
                continue
            if isinstance(row, BadRow):
                raise AppendError(f"{name} line {line}: the new row would not be read by the trainer: {row.reason}")
            return _Found(row, reader.format)
    except FormatError as exc:
        raise AppendError(f"{name}: {exc}") from None
    raise AppendError(f"{name} line {line}: the new row was not read back")


def _check_same(name: str, found: _Found, answer: str, rejected: str | None) -> None:
    sample = found.sample
    got = (sample.chosen, sample.rejected) if rejected is not None else (sample.messages[-1]["content"],)
    want = (answer, rejected) if rejected is not None else (answer,)
    if got != want:
        raise AppendError(f"{name}: the new row reads back differently from what was written")
