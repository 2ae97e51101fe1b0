"""Every New Run Config preset (presets/) passes the agent's config check, and its example data reads with no bad
row through the trainer's reader, in the format the preset trains on."""

import glob
import os

import pytest

from tunelab_agent.data.formats import read_rows
from tunelab_agent.training.run_config import load_run_config

PRESETS = os.path.join(os.path.dirname(__file__), "..", "..", "presets")
FILES = sorted(glob.glob(os.path.join(PRESETS, "*.tunelab.yaml")))


def load(path: str) -> dict:
    with open(path) as f:
        return load_run_config(f.read(), os.path.basename(path))


def test_the_guides_scenarios_and_sizes_are_all_there():
    names = {os.path.basename(p).removesuffix(".tunelab.yaml") for p in FILES}
    assert names == {"classification", "customer-service", "code-dpo", "continued", "size-7b-2xa100", "size-13b-4xa100",
                     "size-70b-8xa100", "size-7b-qlora-1gpu"}


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_a_preset_passes_the_check_and_its_data_reads_with_no_bad_row(path):
    config = load(path)
    for key in ("train", "eval"):
        if config["dataset"].get(key):
            rows = read_rows(os.path.join(PRESETS, config["dataset"][key]))
            assert rows.samples and not rows.bad, f"{path}: dataset.{key}: {rows.bad[:1]}"
            if config["training"]["method"] == "dpo":
                assert rows.format == "preference"
    lora = config["lora"]
    assert (lora["r"], lora["alpha"]) == (16, 32) and set(lora["target_modules"]) == {"q_proj", "v_proj"}


@pytest.mark.parametrize("path", [p for p in FILES if "size-" in p], ids=os.path.basename)
def test_each_size_reaches_an_effective_batch_of_32(path):
    t = load(path)["training"]
    assert t["batch_size"] * t["gradient_accumulation_steps"] * t["gpus"] == 32


def test_the_scenarios_say_what_the_guide_asks():
    classification = load(os.path.join(PRESETS, "classification.tunelab.yaml"))
    assert classification["evaluation"]["targets"]["precision"] == classification["evaluation"]["targets"]["recall"] == 0.92
    support = load(os.path.join(PRESETS, "customer-service.tunelab.yaml"))
    first = read_rows(os.path.join(PRESETS, support["dataset"]["train"])).samples[0]
    assert first.messages[0]["role"] == "system" and "bank" in first.messages[0]["content"].lower()
    assert sum(m["role"] == "user" for m in first.messages) >= 2, "multi-turn history"
    assert load(os.path.join(PRESETS, "code-dpo.tunelab.yaml"))["training"]["method"] == "dpo"
    assert load(os.path.join(PRESETS, "continued.tunelab.yaml"))["training"]["resume_from"] == "RUN-ID/checkpoint-N"
    assert load(os.path.join(PRESETS, "size-7b-qlora-1gpu.tunelab.yaml"))["model"]["quantization"] == "4bit"
