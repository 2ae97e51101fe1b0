"""DPO and KTO through TRL's trainers, on the same recipe as SFT (recipe.py).

The recipe keeps everything that makes a run a Tunelab run: the peft LoRA model it built, the LR groups,
the EventCallback (events, control, early stopping, last-good weights), and its own checkpoint writer.
What changes per method is only the loss, the batch layout and the arguments, which TRL supplies:

- The reference model is the base with the adapter disabled (TRL's PEFT path), never a second copy of the
  weights. TRL adds a frozen "ref" copy of the adapter when it is handed an already-wrapped PeftModel;
  a fresh LoRA adapter starts as a no-op (B = 0), so that copy would score exactly like the base while
  costing memory and ending up in every checkpoint. It is removed right after TRL's setup.
- Rows are tokenised by data/preference_split.py (the agent's template split), so TRL's own dataset
  preparation is bypassed; KTO's mismatched-completion pairs for its KL estimate are built here.
- The preference figures TRL logs (rewards of chosen and rejected, margin, accuracy, KTO's KL) go into
  each metrics event as `preference` (see figures()).
"""

import random

METHODS = ("dpo", "kto")

# TRL log key -> key of the `preference` object in metrics events.
FIGURES = {"rewards/chosen": "chosen_reward", "rewards/rejected": "rejected_reward",
           "rewards/margins": "margin", "rewards/accuracies": "accuracy", "kl": "kl"}


def figures(logs: dict) -> dict | None:
    """The `preference` object of a metrics event from a Trainer log; None when the log has none (SFT,
    whose log may hold a `kl` loss term but never a reward).

    A figure the batch could not give (KTO has no pairs, so no accuracy; a batch without an undesirable
    example has no rejected reward) is null.
    """
    if not any(key in logs for key in FIGURES if key.startswith("rewards/")):
        return None
    out = {}
    for key, name in FIGURES.items():
        value = logs.get(key)
        out[name] = float(value) if isinstance(value, (int, float)) and value == value and abs(value) != float("inf") \
            else None
    return out


def arguments(config: dict):
    """(TrainingArguments subclass, the method's extra arguments) for training.method."""
    method = config["training"]["method"]
    common = {"max_length": None,               # rows over dataset.max_length are dropped as bad rows, not cut
              "precompute_ref_log_probs": False,  # the reference pass runs beside each step, adapter disabled
              "disable_dropout": True}           # policy and reference must score a row the same way at step 0
    if method == "dpo":
        from trl import DPOConfig

        opts = config["dpo"]
        return DPOConfig, {**common, "beta": opts["beta"], "loss_type": [opts["loss_type"]],
                           "label_smoothing": opts["label_smoothing"]}
    from trl import KTOConfig

    opts = config["kto"]
    return KTOConfig, {**common, "beta": opts["beta"], "loss_type": opts["loss_type"],
                       "desirable_weight": opts["desirable_weight"], "undesirable_weight": opts["undesirable_weight"]}


def order_for_kto(items: list, seed: int) -> list:
    """KTO reads rows in file order (its KL pairs depend on batch neighbours): shuffle once, by the run's seed,
    so the two halves of an unpaired preference pair do not sit side by side."""
    items = list(items)
    random.Random(seed).shuffle(items)
    return items


class CountingCollator:
    """TRL's collator for the method, counting real tokens and samples on the host for the throughput figures."""

    def __init__(self, inner, answer_keys: tuple):
        self.inner, self.answer_keys = inner, answer_keys
        self.tokens_seen = 0
        self.samples_seen = 0

    def __call__(self, batch: list[dict]) -> dict:
        for item in batch:
            self.tokens_seen += sum(len(item["prompt_ids"]) + len(item[key]) for key in self.answer_keys)
        self.samples_seen += len(batch)
        return self.inner(batch)


def collator(method: str, pad_id: int) -> CountingCollator:
    if method == "dpo":
        from trl.trainer.dpo_trainer import DataCollatorForPreference

        return CountingCollator(DataCollatorForPreference(pad_token_id=pad_id), ("chosen_ids", "rejected_ids"))
    from trl.trainer.kto_trainer import DataCollatorForUnpairedPreference

    return CountingCollator(DataCollatorForUnpairedPreference(pad_token_id=pad_id), ("completion_ids",))


def trainer_class(method: str):
    """TunelabTrainer (optimizer groups, zero_grad, FLOPs, fault hooks) on top of TRL's trainer for `method`."""
    from datasets import Dataset

    from .trainer import TunelabTrainer

    if method == "dpo":
        from trl import DPOTrainer as Base
    else:
        try:
            from trl import KTOTrainer as Base
        except ImportError:  # older TRL releases keep it under experimental
            from trl.experimental.kto import KTOTrainer as Base

    class PreferenceTrainer(TunelabTrainer, Base):
        def __init__(self, *, train_dataset, eval_dataset=None, **kwargs):
            to_dataset = lambda items: None if items is None else Dataset.from_list(list(items))
            super().__init__(train_dataset=to_dataset(train_dataset), eval_dataset=to_dataset(eval_dataset), **kwargs)
            model = self.accelerator.unwrap_model(self.model)
            if "ref" in getattr(model, "peft_config", {}):
                model.delete_adapter("ref")

        def _send_telemetry(self):
            pass  # TRL reports each run to the Hub; a training host may be a private box: it reports to no one

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            if method == "kto" and self.calculate_KL:
                return dataset.map(_rotate_completions, batched=True, batch_size=args.per_device_train_batch_size)
            return dataset

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # TRL's loss as is: TunelabTrainer's SFT terms need labels, which preference batches do not have.
            return Base.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

    PreferenceTrainer.__name__ = f"Tunelab{Base.__name__}"
    return PreferenceTrainer


def _rotate_completions(batch: dict) -> dict:
    """KTO's KL estimate scores each prompt with its batch neighbour's completion: (x_i, y_{i-1})."""
    completions = batch["completion_ids"]
    batch["KL_completion_ids"] = completions[-1:] + completions[:-1]
    return batch
