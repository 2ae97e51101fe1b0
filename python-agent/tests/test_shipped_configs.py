"""Every run config shipped in samples/ loads with the current schema (torchtune-style config test)."""

import glob
import os

import pytest

from tunelab_agent.training.run_config import load_run_config

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "samples")
CONFIGS = sorted(glob.glob(os.path.join(SAMPLES, "*.tunelab.yaml")))


def test_there_are_shipped_configs():
    assert len(CONFIGS) >= 2


@pytest.mark.parametrize("path", CONFIGS, ids=os.path.basename)
def test_shipped_config_loads_and_names_files_that_exist(path):
    with open(path) as f:
        config = load_run_config(f.read(), os.path.basename(path))
    folder = os.path.dirname(path)
    for key in ("train", "eval"):
        if config["dataset"].get(key):
            assert os.path.isfile(os.path.join(folder, config["dataset"][key])), f"{path}: dataset.{key}"
    assert config["training"]["warmup_steps"] <= (config["training"].get("max_steps") or 10**9)
