"""inspect_dataset: what the trainer would make of a dataset file, without training on it.

A row's verdict comes from the trainer's own code: formats' readers and normalisers (through
formats.RowReader, a row or a small chunk at a time so a 1 GB file is never held) and data.encode_sample
with the model's tokenizer (batched: data.EncodeBatch), under the same rules as data.tokenise_file (a
template refusal, over max_length unless dataset.truncation may cut it, no token carrying loss). Without
a tokenizer the lengths are an approximation (characters / 4) and say so, and plain chats (rows openai()
keeps as they are: formats.plain_chats) are checked and counted a chunk at a time, without Samples. For
Parquet a "line" is the 1-based row number, as in bad_row.

Speed: the file hash runs on a worker thread while the rows are read, and the tokenizer calls on another
while the next rows go through the chat template (threads=False, or a process allowed on one core only,
keeps everything on the caller's thread; a busy machine keeps the hash there). The hash of a file that has
not changed since this process last took it is not taken again (identity_of).

Besides the counts it finds exact duplicates (same content after normalisation, so key order and
whitespace between JSON tokens do not hide them) and conflicting labels: the same input with different
labels, where a row's label is its `label` field, else its answer when that is short enough to be a
class name. Memory grows by two small dict entries per row, never by the rows themselves.

Results are cached under <cache_root>/inspect by the file's sha256 and every option that changes them.
"""

import array
import dataclasses
import hashlib
import json
import math
import os
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import compress
from operator import ne

import numpy as np
import numpy.ma  # noqa: F401  np.percentile imports it on its first call (about 20 ms): here, not in an inspection

from ..files import write_json_atomically
from .formats import BadRow, FormatError, PlainChats, RowReader, Turn
from .samples import Sample

INSPECT_VERSION = 2  # bump when a result for the same file and options would come out differently
# 2: a row holding a lone surrogate is bad (formats._lone_surrogate)
LABEL_CHARS = 64  # an answer this short counts as a label (a class name, a yes/no, a number)
CHARS_PER_TOKEN = 4  # the approximation without a tokenizer: typical for English with BPE vocabularies
KEEP_DIAGNOSTICS = 500  # kept in the result (and replayed from the cache); the stream sends these too
KEEP_GROUPS = 100  # duplicate / conflict groups listed in the result; the counts cover all of them
KEEP_LINES = 20  # lines listed per group
TOP_LABELS = 50
HISTOGRAM_BINS = 20
CHECK_EVERY = 256  # rows between looks at the clock (progress) and the cancel flag
BATCH_TEXTS = 1024  # texts per tokenizer call: its own overhead vanishes, and a batch takes a fraction of a second
PROGRESS_S = 0.25


class Cancelled(Exception):
    """The caller set the cancel flag; carries how far the inspection got."""

    def __init__(self, rows: int):
        super().__init__(f"inspection cancelled after {rows} rows")
        self.rows = rows


class InspectError(ValueError):
    """The file cannot be inspected at all (missing, not UTF-8, a broken JSON array); names the file."""


def file_identity(path: str, stop: threading.Event | None = None) -> tuple[str, int, int] | None:
    """(sha256, bytes, lines) in one read: the cache key's part and the progress total; None once `stop` is set."""
    digest, size, lines, last = hashlib.sha256(), 0, 0, b"\n"
    with open(path, "rb") as f:
        # big blocks: on a worker thread each one waits for the GIL (up to 5 ms) before its next read
        for block in iter(lambda: f.read(1 << 22), b""):
            if stop is not None and stop.is_set():
                return None
            digest.update(block)
            size += len(block)
            lines += int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))  # twice bytes.count's speed
            last = block[-1:]
    return digest.hexdigest(), size, lines + (0 if last == b"\n" else 1)


REMEMBERED_FILES = 64  # identities this process remembers (file_identity of an unchanged file is not taken again)
SETTLED_S = 3.0  # a file unchanged for this long before its hash began is remembered (see remembered_identity)
_remembered: dict[str, tuple[tuple, tuple[str, int, int]]] = {}  # absolute path -> (its stat_key, its identity)
_remembered_lock = threading.Lock()
_now_ns = time.time_ns  # the clock file times are written by


def stat_key(path: str) -> tuple:
    """What changes when the file does: a write changes the size or the times, a replacement the inode; the
    ctime changes even when someone sets the mtime back."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remembered_identity(path: str) -> tuple[str, int, int] | None:
    """file_identity of `path` as found earlier by this process, while the file is as it was then; else None."""
    entry = _remembered.get(os.path.abspath(path))
    if entry is None:
        return None
    try:
        return entry[1] if stat_key(path) == entry[0] else None
    except OSError:
        return None


def identity_of(path: str, stop: threading.Event | None = None) -> tuple[str, int, int] | None:
    """file_identity, remembered for the next call while the file stays unchanged.

    Remembered only when the file is settled: the same before and after the read, and its last change
    (mtime, ctime) SETTLED_S older than the read's start. A file's times have a coarse grain (a jiffy on
    ext4, 2 s on FAT), so a file changed just before or while it is hashed could show the same stat after
    a second change; once settled, any later change gives a later time. Pays the hash again for a file
    just written, never answers from an older content.
    """
    began = _now_ns()
    try:
        before = stat_key(path)
    except OSError:
        before = None
    found = file_identity(path, stop)
    if found is None or before is None:
        return found
    try:
        after = stat_key(path)
    except OSError:
        return found
    if after == before and found[1] == before[2] and max(before[3], before[4]) <= began - SETTLED_S * 1e9:
        with _remembered_lock:
            _remembered.pop(os.path.abspath(path), None)
            _remembered[os.path.abspath(path)] = (before, found)
            while len(_remembered) > REMEMBERED_FILES:
                del _remembered[next(iter(_remembered))]  # the one remembered longest ago
    return found


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def idle_core() -> bool:
    """Whether a core looks free beside the caller's: the machine's load (1-minute average, the caller
    included) leaves at least half a core. On a busy machine the file hash's thread only takes turns with
    the reading one, and each time it wants the GIL back the reader waits until the scheduler runs it."""
    try:
        return os.getloadavg()[0] < cores() - 0.5
    except (AttributeError, OSError):  # no load average here
        return True


class FromCache(Exception):
    """The cache holds the answer (carried here): what was read so far is dropped."""

    def __init__(self, result: dict):
        super().__init__("cached")
        self.result = result


class Identity:
    """The file's identity (file_identity), found on a worker thread while the rows are already being read:
    hashlib and numpy let go of the GIL, so on a second core it costs the reading nothing.

    Until it is known nothing is said (diagnostics are held, no progress), since a cached result may then
    answer instead; `settle` looks in the cache and raises FromCache, or lets the held diagnostics out.
    """

    def __init__(self, path: str, name: str, parts: dict, cache_root: str | None, on_diagnostic, threaded: bool = True):
        try:
            open(path, "rb").close()  # what file_identity would fail on, said before anything starts
        except OSError as exc:
            raise InspectError(f"{name}: cannot read ({exc.strerror})") from None
        self.path, self.name, self.parts, self.cache_root = path, name, parts, cache_root
        self.on_diagnostic, self.held = on_diagnostic, []
        self.key, self.size, self.lines = None, 0, 0
        self.stop = threading.Event()
        known = remembered_identity(path)
        threaded = threaded and known is None
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="inspect-identity") if threaded else None
        if threaded:
            self.future = self.pool.submit(identity_of, path, self.stop)
        else:
            self.future = Future()
            try:
                self.future.set_result(known or identity_of(path))
            except OSError as exc:
                self.future.set_exception(exc)

    @property
    def pending(self) -> bool:
        return self.key is None

    def ready(self) -> bool:
        return self.future.done()

    def settle(self) -> None:
        """Waits for the identity, then raises FromCache or lets the held diagnostics out."""
        try:
            file_hash, self.size, self.lines = self.future.result()
        except OSError as exc:
            raise InspectError(f"{self.name}: cannot read ({exc.strerror})") from None
        if self.path.lower().endswith(".parquet"):
            self.lines = parquet_rows(self.path)
        self.key = cache_key(file_hash, self.parts)
        cached = _load(self.cache_root, self.key)
        if cached is not None:
            raise FromCache(cached)
        for diagnostic in self.held:
            self.on_diagnostic(diagnostic)
        self.held = None

    def hold(self, diagnostic: dict) -> None:
        """Stats' on_diagnostic: sent on, or held while the cache may still answer."""
        if self.held is None:
            self.on_diagnostic(diagnostic)
        else:
            self.held.append(diagnostic)

    def close(self) -> None:
        self.stop.set()
        if self.pool is not None:
            self.pool.shutdown(wait=True)


def cache_key(file_hash: str, parts: dict) -> str:
    return hashlib.sha256(json.dumps({**parts, "file": file_hash}, sort_keys=True).encode()).hexdigest()[:32]


def key_parts(options: dict, tokenizer) -> dict:
    """Everything in the cache key but the file: read from the tokenizer before any worker thread uses it."""
    parts = {"version": INSPECT_VERSION, **options}
    if tokenizer is not None:
        from . import token_cache
        from .templating import chat_template

        identity = token_cache.tokenizer_identity(tokenizer)
        identity.pop("name_or_path")
        parts["tokenizer"], parts["template"] = identity, chat_template(tokenizer)
    return parts


def inspect_dataset(path: str, format: str = "auto", tokenizer=None, max_length: int | None = None,
                    train_on: str = "assistant", limit_rows: int | None = None, cache_root: str | None = None,
                    on_progress=None, on_diagnostic=None, cancel=None, truncation: str = "none",
                    threads: bool = True) -> dict:
    """The inspection result (see the protocol's results/inspect_dataset); raises InspectError or Cancelled.

    on_progress(done_lines, total_lines) and on_diagnostic({line, severity, code, message}) are called
    from this thread as the file is read; `cancel` is a threading.Event looked at every CHECK_EVERY rows.
    limit_rows stops after that many rows and marks the result as sampled. With `threads` and a second core,
    the file's hash (the cache key) is taken on a worker thread while the rows are read (unless the machine
    is busy: idle_core) and, with a tokenizer, the tokenizer calls run on another one while the next rows go
    through the chat template; the answer is the same either way.
    """
    began = time.monotonic()
    name = os.path.basename(path)
    threads = threads and cores() > 1
    options = {"format": format, "max_length": max_length, "train_on": train_on, "limit_rows": limit_rows,
               "truncation": truncation}
    identity = Identity(path, name, key_parts(options, tokenizer), cache_root, on_diagnostic,
                        threads and idle_core())
    stats = Stats(name, tokenizer, max_length, train_on, on_diagnostic and identity.hold, truncation)
    batches = Batches(stats, threads) if tokenizer is not None else None
    add = stats.add if batches is None else batches.add
    try:
        rows = RowReader(path, format)
        last_report, count, next_check = time.monotonic(), 0, CHECK_EVERY
        # without a tokenizer only the turns matter, so plain chats come in bulk, without Samples
        for item in rows.rows(plain_chats=tokenizer is None):
            if item.__class__ is PlainChats:
                item = item.head(limit_rows - count) if limit_rows is not None else item
                stats.add_chats(item)
                count, line = count + len(item), item.first + len(item) - 1
            else:
                add(item)
                count, line = count + 1, item.line
            if identity.pending and identity.ready():
                identity.settle()
            if count >= next_check:
                next_check = count + CHECK_EVERY
                if cancel is not None and cancel.is_set():
                    raise Cancelled(count)
                now = time.monotonic()
                if on_progress and not identity.pending and now - last_report >= PROGRESS_S:
                    on_progress(min(line, identity.lines), identity.lines)
                    last_report = now
            if limit_rows is not None and count >= limit_rows:
                if identity.pending:
                    identity.settle()
                stats.sampled = line < identity.lines
                break
        if identity.pending:
            identity.settle()
        if batches is not None:
            batches.finish()
    except FromCache as answer:
        return replay(answer.result, identity.lines, on_progress, on_diagnostic, began)
    except FormatError as exc:
        raise InspectError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise InspectError(f"{name}: not UTF-8 text ({exc.reason})") from None
    finally:
        identity.close()
        if batches is not None:
            batches.close()
    if on_progress:
        on_progress(identity.lines, identity.lines)
    result = stats.result(rows.format or "unknown", identity.size, identity.lines)
    result["file"] = name
    _store(cache_root, identity.key, result)
    return {**result, "cached": False, "seconds": round(time.monotonic() - began, 3)}


def replay(cached: dict, lines: int, on_progress, on_diagnostic, began: float) -> dict:
    """A cached result, said as if found again: its diagnostics, then the last progress."""
    for diagnostic in cached["diagnostics"] if on_diagnostic else ():
        on_diagnostic(diagnostic)
    if on_progress:
        on_progress(lines, lines)
    return {**cached, "cached": True, "seconds": round(time.monotonic() - began, 3)}


def parquet_rows(path: str) -> int:
    """Rows of a Parquet file from its footer (its newlines mean nothing); 0 when it cannot be read, and
    then the reader says why."""
    try:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # not installed, not Parquet: RowReader raises the FormatError that explains it
        return 0


def _load(cache_root: str | None, key: str) -> dict | None:
    if not cache_root:
        return None
    try:
        with open(os.path.join(cache_root, "inspect", key + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _store(cache_root: str | None, key: str, result: dict) -> None:
    if not cache_root:
        return
    folder = os.path.join(cache_root, "inspect")
    try:
        os.makedirs(folder, exist_ok=True)
        write_json_atomically(os.path.join(folder, key + ".json"), result)
    except OSError:
        pass  # a full disk only costs the next inspection its speed-up


class Batches:
    """Rows on their way through the tokenizer, kept in file order.

    A batch's conversations go through the chat template as its rows arrive (data.EncodeBatch); its one
    tokenizer call runs on a worker thread while the next batch is rendered (a fast tokenizer lets go of
    the GIL while it encodes), and then each row reaches Stats.add with its encoding, in order, so
    diagnostics still come in line order. Two batches at most are held: memory does not grow with the file.
    """

    def __init__(self, stats: "Stats", threaded: bool):
        self.stats = stats
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="inspect-tokenise") if threaded else None
        self.waiting: deque = deque()  # (rows, batch, future) sent to the tokenizer, oldest first
        self._start()

    def _start(self) -> None:
        from .dataset import EncodeBatch

        self.rows, self.batch = [], EncodeBatch(self.stats.tokenizer, self.stats.train_on)

    def add(self, row) -> None:
        self.rows.append(row)
        if not isinstance(row, BadRow):
            self.batch.add(row)
        if len(self.batch) >= BATCH_TEXTS or len(self.rows) >= BATCH_TEXTS:
            self._send()

    def _send(self) -> None:
        if self.pool is None:
            self._tokenise(self.batch)
            self.waiting.append((self.rows, self.batch, None))
        else:
            self.waiting.append((self.rows, self.batch, self.pool.submit(self._tokenise, self.batch)))
        self._start()
        while len(self.waiting) > (0 if self.pool is None else 1):
            self._count_oldest()

    def _tokenise(self, batch) -> None:
        with self.stats.tokenizer_lock:
            batch.tokenise()

    def _count_oldest(self) -> None:
        rows, batch, future = self.waiting.popleft()
        if future is not None:
            future.result()  # re-raises what the worker raised
        encoded = iter(batch.results())
        for row in rows:
            self.stats.add(row, None if isinstance(row, BadRow) else next(encoded))

    def finish(self) -> None:
        if self.rows:
            self._send()
        while self.waiting:
            self._count_oldest()

    def close(self) -> None:
        """Ends the worker (after the call it may be in: tokenizer calls cannot be interrupted)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class Stats:
    """Everything counted while the rows stream past; `result` turns it into the answer."""

    def __init__(self, name: str, tokenizer, max_length: int | None, train_on: str, on_diagnostic,
                 truncation: str = "none"):
        self.name, self.tokenizer, self.max_length, self.train_on = name, tokenizer, max_length, train_on
        self.on_diagnostic, self.truncation = on_diagnostic, truncation
        self.tokenizer_lock = threading.Lock()  # a fast tokenizer must not be called from two threads at once
        self.rows = self.bad = self.over_length = self.truncated = 0
        self.lengths = array.array("I")
        self.chunk_chars: list[np.ndarray] = []  # characters of plain chats' rows, a chunk at a time (add_chats)
        self.roles: dict[str, int] = {}
        self.role_orders: Counter = Counter()  # of plain chats (add_chats): counted per order, summed at the end
        self.labels: dict[str, int] = {}
        self.seen: dict[int, int] = {}  # content hash -> first line
        self.duplicate_rows = 0
        self.duplicates: dict[int, list[int]] = {}  # first line -> later lines, while under KEEP_GROUPS
        self.inputs: dict[int, tuple[int, str]] = {}  # input hash -> (first line, its label)
        self.conflicts: dict[int, dict] = {}
        self.conflict_count = 0
        self.diagnostics: list[dict] = []
        self.by_code: dict[str, int] = {}
        self.sampled = False

    # --- per row ------------------------------------------------------------------------------------

    def add(self, row, batched=None) -> None:
        """One row; with a tokenizer, `batched` may be the sample's encode_sample result (or the TemplateError
        it raised) from a batch."""
        self.rows += 1
        if isinstance(row, BadRow):
            self.bad += 1
            self.diagnose(row.line, "error", "invalid_json" if row.reason.startswith("not valid JSON") else "bad_row",
                          row.reason)
            return
        if self.tokenizer is not None:
            if not self.measure(row, batched):
                return
        else:
            self.approximate(row.line, approx_chars(row))
        self.count_roles(row)
        self.check_duplicate(row.line, sample_digest(row))
        label, context = label_of(row)
        if label is not None:
            self.check_label(row.line, label, None if context is None else hash(conversation_key(context)))

    def add_chats(self, chats: PlainChats) -> None:
        """Plain chats (formats.plain_chats) without a tokenizer: what `add` does with their Samples, from
        the turns alone and for all of them at once; their digests are the ones sample_digest
        gives those Samples. Only rows with something to say (too long, a duplicate, a
        short answer) are visited one at a time, in line order, as `add` would.

        A chunk holds a few dozen rows, so each numpy call costs about what its work does: there are few."""
        turns, first, count = chats.chats, chats.first, len(chats)
        self.rows += count
        chars, answer_chars = characters(chats)
        self.chunk_chars.append(chars)  # lengths, turned into tokens once, at the end (token_stats)
        self.role_orders.update(chats.roles)  # counted by order, in C
        lines = range(first, first + count)
        # each row's content is recorded in line order, as `add` does one row at a time; what comes back is
        # the line where that content was first seen: its own line unless the row repeats an earlier one
        firsts = list(map(self.seen.setdefault, map(hash, turns), lines))
        visit = answer_chars <= LABEL_CHARS  # a short answer is a label
        if self.max_length is not None:
            visit |= chars > CHARS_PER_TOKEN * self.max_length  # the same as its token count > max_length
        visit = np.flatnonzero(visit).tolist()
        if firsts != list(lines):
            visit = sorted({*visit, *compress(range(count), map(ne, firsts, lines))})
        for i in visit:
            self.add_chat(first + i, turns[i], -(-int(chars[i]) // CHARS_PER_TOKEN), firsts[i])

    def add_chat(self, line: int, chat: tuple, length: int, first: int) -> None:
        """The checks of `add` for one plain chat whose length is counted and whose content was first seen
        at line `first` (already recorded)."""
        if self.max_length is not None and length > self.max_length:
            self.too_long(line, length)
        if first != line:
            self.duplicate(line, first)
        answer = chat[-1].content  # a plain chat ends with a text answer: a label when it is short
        if len(answer) <= LABEL_CHARS:
            self.check_label(line, answer.strip(), hash(chat[:-1]))

    def approximate(self, line: int, chars: int) -> None:
        length = -(-chars // CHARS_PER_TOKEN)
        self.lengths.append(length)
        if self.max_length is not None and length > self.max_length:
            self.too_long(line, length)

    def too_long(self, line: int, length: int) -> None:
        """An approximate length over max_length: a warning, since the count is only an estimate."""
        cut = self.truncation != "none"
        self.truncated += cut
        self.over_length += not cut
        self.diagnose(line, "warning", "truncated" if cut else "too_long",
                      f"about {length} tokens (characters / {CHARS_PER_TOKEN}, no tokenizer given), over "
                      f"max_length {self.max_length}" + (f"; dataset.truncation {self.truncation} cuts it"
                                                          if cut else ""))

    def measure(self, sample, batched=None) -> bool:
        """Records the sample's length (the longer one of a pair, before any cut) and what the trainer does
        with it, with the same checks in the same order as data.tokenise_file; False for a broken row.
        `batched`, when given, is what encode_sample gives (or raises) for the sample as it is."""
        from . import truncation
        from .dataset import encode_sample
        from .templating import IGNORE, TemplateError
        from .templating import prompt_ids

        lengths = []

        def encode(s):
            if s is sample and batched is not None:
                if isinstance(batched, TemplateError):
                    raise batched
                items = batched
            else:  # a shorter version truncation tries, or no batch
                with self.tokenizer_lock:
                    items = encode_sample(self.tokenizer, s, self.train_on)
            lengths.append(truncation.longest(items))
            return items

        def head(messages):
            with self.tokenizer_lock:
                return prompt_ids(self.tokenizer, messages, tools=sample.tools)

        try:
            if self.max_length is None:
                encoded, note = encode(sample), None
            else:
                _, encoded, note = truncation.fit(sample, encode, head, self.max_length, self.truncation)
        except TemplateError as exc:
            self.bad += 1
            self.diagnose(sample.line, "error", "template", str(exc))
            return False
        except truncation.TooLong as exc:
            self.lengths.append(lengths[0])
            self.over_length += 1
            self.diagnose(sample.line, "error", "too_long", str(exc))
            return True  # dropped for its length, yet a row of the dataset: its roles and labels count
        if not any(label != IGNORE for e in encoded for label in e["labels"]):
            self.bad += 1
            self.diagnose(sample.line, "error", "no_loss", "no token carries loss")
            return False
        self.lengths.append(lengths[0])
        if note:
            self.truncated += 1
            self.diagnose(sample.line, "warning", "truncated", note)
        return True

    def count_roles(self, sample) -> None:
        for message in (sample.messages or sample.prompt or ()):
            role = message.get("role", "?")
            self.roles[role] = self.roles.get(role, 0) + 1

    def check_duplicate(self, line: int, digest: int) -> None:
        first = self.seen.setdefault(digest, line)
        if first != line:
            self.duplicate(line, first)

    def duplicate(self, line: int, first: int) -> None:
        """The row at `line` has the content first seen at line `first`."""
        self.duplicate_rows += 1
        group = self.duplicates.get(first)
        if group is None and len(self.duplicates) < KEEP_GROUPS:
            group = self.duplicates[first] = []
        if group is not None and len(group) < KEEP_LINES:
            group.append(line)
        self.diagnose(line, "warning", "duplicate", f"the same row as line {first}")

    def check_label(self, line: int, label: str, context: int | None) -> None:
        """Counts the label; `context` is the hash of the input it labels (None: no separate input)."""
        self.labels[label] = self.labels.get(label, 0) + 1
        if context is None:
            return
        first = self.inputs.setdefault(context, (line, label))
        if first[1] == label:
            return
        group = self.conflicts.get(context)
        if group is None:
            self.conflict_count += 1
            if len(self.conflicts) >= KEEP_GROUPS:
                self.diagnose(line, "warning", "conflicting_label",
                              f"the same input as line {first[0]}, labelled {first[1]!r}; this row says {label!r}")
                return
            group = self.conflicts[context] = {"lines": [first[0]], "labels": [first[1]]}
        if len(group["lines"]) < KEEP_LINES:
            group["lines"].append(line)
            group["labels"].append(label)
        self.diagnose(line, "warning", "conflicting_label",
                      f"the same input as line {first[0]}, labelled {first[1]!r}; this row says {label!r}")

    def diagnose(self, line: int, severity: str, code: str, message: str) -> None:
        self.by_code[code] = self.by_code.get(code, 0) + 1
        if len(self.diagnostics) >= KEEP_DIAGNOSTICS:
            return
        diagnostic = {"line": line, "severity": severity, "code": code, "message": message}
        self.diagnostics.append(diagnostic)
        if self.on_diagnostic:
            self.on_diagnostic(diagnostic)

    # --- the answer ---------------------------------------------------------------------------------

    def role_counts(self) -> dict[str, int]:
        counts = dict(self.roles)
        for order, rows in self.role_orders.items():
            for role in order:
                counts[role] = counts.get(role, 0) + rows
        return counts

    def token_lengths(self) -> np.ndarray:
        """Every row's length in tokens (in no particular order: only the statistics are kept)."""
        lengths = np.frombuffer(self.lengths, dtype=np.uint32)
        if not self.chunk_chars:
            return lengths
        chars = np.concatenate(self.chunk_chars)
        return np.concatenate([lengths, -(-chars // CHARS_PER_TOKEN)]).astype(np.uint32)

    def result(self, format: str, size: int, lines: int) -> dict:
        top = sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_LABELS]
        return {
            "format": format, "bytes": size, "lines": lines, "rows": self.rows, "bad_rows": self.bad,
            "over_length": self.over_length, "truncated": self.truncated,
            "kept": self.rows - self.bad - self.over_length,
            "max_length": self.max_length, "sampled": self.sampled,
            "tokens": token_stats(self.token_lengths(), self.tokenizer is not None),
            "roles": dict(sorted(self.role_counts().items())),
            "labels": dict(top), "distinct_labels": len(self.labels),
            "duplicates": {"rows": self.duplicate_rows,
                           "groups": [{"lines": [first] + later} for first, later in self.duplicates.items()]},
            "conflicts": {"inputs": self.conflict_count, "groups": list(self.conflicts.values())},
            "diagnostics": self.diagnostics, "diagnostic_counts": dict(sorted(self.by_code.items())),
        }


OTHER_FIELDS = tuple(f.name for f in dataclasses.fields(Sample) if f.name not in ("line", "messages"))


def sample_digest(sample) -> int:
    """Equal for samples with equal content (whatever the line): a hash of the conversation's key and the
    other fields, or of the key alone for a sample that is only a conversation (as a plain chat is).

    Only this process compares them (Python's own hash: fast, 64-bit, different in every process); at a
    million rows a collision has odds of about 1 in 10^7.
    """
    key = None if sample.messages is None else conversation_key(sample.messages)
    rest = _other_fields(sample)
    return hash(key) if rest == ONLY_A_CONVERSATION and key is not None else hash((key, rest))


def _other_fields(sample) -> tuple:
    return tuple(repr(value) if value.__class__ is list else value
                 for value in map(sample.__getattribute__, OTHER_FIELDS))


ONLY_A_CONVERSATION = _other_fields(Sample(0))


def conversation_key(messages: list[dict]):
    """The turns as formats.Turn tuples when every message is a plain {role, content}, else their repr:
    equal for equal turns, and equal to a plain chat from the reader (formats.plain_chats)."""
    if sum(map(len, messages)) == 2 * len(messages):
        try:
            return tuple(Turn(message["role"], message["content"]) for message in messages)
        except KeyError:
            pass
    return repr(messages)


def characters(chats: PlainChats) -> tuple[np.ndarray, np.ndarray]:
    """(characters of each chat's turns, characters of its last turn), by numpy from the lengths of all the
    contents at once: a Python sum per row costs more than reading it."""
    turns = np.fromiter(map(len, chats.chats), np.intp, len(chats))
    chars = np.fromiter(map(len, chats.contents), np.int64, len(chats.contents))
    ends = np.cumsum(turns)
    return np.add.reduceat(chars, ends - turns), chars[ends - 1]  # a plain chat has turns: no empty stretch


def approx_chars(sample) -> int:
    """Characters of everything the sample trains on (the longer answer of a pair)."""
    if sample.text is not None:
        return len(sample.text)
    chars = 0
    for message in (sample.messages or sample.prompt or ()):
        content = message.get("content")
        chars += len(content) if content.__class__ is str else len(repr(content))
    if sample.messages is None:
        answers = [a for a in (sample.chosen, sample.rejected, getattr(sample, "completion", None)) if a]
        chars += max(map(len, answers), default=0)
    return chars


def label_of(sample) -> tuple[str | None, object]:
    """(label, the input it labels) of a sample; the input is None where a sample has no separate input."""
    desirable = getattr(sample, "desirable", None)
    label = sample.label if sample.label is not None else (
        None if desirable is None else ("desirable" if desirable else "undesirable"))
    if sample.messages:
        last = sample.messages[-1]
        context = sample.messages[:-1]
        if label is None and last.get("role") == "assistant" and isinstance(last.get("content"), str) \
                and len(last["content"]) <= LABEL_CHARS and not last.get("tool_calls"):
            label = last["content"].strip()
        return label, context if last.get("role") == "assistant" else None
    if sample.prompt is not None:
        return label, sample.prompt
    return label, None


def token_stats(values: np.ndarray, exact: bool) -> dict:
    method = "tokenizer" if exact else "approximate"
    note = ("the model's tokenizer through the chat template, as the trainer counts" if exact else
            f"approximate: characters / {CHARS_PER_TOKEN}, no tokenizer given")
    if not values.size:
        return {"method": method, "note": note, "count": 0, "total": 0, "min": None, "median": None,
                "p95": None, "max": None, "mean": None, "histogram": []}
    top = int(values.max())
    width = max(1, math.ceil((top + 1) / HISTOGRAM_BINS))
    counts = np.bincount(values // width, minlength=math.ceil((top + 1) / width))
    return {"method": method, "note": note, "count": int(values.size), "total": int(values.sum()),
            "min": int(values.min()), "median": float(np.median(values)),
            "p95": float(np.percentile(values, 95)), "max": top, "mean": round(float(values.mean()), 2),
            "histogram": [{"start": i * width, "end": (i + 1) * width, "count": int(c)} for i, c in enumerate(counts)]}
