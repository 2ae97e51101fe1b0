"""The bridge from the Trainer to the run's events, and the run's steering wheel.

At each logging step it emits a `metrics` event (loss and its terms, lr per group, grad norm,
throughput, GPU memory, ETA); after each evaluation an `eval` event; it raises warnings, stops
early, saves checkpoints on schedule, and applies control requests (stop, save, eval, logging
interval) at the end of the step after they arrive.

No device syncs are added to the hot path: everything it reads per step is host-side (the
collator's counters, the clock, one stat() of the control file). The only device values it
reads are the ones the Trainer has already pulled to the host for its own log. The last good
LoRA weights are kept by a device-to-device copy at every finite logging step, so a NaN can be
undone without ever reading a tensor back.
"""

import signal
import time

from transformers import TrainerCallback

from ..gpu_stats import gpu_memory
from ..hostinfo import host_memory
from ..rundir.control import ControlReader
from .monitor import EarlyStopping, EvalLossTrend, GradNormBand, finite_or_none, is_finite
from .preference import figures


class StopFlag:
    """Set by SIGTERM (stop_run) or a stop request; checked by the callback between steps."""

    def __init__(self):
        self.requested = False

    def install(self) -> "StopFlag":
        signal.signal(signal.SIGTERM, self._on_signal)
        return self

    def _on_signal(self, signum, frame):
        self.requested = True


# Why a checkpoint was written; when several apply at one step the first one listed wins.
SAVE_REASONS = ("stop", "requested", "final", "scheduled")


class EventCallback(TrainerCallback):
    """See the module docstring. `ctx` is built by recipe.py (emit, is_writer, run_dir, collator,
    trainer, config, stop, segment, save_checkpoint, and optionally a ControlReader as `control`).

    Who writes checkpoints: with save_strategy "steps" the Trainer saves on its schedule (recipe.py
    routes Trainer._save_checkpoint to ctx.save_checkpoint) and this callback only adds the saves
    for stop, save-now, early stop and last-good, folding a request into the Trainer's own save when
    both fall on one step. With save_strategy "no" the callback also keeps the save_steps schedule.

    After training, `failure` holds the reason the run must end as failed (non-finite loss) and
    `early_stop_reason` why it stopped early; both are None otherwise. The same facts go into
    `ctx.extra` when ctx has one: failed/error, stopped, early_stopped, and save_reason (why the
    Trainer's next save happens, for its checkpoint record).
    """

    def __init__(self, ctx):
        self.ctx = ctx
        training = ctx.config["training"]
        monitoring = ctx.config.get("monitoring") or {}
        early = training.get("early_stopping") or {}
        self.save_steps = training.get("save_steps") or 0
        self.early_enabled = bool(early.get("enabled"))
        self.early = EarlyStopping(early.get("patience", 3), early.get("metric", "eval_loss"),
                                   early.get("mode", "min"), early.get("min_delta", 0.0))
        self.trend = EvalLossTrend(early.get("patience", 3))
        low, high = monitoring.get("grad_norm_band", [2, 5])
        self.band = GradNormBand(low, high, monitoring.get("grad_norm_patience", 10))
        self.reader = getattr(ctx, "control", None)
        if self.reader is None and ctx.is_writer:
            self.reader = ControlReader(ctx.run_dir)
        self.failure = None
        self.early_stop_reason = None
        # Checkpointing: a save due at a step that also evaluates waits for the eval, so the
        # checkpoint can be judged (best or not) by the eval that ran on the same weights.
        self.last_saved = -1
        self.last_record = None
        self.pending_save = None  # (reason, [(request id, action)])
        self.answer_on_save: list[tuple[str, str]] = []  # requests folded into the Trainer's own save
        self.trainer_saves = False
        self.pending_eval_ids: list[str] = []
        # Last good LoRA weights (device copies) and the step they belong to.
        self.trainable = []
        self.snapshot = None
        self.good_step = None
        # Throughput: a window from one logging step to the next, minus the time, tokens and
        # samples of evaluations and checkpoint saves inside it.
        self.started = None
        self.start_step = 0
        self.window = (0.0, 0, 0)
        self.mark = (0.0, 0, 0)
        self.paused = [0.0, 0, 0]
        self.distributed, self.cpu_group = False, None

    # ---- events

    def emit(self, kind: str, data: dict) -> None:
        if self.ctx.is_writer:
            self.ctx.emit(kind, data)

    def warn(self, code: str, message: str, step: int) -> None:
        self.emit("log", {"level": "warning", "code": code, "message": message, "step": step})

    # ---- Trainer hooks

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.started = time.monotonic()
        self.start_step = state.global_step
        self.window = self.mark = self._counters()
        self.trainable = [p for p in model.parameters() if p.requires_grad] if model is not None else []
        self.trainer_saves = args.save_strategy != "no"
        self._take_snapshot(state.global_step)
        self.distributed, self.cpu_group = _control_group()
        # recipe.py may add to this event (e.g. resumed_from) through ctx.extra["run_state"].
        extra = (getattr(self.ctx, "extra", None) or {}).get("run_state") or {}
        self.emit("run_state", {**extra, "state": "running", "max_steps": state.max_steps,
                                "segment": getattr(self.ctx, "segment", 0)})
        if self.ctx.stop.requested:
            control.should_training_stop = True

    def on_step_end(self, args, state, control, **kwargs):
        step = state.global_step
        saves: list[tuple[str, str]] = []  # (request id, action) answered once the save is done
        reasons = set()
        for request in self._poll_control():
            self._apply(request, step, state, control, saves, reasons)
        if self.ctx.stop.requested:
            control.should_training_stop = True
            self._note("stopped", True)
            reasons.add("stop")
        if not self.trainer_saves:
            if step >= state.max_steps:
                reasons.add("final")
            if self.save_steps and step % self.save_steps == 0:
                reasons.add("scheduled")
        reason = next((r for r in SAVE_REASONS if r in reasons), None)
        if control.should_save:
            # The Trainer saves this step anyway (after its eval): answer the requests in on_save.
            if not self._weights_finite():
                self._non_finite(f"LoRA weights are not finite at step {step}", step, control)
            else:
                self.answer_on_save += saves
                if reason:
                    self._note("save_reason", reason)
        elif reason:
            if control.should_evaluate:
                self.pending_save = (reason, saves)
            else:
                self._save(step, reason, saves, control)
        self.mark = self._counters()

    def on_save(self, args, state, control, **kwargs):
        # Called right after the Trainer's own save (recipe.py writes it through ctx.save_checkpoint).
        self._pause(time.monotonic() - self.mark[0], 0, 0)  # the save is not training time
        self.mark = self._counters()
        self.last_saved = state.global_step
        for request_id, action in self.answer_on_save:
            self.emit("control_done", {"id": request_id, "action": action, "step": state.global_step,
                                       "checkpoint": f"checkpoint-{state.global_step}"})
        self.answer_on_save = []
        self._note("save_reason", None)

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        logs = logs or {}
        if "loss" not in logs:
            return  # the end-of-training summary (train_loss, train_runtime...) is not a step
        step = state.global_step
        now, tokens, samples = self._counters()
        start, start_tokens, start_samples = self.window
        seconds = max(now - start - self.paused[0], 1e-9)
        trainer = self.ctx.trainer
        loss, grad_norm, lr = logs.get("loss"), logs.get("grad_norm"), logs.get("learning_rate")
        pop = getattr(trainer, "pop_loss_terms", None)
        terms = pop() if pop else {"ce_loss": loss}
        per_group = getattr(trainer, "lr_per_group", None)
        done = max(step - self.start_step, 1)
        preference = figures(logs)  # DPO/KTO: TRL's rewards, margin, accuracy (None for SFT)
        self.emit("metrics", {
            "step": step,
            "max_steps": state.max_steps,
            "epoch": float(state.epoch or 0.0),
            "segment": getattr(self.ctx, "segment", 0),
            "loss": finite_or_none(loss),
            "learning_rate": finite_or_none(lr),
            "grad_norm": finite_or_none(grad_norm),
            "tokens_per_sec": None if tokens is None else (tokens - start_tokens - self.paused[1]) / seconds,
            "samples_per_sec": None if samples is None else (samples - start_samples - self.paused[2]) / seconds,
            "eta_s": max(state.max_steps - step, 0) * (now - self.started) / done,
            "loss_terms": {name: finite_or_none(value) for name, value in terms.items()},
            "lr_groups": {name: finite_or_none(value) for name, value in (per_group() if per_group else {"default": lr}).items()},
            "gpu": gpu_memory(),
            "host_memory": host_memory(),
            **({"preference": preference} if preference else {}),
        })
        watch_disk = getattr(self.ctx, "watch_disk", None)
        if watch_disk is not None:
            watch_disk(step)
        self.window, self.paused = (now, tokens, samples), [0.0, 0, 0]

        skipped = getattr(getattr(trainer, "accelerator", None), "optimizer_step_was_skipped", False)
        if not is_finite(loss) or (grad_norm is not None and not is_finite(grad_norm) and not skipped):
            # fp16 loss scaling skips steps with inf gradients on purpose; only a real blow-up stops the run.
            self._non_finite(f"loss {loss}, grad norm {grad_norm} at step {step}", step, control)
        elif grad_norm is None or is_finite(grad_norm):
            self._take_snapshot(step)
            warning = self.band.update(step, grad_norm) if grad_norm is not None else None
            if warning:
                self.warn("grad_norm_band", warning, step)
        self.mark = self._counters()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        # Eval batches pass through the same collator; their time and tokens are not training.
        now, tokens, samples = self._counters()
        self._pause(now - self.mark[0], _minus(tokens, self.mark[1]), _minus(samples, self.mark[2]))
        step = state.global_step
        metrics = metrics or {}
        eval_loss = metrics.get("eval_loss")
        improved, stop_reason = self.early.update(step, metrics)
        self.emit("eval", {
            "step": step,
            "segment": getattr(self.ctx, "segment", 0),
            "eval_loss": finite_or_none(eval_loss),
            "metrics": {k: finite_or_none(v) for k, v in metrics.items()
                        if k.startswith("eval_") and k != "eval_loss" and isinstance(v, (int, float))},
            "best": improved,
        })
        for request_id in self.pending_eval_ids:
            self.emit("control_done", {"id": request_id, "action": "eval", "step": step})
        self.pending_eval_ids = []
        warning = self.trend.update(step, eval_loss)
        if warning:
            self.warn("eval_loss_rising", warning, step)
        if self.early_enabled and stop_reason and state.global_step < state.max_steps:
            self.early_stop_reason = stop_reason
            self._note("early_stopped", stop_reason)
            control.should_training_stop = True
            self.emit("early_stop", {"step": step, "reason": stop_reason, "metric": self.early.metric,
                                     "best_value": self.early.best_value, "best_step": self.early.best_step})
            if control.should_save:
                self._note("save_reason", "early_stop")
            elif self.pending_save is None:
                self.pending_save = ("early_stop", [])
        if self.pending_save is not None:
            reason, saves = self.pending_save
            self.pending_save = None
            self._save(step, reason, saves, control)
        self.mark = self._counters()

    # ---- control requests

    def _poll_control(self) -> list[dict]:
        requests = self.reader.poll() if self.reader is not None else []
        if not self.distributed:
            return requests
        # Every rank must act on the same requests at the same step, or DDP deadlocks (one rank
        # evaluating while another trains): rank 0 reads, and its view is broadcast on a CPU group.
        import torch.distributed as dist

        box = [(requests, self.ctx.stop.requested)]
        dist.broadcast_object_list(box, src=0, group=self.cpu_group)
        requests, self.ctx.stop.requested = box[0]  # rank 0's stop flag rules, for the same reason
        return requests

    def _apply(self, request, step, state, control, saves, reasons) -> None:
        request_id, action = request.get("id"), request.get("action")
        if request.get("error"):
            self.warn("bad_control_request", request["error"], step)
        elif action == "set_logging_steps":
            state.logging_steps = request["value"]
            self.emit("control_done", {"id": request_id, "action": action, "step": step, "value": request["value"]})
        elif action == "eval":
            if getattr(self.ctx.trainer, "eval_dataset", None) is None:
                self.emit("control_done", {"id": request_id, "action": action, "step": step,
                                           "error": "this run has no eval split"})
            else:
                control.should_evaluate = True
                self.pending_eval_ids.append(request_id)
        elif action == "save":
            reasons.add("requested")
            saves.append((request_id, action))
        elif action == "stop":
            self.ctx.stop.requested = True
            saves.append((request_id, action))

    # ---- checkpoints and the last good weights

    def _save(self, step: int, reason: str, answers, control) -> None:
        if step != self.last_saved:
            if not self._weights_finite():
                self._non_finite(f"LoRA weights are not finite at step {step}", step, control)
                return
            began = time.monotonic()
            self.last_record = self.ctx.save_checkpoint(step, reason)
            self.last_saved = step
            self._pause(time.monotonic() - began, 0, 0)
        for request_id, action in answers:
            done = {"id": request_id, "action": action, "step": step}
            if self.last_record:
                done["checkpoint"] = self.last_record.get("name")
            self.emit("control_done", done)

    def _take_snapshot(self, step: int) -> None:
        if not self.trainable:
            return
        import torch

        with torch.no_grad():
            if self.snapshot is None:
                self.snapshot = [p.detach().clone() for p in self.trainable]
            else:
                for copy, p in zip(self.snapshot, self.trainable):
                    copy.copy_(p.detach(), non_blocking=True)
        self.good_step = step

    def _weights_finite(self) -> bool:
        if not self.trainable:
            return True
        import torch

        # One sync, only when about to save, which copies the weights to the host anyway.
        return bool(torch.stack([torch.isfinite(p.detach()).all() for p in self.trainable]).all())

    def _non_finite(self, what: str, step: int, control) -> None:
        """Undo the blow-up: restore the last good weights, save them, stop; recipe.py ends the run as failed."""
        import torch

        if self.snapshot is not None:
            with torch.no_grad():
                for p, copy in zip(self.trainable, self.snapshot):
                    p.copy_(copy)
        self.failure = (f"training diverged: {what}; restored the LoRA weights of step {self.good_step} "
                        f"and saved them as the last good checkpoint")
        self._note("failed", True)
        self._note("error", self.failure)
        self.warn("non_finite_loss", self.failure, step)
        control.should_training_stop = True
        control.should_evaluate = False
        control.should_save = False
        # Requests that were waiting on this step's eval will not be carried out: say so.
        unanswered = ([(i, "eval") for i in self.pending_eval_ids] + self.answer_on_save
                      + (self.pending_save[1] if self.pending_save else []))
        for request_id, action in unanswered:
            self.emit("control_done", {"id": request_id, "action": action, "step": step,
                                       "error": "not done: the run stopped on a non-finite loss"})
        self.pending_save, self.pending_eval_ids, self.answer_on_save = None, [], []
        self._note("save_reason", None)
        if self.good_step is not None and self.good_step != self.last_saved:
            self.last_record = self.ctx.save_checkpoint(self.good_step, "last_good")
            self.last_saved = self.good_step

    def _note(self, key: str, value) -> None:
        """Tell recipe.py (through ctx.extra, when it has one) what happened; None clears the key."""
        extra = getattr(self.ctx, "extra", None)
        if extra is None:
            return
        if value is None:
            extra.pop(key, None)
        else:
            extra[key] = value

    # ---- throughput bookkeeping

    def _counters(self) -> tuple:
        collator = self.ctx.collator
        return (time.monotonic(), getattr(collator, "tokens_seen", None), getattr(collator, "samples_seen", None))

    def _pause(self, seconds, tokens, samples) -> None:
        self.paused[0] += seconds
        self.paused[1] += tokens or 0
        self.paused[2] += samples or 0


def _control_group():
    """(distributed, group): the process group that carries control requests (None = the default one)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return False, None
    if dist.get_backend() == "gloo":
        return True, None
    # A CPU group on every rank (new_group is collective): broadcasting requests never touches the GPU.
    return True, dist.new_group(backend="gloo")


def _minus(a, b):
    return None if a is None or b is None else a - b

