"""Judging a run from the numbers it logs: grad-norm band, early stopping, rising eval loss.

Pure Python on floats the Trainer has already read back, so watching a run costs no device
syncs. Each watcher is fed one logged value at a time and says when something deserves a
warning or a stop; the callback turns those answers into events.
"""

import math


def is_finite(x) -> bool:
    """True for a real number that is neither NaN nor ±inf (None and non-numbers are not finite)."""
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def finite_or_none(x) -> float | None:
    """The value as a float for an event, or None for what JSON cannot carry (NaN, inf, missing)."""
    return float(x) if is_finite(x) else None


class GradNormBand:
    """Warns once when the grad norm stays outside [low, high] for `patience` logged steps in a row.

    One warning per excursion: after warning it stays quiet until the norm comes back inside the
    band (or jumps to the other side of it), so a run that lives outside the band is not flooded
    with the same message.
    """

    def __init__(self, low: float, high: float, patience: int):
        if low > high:
            raise ValueError(f"monitoring.grad_norm_band: low {low} is above high {high}")
        self.low, self.high, self.patience = low, high, max(1, int(patience))
        self.outside = 0
        self.side = None
        self.warned = False

    def update(self, step: int, grad_norm) -> str | None:
        if not is_finite(grad_norm):
            return None  # non-finite values are the NaN watcher's business, not a band excursion
        if self.low <= grad_norm <= self.high:
            self.outside, self.side, self.warned = 0, None, False
            return None
        side = "above" if grad_norm > self.high else "below"
        if side != self.side:  # exploding and vanishing are different problems: each gets its warning
            self.outside, self.side, self.warned = 0, side, False
        self.outside += 1
        if self.outside < self.patience or self.warned:
            return None
        self.warned = True
        return (f"grad norm has been outside [{self.low:g}, {self.high:g}] for {self.outside} logged steps "
                f"in a row (now {grad_norm:.4g}, {side} the band, at step {step})")


class EarlyStopping:
    """Stops after `patience` evaluations without an improvement of at least `min_delta` on `metric`.

    `metric` may be given with or without the Trainer's "eval_" prefix ("loss" == "eval_loss").
    It also remembers the best value and its step, which is what "keep the best checkpoint" needs.
    """

    def __init__(self, patience: int = 3, metric: str = "eval_loss", mode: str = "min", min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"training.early_stopping.mode: expected min or max, got {mode!r}")
        self.patience = max(1, int(patience))
        self.metric = metric if metric.startswith("eval_") else f"eval_{metric}"
        self.mode, self.min_delta = mode, abs(float(min_delta))
        self.best_value: float | None = None
        self.best_step: int | None = None
        self.bad_evals = 0

    def value_of(self, metrics: dict):
        value = metrics.get(self.metric)
        if value is None:
            value = metrics.get(self.metric[len("eval_"):])
        return value

    def update(self, step: int, metrics: dict) -> tuple[bool, str | None]:
        value = self.value_of(metrics)
        if value is None:
            return False, None  # this evaluation did not report the metric; nothing to judge
        if not is_finite(value):
            self.bad_evals += 1
        elif self.best_value is None or self._better(float(value), self.best_value):
            self.best_value, self.best_step, self.bad_evals = float(value), step, 0
            return True, None
        else:
            self.bad_evals += 1
        if self.bad_evals >= self.patience:
            best = "none finite" if self.best_value is None else f"{self.best_value:.4g} at step {self.best_step}"
            return False, (f"{self.metric} has not improved by more than {self.min_delta:g} for "
                           f"{self.bad_evals} evaluations (best {best})")
        return False, None

    def _better(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


class EvalLossTrend:
    """Warns once when eval loss rose at each of the last `patience` evaluations.

    Separate from early stopping: it watches eval loss even when the run stops on another metric
    (or does not stop early at all), because a rising eval loss is the classic overfitting sign.
    """

    def __init__(self, patience: int = 3):
        self.patience = max(1, int(patience))
        self.previous: float | None = None
        self.rises = 0
        self.warned = False

    def update(self, step: int, eval_loss) -> str | None:
        if not is_finite(eval_loss):
            return None
        eval_loss = float(eval_loss)
        rose = self.previous is not None and eval_loss > self.previous
        self.previous = eval_loss
        if not rose:
            self.rises, self.warned = 0, False
            return None
        self.rises += 1
        if self.rises < self.patience or self.warned:
            return None
        self.warned = True
        return (f"eval loss rose at {self.rises} evaluations in a row (now {eval_loss:.4g} at step {step}); "
                f"the model may be overfitting")
