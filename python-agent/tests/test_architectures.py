"""Estimates for Hub ids with no download: the built-in shapes, and "unknown model" for the rest."""

import os

import pytest

from tunelab_agent.models import architectures
from tunelab_agent.models.sizing import UnknownModel, estimate_memory, model_config
from tunelab_agent.training.run_config import load_run_config

PRESETS = os.path.join(os.path.dirname(__file__), "..", "..", "presets")


@pytest.mark.parametrize("hub_id, key", [
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "qwen2.5-7b"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "qwen2.5-1.5b"),
    ("Qwen/Qwen2.5-0.5B-Instruct", "qwen2.5-0.5b"),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "llama-3-70b"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "llama-3-8b"),
    ("meta-llama/Llama-2-13b-hf", "llama-2-13b"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistral-7b"),
    ("some-org/unknown-model-7B", None),
    ("Qwen/Qwen2.5-9B", None),
    ("gpt2", None),
])
def test_a_hub_id_finds_the_shape_it_is_named_for(hub_id, key):
    assert architectures.shape_name(hub_id) == key


def test_a_7b_estimate_is_made_from_the_built_in_shape_and_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with open(os.path.join(PRESETS, "size-7b-2xa100.tunelab.yaml")) as f:
        config = load_run_config(f.read(), "size-7b-2xa100.tunelab.yaml")
    estimate = estimate_memory("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", config, on_gpu=True, processes=2)
    assert estimate["basis"] == "the built-in shape of qwen2.5-7b"
    assert 7.0e9 < estimate["parameters"] < 8.0e9  # Qwen2.5-7B has 7.6 B parameters
    assert 14 * 1024 < estimate["weights_mb"] < 15 * 1024  # bf16: two bytes each


def test_an_unknown_hub_id_is_named_as_unknown_without_a_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UnknownModel, match="unknown model: some-org/thing is not in this host's Hugging Face cache"):
        model_config("some-org/thing")
