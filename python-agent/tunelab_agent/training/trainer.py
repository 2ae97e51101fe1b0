"""The Trainer a run uses: transformers.Trainer plus the run config's loss terms and LR groups.

- compute_loss: the model's own cross-entropy, plus λ·length penalty and β·KL(model ‖ base) when
  their weights are > 0 (formulas in losses.py). Evaluation keeps the plain cross-entropy, so
  eval loss and perplexity mean the same with or without the extra terms.
- Each term is also logged beside the loss. Per micro-batch the terms are added to running sums
  that stay on the device (detached); they are read only when the Trainer logs, in one transfer,
  so a training step adds no host-device synchronisation.
- create_optimizer: one AdamW param group per `layer_lr` group (see lr_groups.py); the scheduler
  scales all of them by the same factor.
"""

import torch
from transformers import Trainer

from .. import faults
from .losses import base_model_logits, kl_to_base, length_penalty
from .lr_groups import DEFAULT, Group, optimizer_param_groups, resolve_groups


class TunelabTrainer(Trainer):
    def __init__(self, *args, loss_opts: dict | None = None, groups: list[Group] | None = None,
                 eos_token_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        loss_opts = loss_opts or {}
        length, kl = loss_opts.get("length_penalty") or {}, loss_opts.get("kl") or {}
        self.length_weight = float(length.get("weight", 0.0))
        self.target_length = float(length.get("target_length", 256))
        self.kl_weight = float(kl.get("weight", 0.0))
        if self.length_weight > 0 and eos_token_id is None:
            raise ValueError("loss.length_penalty needs the tokenizer's EOS token id (eos_token_id)")
        self.eos_token_id = eos_token_id
        if groups is None:  # no layer_lr: everything in the default group, so lr_per_group still works
            groups, _ = resolve_groups(self.model, [], self.args.learning_rate, self.args.weight_decay)
        self.groups = groups
        self._sums: dict[str, torch.Tensor] = {}  # term -> detached device tensor (sum of per-step shares)
        self._steps = 0.0                         # optimizer steps those sums cover
        self._logged: dict[str, float] | None = None
        self._step_rates: dict[str, float] | None = None

    # ---- loss ---------------------------------------------------------------------------------
    def training_step(self, model, inputs, num_items_in_batch=None):
        if not getattr(model, "_zero_grad_trainable_only", False):
            zero_grad_trainable_only(model)
        if faults.FAULT:
            faults.cuda_oom()
        if faults.PACE_S:
            faults.pace_step()
        return super().training_step(model, inputs, num_items_in_batch)

    def floating_point_ops(self, inputs: dict) -> int:
        """The Trainer's FLOP estimate (6 x tokens x non-embedding parameters), with the parameter count
        taken once: the stock version walks every parameter on every step, which on a small model costs
        more than a third of the step."""
        ids = inputs.get(getattr(self.model, "main_input_name", "input_ids"))
        if ids is None or not hasattr(self.model, "num_parameters"):
            return 0
        if getattr(self, "_parameter_count", None) is None:
            self._parameter_count = self.model.num_parameters(exclude_embeddings=True)
        return 6 * ids.numel() * self._parameter_count

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        # No KV cache while training: besides wasting memory, a cache makes transformers skip the
        # packed-sequence detection from position_ids, and packed samples would attend to each other.
        # (A copy also because the base class may pop "labels" from the dict it is given.)
        inputs = {**inputs, "use_cache": False}
        loss, outputs = super().compute_loss(model, dict(inputs), return_outputs=True,
                                             num_items_in_batch=num_items_in_batch)
        if model.training:
            loss = self._add_terms(model, inputs, outputs, loss, num_items_in_batch)
        return (loss, outputs) if return_outputs else loss

    def _add_terms(self, model, inputs, outputs, loss, num_items_in_batch):
        # training_step divides the loss by the accumulation steps itself, unless the model already
        # normalised its cross-entropy by the token count of the whole accumulated batch.
        trainer_divides = ((not self.model_accepts_loss_kwargs or num_items_in_batch is None)
                           and self.compute_loss_func is None)
        share = 1.0 / getattr(self, "current_gradient_accumulation_steps", self.args.gradient_accumulation_steps)
        ce_share = share if trainer_divides else 1.0
        terms = {"ce_loss": loss.detach() * ce_share}

        labels, position_ids = inputs["labels"], inputs.get("position_ids")
        extra = None
        if self.length_weight > 0:
            value = length_penalty(outputs.logits, labels, self.eos_token_id, self.target_length, position_ids)
            extra = self.length_weight * value
            terms["length_penalty"] = value.detach() * share
        if self.kl_weight > 0:
            base = base_model_logits(model, self.accelerator.unwrap_model(model), inputs)
            value = kl_to_base(outputs.logits, base, labels, position_ids)
            extra = self.kl_weight * value if extra is None else extra + self.kl_weight * value
            terms["kl"] = value.detach() * share
        if extra is not None:
            # Each micro-batch's term is its mean; weighted by 1/accumulation it averages over the step.
            loss = loss + (extra if trainer_divides else extra * share)

        for name, value in terms.items():
            self._sums[name] = self._sums[name] + value if name in self._sums else value
        self._steps += share
        return loss

    # ---- logging --------------------------------------------------------------------------------
    def log(self, logs: dict, start_time: float | None = None) -> None:
        # Runs on every rank at a logging step: the one place where averaging over ranks is safe.
        if "loss" in logs and self._sums:
            self._logged = self._take_terms(across_ranks=True)
            logs.update(self._logged)
        super().log(logs, start_time)

    def pop_loss_terms(self) -> dict[str, float]:
        """{"ce_loss", "length_penalty"?, "kl"?}: means per optimizer step since the last pop.

        Terms are unweighted (loss = ce_loss + λ·length_penalty + β·kl). Called from on_log it
        returns the values the Trainer just logged, averaged over all ranks; called elsewhere it
        reads this rank's running sums (one device transfer).
        """
        if self._logged is not None:
            terms, self._logged = self._logged, None
            return terms
        return self._take_terms(across_ranks=False)

    def _take_terms(self, across_ranks: bool) -> dict[str, float]:
        if not self._sums:
            return {}
        names = list(self._sums)
        means = torch.stack([self._sums[n].float().reshape(()) for n in names]) / max(self._steps, 1e-12)
        if across_ranks and self.accelerator.num_processes > 1:
            means = self.accelerator.reduce(means, reduction="mean")
        self._sums, self._steps = {}, 0.0
        return dict(zip(names, means.tolist()))

    # ---- optimizer ------------------------------------------------------------------------------
    def create_optimizer(self, model=None):
        if self.optimizer is not None:
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        param_groups = optimizer_param_groups(self.groups, opt_model, self.args.weight_decay)
        optimizer_cls, optimizer_kwargs = (self.optimizer_cls_and_kwargs
                                           or self.get_optimizer_cls_and_kwargs(self.args, opt_model))
        if {"params", "model", "optimizer_dict"} & set(optimizer_kwargs):
            raise ValueError(f"optimizer {self.args.optim!r} builds its own parameter groups; layer_lr needs adamw_torch")
        self.optimizer = optimizer_cls(param_groups, **optimizer_kwargs)
        # The scheduler moves the rates right after each step; remember those the step used, which
        # is also what the Trainer logs as "learning_rate". Plain floats, so no device access.
        self.optimizer.register_step_post_hook(self._remember_rates)
        return self.optimizer

    def _remember_rates(self, optimizer, args, kwargs):
        rates = {}
        for group in optimizer.param_groups:
            rates.setdefault(group.get("name", DEFAULT), float(group["lr"]))
        self._step_rates = rates

    def lr_per_group(self) -> dict[str, float]:
        """{group name: learning rate} used by the latest optimizer step (configured rates before the first)."""
        if self._step_rates is not None:
            return dict(self._step_rates)
        return {g.name: g.learning_rate for g in self.groups if g.tensors}


def zero_grad_trainable_only(model) -> None:
    """Make `model.zero_grad()` visit only the trainable parameters.

    The Trainer calls it after every optimizer step, and Module.zero_grad walks every parameter of the
    model, frozen base weights included, which never hold a gradient under LoRA. Same result, without
    the walk (about 3 ms a step on the tiny demo model, most of the gap to a bare loop there).
    """
    trainable = [p for p in model.parameters() if p.requires_grad]

    def zero_grad(set_to_none: bool = True) -> None:
        for p in trainable:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_().zero_()

    model.zero_grad = zero_grad
    model._zero_grad_trainable_only = True
