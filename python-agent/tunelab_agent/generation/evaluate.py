"""Scoring one checkpoint over an eval file, so checkpoints can be compared by numbers, not by feel.

For every row the answer is scored teacher-forced (loss, perplexity) and the model's own greedy answer
is generated (exact match, TTFT). Label-style tasks (a `label` field, a given label list, or answers
drawn from a small fixed set such as positive/negative) also get precision, recall and F1 per label and
their macro average. The numbers are checked against targets (the guide's precision/recall >= 0.92 and
TTFT < 300 ms by default) and stored beside the checkpoint as evaluation.json.

The metric math is in pure functions (label_metrics, check_targets) so it can be checked by hand.
"""

import math
import os
import statistics
import time

from ..data.formats import read_rows
from ..files import write_json_atomically
from .errors import GenerationError
from .preference_eval import pairwise, preference_pairs

DEFAULT_TARGETS = {"precision": 0.92, "recall": 0.92, "ttft_ms": 300}
# target key -> (metric it reads, True when lower is better)
TARGET_METRICS = {"precision": ("macro_precision", False), "recall": ("macro_recall", False),
                  "f1": ("macro_f1", False), "exact_match": ("exact_match", False),
                  "ttft_ms": ("ttft_ms_median", True), "loss": ("loss", True), "perplexity": ("perplexity", True)}
MAX_AUTO_LABELS = 20  # answers drawn from at most this many distinct values (and repeating) are labels
NO_LABEL = "(none)"   # a prediction that names none of the labels
KEPT_PREDICTIONS = 200


class EvaluationError(ValueError):
    """The eval file or the request cannot be evaluated; the message names the file or key."""


# --- pure metric math -------------------------------------------------------------------------

def normalise(text: str) -> str:
    """Case and whitespace do not count for exact match."""
    return " ".join(text.split()).casefold()


def match_label(text: str, labels: list[str]) -> str:
    """The label a generated answer names: equal after normalising, else the label it starts with
    (so "Positive." counts as positive), else NO_LABEL."""
    said = normalise(text)
    by_norm = {normalise(label): label for label in labels}
    if said in by_norm:
        return by_norm[said]
    for norm, label in sorted(by_norm.items(), key=lambda item: -len(item[0])):  # longest first
        if norm and said.startswith(norm) and not said[len(norm):len(norm) + 1].isalnum():
            return label
    return NO_LABEL


def label_metrics(gold: list[str], predicted: list[str], labels: list[str] | None = None) -> dict:
    """Per-label precision/recall/F1/support and their unweighted (macro) mean.

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2PR / (P + R); a 0/0 counts as 0.
    Labels are `labels` plus every gold label; a prediction outside them (NO_LABEL) is a miss for
    the gold label's recall and a false positive for no label.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted must have the same length")
    names = sorted(set(labels or []) | set(gold))
    per_label = {}
    for name in names:
        tp = sum(g == name and p == name for g, p in zip(gold, predicted))
        fp = sum(g != name and p == name for g, p in zip(gold, predicted))
        fn = sum(g == name and p != name for g, p in zip(gold, predicted))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    macro = {key: sum(m[key] for m in per_label.values()) / len(per_label) if per_label else 0.0
             for key in ("precision", "recall", "f1")}
    return {"per_label": per_label, "macro": macro,
            "unmatched": sum(p == NO_LABEL for p in predicted)}


def check_targets(metrics: dict, targets: dict) -> dict:
    """{key: {target, value, met}}; met is None when the metric does not apply (no labels)."""
    out = {}
    for key, target in targets.items():
        if key not in TARGET_METRICS:
            raise EvaluationError(f"evaluation.targets.{key}: unknown target (known: {', '.join(TARGET_METRICS)})")
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            raise EvaluationError(f"evaluation.targets.{key}: must be a number, got {target!r}")
        metric, lower_is_better = TARGET_METRICS[key]
        value = metrics.get(metric)
        met = None if value is None else (value < target if lower_is_better else value >= target)
        out[key] = {"target": target, "value": value, "met": met}
    return out


def label_set(rows: list[dict], labels: list[str] | None) -> list[str] | None:
    """The labels of a label-style task, or None for free-form answers."""
    if labels:
        return list(labels)
    if any(row["label"] is not None for row in rows):
        return sorted({row["label"] for row in rows if row["label"] is not None})
    answers = {row["answer"].strip() for row in rows}
    if len(answers) <= MAX_AUTO_LABELS and len(answers) <= len(rows) / 2:
        return sorted(answers)
    return None


# --- reading the eval file --------------------------------------------------------------------

def read_eval_rows(path: str, format: str = "auto") -> tuple[list[dict], list[str]]:
    """Rows {line, messages (the prompt), answer, label} and the reasons rows were skipped."""
    name = os.path.basename(path)
    try:
        found = read_rows(path, format)
    except ValueError as exc:
        raise EvaluationError(str(exc)) from exc
    rows, skipped = [], [bad.describe() for bad in found.bad]
    for sample in found.samples:
        if sample.messages and sample.messages[-1]["role"] == "assistant":
            rows.append({"line": sample.line, "messages": sample.messages[:-1],
                         "answer": sample.messages[-1]["content"], "label": sample.label})
        elif sample.prompt is not None and sample.chosen is not None:  # a pair: the chosen answer is the reference
            rows.append({"line": sample.line, "messages": sample.prompt, "answer": sample.chosen,
                         "label": sample.label})
        elif sample.prompt is not None and sample.desirable:  # KTO: only a desirable answer is a reference
            rows.append({"line": sample.line, "messages": sample.prompt, "answer": sample.completion,
                         "label": sample.label})
        elif sample.prompt is not None:
            skipped.append(f"{name} line {sample.line}: an undesirable answer (label false) is no reference")
        else:
            skipped.append(f"{name} line {sample.line}: no prompt/answer pair to evaluate (plain text)")
    if not rows:
        raise EvaluationError(f"{name}: no rows with a prompt and an answer to evaluate"
                              + (f" ({skipped[0]})" if skipped else ""))
    return rows, skipped


# --- the evaluation ---------------------------------------------------------------------------

def evaluate(service, model_path: str, adapter: tuple, rows_path: str, targets: dict | None = None,
             max_new_tokens: int = 64, on_progress=None, out_dir: str | None = None,
             labels: list[str] | None = None, cancel=None, dataset_opts: dict | None = None) -> dict:
    """Scores `adapter` = (name, folder or None for the base) over `rows_path`.

    on_progress(done, total) is called after each row. With `out_dir` (the checkpoint folder) the
    result is also written to <out_dir>/evaluation.json atomically; a cancelled evaluation (cancel: a
    threading.Event) returns what it has, marked cancelled, and writes nothing. dataset_opts (the run
    config's `dataset`) gives the file format; auto-detected otherwise.
    """
    name, folder = adapter
    targets = DEFAULT_TARGETS if targets is None else targets
    check_targets({}, targets)  # a bad target fails before any work
    rows, skipped = read_eval_rows(rows_path, (dataset_opts or {}).get("format", "auto"))
    started = time.time()
    nll, tokens, exact, ttfts, speeds, predictions = 0.0, 0, 0, [], [], []
    for done, row in enumerate(rows, start=1):
        if cancel is not None and cancel.is_set():
            break
        try:
            row_nll, row_tokens = service.answer_loss(model_path, folder, row["messages"], row["answer"])
            [result] = service.generate(model_path, [(name, folder)], row["messages"],
                                        {"max_new_tokens": max_new_tokens}, cancel=cancel)
        except GenerationError as exc:
            raise EvaluationError(f"{os.path.basename(rows_path)} line {row['line']}: {exc}") from exc
        nll, tokens = nll + row_nll, tokens + row_tokens
        correct = normalise(result["text"]) == normalise(row["answer"])
        exact += correct
        if result["ttft_ms"] is not None:
            ttfts.append(result["ttft_ms"])
            speeds.append(result["tokens_per_sec"])
        predictions.append({"line": row["line"], "expected": row["answer"], "predicted": result["text"],
                            "correct": correct})
        if on_progress:
            on_progress(done, len(rows))

    scored = rows[:len(predictions)]
    loss = nll / tokens if tokens else None
    metrics = {
        "rows": len(scored), "skipped_rows": len(skipped), "skipped": skipped[:5],
        "loss": loss, "perplexity": math.exp(min(loss, 700)) if loss is not None else None,
        "exact_match": exact / len(scored) if scored else None,
        "ttft_ms_median": statistics.median(ttfts) if ttfts else None,
        "tokens_per_sec_median": statistics.median(speeds) if speeds else None,
        "labels": None, "macro_precision": None, "macro_recall": None, "macro_f1": None,
    }
    names = label_set(rows, labels)
    if names is not None and scored:
        gold = [row["label"] if row["label"] is not None else row["answer"].strip() for row in scored]
        said = [match_label(p["predicted"], names) for p in predictions]
        metrics["labels"] = label_metrics(gold, said, names)
        for key in ("precision", "recall", "f1"):
            metrics[f"macro_{key}"] = metrics["labels"]["macro"][key]
    # Preference pairs: does the checkpoint rank chosen over rejected (preference_eval.py)?
    pairs = preference_pairs(rows_path, (dataset_opts or {}).get("format", "auto"))
    metrics["preference"] = pairwise(service, model_path, folder, pairs, cancel=cancel) if pairs else None
    checks = check_targets(metrics, targets)
    verdicts = [c["met"] for c in checks.values() if c["met"] is not None]
    result = {
        "model": model_path, "adapter": name, "checkpoint": folder, "rows_file": rows_path,
        "max_new_tokens": max_new_tokens, "evaluated_at": started, "seconds": round(time.time() - started, 3),
        "cancelled": len(predictions) < len(rows) or bool(pairs and metrics["preference"] is None),
        **metrics, "targets": checks,
        "targets_met": all(verdicts) if verdicts else None,
        "predictions": predictions[:KEPT_PREDICTIONS],
    }
    if out_dir and not result["cancelled"]:
        write_json_atomically(os.path.join(out_dir, "evaluation.json"), result)
    return result
