"""The shapes every dataset row is read into: a Sample, or a BadRow that says where and why.

Kept apart from the readers so that each row normaliser (formats.py, pairs.py, conversation.py)
can build them without importing the others.
"""

from dataclasses import dataclass, field


class FormatError(ValueError):
    """The file as a whole cannot be read; the message names the file (and line when known)."""


class RowError(ValueError):
    """Raised inside the row normalisers; turned into a BadRow by the reader."""


class MediaRefused(RowError):
    """A row carries images, video or audio. Raised like a RowError, but the reader fails the whole file
    with it: a multimodal dataset would otherwise turn into thousands of identical bad rows."""


@dataclass
class BadRow:
    file: str
    line: int  # 1-based; for Parquet, the 1-based row number (see `unit`)
    reason: str
    unit: str = "line"

    def describe(self) -> str:
        return f"{self.file} {self.unit} {self.line}: {self.reason}"


@dataclass
class Sample:
    """One training example. Exactly one of these is set:

    - messages (OpenAI-style, tool calls included; `tools` holds the function schemas the row offers),
    - text,
    - prompt + chosen + rejected (format "preference"),
    - prompt + completion + desirable (format "kto").

    A prompt always ends with a user turn.
    """
    line: int
    messages: list[dict] | None = None
    text: str | None = None
    prompt: list[dict] | None = None
    chosen: str | None = None
    rejected: str | None = None
    label: str | None = None  # a row's `label` field, for label-style evaluation
    completion: str | None = None
    desirable: bool | None = None
    tools: list[dict] | None = None


@dataclass
class Rows:
    format: str
    samples: list[Sample] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.samples) + len(self.bad)
