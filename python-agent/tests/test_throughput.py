"""One epoch's tokens, steps and time, from the data check and the host's GPUs (models/throughput.py).

The GPUs here are host_info entries written out: no GPU runs on this machine, and the arithmetic is what is
tested. The tokens come from a real preflight over the tiny model's tokenizer.
"""

import json

import pytest

from tunelab_agent.models.throughput import MFU, epoch_estimate, flops_per_token, peak_tflops
from tunelab_agent.training.preflight import preflight
from tunelab_agent.training.run_config import load_run_config

A100 = {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "memory_total_mb": 81920, "memory_free_mb": 80000, "bf16": True}


def config(**training) -> dict:
    return load_run_config(json.dumps({"model": "m", "dataset": {"train": "t.jsonl", "eval": "e.jsonl"},
                                       "training": {"batch_size": 8, "gradient_accumulation_steps": 4, **training}}))


def data(tokens=1_000_000, rows=10_000, lines=None, sampled=False):
    return {"train": {"tokens": tokens, "rows": rows, "bad_rows": 0, "over_length": 0, "sampled": sampled,
                      "lines": lines or rows, "approximate": False}}


def test_peak_figures_are_found_by_gpu_name_longest_first():
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989
    assert peak_tflops("NVIDIA H100 PCIe") == 756
    assert peak_tflops("NVIDIA A100-SXM4-40GB") == 312
    assert peak_tflops("NVIDIA L40S") == 362 and peak_tflops("NVIDIA L4") == 121
    assert peak_tflops("Some Future GPU") is None


def test_flops_per_token_is_4n_for_lora_plus_recompute_and_reference_passes():
    assert flops_per_token(10, config()) == 40
    checkpointing = config()
    checkpointing["model"]["gradient_checkpointing"] = True
    assert flops_per_token(10, checkpointing) == 60
    assert flops_per_token(10, config(method="dpo")) == 60


def test_an_epoch_on_two_a100s():
    estimate = {"parameters": 7_000_000_000, "processes": 2}
    e = epoch_estimate(estimate, data(), config(), [A100, {**A100, "index": 1}])
    assert e["tokens"] == 1_000_000 and e["rows"] == 10_000
    assert e["rows_per_step"] == 8 * 4 * 2 and e["steps"] == 157  # ceil(10000 / 64)
    expected = 4 * 7e9 * 1e6 / (2 * 312e12 * MFU)
    assert e["seconds"] == pytest.approx(expected, rel=1e-3)
    assert "2 × NVIDIA A100-SXM4-80GB at 312 TFLOPS peak and an assumed 35% utilisation" in e["basis"]


def test_a_sampled_file_is_scaled_to_its_lines_and_a_held_out_share_does_not_train():
    estimate = {"parameters": 1_000_000, "processes": 1}
    cfg = config()
    cfg["dataset"]["eval"] = None
    cfg["dataset"]["eval_ratio"] = 0.1
    e = epoch_estimate(estimate, data(tokens=50_000, rows=5_000, lines=50_000, sampled=True), cfg, [A100])
    assert e["tokens"] == 450_000 and e["rows"] == 45_000 and e["sampled"] is True


def test_no_gpu_or_an_unknown_one_gives_tokens_and_steps_but_no_time():
    estimate = {"parameters": 1_000_000, "processes": 1}
    cpu = epoch_estimate(estimate, data(), config(), [])
    assert cpu["seconds"] is None and cpu["basis"] == "no GPU on this host: CPU time is not estimated"
    assert cpu["tokens"] == 1_000_000
    odd = epoch_estimate(estimate, data(), config(), [{**A100, "name": "Prototype X"}])
    assert odd["seconds"] is None and "no peak figure for Prototype X" in odd["basis"]
    assert epoch_estimate(estimate, {}, config(), [A100]) is None


def test_preflight_gives_the_epoch_from_the_tokenizer_count(tmp_path, data_dir):
    cfg = load_run_config(json.dumps({"model": "model", "dataset": {"train": "train.jsonl", "eval_ratio": 0.0, "max_length": 64},
                                      "lora": {"r": 4}, "training": {"batch_size": 4}}))
    resolved = {"model": str(data_dir / "model"), "train": str(data_dir / "train.jsonl")}
    host = {"gpus": [], "cpu_count": 2, "ram_total_mb": 64_000, "ram_available_mb": 32_000, "disk_free_mb": 100_000,
            "versions": {}}
    result = preflight(cfg, resolved, host, str(tmp_path / "root"))
    train = result["data"]["train"]
    epoch = result["estimate"]["epoch"]
    assert train["tokens"] > train["rows"] > 0 and train["lines"] == train["rows"]
    assert epoch["tokens"] == train["tokens"] and epoch["steps"] == -(-train["rows"] // 4)
    assert epoch["seconds"] is None
