"""Evaluation: the metric math on a hand-computed case, then a real run over a tiny model and adapter."""

import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import PeftModel

from tunelab_agent.generation.evaluate import (NO_LABEL, EvaluationError, check_targets, evaluate, label_metrics,
                                    match_label)
from tunelab_agent.generation.generate import GenerationService
from tunelab_agent.data.templating import encode_conversation
from test_generate import make_adapter


def test_label_metrics_by_hand():
    gold = ["pos", "pos", "pos", "neg", "neg", "neu"]
    said = ["pos", "neg", "pos", "neg", "pos", NO_LABEL]
    m = label_metrics(gold, said, ["pos", "neg", "neu"])
    # pos: TP 2, FP 1 (a neg called pos), FN 1 -> P 2/3, R 2/3, F1 2/3
    # neg: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2;  neu: TP 0, FN 1, no prediction -> 0, 0, 0
    assert m["per_label"]["pos"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["per_label"]["neg"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_label"]["neu"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro"] == pytest.approx({"precision": (2 / 3 + 0.5) / 3, "recall": (2 / 3 + 0.5) / 3,
                                        "f1": (2 / 3 + 0.5) / 3})
    assert m["unmatched"] == 1


def test_match_label_and_targets():
    labels = ["positive", "negative"]
    assert match_label("  Positive. ", labels) == "positive"
    assert match_label("negatively", labels) == NO_LABEL
    assert match_label("NEGATIVE", labels) == "negative"
    checks = check_targets({"macro_precision": 0.95, "macro_recall": 0.9, "ttft_ms_median": 120.0},
                           {"precision": 0.92, "recall": 0.92, "ttft_ms": 300})
    assert [checks[k]["met"] for k in ("precision", "recall", "ttft_ms")] == [True, False, True]
    assert check_targets({}, {"f1": 0.9})["f1"]["met"] is None
    with pytest.raises(EvaluationError, match="evaluation.targets.speed"):
        check_targets({}, {"speed": 1})


def test_evaluate_a_checkpoint(data_dir, tmp_path):
    model_dir = str(data_dir / "model")
    checkpoint = make_adapter(model_dir, tmp_path / "checkpoint-10", seed=3)
    rows_file = tmp_path / "eval.jsonl"
    rows = [json.loads(line) for line in (data_dir / "eval.jsonl").read_text().splitlines()[:4]]
    rows_file.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    progress = []

    service = GenerationService(device="cpu")
    result = evaluate(service, model_dir, ("checkpoint-10", checkpoint), str(rows_file),
                      max_new_tokens=4, on_progress=lambda done, total: progress.append((done, total)),
                      out_dir=checkpoint, dataset_opts={"format": "auto"})

    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert result["rows"] == 4 and result["skipped_rows"] == 1 and "line 5" in result["skipped"][0]
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]))
    assert set(result["labels"]["per_label"]) == {"positive", "negative"}  # answers are a fixed label set
    assert result["ttft_ms_median"] > 0 and result["targets"]["ttft_ms"]["target"] == 300
    said = [match_label(p["predicted"], ["negative", "positive"]) for p in result["predictions"]]
    expected = label_metrics([r["output"] for r in rows], said, ["negative", "positive"])
    assert result["labels"] == expected
    assert result["exact_match"] == sum(p["correct"] for p in result["predictions"]) / 4
    assert json.loads((tmp_path / "checkpoint-10" / "evaluation.json").read_text()) == result

    # the loss is the mean token NLL of the answers under the adapter, as a plain peft forward gives it
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32), checkpoint)
    nll, count = 0.0, 0
    for row in rows:
        user = row["instruction"] + "\n\n" + row["input"]
        item = encode_conversation(tokenizer, [{"role": "user", "content": user},
                                               {"role": "assistant", "content": row["output"]}])
        labels = torch.tensor([item["labels"]])
        with torch.no_grad():
            loss = model(input_ids=torch.tensor([item["input_ids"]]), labels=labels).loss
        n = int((labels[0, 1:] != -100).sum())
        nll, count = nll + loss.item() * n, count + n
    assert result["loss"] == pytest.approx(nll / count, rel=1e-4)


def test_cancelled_evaluation_writes_nothing(data_dir, tmp_path):
    import threading

    model_dir = str(data_dir / "model")
    cancel = threading.Event()
    result = evaluate(GenerationService(device="cpu"), model_dir, ("base", None), str(data_dir / "eval.jsonl"),
                      max_new_tokens=2, on_progress=lambda done, total: cancel.set(), out_dir=str(tmp_path),
                      cancel=cancel)
    assert result["cancelled"] and result["rows"] == 1 and len(result["predictions"]) == 1
    assert not (tmp_path / "evaluation.json").exists()
