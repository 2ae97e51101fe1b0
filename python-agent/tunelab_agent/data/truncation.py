"""Rows longer than dataset.max_length: refused by default, or cut in one of two ways the person chose.

- `none` (the default): the row is a bad row. Nothing is ever cut silently.
- `answer`: the tail of the last assistant turn is dropped; the prompt (everything before that turn)
  stays whole, so the model still sees the full context it answers. A row whose prompt alone does not
  fit stays a bad row. Plain text keeps its first max_length tokens.
- `left`: the oldest exchanges (a user turn and everything up to the next user turn) are dropped, the
  system prompt kept, until the row fits; the last exchange is never dropped. A row that does not fit
  even so stays a bad row. Plain text keeps its last max_length tokens.

Every row that was cut gets a note, reported like a bad row (a `truncated_row` event) and counted in
the data report.
"""

import dataclasses

MODES = ("none", "answer", "left")


class TooLong(ValueError):
    """The row cannot be fitted; the message is its bad-row reason."""


def fit(sample, encode, prompt_ids, max_length: int, mode: str):
    """(sample, encoded, note): note is None when nothing was cut. Raises TooLong.

    `encode(sample)` gives the sample's items ({input_ids, labels}, two for a preference pair);
    `prompt_ids(messages)` the ids before the next assistant turn, split exactly like `encode`.
    """
    encoded = encode(sample)
    length = longest(encoded)
    if length <= max_length:
        return sample, encoded, None
    over = f"{length} tokens, over max_length {max_length}"
    if mode == "none":
        raise TooLong(over)
    if sample.text is not None:
        keep = (lambda seq: seq[:max_length]) if mode == "answer" else (lambda seq: seq[-max_length:])
        cut = [{"input_ids": keep(e["input_ids"]), "labels": keep(e["labels"])} for e in encoded]
        side = "start" if mode == "answer" else "end"
        return sample, cut, f"cut from {length} to {max_length} tokens, keeping the {side} (dataset.truncation: {mode})"
    if mode == "answer":
        return _cut_answer(sample, encoded, prompt_ids, max_length, length, over)
    return _drop_oldest(sample, encode, max_length, length, over)


def longest(encoded: list[dict]) -> int:
    return max(len(e["input_ids"]) for e in encoded)


def _cut_answer(sample, encoded, prompt_ids, max_length: int, length: int, over: str):
    if sample.messages is not None:
        last = max(i for i, m in enumerate(sample.messages) if m["role"] == "assistant")
        head = len(prompt_ids(sample.messages[:last]))
    else:
        head = len(prompt_ids(sample.prompt))
    if head >= max_length:
        raise TooLong(f"{over}, and the prompt alone is {head} tokens: cutting the answer cannot make it fit")
    cut = [{"input_ids": e["input_ids"][:max_length], "labels": e["labels"][:max_length]} for e in encoded]
    return sample, cut, (f"cut from {length} to {longest(cut)} tokens: the end of the last answer is dropped "
                         "(dataset.truncation: answer)")


def _drop_oldest(sample, encode, max_length: int, length: int, over: str):
    key = "messages" if sample.messages is not None else "prompt"
    messages = getattr(sample, key)
    system = messages[:1] if messages[0]["role"] == "system" else []
    # Where a shorter row may start: at a later user turn. A conversation ends with the assistant and a
    # prompt with a user turn, so even the last start keeps the answer (or the question) being trained.
    starts = [i for i, m in enumerate(messages) if m["role"] == "user" and i > len(system)]
    shorter = lambda start: dataclasses.replace(sample, **{key: system + messages[start:]})  # noqa: E731
    # Fewer turns never render longer, so the fewest drops that fit is found by bisection.
    lo, hi, best = 0, len(starts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = shorter(starts[mid])
        items = encode(candidate)
        if longest(items) <= max_length:
            best, hi = (candidate, items, starts[mid]), mid - 1
        else:
            lo = mid + 1
    if best is None:
        floor = longest(encode(shorter(starts[-1]))) if starts else length
        raise TooLong(f"{over}, and still {floor} tokens with only the last exchange kept")
    candidate, items, start = best
    dropped = start - len(system)
    return candidate, items, (f"dropped the {dropped} oldest turns, from {length} to {longest(items)} tokens "
                              "(dataset.truncation: left)")
