"""Generation service on a real tiny Llama with real peft adapters (random lora_B, nothing trained)."""

import os
import threading

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunelab_agent.data.dataset import prompt_ids
from tunelab_agent.generation.generate import GenerationError, GenerationService, Generator, check_fit, sampling_options

MESSAGES = [{"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Classify the sentiment: The movie was fantastic."}]
GREEDY = {"max_new_tokens": 12}


def make_adapter(model_dir, folder, seed, targets=("q_proj", "v_proj", "down_proj"), modules_to_save=None):
    """A LoRA adapter whose lora_B is random (peft initialises it to zero), so it changes the outputs."""
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=list(targets),
                                            modules_to_save=modules_to_save, task_type="CAUSAL_LM"))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name or "modules_to_save" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def setup(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("adapters")
    model_dir = str(data_dir / "model")
    a = make_adapter(model_dir, folder / "checkpoint-10", seed=1)
    b = make_adapter(model_dir, folder / "checkpoint-20", seed=2)
    return model_dir, a, b, GenerationService(device="cpu")


def test_adapters_differ_base_equals_disabled_and_pieces_add_up(setup):
    model_dir, a, b, service = setup
    pieces = {}
    results = service.generate(model_dir, [("base", None), ("a", a), ("b", b)], MESSAGES, GREEDY,
                               on_token=lambda name, piece: pieces.setdefault(name, []).append(piece))
    by_name = {r["adapter"]: r for r in results}
    assert [r["adapter"] for r in results] == ["base", "a", "b"]
    assert by_name["a"]["text"] != by_name["b"]["text"]
    for r in results:
        assert "".join(pieces.get(r["adapter"], [])) == r["text"]
        assert r["finish_reason"] in ("eos", "length") and r["new_tokens"] >= 1
        assert r["ttft_ms"] > 0 and r["tokens_per_sec"] > 0

    # the base row equals plain generate with the adapter disabled
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), a).eval()
    ids = torch.tensor([prompt_ids(tokenizer, MESSAGES)])
    with peft_model.disable_adapter(), torch.no_grad():
        out = peft_model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=12, do_sample=False)
    expected = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    assert by_name["base"]["text"] == expected


def test_side_by_side_equals_each_adapter_alone(setup):
    model_dir, a, b, service = setup
    order = [("a", a), ("b", b), ("base", None)]  # a then b alone: one merged adapter swapped for another
    together = service.generate(model_dir, order, MESSAGES, GREEDY)
    alone = [service.generate(model_dir, [pair], MESSAGES, GREEDY)[0] for pair in order]
    assert [(r["text"], r["new_tokens"]) for r in together] == [(r["text"], r["new_tokens"]) for r in alone]


@pytest.mark.parametrize("saved_module, routed", [("o_proj", True), ("norm", False)])
def test_adapters_that_cannot_be_stacked(setup, tmp_path, saved_module, routed):
    """Adapters that also train a whole module (modules_to_save) are neither stacked nor merged: peft's
    per-row routing serves them (a Linear copy), or they run one after the other (a norm copy)."""
    model_dir, _, _, service = setup
    order = [(f"saved{seed}", make_adapter(model_dir, tmp_path / f"checkpoint-{seed}", seed=seed,
                                           modules_to_save=[saved_module])) for seed in (4, 5)]
    together = service.generate(model_dir, [("base", None)] + order, MESSAGES, GREEDY)
    loaded = service.load(model_dir)
    keys = list(loaded.adapters)[-2:]
    assert loaded.mixable(keys) == routed and not loaded.plain_lora(keys[0])
    alone = [service.generate(model_dir, [pair], MESSAGES, GREEDY)[0] for pair in [("base", None)] + order]
    assert loaded.merged is None  # the last one asked alone was not merged
    assert [r["text"] for r in together] == [r["text"] for r in alone]
    assert together[1]["text"] != together[2]["text"]


def test_merging_restores_the_base_weights_exactly(setup):
    model_dir, a, b, service = setup
    service.generate(model_dir, [("a", a), ("b", b)], MESSAGES, {"max_new_tokens": 2})  # both attached, none merged
    loaded = service.load(model_dir)
    assert loaded.merged is None
    before = {n: p.clone() for n, p in loaded.model.named_parameters() if "base_layer" in n}
    for folder in (b, a, b):
        service.generate(model_dir, [("x", folder)], MESSAGES, {"max_new_tokens": 2})
    assert loaded.merged is not None  # the last adapter stays merged for the next request
    service.generate(model_dir, [("base", None), ("a", a)], MESSAGES, {"max_new_tokens": 2})
    assert loaded.merged is None
    after = dict(loaded.model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in before)


def test_same_seed_same_sample(setup):
    model_dir, a, _, service = setup
    sampling = {"max_new_tokens": 16, "temperature": 1.0, "top_k": 50, "top_p": 0.95, "seed": 7}
    first = service.generate(model_dir, [("a1", a), ("a2", a)], MESSAGES, sampling)
    again = service.generate(model_dir, [("a1", a), ("a2", a)], MESSAGES, sampling)
    other = service.generate(model_dir, [("a1", a)], MESSAGES, {**sampling, "seed": 8})
    assert first[0]["text"] == first[1]["text"] == again[0]["text"]
    assert other[0]["text"] != first[0]["text"]


def test_cancel_stops_early(setup):
    model_dir, a, b, service = setup
    cancel = threading.Event()
    seen = []

    def on_token(name, piece):
        seen.append(piece)
        if len(seen) == 3:
            cancel.set()

    results = service.generate(model_dir, [("a", a), ("b", b)], "Say something long.",
                               {"max_new_tokens": 200}, on_token=on_token, cancel=cancel)
    for r in results:
        assert r["finish_reason"] in ("cancelled", "eos")
        assert r["new_tokens"] < 10
    assert any(r["finish_reason"] == "cancelled" for r in results)


def test_fit_check_refuses_with_reason(setup):
    model_dir = setup[0]
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(model_dir).parameters())
    assert check_fit(model_dir, "cpu", free=10**12) == int(params * 4 * 1.2)
    with pytest.raises(GenerationError, match=r"needs about .* free in RAM: run r1 is training"):
        check_fit(model_dir, "cpu", busy_reason="run r1 is training", free=1000)


def test_bad_requests_name_the_key(setup):
    model_dir, _, _, service = setup
    with pytest.raises(GenerationError, match="sampling.temperature"):
        sampling_options({"temperature": -1})
    with pytest.raises(GenerationError, match=r"messages\[0\].role"):
        service.generate(model_dir, [("base", None)], [{"role": "bot", "content": "hi"}])
    with pytest.raises(GenerationError, match="not a peft adapter"):
        service.generate(model_dir, [("x", model_dir)], "hi")


def test_compat_generator(setup):
    model_dir, a, _, service = setup
    out = Generator(service).generate(model_dir, "hi", 4, "r1", {"name": "checkpoint-10", "path": a})
    assert out["checkpoint"] == "checkpoint-10" and 1 <= out["new_tokens"] <= 4


def test_least_recently_used_adapter_is_dropped(setup, monkeypatch):
    import tunelab_agent.generation.generate as generate

    model_dir, a, b, _ = setup
    monkeypatch.setattr(generate, "MAX_ADAPTERS", 2)
    service = GenerationService(device="cpu")
    first = service.generate(model_dir, [("a", a)], "hi", {"max_new_tokens": 3})
    service.generate(model_dir, [("b", b), ("base", None)], "hi", {"max_new_tokens": 3})
    loaded = service.load(model_dir)
    assert list(loaded.adapters.values()) == [a, b]
    service.generate(model_dir, [("b", b)], "hi", {"max_new_tokens": 3})  # b is now the most recent
    extra = make_adapter(model_dir, os.path.join(os.path.dirname(a), "checkpoint-40"), seed=9)
    service.generate(model_dir, [("extra", extra)], "hi", {"max_new_tokens": 3})
    assert list(loaded.adapters.values()) == [b, extra]
    assert set(loaded.model.peft_config) == set(loaded.adapters)
    assert service.generate(model_dir, [("a", a)], "hi", {"max_new_tokens": 3}) == [
        {**first[0], "ttft_ms": pytest.approx(0, abs=1e9), "tokens_per_sec": pytest.approx(0, abs=1e9)}]
