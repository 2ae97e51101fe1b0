"""Layer-wise learning rates: patterns -> groups -> the optimizer's param groups and their LRs."""

import pytest
import torch
from transformers import TrainerCallback

from tunelab_agent.training.lr_groups import describe, resolve_groups
from tunelab_agent.training.run_config import ConfigError

LAYER_LR = [
    {"name": "attn0", "pattern": r"layers\.0\.self_attn", "learning_rate": 1e-4},
    # Also matches layer 0's attention, which the first pattern already owns: first match wins.
    {"name": "blocks", "pattern": r"layers\.\d+\.(self_attn|mlp)", "learning_rate": 5e-5},
    {"pattern": r"vision_tower", "learning_rate": 1e-3},
]
BASE_LR, WEIGHT_DECAY = 1e-3, 0.1


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from tunelab_agent.models.tiny_model import make_tiny_model

    return make_tiny_model(str(tmp_path_factory.mktemp("lr") / "model"), hidden=32, layers=2)


def peft_model(model_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    # A trainable vector (the final norm's scale) to check that norms are not weight-decayed.
    model.base_model.model.model.norm.weight.requires_grad_(True)
    return model


# hidden 32, intermediate 64, r 4: an attention projection's LoRA has 4*32 + 32*4 = 256 parameters,
# gate/up have 4*32 + 64*4 = 384, down has 4*64 + 32*4 = 384. Per layer: attention 8 tensors / 1024,
# MLP 6 tensors / 1152.
EXPECTED = [
    {"name": "attn0", "pattern": r"layers\.0\.self_attn", "learning_rate": 1e-4, "tensors": 8, "parameters": 1024},
    {"name": "blocks", "pattern": r"layers\.\d+\.(self_attn|mlp)", "learning_rate": 5e-5,
     "tensors": 6 + 14, "parameters": 1152 + 1024 + 1152},
    {"name": "vision_tower", "pattern": "vision_tower", "learning_rate": 1e-3, "tensors": 0, "parameters": 0},
    {"name": "default", "pattern": None, "learning_rate": BASE_LR, "tensors": 1, "parameters": 32},
]


def test_groups_first_match_wins_with_counts_and_a_warning_for_an_empty_pattern(model_dir):
    model = peft_model(model_dir)
    groups, warnings = resolve_groups(model, LAYER_LR, BASE_LR, WEIGHT_DECAY)
    assert describe(groups) == EXPECTED
    assert warnings == ["layer_lr.2.pattern: 'vision_tower' matches no trainable parameter; the group is empty"]
    assert sum(g.parameters for g in groups) == model.get_nb_trainable_parameters()[0]
    default = groups[-1]
    assert default.decay == [] and default.no_decay == ["base_model.model.model.norm.weight"]
    assert all("lora_" in n for g in groups[:2] for n in g.decay) and not any(g.no_decay for g in groups[:2])


def test_bad_patterns_name_their_key(model_dir):
    model = peft_model(model_dir)
    with pytest.raises(ConfigError, match=r"^layer_lr\.1\.pattern: 'layers\\\\\.\(' is not a valid regular expression"):
        resolve_groups(model, [LAYER_LR[0], {"pattern": r"layers\.(", "learning_rate": 1e-4}], BASE_LR, WEIGHT_DECAY)
    with pytest.raises(ConfigError, match=r"^layer_lr\.1\.name: the group name 'attn0' is already used"):
        resolve_groups(model, [LAYER_LR[0], {**LAYER_LR[1], "name": "attn0"}], BASE_LR, WEIGHT_DECAY)


def test_optimizer_holds_the_configured_rates_and_the_scheduler_keeps_their_ratios(model_dir, tmp_path):
    from transformers import TrainingArguments

    from tunelab_agent.training.trainer import TunelabTrainer

    model = peft_model(model_dir)
    groups, _ = resolve_groups(model, LAYER_LR, BASE_LR, WEIGHT_DECAY)
    torch.manual_seed(0)
    rows = [{"input_ids": torch.randint(5, 200, (12,)).tolist()} for _ in range(8)]
    rows = [{**r, "labels": [-100] * 4 + r["input_ids"][4:]} for r in rows]
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=BASE_LR, weight_decay=WEIGHT_DECAY,
                             per_device_train_batch_size=4, max_steps=4, warmup_steps=2, lr_scheduler_type="linear",
                             logging_steps=1, report_to=[], disable_tqdm=True, save_strategy="no",
                             remove_unused_columns=False, use_cpu=True)
    trainer = TunelabTrainer(model=model, args=args, train_dataset=rows, data_collator=stack, groups=groups)

    optimizer = trainer.create_optimizer()
    summary = [(g["name"], g["lr"], g["weight_decay"], len(g["params"])) for g in optimizer.param_groups]
    # default first (the Trainer logs the first group's rate as "learning_rate"), the empty group left out
    assert summary == [("default", BASE_LR, 0.0, 1), ("attn0", 1e-4, WEIGHT_DECAY, 8), ("blocks", 5e-5, WEIGHT_DECAY, 20)]
    named = dict(model.named_parameters())
    assert {id(p) for p in optimizer.param_groups[1]["params"]} == {id(named[n]) for n in groups[0].decay}
    assert trainer.lr_per_group() == {"default": BASE_LR, "attn0": 1e-4, "blocks": 5e-5}

    seen = []  # (the Trainer's logged learning_rate, lr_per_group) at each logging step
    trainer.add_callback(RecordRates(trainer, seen))
    norm_before = model.base_model.model.model.norm.weight.detach().clone()
    trainer.train()
    assert [logged for logged, _ in seen] == pytest.approx([0.0, 0.5 * BASE_LR, BASE_LR, 0.5 * BASE_LR])  # warmup 2, linear decay
    for logged, rates in seen:
        assert rates == pytest.approx({"default": logged, "attn0": logged * 0.1, "blocks": logged * 0.05})
    assert not torch.equal(model.base_model.model.model.norm.weight, norm_before)  # the default group trains


class RecordRates(TrainerCallback):
    def __init__(self, trainer, seen):
        self.trainer, self.seen = trainer, seen

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" in logs:
            self.seen.append((logs["learning_rate"], self.trainer.lr_per_group()))


def stack(rows):
    """Equal-length rows: no padding needed."""
    return {key: torch.tensor([r[key] for r in rows]) for key in ("input_ids", "labels")}
