"""The extra loss terms a run can add to the cross-entropy: a length penalty and KL to the base model.

Both look only at "response tokens": positions whose label is not -100 (the assistant's turns,
or everything with `train_on: all`). Logits at position t predict the label at t + 1, so the
prediction for a response token is counted only when t and t + 1 belong to the same sample
(with packing, `position_ids` restart at 0 for each sample; the last token of one sample never
"predicts" the first of the next). A response is a maximal run of consecutive such predictions,
which makes multi-turn chats (one run per assistant turn) and packed rows work without the
sample boundaries being passed separately.

Length penalty (weight λ = loss.length_penalty.weight, target L* = loss.length_penalty.target_length):

    p_j   = softmax(logits predicting response token j)[EOS]        (teacher-forced, j = 1..T)
    E[L]  = Σ_{k=1..T} Π_{j<k} (1 − p_j)                             (expected length, capped at T)
    term  = λ · | mean over the batch's responses of E[L] − L* |

E[L] is the expected position of the first EOS if the model sampled only the EOS decision at each
step along the reference response: P(L ≥ k) = Π_{j<k}(1 − p_j) and E[min(L, T)] = Σ_k P(L ≥ k).
Unlike the length of sampled text it is differentiable, through p_j. The products are taken
as exp of sums of log(1 − p_j), computed from log p_j with a stable log1mexp.

KL consistency (weight β = loss.kl.weight):

    term = β · mean over response tokens of KL(p_model ‖ p_base)
         = β · mean_t Σ_v p_model(v | x_<t) · (log p_model(v | x_<t) − log p_base(v | x_<t))

p_base comes from the same peft model run with its adapter disabled under no_grad, so there is no
second copy of the base weights; it costs one extra forward pass and holds a few fp32 copies of
the logits. The direction (model ‖ base) penalises the model for putting mass where the base
would not, keeping it close to what the base model would say.

Everything here is mask arithmetic on whole tensors (no boolean indexing, no .item()), so the
terms add no host-device synchronisation to a training step.
"""

import math

import torch
import torch.nn.functional as F

IGNORE = -100
LN2 = math.log(2.0)


def response_mask(labels: torch.Tensor, position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """[B, T-1] bool: the logits at t predict a response token (label t+1) of the same sample."""
    mask = labels[:, 1:] != IGNORE
    if position_ids is not None:
        mask = mask & (position_ids[:, 1:] == position_ids[:, :-1] + 1)
    return mask


def log1mexp(a: torch.Tensor) -> torch.Tensor:
    """log(1 − exp(a)) for a ≤ 0, accurate both near 0 and for very negative a (Mächler 2012)."""
    a = a.clamp(max=-1e-7)  # p_eos == 1 exactly would give log 0; keep the gradient finite
    # Each branch gets an input clamped to its own range: torch.where still differentiates the
    # branch it does not pick, and an infinite local gradient there would turn into NaN.
    near_zero = a > -LN2
    return torch.where(near_zero,
                       torch.log(-torch.expm1(a.clamp(min=-LN2))),
                       torch.log1p(-torch.exp(a.clamp(max=-LN2))))


def expected_response_lengths(logits: torch.Tensor, labels: torch.Tensor, eos_token_id: int,
                              position_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(lengths, count): E[L] of each response in row-major order in lengths[:count], zeros after.

    `count` stays a device tensor so that callers need not synchronise to use it.
    """
    mask = response_mask(labels, position_ids)
    scores = logits[:, :-1].float()
    log_p_eos = scores[..., eos_token_id] - torch.logsumexp(scores, dim=-1)
    log_keep = torch.where(mask, log1mexp(log_p_eos), 0.0)  # log(1 − p_j) inside responses

    # Σ_{j<k} log(1 − p_j) within each response: an exclusive cumulative sum along the row, minus
    # its value at the response's first position (read back through a per-response index).
    before = torch.cumsum(log_keep, dim=1) - log_keep
    starts = mask & ~F.pad(mask[:, :-1], (1, 0), value=False)
    flat_mask, flat_starts, flat_before = mask.flatten(), starts.flatten(), before.flatten()
    run = (torch.cumsum(flat_starts.long(), 0) - 1).clamp(min=0)  # index of the response at each position
    n = flat_mask.numel()
    run_offset = torch.zeros(n, dtype=flat_before.dtype, device=flat_before.device)
    run_offset = run_offset.index_add(0, run, torch.where(flat_starts, flat_before, 0.0))
    log_survive = torch.where(flat_mask, flat_before - run_offset[run], 0.0)
    survive = torch.where(flat_mask, torch.exp(log_survive), 0.0)  # P(L ≥ k) at response position k
    lengths = torch.zeros(n, dtype=survive.dtype, device=survive.device).index_add(0, run, survive)
    return lengths, flat_starts.sum()


def length_penalty(logits: torch.Tensor, labels: torch.Tensor, eos_token_id: int, target_length: float,
                   position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """|mean E[L] over the batch's responses − target_length| (unweighted; 0 with no response)."""
    lengths, count = expected_response_lengths(logits, labels, eos_token_id, position_ids)
    mean = lengths.sum() / count.clamp(min=1)
    return torch.where(count > 0, (mean - target_length).abs(), 0.0)


def kl_to_base(logits: torch.Tensor, base_logits: torch.Tensor, labels: torch.Tensor,
               position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over response tokens of KL(p_model ‖ p_base) in nats (unweighted; 0 with no response)."""
    mask = response_mask(labels, position_ids)
    log_p = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    log_q = torch.log_softmax(base_logits[:, :-1].float(), dim=-1)
    per_token = F.kl_div(log_q, log_p, log_target=True, reduction="none").sum(-1)  # Σ_v p·(log p − log q)
    return torch.where(mask, per_token, 0.0).sum() / mask.sum().clamp(min=1)


def base_model_logits(model, peft_model, inputs: dict) -> torch.Tensor:
    """Logits of the base model: `model` (possibly DDP/FSDP-wrapped) run with `peft_model`'s adapter off.

    The forward goes through the wrapper so that FSDP can gather its shards; under no_grad DDP
    does not prepare a gradient reduction for it.
    """
    if not hasattr(peft_model, "disable_adapter"):
        raise TypeError("loss.kl needs a peft model: the base distribution comes from disabling the adapter")
    # use_cache=False as in training: with a cache transformers ignores packed position_ids.
    inputs = {k: v for k, v in inputs.items() if k not in ("labels", "num_items_in_batch")}
    with torch.no_grad(), peft_model.disable_adapter():
        return model(**{**inputs, "use_cache": False}).logits
