"""Length penalty and KL-to-base: hand-checked values, gradients, and logging through TunelabTrainer."""

import math

import pytest
import torch

from tunelab_agent.training.losses import base_model_logits, expected_response_lengths, kl_to_base, length_penalty

EOS = 1  # in the hand-made cases below the vocabulary is {0, 1} and 1 is EOS


def eos_logits(p_eos: list[list[float]]) -> torch.Tensor:
    """[B, T, 2] logits whose EOS probability at each position is the given one."""
    p = torch.tensor(p_eos, dtype=torch.float64)
    return torch.stack([torch.zeros_like(p), torch.log(p) - torch.log1p(-p)], dim=-1).float()


def test_expected_length_matches_a_hand_computed_case():
    # Row 0 (padded): one response at label positions 1..3, predicted by positions 0..2 with
    # p_eos 0.5, 0.2, 0.9:  E[L] = 1 + (1 − 0.5) + (1 − 0.5)(1 − 0.2) = 1.9.
    # Row 1 (packed, train_on all): two samples of 3 tokens, position ids restart at 3. Every label
    # counts, but position 2 would predict the next sample's first token, so the responses are
    # predicted by 0..1 (p 0.5, 0.5 -> 1.5) and 3..4 (p 0.1, 0.3 -> 1.9).
    logits = eos_logits([[0.5, 0.2, 0.9, 0.7, 0.7, 0.7],
                         [0.5, 0.5, 0.6, 0.1, 0.3, 0.7]])
    labels = torch.tensor([[-100, 0, 0, 1, -100, -100],
                           [0, 0, 1, 0, 0, 1]])
    position_ids = torch.tensor([[0, 1, 2, 3, 4, 5],
                                 [0, 1, 2, 0, 1, 2]])
    lengths, count = expected_response_lengths(logits, labels, EOS, position_ids)
    assert int(count) == 3
    assert lengths[:3].tolist() == pytest.approx([1.9, 1.5, 1.9], abs=1e-5)
    assert lengths[3:].abs().sum() == 0
    penalty = length_penalty(logits, labels, EOS, target_length=1.0, position_ids=position_ids)
    assert penalty.item() == pytest.approx((1.9 + 1.5 + 1.9) / 3 - 1.0, abs=1e-5)
    # Without position ids row 1 is one response of 5 predictions.
    lengths, count = expected_response_lengths(logits, labels, EOS)
    assert int(count) == 2
    assert lengths[1].item() == pytest.approx(1 + 0.5 + 0.25 + 0.25 * 0.4 + 0.25 * 0.4 * 0.9, abs=1e-5)
    # No response at all: no penalty (not |0 − target|).
    assert length_penalty(logits, torch.full_like(labels, -100), EOS, 5.0).item() == 0.0


def test_length_penalty_is_finite_when_eos_is_certain():
    logits = torch.tensor([[[0.0, 200.0], [0.0, 200.0], [0.0, 0.0]]], requires_grad=True)
    value = length_penalty(logits, torch.tensor([[-100, 1, 1]]), EOS, target_length=3.0)
    value.backward()
    assert value.item() == pytest.approx(2.0, abs=1e-5)  # E[L] = 1 + 0
    assert torch.isfinite(logits.grad).all()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from tunelab_agent.models.tiny_model import make_tiny_model

    return make_tiny_model(str(tmp_path_factory.mktemp("losses") / "model"), hidden=32, layers=2)


def peft_model(model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))


def samples(eos_id: int, count: int = 8) -> list[dict]:
    """Prompt (no loss) + answer ending in EOS, random tokens of varying length."""
    g = torch.Generator().manual_seed(1)
    rows = []
    for _ in range(count):
        prompt = torch.randint(5, 200, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist()
        answer = torch.randint(5, 200, (int(torch.randint(2, 6, (1,), generator=g)),), generator=g).tolist() + [eos_id]
        rows.append({"input_ids": prompt + answer, "labels": [-100] * len(prompt) + answer})
    return rows


def pad(rows, pad_id=0):
    width = max(len(r["input_ids"]) for r in rows)
    fill = lambda seq, value: seq + [value] * (width - len(seq))
    return {"input_ids": torch.tensor([fill(r["input_ids"], pad_id) for r in rows]),
            "labels": torch.tensor([fill(r["labels"], -100) for r in rows]),
            "attention_mask": torch.tensor([fill([1] * len(r["input_ids"]), 0) for r in rows])}


def pack(rows):
    """Two samples per row, position ids restarting at 0, no attention mask (then padded)."""
    packed = []
    for a, b in zip(rows[::2], rows[1::2]):
        packed.append({"input_ids": a["input_ids"] + b["input_ids"], "labels": a["labels"] + b["labels"],
                       "position_ids": list(range(len(a["input_ids"]))) + list(range(len(b["input_ids"])))})
    width = max(len(r["input_ids"]) for r in packed)
    batch = {"input_ids": [], "labels": [], "position_ids": []}
    for r in packed:
        extra = width - len(r["input_ids"])
        batch["input_ids"].append(r["input_ids"] + [0] * extra)
        batch["labels"].append(r["labels"] + [-100] * extra)
        batch["position_ids"].append(r["position_ids"] + list(range(r["position_ids"][-1] + 1, r["position_ids"][-1] + 1 + extra)))
    return {k: torch.tensor(v) for k, v in batch.items()}


def lora_b(model):
    return [p for n, p in model.named_parameters() if "lora_B" in n]


def test_kl_is_zero_with_a_zero_adapter_and_positive_after_perturbing(model_dir):
    from transformers import AutoTokenizer

    eos_id = AutoTokenizer.from_pretrained(model_dir).eos_token_id
    model = peft_model(model_dir)
    batch = pad(samples(eos_id, 4))
    model.train()
    for inputs in (batch, pack(samples(eos_id, 4))):
        logits = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False).logits
        base = base_model_logits(model, model, inputs)
        assert not base.requires_grad
        assert kl_to_base(logits, base, inputs["labels"], inputs.get("position_ids")).item() == pytest.approx(0.0, abs=1e-6)

    with torch.no_grad():
        for p in lora_b(model):
            p.normal_(std=0.5)
    logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    base = base_model_logits(model, model, batch)
    kl = kl_to_base(logits, base, batch["labels"])
    assert kl.item() > 1e-4
    # The adapter is back on after the base pass: the same forward gives the same logits.
    assert torch.allclose(model(**{k: v for k, v in batch.items() if k != "labels"}).logits, logits)
    kl.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora_b(model))


def test_length_penalty_gradient_reaches_the_lora_weights(model_dir):
    from transformers import AutoTokenizer

    eos_id = AutoTokenizer.from_pretrained(model_dir).eos_token_id
    model = peft_model(model_dir)
    model.train()
    batch = pack(samples(eos_id, 4))
    logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
    value = length_penalty(logits, batch["labels"], eos_id, target_length=20.0, position_ids=batch["position_ids"])
    assert math.isfinite(value.item()) and value.item() > 0
    value.backward()
    grads = lora_b(model)
    assert grads and all(p.grad is not None and p.grad.abs().sum() > 0 for p in grads)


def make_trainer(model, tmp_path, collate, rows, eos_id, **extra):
    from transformers import TrainingArguments

    from tunelab_agent.training.trainer import TunelabTrainer

    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-2, per_device_train_batch_size=2,
                             gradient_accumulation_steps=2, max_steps=2, logging_steps=1, report_to=[],
                             disable_tqdm=True, save_strategy="no", remove_unused_columns=False, use_cpu=True,
                             **extra)
    loss_opts = {"length_penalty": {"weight": 0.05, "target_length": 3.0}, "kl": {"weight": 0.5}}
    return TunelabTrainer(model=model, args=args, train_dataset=rows, data_collator=collate,
                          loss_opts=loss_opts, eos_token_id=eos_id)


@pytest.mark.parametrize("layout", ["padded", "packed"])
def test_trainer_adds_the_terms_and_logs_them_beside_the_loss(model_dir, tmp_path, layout):
    from transformers import AutoTokenizer, TrainerCallback

    eos_id = AutoTokenizer.from_pretrained(model_dir).eos_token_id
    model = peft_model(model_dir)
    if layout == "padded":
        rows, collate = samples(eos_id, 8), pad
    else:  # each dataset item is a pair of samples, packed into one row by the collator
        flat = samples(eos_id, 16)
        rows, collate = [flat[i:i + 2] for i in range(0, 16, 2)], lambda items: pack([s for pair in items for s in pair])
    trainer = make_trainer(model, tmp_path, collate, rows, eos_id)

    seen = []

    class Record(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if "loss" in logs:
                seen.append((logs["loss"], trainer.pop_loss_terms()))

    trainer.add_callback(Record())
    trainer.train()
    assert len(seen) == 2
    for loss, terms in seen:
        assert set(terms) == {"ce_loss", "length_penalty", "kl"}
        assert all(math.isfinite(v) for v in terms.values())
        # The logged loss is exactly what was optimised: CE + λ·length + β·KL, averaged over the
        # two accumulated micro-batches.
        assert loss == pytest.approx(terms["ce_loss"] + 0.05 * terms["length_penalty"] + 0.5 * terms["kl"], rel=1e-5)
    assert seen[0][1]["kl"] == pytest.approx(0.0, abs=1e-6)  # step 1 runs with lora_B still zero
    assert seen[1][1]["kl"] > 0  # after one update the model has moved away from the base
    assert trainer.pop_loss_terms() == {}  # popped means start over
    # Evaluation keeps the plain cross-entropy, and a packed batch scores like its samples padded
    # (the Trainer turns the KV cache off, so packed samples do not attend to each other).
    metrics = trainer.evaluate(eval_dataset=rows[:2])
    model.eval()
    with torch.no_grad():
        one_per_row = pad(rows[:2] if layout == "padded" else [s for pair in rows[:2] for s in pair])
        assert metrics["eval_loss"] == pytest.approx(model(**one_per_row).loss.item(), rel=1e-5)


def test_compute_loss_under_ddp_wrapping(model_dir, tmp_path):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    from transformers import AutoTokenizer

    eos_id = AutoTokenizer.from_pretrained(model_dir).eos_token_id
    model = peft_model(model_dir)
    with torch.no_grad():
        for p in lora_b(model):
            p.normal_(std=0.5)
    rows = samples(eos_id, 4)
    trainer = make_trainer(model, tmp_path, pad, rows, eos_id)
    batch = pad(rows)
    model.train()
    plain = trainer.compute_loss(model, batch)
    trainer.pop_loss_terms()

    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/pg", rank=0, world_size=1)
    try:
        wrapped = DistributedDataParallel(model)
        wrapped.train()
        loss = trainer.compute_loss(wrapped, batch)
        loss.backward()  # DDP's reducer accepts the extra no-grad forward of the base pass
        terms = trainer.pop_loss_terms()
    finally:
        dist.destroy_process_group()
    assert loss.item() == pytest.approx(plain.item(), rel=1e-5)
    assert terms["kl"] > 0 and math.isfinite(terms["length_penalty"])
    assert all(p.grad.abs().sum() > 0 for p in lora_b(model))
