"""One run's metrics as chart series (run_history): read through the index, at the cost of that run only.

A point is (step, value, segment). A resumed run logs steps again in its next segment, so points stay in
the order they were logged and carry their segment, and a chart can draw the segments side by side. For
downsampling, x runs on across segments (a segment that starts again at an earlier step is shifted to
continue after the one before), so LTTB sees one curve and never a step backwards.
"""

import math

from . import eventlog, history, index, lttb, run_details
from .replay import Stale, read_lines

# series -> (event kind, data key)
SERIES = {"loss": ("metrics", "loss"), "eval_loss": ("eval", "eval_loss"), "learning_rate": ("metrics", "learning_rate"),
          "grad_norm": ("metrics", "grad_norm"), "tokens_per_sec": ("metrics", "tokens_per_sec")}


def run_history(root: str, run_id: str, series: list[str] | None = None, from_step: int | None = None,
                to_step: int | None = None, max_points: int | None = None, details: bool = False) -> dict:
    """{run_id, head, series: {name: {step, value, segment, total}}}; `head`: the history holds every
    event of the run up to that seq. With `details`, also extra_series, events and config (run_details)."""
    names = list(series or SERIES)
    kinds = {SERIES[name][0] for name in names}
    if details:
        kinds |= {"metrics", "run_created", *run_details.MARKER_KINDS}
    kinds = tuple(sorted(kinds))
    head, events = _events(root, run_id, kinds, from_step, to_step)
    out = {}
    for name in names:
        kind, key = SERIES[name]
        points = [p for p in (_point(e, key) for e in events if e["kind"] == kind) if p is not None]
        points = [p for p in points if (from_step is None or p[0] >= from_step) and (to_step is None or p[0] <= to_step)]
        total = len(points)
        if max_points is not None and total > max_points:
            keep = lttb.downsample(_continuous_x(points), [p[1] for p in points], max_points)
            points = [points[i] for i in keep]
        out[name] = {"step": [p[0] for p in points], "value": [p[1] for p in points],
                     "segment": [p[2] for p in points], "total": total}
    result = {"run_id": run_id, "head": head, "series": out}
    if details:
        result["extra_series"] = run_details.extra_series([e for e in events if e["kind"] == "metrics"],
                                                          from_step, to_step, max_points, _continuous_x)
        result["events"] = run_details.marker_events(events)
        result["config"] = run_details.config_of(events)
    return result


def _events(root: str, run_id: str, kinds: tuple[str, ...], from_step, to_step) -> tuple[int, list[dict]]:
    try:
        head, rows = history.at_head(root, lambda conn, head: (
            head, [(seq, run_id, offset, length) for seq, offset, length in
                   index.run_events(conn, run_id, kinds, head, from_step, to_step)]))
        return head, [eventlog._parse(line) for line in read_lines(root, rows)]
    except (history.Unavailable, Stale):
        # The run's own log, read whole: the same cost order (one run), only without the index's help.
        with eventlog.locked(root, exclusive=False):
            head = eventlog.read_head(root)
            events = eventlog.read_run_events(root, run_id)
        return head, [e for e in events if e["kind"] in kinds and e["seq"] <= head]


def _point(event: dict, key: str) -> tuple[int, float, int] | None:
    data = event["data"]
    step, value, segment = data.get("step"), data.get(key), data.get("segment", 0)
    if not _is_count(step) or not _is_count(segment):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # a missing or non-finite value (a blown-up step) has no place on a chart
    return step, float(value), segment


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _continuous_x(points: list[tuple[int, float, int]]) -> list[float]:
    xs, shift, last_x, segment = [], 0, None, None
    for step, _, seg in points:
        if seg != segment and last_x is not None and step + shift <= last_x:
            shift = last_x + 1 - step
        segment = seg
        last_x = step + shift
        xs.append(float(last_x))
    return xs
