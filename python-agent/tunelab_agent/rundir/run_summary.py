"""A run's summary as the Runs view lists it, folded one event at a time.

One fold serves both the full scan of a log (serving/runs.summary) and the index, which applies it to
each event as it is appended, so the two can never disagree about what a run's state is.
"""

STATES = ("starting", "running", "completed", "failed", "stopped")
# The fields the events decide; name, created and damage come from run.json and the log's lines.
FROM_EVENTS = ("state", "error", "step", "max_steps", "loss", "checkpoints")


def empty() -> dict:
    # state None: no run_state event yet (listed as starting; the reaper leaves such a run alone).
    return {"state": None, "error": None, "step": 0, "max_steps": None, "loss": None, "checkpoints": 0}


def fold(summary: dict, kind: str, data: dict) -> None:
    """Update `summary` (the FROM_EVENTS fields) with one event."""
    if kind == "run_state" and data.get("state") in STATES:
        summary["state"] = data["state"]
        summary["error"] = data.get("error") if isinstance(data.get("error"), str) else None
        summary["max_steps"] = _count(data.get("max_steps"), summary["max_steps"])
    elif kind == "metrics":
        summary["step"] = _count(data.get("step"), summary["step"])
        summary["max_steps"] = _count(data.get("max_steps"), summary["max_steps"])
        loss = data.get("loss")
        summary["loss"] = float(loss) if isinstance(loss, (int, float)) and not isinstance(loss, bool) else None
    elif kind == "checkpoint":
        summary["checkpoints"] += 1


def _count(value, default):
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
