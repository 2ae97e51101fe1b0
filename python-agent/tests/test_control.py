"""Control requests through control.jsonl, and EventCallback on a real tiny LoRA training run.

The runs use a plain transformers.Trainer on a 1-layer, 32-wide Llama with LoRA: a few steps
take well under a second each on one CPU thread.
"""

import json
import os
import random
from types import SimpleNamespace

import pytest
import torch

from tunelab_agent.rundir import control
from tunelab_agent.training.callbacks import EventCallback, StopFlag
from tunelab_agent.rundir.checkpoints import list_checkpoints, write_checkpoint
from tunelab_agent.rundir.control import ControlReader, send


# ---- the control file


def test_reader_sees_each_appended_request_once_including_a_partial_line(tmp_path):
    reader = ControlReader(str(tmp_path))
    assert reader.poll() == []  # no file yet
    first = send(str(tmp_path), "save")
    second = send(str(tmp_path), "set_logging_steps", 5)
    assert [(r["id"], r["action"], r.get("value")) for r in reader.poll()] == [
        (first, "save", None), (second, "set_logging_steps", 5)]
    assert reader.poll() == []

    # A writer caught mid-line: nothing until the newline lands, then exactly that request.
    path = control.control_path(str(tmp_path))
    with open(path, "ab") as f:
        f.write(b'{"id": "abc", "act')
    assert reader.poll() == []
    with open(path, "ab") as f:
        f.write(b'ion": "eval"}\nnot json\n')
    polled = reader.poll()
    assert polled[0] == {"id": "abc", "action": "eval"}
    assert polled[1]["error"].startswith("control.jsonl line 4:") and polled[1]["action"] is None
    assert reader.poll() == []

    # A new process (a resumed run) does not replay what was meant for the one before it.
    fresh = ControlReader(str(tmp_path))
    assert fresh.poll() == []
    third = send(str(tmp_path), "stop")
    assert [r["id"] for r in fresh.poll()] == [third]
    assert len(ControlReader(str(tmp_path), from_start=True).poll()) == 5


def test_send_rejects_bad_requests(tmp_path):
    with pytest.raises(ValueError, match="action: unknown control action 'pause'"):
        send(str(tmp_path), "pause")
    with pytest.raises(ValueError, match="value: set_logging_steps"):
        send(str(tmp_path), "set_logging_steps", 0)
    with pytest.raises(ValueError, match="takes no value"):
        send(str(tmp_path), "stop", 3)
    assert not os.path.exists(control.control_path(str(tmp_path)))


# ---- a real run


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    from tunelab_agent.models.tiny_model import make_tiny_model

    return make_tiny_model(str(tmp_path_factory.mktemp("tiny") / "model"), hidden=32, layers=1)


class CountingCollator:
    """Pads like the agent's collator and counts tokens and samples on the host."""

    def __init__(self, pad_id):
        self.pad_id, self.tokens_seen, self.samples_seen = pad_id, 0, 0

    def __call__(self, batch):
        width = max(len(item["input_ids"]) for item in batch)
        ids = [item["input_ids"] + [self.pad_id] * (width - len(item["input_ids"])) for item in batch]
        labels = [item["input_ids"] + [-100] * (width - len(item["input_ids"])) for item in batch]
        mask = [[1] * len(item["input_ids"]) + [0] * (width - len(item["input_ids"])) for item in batch]
        self.tokens_seen += sum(len(item["input_ids"]) for item in batch)
        self.samples_seen += len(batch)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


class Script:
    """Plays a user: at the start of step n, calls actions[n](trainer) (a control request, a fault...)."""

    def __init__(self, actions):
        from transformers import TrainerCallback

        self.actions = actions
        self.callback = type("ScriptCallback", (TrainerCallback,), {"on_step_begin": self.on_step_begin})()

    def on_step_begin(self, args, state, control, **kwargs):
        action = self.actions.get(state.global_step + 1)
        if action:
            action()
        return control


def build_run(tmp_path, model_dir, max_steps, logging_steps=2, eval_steps=1000, script=None, training=None,
              save_steps=None):
    """save_steps set: the Trainer saves on that schedule (as recipe.py does), routed to ctx.save_checkpoint."""
    # A plain Trainer on a LoRA tiny model with EventCallback(ctx); returns (trainer, callback, ctx, events).
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    rng = random.Random(0)
    vocab = model.config.vocab_size
    rows = [{"input_ids": [rng.randrange(5, vocab) for _ in range(rng.randint(6, 12))]} for _ in range(64)]
    run_dir = str(tmp_path / "run")
    os.makedirs(run_dir, exist_ok=True)
    events = []

    def save_checkpoint(step, reason):
        record = write_checkpoint(run_dir, step, model.save_pretrained)
        events.append(("checkpoint", {**record, "reason": reason}))
        return record

    config = {"training": {"save_steps": 1000, "early_stopping": {"enabled": False, "patience": 3},
                           **(training or {})},
              "monitoring": {"grad_norm_band": [0.0, 1e9], "grad_norm_patience": 10}}
    ctx = SimpleNamespace(emit=lambda kind, data: events.append((kind, data)), is_writer=True, run_dir=run_dir,
                          collator=CountingCollator(model.config.pad_token_id), trainer=None, config=config,
                          stop=StopFlag(), segment=0, save_checkpoint=save_checkpoint, extra={})
    callback = EventCallback(ctx)
    args = TrainingArguments(
        output_dir=str(tmp_path / "trainer"), per_device_train_batch_size=4, per_device_eval_batch_size=8,
        learning_rate=1e-3, max_steps=max_steps, logging_steps=logging_steps, eval_strategy="steps",
        eval_steps=eval_steps, save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500, report_to=[], disable_tqdm=True, remove_unused_columns=False,
        logging_nan_inf_filter=False, use_cpu=True, dataloader_num_workers=0, seed=0)
    callbacks = ([script.callback] if script else []) + [callback]
    class RoutedTrainer(Trainer):
        def _save_checkpoint(self, model, trial):
            save_checkpoint(self.state.global_step, ctx.extra.get("save_reason", "scheduled"))

    trainer = RoutedTrainer(model=model, args=args, train_dataset=rows, eval_dataset=rows[:8],
                      data_collator=ctx.collator, callbacks=callbacks)
    ctx.trainer = trainer
    return trainer, callback, ctx, events


def of(events, kind):
    return [data for k, data in events if k == kind]


def test_control_requests_take_effect_at_the_next_step_end(tmp_path, tiny_model_dir):
    run_dir = str(tmp_path / "run")
    ids = {}

    def request(action, value=None):
        return lambda: ids.setdefault(action, send(run_dir, action, value))

    script = Script({3: request("save"), 5: request("eval"), 6: request("set_logging_steps", 3),
                     10: request("stop")})
    trainer, callback, ctx, events = build_run(tmp_path, tiny_model_dir, max_steps=30, script=script)
    trainer.train()

    done = {d["action"]: d for d in of(events, "control_done")}
    assert done["save"] == {"id": ids["save"], "action": "save", "step": 3, "checkpoint": "checkpoint-3"}
    assert done["eval"] == {"id": ids["eval"], "action": "eval", "step": 5}
    assert done["set_logging_steps"] == {"id": ids["set_logging_steps"], "action": "set_logging_steps",
                                         "step": 6, "value": 3}
    assert done["stop"] == {"id": ids["stop"], "action": "stop", "step": 10, "checkpoint": "checkpoint-10"}

    # eval_steps is 1000: the only evaluation is the requested one, reported before its control_done.
    assert [e["step"] for e in of(events, "eval")] == [5]
    order = [(k, d.get("action")) for k, d in events]
    assert order.index(("eval", None)) < order.index(("control_done", "eval"))
    # Logged every 2 steps up to 6, then every 3; the stop at step 10 ended the run.
    assert [m["step"] for m in of(events, "metrics")] == [2, 4, 6, 9]
    assert trainer.state.global_step == 10 and ctx.stop.requested
    assert [(c["step"], c["reason"]) for c in of(events, "checkpoint")] == [(3, "requested"), (10, "stop")]
    assert [c["step"] for c in list_checkpoints(run_dir)] == [3, 10]

    metrics = of(events, "metrics")[0]
    assert set(metrics) == {"step", "max_steps", "epoch", "segment", "loss", "learning_rate", "grad_norm",
                            "tokens_per_sec", "samples_per_sec", "eta_s", "loss_terms", "lr_groups", "gpu", "host_memory"}
    memory = metrics["host_memory"]
    assert 0 < memory["available_mb"] <= memory["total_mb"] and memory["process_rss_mb"] > 0
    assert metrics["max_steps"] == 30 and metrics["segment"] == 0 and metrics["gpu"] is None
    assert metrics["loss_terms"] == {"ce_loss": metrics["loss"]} and metrics["loss"] > 0
    assert metrics["lr_groups"] == {"default": metrics["learning_rate"]}
    assert metrics["tokens_per_sec"] > 0 and metrics["samples_per_sec"] > 0 and metrics["eta_s"] > 0
    assert callback.failure is None


def test_a_non_finite_loss_restores_the_last_good_weights_saves_them_and_stops(tmp_path, tiny_model_dir):
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file

    good = {}
    trainer_box = {}

    def remember_step_4_weights():
        # Called at the start of step 5, i.e. with the weights of step 4 (the last finite logging step).
        good.update({n: p.detach().clone() for n, p in trainer_box["t"].model.named_parameters() if p.requires_grad})

    def poison():
        def make_nan(module, inputs, output):
            output.loss = output.loss * float("nan")
            return output
        trainer_box["t"].model.register_forward_hook(make_nan)

    script = Script({5: lambda: (remember_step_4_weights(), poison())})
    trainer, callback, ctx, events = build_run(tmp_path, tiny_model_dir, max_steps=20, script=script)
    trainer_box["t"] = trainer
    trainer.train()

    assert trainer.state.global_step == 6  # NaN at step 5, seen at the logging step 6, stopped there
    warnings = [d for d in of(events, "log") if d.get("code") == "non_finite_loss"]
    assert len(warnings) == 1 and warnings[0]["step"] == 6 and "step 4" in warnings[0]["message"]
    assert callback.failure and "diverged" in callback.failure
    assert ctx.extra == {"failed": True, "error": callback.failure}
    assert of(events, "metrics")[-1]["loss"] is None  # NaN is reported as null, never as a JSON NaN

    params = {n: p for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert good and all(torch.equal(params[n], good[n]) for n in good)
    assert all(torch.isfinite(p).all() for p in params.values())

    assert [(c["step"], c["reason"]) for c in of(events, "checkpoint")] == [(4, "last_good")]
    saved = load_file(os.path.join(ctx.run_dir, "checkpoints", "checkpoint-4", "adapter_model.safetensors"))
    expected = get_peft_model_state_dict(trainer.model)
    assert saved.keys() == expected.keys()
    assert all(torch.equal(saved[k], expected[k]) for k in saved)


def test_early_stopping_in_a_real_run_saves_and_reports_the_best(tmp_path, tiny_model_dir):
    # A huge min_delta means no evaluation after the first counts as an improvement.
    trainer, callback, ctx, events = build_run(
        tmp_path, tiny_model_dir, max_steps=40, logging_steps=5, eval_steps=2,
        training={"early_stopping": {"enabled": True, "patience": 2, "metric": "eval_loss",
                                     "mode": "min", "min_delta": 100.0}})
    trainer.train()

    assert [e["step"] for e in of(events, "eval")] == [2, 4, 6]
    assert [e["best"] for e in of(events, "eval")] == [True, False, False]
    stop = of(events, "early_stop")
    assert len(stop) == 1 and stop[0]["step"] == 6 and stop[0]["best_step"] == 2
    assert stop[0]["metric"] == "eval_loss" and stop[0]["best_value"] == of(events, "eval")[0]["eval_loss"]
    assert trainer.state.global_step == 6 and ctx.extra == {"early_stopped": callback.early_stop_reason}
    assert [(c["step"], c["reason"]) for c in of(events, "checkpoint")] == [(6, "early_stop")]
    assert json.dumps(events)  # every event is plain JSON


def test_requests_fold_into_the_trainers_own_saves_without_writing_twice(tmp_path, tiny_model_dir):
    run_dir = str(tmp_path / "run")
    ids = {}
    script = Script({4: lambda: ids.setdefault("save", send(run_dir, "save")),
                     5: lambda: ids.setdefault("stop", send(run_dir, "stop"))})
    trainer, callback, ctx, events = build_run(tmp_path, tiny_model_dir, max_steps=12, script=script, save_steps=2)
    trainer.train()

    # Step 2 and 4 are the Trainer's schedule; the save request at 4 rides on it; the stop at 5 adds one.
    assert [(c["step"], c["reason"]) for c in of(events, "checkpoint")] == [(2, "scheduled"), (4, "requested"), (5, "stop")]
    done = {d["action"]: d for d in of(events, "control_done")}
    assert done["save"] == {"id": ids["save"], "action": "save", "step": 4, "checkpoint": "checkpoint-4"}
    assert done["stop"]["step"] == 5 and done["stop"]["checkpoint"] == "checkpoint-5"
    assert ctx.extra == {"stopped": True} and trainer.state.global_step == 5
