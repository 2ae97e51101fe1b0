"""The training process of one run, as a recipe: setup, train, save, clean up.

Started detached by the server as `python -m tunelab_agent run RUN_DIR --root ROOT`, or once per GPU
through torchrun. Everything it has to say goes into the event log (rank 0 only); its stdout/stderr
go to train.log.
"""

import json
import os
import random
import traceback
from dataclasses import dataclass, field

from .. import diskspace
from ..data.collate import PackingCollator, PaddingCollator
from ..data.dataset import DatasetError, load_split
from ..data.packing import pack
from ..models import oom
from ..rundir import eventlog
from ..rundir.checkpoints import checkpoint_bytes, prune, remove_temporary, write_checkpoint
from . import trackers
from .callbacks import EventCallback, StopFlag
from .monitor import finite_or_none
from .run_config import load_run_config


class SetupError(ValueError):
    """A problem with the run's setup that the person can fix (config key named in the message)."""


def run(run_dir: str, root: str) -> int:
    recipe = Recipe(os.path.abspath(run_dir), root)
    stop = StopFlag().install()
    try:
        recipe.setup(stop)
        outcome = recipe.train()
        recipe.cleanup(outcome)
        return 0
    except (DatasetError, SetupError, diskspace.DiskFullError) as exc:
        return recipe.fail(str(exc))
    except Exception as exc:  # any crash must still end the run visibly, with the reason
        traceback.print_exc()
        if oom.is_cuda_oom(exc):
            return recipe.fail(recipe.oom_cause(exc))
        if diskspace.is_disk_full(exc, run_dir):
            return recipe.fail(f"disk full: {type(exc).__name__}: {exc} ({diskspace.where_free(run_dir)})")
        return recipe.fail(f"{type(exc).__name__}: {exc}")


@dataclass
class Context:
    """What the EventCallback needs from the recipe (see callbacks.py)."""

    emit: object
    is_writer: bool
    run_dir: str
    collator: object
    config: dict
    stop: StopFlag
    segment: int
    save_checkpoint: object
    trainer: object = None
    watch_disk: object = None
    emit_many: object = None
    extra: dict = field(default_factory=dict)


class Recipe:
    def __init__(self, run_dir: str, root: str):
        self.run_dir, self.root = run_dir, root
        self.run_id = os.path.basename(run_dir)
        self.rank = int(os.environ.get("RANK", "0"))
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.is_writer = self.rank == 0
        self.trainer = None

    # --- events (rank 0 writes; the other ranks stay silent) ---------------------------------

    def emit(self, kind: str, data: dict) -> None:
        if self.is_writer:
            eventlog.append(self.root, self.run_id, kind, data)

    def emit_many(self, items: list) -> None:
        if self.is_writer:
            eventlog.append_many(self.root, self.run_id, items)

    def log(self, message: str, level: str = "info", code: str | None = None) -> None:
        self.emit("log", {"level": level, "message": message, **({"code": code} if code else {})})

    def fail(self, message: str) -> int:
        """End the run as failed with `message`; on a full disk this goes through the disk reserve."""
        if self.is_writer:
            eventlog.append_many(self.root, self.run_id, [
                ("log", {"level": "error", "message": message}),
                ("run_state", {"state": "failed", "error": message, "segment": getattr(self, "segment", 0)})],
                critical=True)
        return 1

    def oom_cause(self, exc: BaseException) -> str:
        step = self.trainer.state.global_step if self.trainer is not None else 0
        return oom.training_cause(exc, step, self.meta["resolved"]["model"], self.config, self.world)

    # --- setup --------------------------------------------------------------------------------

    def setup(self, stop: StopFlag) -> None:
        with open(os.path.join(self.run_dir, "run.json")) as f:
            self.meta = json.load(f)
        with open(os.path.join(self.run_dir, "config.yaml")) as f:
            self.config = load_run_config(f.read(), os.path.basename(self.meta.get("config_path") or "config.yaml"))
        self.segment = self.meta.get("segment", 0)
        if self.is_writer:
            remove_temporary(self.run_dir)  # saves an earlier process of this run never finished
        resume = self.meta.get("resume") or {}
        self.resume_from = resume.get("checkpoint") or self.meta["resolved"].get("resume_from")
        self.stop = stop

        # Imported here so that a config or data error is reported before paying for the heavy imports.
        import torch
        from transformers import AutoTokenizer, set_seed
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # train.log is read by people; progress bars only garble it
        opts = self.config["training"]
        set_seed(opts["seed"])
        self.cuda = torch.cuda.is_available()
        paths, model_opts = self.meta["resolved"], self.config["model"]
        self.tokenizer = AutoTokenizer.from_pretrained(paths["model"], revision=model_opts.get("revision"))
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.load_data(paths)
        self.model = self.load_model(paths["model"], model_opts)
        self.build_trainer(torch)

    def load_data(self, paths: dict) -> None:
        data_opts, seed = self.config["dataset"], self.config["training"]["seed"]
        cache = os.path.join(self.root, "cache")
        method = self.config["training"]["method"]
        loader = load_split
        missing = trackers.missing_for_method(method)
        if missing:
            raise SetupError(missing[0])
        if method != "sft":  # preference rows become prompt/answer ids for TRL (data/preference_split.py)
            from functools import partial

            from ..data.preference_split import load_preference_split

            loader = partial(load_preference_split, method=method)
        load = lambda path, split: loader(path, data_opts, self.tokenizer, cache, self.emit, split=split,
                                          emit_many=self.emit_many)
        train = load(paths["train"], "train")
        items, eval_items = train.items, None
        if paths.get("eval"):
            eval_items = load(paths["eval"], "eval").items
        elif data_opts["eval_ratio"] > 0 and len(items) >= 2:
            items, eval_items = split(items, data_opts["eval_ratio"], seed)
        if method == "kto":
            from .preference import order_for_kto

            items = order_for_kto(items, seed)
        if data_opts["packing"]:
            packed = pack(items, data_opts["max_length"])
            self.log(f"packing: {len(items)} samples in {len(packed)} rows of up to {data_opts['max_length']} tokens")
            items = packed
        self.train_items, self.eval_items = items, eval_items

    def load_model(self, path: str, opts: dict):
        import torch
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
        from transformers import AutoModelForCausalLM

        kwargs = {"revision": opts.get("revision"), "dtype": self.dtype(torch, opts["dtype"])}
        if opts["attn_implementation"] != "auto":
            if opts["attn_implementation"] == "flash_attention_2" and not _importable("flash_attn"):
                raise SetupError("model.attn_implementation: flash_attention_2 needs the flash-attn package on the host")
            kwargs["attn_implementation"] = opts["attn_implementation"]
        if opts["quantization"] != "none":
            kwargs["quantization_config"] = self.quantization(opts["quantization"], kwargs["dtype"])
            if self.world > 1:
                kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", "0"))}
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        # Packed rows get their per-sample attention from position_ids only when no KV cache is built.
        model.config.use_cache = False
        if opts["quantization"] != "none":
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=opts["gradient_checkpointing"])
        elif opts["gradient_checkpointing"]:
            model.enable_input_require_grads()  # LoRA leaves the embeddings frozen; checkpointed blocks still need grads
        lora = self.config["lora"]
        model = get_peft_model(model, LoraConfig(
            r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"],
            bias=lora["bias"], use_rslora=lora["use_rslora"], use_dora=lora["use_dora"], task_type="CAUSAL_LM"))
        trainable, total = model.get_nb_trainable_parameters()
        self.log(f"LoRA: {trainable:,} trainable of {total:,} parameters; {len(self.train_items)} train rows"
                 + (f", {len(self.eval_items)} eval rows" if self.eval_items else "")
                 + (f"; {self.world} processes" if self.world > 1 else ""))
        return model

    def dtype(self, torch, name: str):
        if name == "auto":
            if not self.cuda:
                return torch.float32
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if name == "bf16" and self.cuda and not torch.cuda.is_bf16_supported():
            raise SetupError("model.dtype: bf16 is not supported by this GPU; use fp16 or auto")
        return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]

    def quantization(self, kind: str, dtype):
        if not self.cuda or not _importable("bitsandbytes"):
            missing = "a CUDA GPU" if not self.cuda else "the bitsandbytes package"
            raise SetupError(f"model.quantization: {kind} loading (QLoRA) needs {missing} on the host; "
                             "set quantization: none to train without it")
        from transformers import BitsAndBytesConfig

        if kind == "8bit":
            return BitsAndBytesConfig(load_in_8bit=True)
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                  bnb_4bit_compute_dtype=dtype)

    def warmup(self) -> int:
        """warmup_steps, capped to warmup_ratio_cap of the run's total steps (with a warning)."""
        opts = self.config["training"]
        total = opts.get("max_steps") or total_steps(len(self.train_items), opts, self.world)
        cap = int(total * opts["warmup_ratio_cap"])
        if opts["warmup_steps"] > cap:
            self.log(f"training.warmup_steps {opts['warmup_steps']} is more than {opts['warmup_ratio_cap']:.0%} of this "
                     f"{total}-step run; warming up for {cap} steps instead", "warning", "warmup_capped")
            return cap
        return opts["warmup_steps"]

    def build_trainer(self, torch) -> None:
        from transformers import TrainingArguments

        from . import launch
        from .lr_groups import describe, resolve_groups
        from .trainer import TunelabTrainer

        opts, data_opts, model_opts = self.config["training"], self.config["dataset"], self.config["model"]
        groups, warnings = resolve_groups(self.model, self.config["layer_lr"], opts["learning_rate"], opts["weight_decay"])
        for warning in warnings:
            self.log(warning, "warning", "layer_lr_unmatched")
        self.emit("param_groups", {"groups": describe(groups)})
        pad = PaddingCollator(self.tokenizer.pad_token_id)
        self.collator = PackingCollator(self.tokenizer.pad_token_id, padding=pad) if data_opts["packing"] else pad
        # DPO and KTO: TRL's trainer, batches and arguments on the same recipe (preference.py).
        method = opts["method"]
        trainer_base, args_class, method_args, method_kwargs = TunelabTrainer, TrainingArguments, {}, {}
        if method != "sft":
            from . import preference

            self.collator = preference.collator(method, self.tokenizer.pad_token_id)
            trainer_base, (args_class, method_args) = preference.trainer_class(method), preference.arguments(self.config)
            method_kwargs = {"processing_class": self.tokenizer}
        evaluating = bool(self.eval_items)
        mixed = self.cuda and model_opts["quantization"] == "none"
        dtype = self.model.get_base_model().dtype
        distributed = launch.distributed_args(self.config, not self.cuda, self.world)
        distributed.pop("gradient_checkpointing_kwargs", None)  # set below for every run that checkpoints
        args = args_class(
            output_dir=os.path.join(self.run_dir, "trainer"),
            per_device_train_batch_size=opts["batch_size"],
            per_device_eval_batch_size=opts["batch_size"],
            gradient_accumulation_steps=opts["gradient_accumulation_steps"],
            learning_rate=opts["learning_rate"],
            weight_decay=opts["weight_decay"],
            max_grad_norm=opts["max_grad_norm"],
            lr_scheduler_type=opts["scheduler"],
            warmup_steps=self.warmup(),
            max_steps=opts.get("max_steps", -1),
            num_train_epochs=opts["epochs"],
            logging_strategy="steps",
            logging_steps=opts["logging_steps"],
            logging_nan_inf_filter=False,  # a NaN loss must reach the callback, which stops the run on it
            eval_strategy="steps" if evaluating else "no",
            eval_steps=opts["eval_steps"],
            # The Trainer decides when to save (after that step's eval, so the eval loss is known);
            # _save_checkpoint below writes it atomically with a manifest, and retention is ours.
            save_strategy="steps",
            save_steps=opts["save_steps"],
            save_total_limit=None,
            bf16=mixed and dtype == torch.bfloat16,
            fp16=mixed and dtype == torch.float16,
            # Under FSDP, fsdp_config's activation checkpointing replaces the model's (see launch.distributed_args).
            gradient_checkpointing=model_opts["gradient_checkpointing"] and "fsdp" not in distributed,
            gradient_checkpointing_kwargs={"use_reentrant": False} if model_opts["gradient_checkpointing"] else None,
            seed=opts["seed"],
            report_to=trackers.prepare(opts["report_to"], self.run_dir),
            disable_tqdm=True,
            remove_unused_columns=False,
            dataloader_num_workers=0,
            dataloader_pin_memory=self.cuda,
            **distributed,
            **method_args,
        )
        self.ctx = Context(emit=self.emit, emit_many=self.emit_many, is_writer=self.is_writer, run_dir=self.run_dir,
                           collator=self.collator, config=self.config, stop=self.stop, segment=self.segment,
                           save_checkpoint=self.save_checkpoint, watch_disk=self.watch_disk)
        # Until the first save says otherwise: fp32 adapter + AdamW's two moments per trainable parameter,
        # and some 64 KB of configs, RNG and trainer state.
        trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.disk = diskspace.DiskWatch(self.run_dir, trainable * 12 + 64 * 1024)
        recipe = self

        class RecipeTrainer(trainer_base):
            def _save_checkpoint(self, model, trial):
                recipe.save_checkpoint(self.state.global_step, recipe.ctx.extra.get("save_reason", "scheduled"))

        self.trainer = RecipeTrainer(
            model=self.model, args=args, train_dataset=self.train_items, eval_dataset=self.eval_items,
            data_collator=self.collator, callbacks=[EventCallback(self.ctx)],
            loss_opts=self.config["loss"], groups=groups, eos_token_id=self.tokenizer.eos_token_id, **method_kwargs)
        self.ctx.trainer = self.trainer

    # --- train --------------------------------------------------------------------------------

    def train(self) -> str:
        if self.resume_from:
            self.ctx.extra["run_state"] = {"resumed_from": os.path.basename(self.resume_from)}
            self.log(f"resuming from {self.resume_from}")
        self.trainer.train(resume_from_checkpoint=self.resume_from)
        if self.ctx.extra.get("failed"):
            return "failed"
        if self.stop.requested or self.ctx.extra.get("stopped"):
            return "stopped"
        return "completed"

    # --- save ---------------------------------------------------------------------------------

    def save_checkpoint(self, step: int, reason: str) -> dict | None:
        """Adapter + optimizer, scheduler, RNG and trainer state (enough to resume), written atomically."""
        if not self.is_writer or self.trainer is None:
            return None
        trainer = self.trainer

        def save_files(folder: str) -> None:
            trainer.save_model(folder, _internal_call=True)
            if reason == "last_good":
                return  # the optimizer has already seen the non-finite step; only the restored adapter is good
            trainer._save_optimizer_and_scheduler(folder)
            trainer._save_rng_state(folder)
            trainer.state.save_to_json(os.path.join(folder, "trainer_state.json"))

        info = {"segment": self.segment, "reason": reason, **self.last_eval(step)}
        self.watch_disk(step)
        record = write_checkpoint(self.run_dir, step, save_files, info, expected_bytes=self.disk.checkpoint_bytes)
        self.disk.checkpoint_bytes = checkpoint_bytes(record)
        self.emit("checkpoint", {**record, "reason": reason, "segment": self.segment})
        limit = self.config["training"]["save_total_limit"]
        for name in prune(self.run_dir, limit):
            self.emit("checkpoint_removed", {"name": name, "reason": f"training.save_total_limit {limit} (the best is kept)"})
        return record

    def watch_disk(self, step: int) -> None:
        warning = self.disk.check(step) if self.is_writer else None
        if warning:
            self.emit("disk_low", warning)

    def last_eval(self, step: int) -> dict:
        return eval_of_step(self.trainer.state.log_history, step, self.config["training"]["early_stopping"])

    # --- cleanup ------------------------------------------------------------------------------

    def cleanup(self, outcome: str) -> None:
        if outcome == "failed":
            self.emit("run_state", {"state": "failed", "segment": self.segment,
                                    "error": self.ctx.extra.get("error", "the run stopped on a non-finite loss")})
        else:
            self.emit("run_state", {"state": outcome, "segment": self.segment})
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def total_steps(rows: int, opts: dict, world: int) -> int:
    per_step = opts["batch_size"] * opts["gradient_accumulation_steps"] * world
    return max(1, int(-(-rows // per_step) * opts["epochs"]))


def split(items: list, ratio: float, seed: int) -> tuple[list, list]:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    held = min(max(1, round(len(items) * ratio)), len(items) - 1)
    eval_ids = set(order[:held])
    return [r for i, r in enumerate(items) if i not in eval_ids], [r for i, r in enumerate(items) if i in eval_ids]


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def eval_of_step(log_history: list[dict], step: int, stopping: dict) -> dict:
    """The eval of the weights saved at `step`: its loss, and the early-stopping metric that ranks checkpoints.

    Only an eval at that very step counts. A checkpoint saved between evals (at a stop, or Save now) has none:
    the last eval measured other weights, and would show as this checkpoint's loss and could even make it "best".
    """
    name = stopping["metric"] if stopping["metric"].startswith("eval_") else f"eval_{stopping['metric']}"
    for entry in reversed(log_history):
        if entry.get("step") == step and "eval_loss" in entry:
            return {"eval_loss": finite_or_none(entry.get("eval_loss")),
                    "metric": {"name": name, "value": finite_or_none(entry.get(name)), "mode": stopping["mode"]}}
    return {}
