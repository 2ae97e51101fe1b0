"""The pieces of preference training on their own: rows -> ids, method checks, config keys, the reference."""

import json

import pytest
import torch

from tunelab_agent.data.dataset import DatasetError
from tunelab_agent.data.preference_split import load_preference_split, tokenise_preferences
from tunelab_agent.training.run_config import ConfigError, load_run_config
from tunelab_agent.data.templating import encode_conversation, prompt_ids

PROMPT = [{"role": "user", "content": "Classify: great food."}]


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_pairs_become_prompt_chosen_rejected_ids_split_as_generation_splits_them(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": PROMPT, "chosen": "positive", "rejected": "no idea"}])
    [item] = tokenise_preferences(path, "auto", tokenizer, 96, "dpo").items
    assert item["prompt_ids"] == prompt_ids(tokenizer, PROMPT)
    for key, answer in (("chosen_ids", "positive"), ("rejected_ids", "no idea")):
        full = encode_conversation(tokenizer, PROMPT + [{"role": "assistant", "content": answer}])["input_ids"]
        assert item["prompt_ids"] + item[key] == full


def test_kto_rows_and_unpaired_pairs_give_labelled_completions(tmp_path, tokenizer):
    kto = write_jsonl(tmp_path / "k.jsonl", [{"prompt": "Classify: great food.", "completion": "positive", "label": True},
                                             {"prompt": "Classify: great food.", "completion": "meh", "label": False}])
    items = tokenise_preferences(kto, "auto", tokenizer, 96, "kto").items
    assert [(tokenizer.decode(i["completion_ids"]), i["label"]) for i in items] == [
        ("positive<|end|>\n", True), ("meh<|end|>\n", False)]
    pairs = write_jsonl(tmp_path / "p.jsonl", [{"prompt": PROMPT, "chosen": "positive", "rejected": "meh"}])
    unpaired = tokenise_preferences(pairs, "auto", tokenizer, 96, "kto").items
    assert [(i["completion_ids"], i["label"]) for i in unpaired] == [(i["completion_ids"], i["label"]) for i in items]


def test_rows_too_long_are_reported_and_the_split_is_cached_per_method(tmp_path, tokenizer):
    long_answer = "positive " * 60
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": PROMPT, "chosen": "positive", "rejected": "meh"},
                                              {"prompt": PROMPT, "chosen": long_answer, "rejected": "meh"}] * 20)
    events = []
    opts = {"max_length": 48, "max_bad_rows": 0.6, "format": "auto"}
    emit = lambda kind, data: events.append((kind, data))
    first = load_preference_split(path, opts, tokenizer, str(tmp_path / "cache"), emit, "dpo")
    bad = [d for k, d in events if k == "bad_row"]
    assert len(first.items) == 20 and len(bad) == 20 and bad[0]["line"] == 2
    assert "over max_length 48" in bad[0]["reason"]
    again = load_preference_split(path, opts, tokenizer, str(tmp_path / "cache"), emit, "dpo")
    assert again.cached and again.items == first.items and [b.line for b in again.bad] == [b.line for b in first.bad]
    # The same file trained by KTO is another encoding: not served from the DPO entry.
    kto = load_preference_split(path, opts, tokenizer, str(tmp_path / "cache"), emit, "kto")
    assert not kto.cached and len(kto.items) == 40 and {"completion_ids", "label"} <= set(kto.items[0])



def test_dataset_truncation_cuts_long_pairs_and_reports_each_cut(tmp_path, tokenizer):
    history = [{"role": "user", "content": "Tell me about the old menu. " * 8},
               {"role": "assistant", "content": "It had soups and stews. " * 8}]
    path = write_jsonl(tmp_path / "p.jsonl", [
        {"prompt": PROMPT, "chosen": "positive", "rejected": "meh"},
        {"prompt": PROMPT, "chosen": "positive " * 60, "rejected": "meh"},          # a long answer
        {"prompt": history + PROMPT, "chosen": "positive", "rejected": "meh"}])     # a long prompt
    short = tokenise_preferences(path, "auto", tokenizer, 48, "dpo", "none")
    assert [b.line for b in short.bad] == [2, 3] and len(short.items) == 1

    answer = tokenise_preferences(path, "auto", tokenizer, 48, "dpo", "answer")
    # the long answer loses its tail (the prompt stays whole); a prompt over the limit cannot be helped
    assert [b.line for b in answer.bad] == [3] and "the prompt alone" in answer.bad[0].reason
    cut = answer.items[1]
    assert cut["prompt_ids"] == prompt_ids(tokenizer, PROMPT)
    assert len(cut["prompt_ids"]) + len(cut["chosen_ids"]) == 48
    assert tokenizer.decode(cut["chosen_ids"]).startswith("positive positive")
    assert cut["rejected_ids"] == answer.items[0]["rejected_ids"]  # already fits: unchanged
    assert [(t.line, "end of the last answer" in t.reason) for t in answer.truncated] == [(2, True)]

    left = tokenise_preferences(path, "auto", tokenizer, 48, "kto", "left")
    # the oldest exchange of the long prompt goes; the question being answered stays
    assert [b.line for b in left.bad] == [2] and [t.line for t in left.truncated] == [3]
    assert "dropped the 2 oldest turns" in left.truncated[0].reason
    assert [i["prompt_ids"] for i in left.items[-2:]] == [prompt_ids(tokenizer, PROMPT)] * 2

    events = []
    opts = {"max_length": 48, "max_bad_rows": 0.5, "format": "auto", "truncation": "answer"}
    split = load_preference_split(path, opts, tokenizer, str(tmp_path / "cache"), lambda *e: events.append(e), "dpo")
    assert [d["line"] for k, d in events if k == "truncated_row"] == [2]
    assert [d["truncated"] for k, d in events if k == "data_report"] == [1]
    again = load_preference_split(path, opts, tokenizer, str(tmp_path / "cache"), lambda *e: None, "dpo")
    assert again.cached and again.items == split.items and [t.line for t in again.truncated] == [2]

def test_a_method_that_cannot_learn_from_the_rows_is_named(tmp_path, tokenizer):
    kto = write_jsonl(tmp_path / "judged.jsonl", [{"prompt": "hi", "completion": "hello", "label": True}])
    with pytest.raises(DatasetError) as err:
        load_preference_split(kto, {"max_length": 96}, tokenizer, "", lambda *a: None, "dpo")
    assert str(err.value).startswith("judged.jsonl: training.method dpo needs preference pairs")
    assert "set training.method to kto" in str(err.value)
    alpaca = write_jsonl(tmp_path / "sft.jsonl", [{"instruction": "hi", "output": "hello"}])
    with pytest.raises(DatasetError) as err:
        load_preference_split(alpaca, {"max_length": 96}, tokenizer, "", lambda *a: None, "kto")
    assert "training.method kto needs" in str(err.value) and "rows are alpaca" in str(err.value)


CONFIG = """model: m
dataset:
  train: pairs.jsonl
  packing: {packing}
training:
  method: {method}
  batch_size: {batch}
{extra}"""


def config(method="dpo", packing="false", batch=4, extra=""):
    return CONFIG.format(method=method, packing=packing, batch=batch, extra=extra)


def test_run_config_fills_the_method_options_and_names_bad_keys_with_their_line():
    loaded = load_run_config(config(), "p.tunelab.yaml")
    assert loaded["training"]["method"] == "dpo"
    assert loaded["dpo"] == {"beta": 0.1, "loss_type": "sigmoid", "label_smoothing": 0.0}
    assert loaded["kto"]["desirable_weight"] == 1.0
    assert load_run_config("model: m\ndataset: {train: t.jsonl}\n")["training"]["method"] == "sft"
    cases = [
        (config(extra="dpo:\n  loss_type: best\n"), "p.tunelab.yaml line 9: dpo.loss_type: expected one of sigmoid"),
        (config(extra="dpo:\n  beta: 0\n"), "p.tunelab.yaml line 9: dpo.beta: must be more than 0"),
        (config(method="ppo"), "p.tunelab.yaml line 6: training.method: expected one of sft, dpo, kto"),
        (config(packing="true"), "p.tunelab.yaml line 4: dataset.packing: packing joins SFT samples"),
        (config(method="kto", batch=1), "p.tunelab.yaml line 7: training.batch_size: KTO estimates its KL term"),
        (config(extra="loss:\n  kl:\n    weight: 0.1\n"), "p.tunelab.yaml line 10: loss.kl.weight: loss.kl is an SFT term"),
    ]
    for text, message in cases:
        with pytest.raises(ConfigError) as err:
            load_run_config(text, "p.tunelab.yaml")
        assert str(err.value).startswith(message), str(err.value)


def test_preference_figures_come_only_from_reward_logs():
    from tunelab_agent.training.preference import figures

    # An SFT log with the KL loss term is no preference log.
    assert figures({"loss": 1.0, "ce_loss": 0.9, "kl": 0.1}) is None
    assert figures({"loss": 0.6, "rewards/chosen": 0.5, "rewards/rejected": -0.25, "rewards/margins": 0.75,
                    "rewards/accuracies": 1.0}) == {
        "chosen_reward": 0.5, "rejected_reward": -0.25, "margin": 0.75, "accuracy": 1.0, "kl": None}
    # KTO: a window with only desirable answers, and a non-finite figure, give nulls rather than breaking JSON.
    assert figures({"rewards/chosen": float("nan"), "kl": 0.0}) == {
        "chosen_reward": None, "rejected_reward": None, "margin": None, "accuracy": None, "kl": 0.0}


def test_the_reference_is_the_base_with_the_adapter_disabled(tmp_path, data_dir, tokenizer, monkeypatch):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from trl.trainer import base_trainer

    from tunelab_agent.training import preference

    pings = []
    monkeypatch.delenv("CI", raising=False)  # TRL skips its report on CI; the agent must skip it everywhere
    monkeypatch.setattr(base_trainer, "send_telemetry", lambda **kwargs: pings.append(kwargs))

    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": PROMPT, "chosen": "positive", "rejected": "meh"}] * 4)
    items = tokenise_preferences(path, "auto", tokenizer, 96, "dpo").items
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(data_dir / "model")),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    args_class, extra = preference.arguments(load_run_config(config(), "p.tunelab.yaml"))
    args = args_class(output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, report_to=[], use_cpu=True,
                      remove_unused_columns=False, save_strategy="no", gradient_checkpointing=False, bf16=False, **extra)
    trainer = preference.trainer_class("dpo")(model=model, args=args, train_dataset=items, processing_class=tokenizer,
                                              data_collator=preference.collator("dpo", tokenizer.pad_token_id))
    assert trainer.ref_model is None and list(model.peft_config) == ["default"]
    assert pings == []

    with torch.no_grad():  # a trained-looking adapter, so that policy and base differ
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    batch = trainer.data_collator(items[:2])
    ref_chosen, ref_rejected = trainer.compute_ref_log_probs(model, batch)
    base = AutoModelForCausalLM.from_pretrained(str(data_dir / "model")).eval()

    def logps(net):
        with torch.no_grad():
            logits = net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
        per_token = torch.log_softmax(logits, -1).gather(-1, batch["input_ids"][:, 1:, None])[..., 0]
        return (per_token * batch["completion_mask"][:, 1:]).sum(-1)

    assert torch.allclose(torch.cat([ref_chosen, ref_rejected]), logps(base), atol=1e-4)
    assert not torch.allclose(torch.cat([ref_chosen, ref_rejected]), logps(model), atol=1e-2)
    assert model.active_adapters == ["default"]  # the adapter is back on after the reference pass
