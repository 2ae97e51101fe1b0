"""What a dashboard needs of a run besides its main series (run_history with `details`).

- `extra_series`: the nested figures of each metrics event (loss terms, one learning rate per parameter
  group, GPU memory and utilisation, preference figures), named "<group>.<key>", downsampled like the
  main series. Their keys vary by run (a DPO run has preference figures, a CPU host has no GPU), so they
  cannot be a fixed list.
- `events`: the events a chart marks on its step axis (checkpoints, Save/Eval now results, warnings,
  early stops, resumes), as logged; the newest MAX_EVENTS when a run logged more.
- `config`: the run's config as it was started (run_created), for comparing runs.
"""

import math

from . import lttb

NESTED = ("loss_terms", "lr_groups", "gpu", "preference")
MARKER_KINDS = ("checkpoint", "control_done", "early_stop", "log", "run_state")
MAX_EVENTS = 2000
MAX_EXTRA_SERIES = 64


def extra_series(metrics_events: list[dict], from_step, to_step, max_points, continuous_x) -> dict:
    points: dict[str, list[tuple[int, float, int]]] = {}
    for event in metrics_events:
        data = event["data"]
        step, segment = data.get("step"), data.get("segment", 0)
        if not _is_count(step) or not _is_count(segment):
            continue
        if (from_step is not None and step < from_step) or (to_step is not None and step > to_step):
            continue
        for group in NESTED:
            values = data.get(group)
            if not isinstance(values, dict):
                continue
            for key, value in values.items():
                name = f"{group}.{key}"
                if name not in points and len(points) >= MAX_EXTRA_SERIES:
                    continue  # a run inventing keys must not grow the answer without bound
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    continue
                points.setdefault(name, []).append((step, float(value), segment))
    out = {}
    for name, series in points.items():
        total = len(series)
        if max_points is not None and total > max_points:
            keep = lttb.downsample(continuous_x(series), [p[1] for p in series], max_points)
            series = [series[i] for i in keep]
        out[name] = {"step": [p[0] for p in series], "value": [p[1] for p in series],
                     "segment": [p[2] for p in series], "total": total}
    return out


def marker_events(events: list[dict]) -> list[dict]:
    """The events a chart marks: logs only when they carry a code (a warning a UI reacts to), run
    states only when a resumed segment starts or the run failed."""
    kept = []
    for event in events:
        kind, data = event["kind"], event["data"]
        if kind == "log" and not data.get("code"):
            continue
        if kind == "run_state" and not (data.get("resumed_from") or data.get("state") == "failed"):
            continue
        if kind in MARKER_KINDS:
            kept.append({"seq": event["seq"], "kind": kind, "data": data})
    return kept[-MAX_EVENTS:]


def config_of(events: list[dict]) -> str | None:
    for event in events:
        if event["kind"] == "run_created" and isinstance(event["data"].get("config"), str):
            return event["data"]["config"]
    return None


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
