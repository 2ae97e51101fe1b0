"""The training process of one run: setup, train, save, clean up.

Started detached by the server as `python -m tunelab_agent run RUN_DIR --root ROOT`. Everything it
has to say goes into the event log; its stdout/stderr go to train.log.
"""

import json
import os
import random
import traceback

from . import eventlog
from .callbacks import EventCallback, StopFlag
from .data import Collator, DatasetError, encode_row, read_alpaca
from .run_config import load_run_config


def run(run_dir: str, root: str) -> int:
    run_dir = os.path.abspath(run_dir)
    run_id = os.path.basename(run_dir)
    stop = StopFlag().install()
    try:
        outcome = train(run_dir, root, run_id, stop)
        eventlog.append(root, run_id, "run_state", {"state": outcome})
        return 0
    except DatasetError as exc:
        return fail(root, run_id, str(exc))
    except Exception as exc:  # any crash must still end the run visibly, with the reason
        traceback.print_exc()
        return fail(root, run_id, f"{type(exc).__name__}: {exc}")


def fail(root: str, run_id: str, message: str) -> int:
    eventlog.append(root, run_id, "log", {"level": "error", "message": message})
    eventlog.append(root, run_id, "run_state", {"state": "failed", "error": message})
    return 1


def train(run_dir: str, root: str, run_id: str, stop: StopFlag) -> str:
    # Imported here so that a config or data error is reported before paying for the heavy imports.
    with open(os.path.join(run_dir, "run.json")) as f:
        meta = json.load(f)
    with open(os.path.join(run_dir, "config.yaml")) as f:
        config = load_run_config(f.read(), os.path.basename(meta.get("config_path") or "config.yaml"))
    paths = meta["resolved"]
    lora, opts, data_opts = config["lora"], config["training"], config["dataset"]

    train_rows = read_alpaca(paths["train"])
    eval_rows = read_alpaca(paths["eval"]) if paths.get("eval") else None
    if eval_rows is None and data_opts["eval_ratio"] > 0 and len(train_rows) >= 2:
        train_rows, eval_rows = split(train_rows, data_opts["eval_ratio"], opts["seed"])

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments, set_seed

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # train.log is read by people; progress bars only garble it
    set_seed(opts["seed"])
    log = lambda message: eventlog.append(root, run_id, "log", {"level": "info", "message": message})
    tokenizer = AutoTokenizer.from_pretrained(paths["model"])
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train_set = encode(tokenizer, train_rows, data_opts["max_length"], log, "train")
    eval_set = encode(tokenizer, eval_rows, data_opts["max_length"], log, "eval") if eval_rows else None

    model = AutoModelForCausalLM.from_pretrained(paths["model"], dtype=torch.float32 if not torch.cuda.is_available() else "auto")
    model = get_peft_model(model, LoraConfig(
        r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"], task_type="CAUSAL_LM"))
    trainable, total = model.get_nb_trainable_parameters()
    log(f"LoRA: {trainable:,} trainable of {total:,} parameters; {len(train_set)} train rows"
        + (f", {len(eval_set)} eval rows" if eval_set else ""))

    collator = Collator(tokenizer.pad_token_id)
    args = TrainingArguments(
        output_dir=os.path.join(run_dir, "trainer"),
        per_device_train_batch_size=opts["batch_size"],
        per_device_eval_batch_size=opts["batch_size"],
        gradient_accumulation_steps=opts["gradient_accumulation_steps"],
        learning_rate=opts["learning_rate"],
        lr_scheduler_type=opts["scheduler"],
        warmup_steps=opts["warmup_steps"],
        max_steps=opts.get("max_steps", -1),
        num_train_epochs=opts["epochs"],
        logging_strategy="steps",
        logging_steps=opts["logging_steps"],
        eval_strategy="steps" if eval_set else "no",
        eval_steps=opts["eval_steps"],
        save_strategy="no",  # checkpoints are written by EventCallback, atomically and with a manifest
        seed=opts["seed"],
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    callback = EventCallback(root, run_id, run_dir, collator, opts["save_steps"], stop)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      data_collator=collator, callbacks=[callback])
    trainer.train()
    if stop.requested:
        return "stopped"
    if eval_set and trainer.state.global_step % opts["eval_steps"] != 0:
        trainer.evaluate()
    return "completed"


def split(rows: list[dict], ratio: float, seed: int) -> tuple[list[dict], list[dict]]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = min(max(1, round(len(rows) * ratio)), len(rows) - 1)
    eval_ids = set(order[:held])
    return [r for i, r in enumerate(rows) if i not in eval_ids], [r for i, r in enumerate(rows) if i in eval_ids]


def encode(tokenizer, rows: list[dict], max_length: int, log, what: str) -> list[dict]:
    encoded = [encode_row(tokenizer, row, max_length) for row in rows]
    kept = [item for item in encoded if item is not None]
    if len(kept) < len(encoded):
        log(f"{len(encoded) - len(kept)} {what} rows dropped: max_length {max_length} cut off their whole answer")
    if not kept:
        raise DatasetError(f"no {what} rows left after truncating to max_length {max_length}")
    return kept
