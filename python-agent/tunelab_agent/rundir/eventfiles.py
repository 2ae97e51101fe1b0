"""Where a run's events live and what one line of events.jsonl holds.

Shared by the writer (eventlog), the index beside the logs (index) and its readers (history), so all
three agree on what counts as an event and what counts as a damaged line.
"""

import json
import os

EVENTS_FILE = "events.jsonl"


def runs_dir(root: str) -> str:
    return os.path.join(root, "runs")


def events_path(root: str, run_id: str) -> str:
    return os.path.join(runs_dir(root), run_id, EVENTS_FILE)


def list_runs(root: str) -> list[str]:
    """Every run folder's name, sorted (a run without run.json included: its events are events too)."""
    try:
        return sorted(os.listdir(runs_dir(root)))
    except FileNotFoundError:
        return []


def parse(line: bytes) -> dict | None:
    """The event on one line, or None when the line is not a well-formed event."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if (isinstance(event, dict) and isinstance(event.get("seq"), int) and isinstance(event.get("kind"), str)
            and isinstance(event.get("data"), dict)):
        return event
    return None


DAMAGED = "not a complete event (a torn or damaged write); skipped"


def damage_note(problems: list[tuple[int, str]]) -> str | None:
    """One sentence for a run whose log has damaged lines, or None."""
    if not problems:
        return None
    first, reason = problems[0]
    return damage_sentence(len(problems), first, reason)


def damage_sentence(count: int, first: int, reason: str = DAMAGED) -> str:
    if count == 1:
        return f"{EVENTS_FILE} line {first} is {reason}"
    return f"{count} lines of {EVENTS_FILE} are damaged and were skipped (first: line {first}, {reason})"
