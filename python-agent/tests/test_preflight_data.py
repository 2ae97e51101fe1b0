"""Preflight reads the data: a run that its dataset would fail in its first seconds is caught before launch."""

import json
import shutil

import pytest

from conftest import write_config
from tunelab_agent.data import data_check
from tunelab_agent.serving import protocol
from tunelab_agent.data.dataset import DatasetError, load_split
from tunelab_agent.training.preflight import preflight
from tunelab_agent.training.run_config import load_run_config

HOST = {"gpus": [], "cpu_count": 2, "ram_total_mb": 64_000, "ram_available_mb": 32_000, "disk_free_mb": 100_000,
        "versions": {"bitsandbytes": None, "flash_attn": None}}


def config(dataset: dict, training: dict | None = None) -> dict:
    return load_run_config(json.dumps({
        "model": "model", "dataset": {"train": "train.jsonl", **dataset},
        "lora": {"r": 4, "target_modules": ["q_proj", "v_proj"]}, "training": {"batch_size": 2, **(training or {})}}))


def rows(count: int, bad_every: int = 0) -> str:
    out = []
    for i in range(count):
        bad = bad_every and i % bad_every == 0
        out.append("not json" if bad else json.dumps({"instruction": f"Classify review {i}.", "output": "positive"}))
    return "\n".join(out) + "\n"


def run_preflight(tmp_path, data_dir, text: str, dataset: dict, training: dict | None = None, model=None) -> dict:
    path = tmp_path / "train.jsonl"
    path.write_text(text)
    resolved = {"model": model or str(data_dir / "model"), "train": str(path)}
    return preflight(config(dataset, training), resolved, HOST, str(tmp_path / "root"))


def data_errors(result: dict) -> list[str]:
    return [e for e in result["errors"] if e.startswith("dataset.")]


def test_clean_data_passes_and_is_summarised(tmp_path, data_dir):
    result = run_preflight(tmp_path, data_dir, (data_dir / "train.jsonl").read_text(), {"max_length": 96})
    assert data_errors(result) == []
    summary = result["data"]["train"]
    assert (summary["rows"], summary["bad_rows"], summary["over_length"], summary["share"]) == (96, 0, 0, 0.0)
    assert summary["sampled"] is False and summary["approximate"] is False and summary["max_tokens"] <= 96


def test_too_many_bad_rows_is_the_error_the_run_would_fail_with(tmp_path, data_dir):
    text = rows(40, bad_every=5)  # 8 of 40 rows are not JSON: 20%
    result = run_preflight(tmp_path, data_dir, text, {"max_length": 96, "max_bad_rows": 0.05})
    (error,) = data_errors(result)
    assert error.startswith("dataset.train: train.jsonl: 8 of 40 rows are bad (20.0%), over the dataset.max_bad_rows")
    assert "line 1: not valid JSON" in error
    assert result["data"]["train"]["share"] == 0.2
    with pytest.raises(DatasetError) as failed:  # what the run itself would say, a few seconds in
        load_split(str(tmp_path / "train.jsonl"), config({"max_length": 96, "max_bad_rows": 0.05})["dataset"],
                   _tokenizer(data_dir), None, lambda *a: None)
    assert error == f"dataset.train: {failed.value}"
    assert data_errors(run_preflight(tmp_path, data_dir, text, {"max_length": 96, "max_bad_rows": 0.25})) == []


def test_rows_over_max_length_count_against_max_bad_rows_unless_truncation_cuts_them(tmp_path, data_dir):
    long_answers = "".join(json.dumps({"instruction": "Describe it.", "output": "the food was good " * 20}) + "\n"
                           for _ in range(10))
    (error,) = data_errors(run_preflight(tmp_path, data_dir, long_answers, {"max_length": 32}))
    assert "10 of 10 rows are bad" in error and "over max_length 32" in error
    cut = run_preflight(tmp_path, data_dir, long_answers, {"max_length": 32, "truncation": "answer"})
    assert data_errors(cut) == []
    assert (cut["data"]["train"]["truncated"], cut["data"]["train"]["over_length"]) == (10, 0)


def test_a_large_file_is_judged_on_its_first_rows_and_says_so(tmp_path, data_dir, monkeypatch):
    monkeypatch.setattr(data_check, "SAMPLE_ROWS", 50)  # the real limit takes ~5000 rows to reach
    result = run_preflight(tmp_path, data_dir, rows(120), {"max_length": 96})
    summary = result["data"]["train"]
    assert summary["sampled"] is True and summary["rows"] == 50
    assert any(w.startswith("dataset.train: checked the first 50 rows of train.jsonl (120 lines)")
               for w in result["warnings"]), result["warnings"]


def test_rows_the_training_method_cannot_learn_from_are_caught(tmp_path, data_dir):
    pairs = "".join(json.dumps({"prompt": f"q{i}", "chosen": "yes", "rejected": "no"}) + "\n" for i in range(5))
    (error,) = data_errors(run_preflight(tmp_path, data_dir, pairs, {"max_length": 96}))
    assert "training.method sft cannot learn from" in error


def test_without_the_models_tokenizer_the_lengths_are_approximate_and_only_warn(tmp_path, data_dir):
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(data_dir / "model" / "config.json", config_only / "config.json")
    result = run_preflight(tmp_path, data_dir, (data_dir / "train.jsonl").read_text(), {"max_length": 8},
                           model=str(config_only))
    assert result["data"]["train"]["approximate"] is True
    assert any(w.startswith("model.name: cannot load the model's tokenizer") for w in result["warnings"])
    assert data_errors(result) == []
    assert any(w.startswith("dataset.train: with approximate token counts:") for w in result["warnings"])


def test_preflight_through_the_server_reports_the_data_check(start_server, data_dir):
    client = start_server().client()
    config_text = json.loads(write_config(data_dir))
    config_text["dataset"]["max_length"] = 16
    result = client.call("preflight", {"config": json.dumps(config_text), "config_path": str(data_dir / "p.tunelab.yaml")})
    assert protocol.first_error(result, "results/preflight") is None, protocol.first_error(result, "results/preflight")
    assert result["data"]["train"]["over_length"] == 96 and result["data"]["eval"]["rows"] == 16
    assert any(e.startswith("dataset.train: train.jsonl: 96 of 96 rows are bad") for e in result["errors"])


def _tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))
