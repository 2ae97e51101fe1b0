"""The bridge from the Trainer to the event log: every metric, eval and checkpoint becomes an event.

Events are appended to disk here, in the training process; the server only ever sends what it
reads back from disk. Nothing here touches tensors, so logging adds no device syncs beyond the
loss the Trainer already reads for its own log.
"""

import signal
import time

from transformers import TrainerCallback

from . import eventlog
from .checkpoints import write_checkpoint


class StopFlag:
    """Set by SIGTERM (stop_run); checked by the callback between steps."""

    def __init__(self):
        self.requested = False

    def install(self) -> "StopFlag":
        signal.signal(signal.SIGTERM, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        self.requested = True


class EventCallback(TrainerCallback):
    def __init__(self, root: str, run_id: str, run_dir: str, collator, save_steps: int, stop: StopFlag):
        self.root, self.run_id, self.run_dir = root, run_id, run_dir
        self.collator = collator
        self.save_steps = save_steps
        self.stop = stop
        self.started = None
        self.last_saved = -1
        # The collator also sees eval batches; their tokens and time must not count as training throughput.
        self.eval_tokens = 0
        self.eval_seconds = 0.0
        self.mark = (0.0, 0)

    def emit(self, kind: str, data: dict) -> None:
        eventlog.append(self.root, self.run_id, kind, data)

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        self.emit("run_state", {"state": "running", "max_steps": state.max_steps})
        if self.stop.requested:
            control.should_training_stop = True

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.save_steps == 0 or state.global_step >= state.max_steps:
            self.save(model, state.global_step)
        if self.stop.requested:
            control.should_training_stop = True
        self.mark = (time.monotonic(), self.collator.tokens_seen)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = max(state.global_step, 1)
        self.emit("metrics", {
            "step": state.global_step,
            "max_steps": state.max_steps,
            "epoch": float(state.epoch or 0.0),
            "loss": _number(logs.get("loss")),
            "learning_rate": _number(logs.get("learning_rate")),
            "grad_norm": _number(logs.get("grad_norm")),
            "tokens_per_sec": (self.collator.tokens_seen - self.eval_tokens) / max(elapsed - self.eval_seconds, 1e-9),
            "eta_s": (state.max_steps - state.global_step) * elapsed / done,
        })

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        mark_time, mark_tokens = self.mark
        if mark_time:
            self.eval_seconds += time.monotonic() - mark_time
            self.eval_tokens += self.collator.tokens_seen - mark_tokens
            self.mark = (time.monotonic(), self.collator.tokens_seen)
        self.emit("eval", {"step": state.global_step, "eval_loss": _number((metrics or {}).get("eval_loss"))})

    def save(self, model, step: int) -> None:
        if step == self.last_saved or model is None:
            return
        self.last_saved = step
        record = write_checkpoint(self.run_dir, step, model.save_pretrained)
        self.emit("checkpoint", record)


def _number(value):
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None
