"""Preflight's look at the data: would the run fail in its first seconds because of its dataset files?

Each file is inspected (inspection.py: the trainer's reader, template and tokenizer) and the outcome goes
through data.check, the very rule that fails a starting run: too large a share of bad or over-length
rows for dataset.max_bad_rows, no rows, no usable rows. A large file is judged on its first SAMPLE_ROWS
rows, and the summary says so. Without the model's tokenizer (a Hub id that is not downloaded yet) the
lengths are approximations, so an over-length share only warns.
"""

import os

from ..paths import looks_like_hub_id
from . import inspection
from .formats import BadRow

SAMPLE_ROWS = 5000  # a few seconds through a chat template on one CPU core
FIRST_REASONS = 3


def check_data(config: dict, resolved: dict, root: str) -> tuple[dict, list[str], list[str]]:
    """({split: summary}, errors, warnings); each message starts with its config key."""
    opts = config["dataset"]
    errors, warnings, summaries = [], [], {}
    files = {split: resolved[split] for split in ("train", "eval") if resolved.get(split)}
    for split, path in list(files.items()):
        if not os.path.isfile(path):  # a remote host gets the files at Start Run; it checks them then
            warnings.append(f"dataset.{split}: {path} is not on this host yet, so its rows were not checked")
            del files[split]
    if not files:
        return summaries, errors, warnings
    tokenizer, why = _tokenizer(resolved["model"])
    if tokenizer is None:
        warnings.append(f"model.name: cannot load the model's tokenizer ({why}); the data check counts tokens "
                        f"approximately (characters / {inspection.CHARS_PER_TOKEN})")
    limit = opts.get("max_bad_rows", 0.05)
    for split, path in files.items():
        key = f"dataset.{split}"
        try:
            result = inspection.inspect_dataset(path, opts.get("format", "auto"), tokenizer, opts["max_length"],
                                                opts.get("train_on", "assistant"), limit_rows=SAMPLE_ROWS,
                                                cache_root=os.path.join(root, "cache"),
                                                truncation=opts.get("truncation", "none"))
        except inspection.InspectError as exc:
            errors.append(f"{key}: {exc}")
            continue
        summary = summarise(result, limit)
        summaries[split] = summary
        if summary["sampled"]:
            warnings.append(f"{key}: checked the first {result['rows']} rows of {result['file']} "
                            f"({result['lines']} lines); the rest is checked when the run reads it")
        method = config["training"].get("method", "sft")
        problem = verdict(result, limit, method, count_over_length=tokenizer is not None)
        if problem:
            errors.append(f"{key}: {problem}")
        elif tokenizer is None:
            problem = verdict(result, limit, method, count_over_length=True)
            if problem:  # only with the approximate lengths: likely, not certain
                warnings.append(f"{key}: with approximate token counts: {problem}")
    return summaries, errors, warnings


def verdict(result: dict, limit: float, method: str, count_over_length: bool) -> str | None:
    """data.check's message for a file with these counts, or None when a run would accept it."""
    from .dataset import DatasetError, Split, check

    # data.check is what fails a starting run; a Split with the same counts gets the same verdict.
    over = result["over_length"] if count_over_length else 0
    errors = [d for d in result["diagnostics"] if d["severity"] == "error" and (over or d["code"] != "too_long")]
    bad = [BadRow(result["file"], d["line"], d["message"]) for d in errors[:FIRST_REASONS]]
    bad += [BadRow(result["file"], 0, "")] * (result["bad_rows"] + over - len(bad))
    kept = result["rows"] - result["bad_rows"] - over
    try:
        check(Split([{}] * kept, bad, result["rows"], result["format"]), result["file"], limit, method)
    except DatasetError as exc:
        return str(exc)
    return None


def summarise(result: dict, limit: float) -> dict:
    dropped = result["bad_rows"] + result["over_length"]
    return {"file": result["file"], "format": result["format"], "rows": result["rows"],
            "bad_rows": result["bad_rows"], "over_length": result["over_length"], "truncated": result["truncated"],
            "share": round(dropped / result["rows"], 4) if result["rows"] else 0.0, "max_bad_rows": limit,
            "sampled": result["sampled"], "approximate": result["tokens"]["method"] != "tokenizer",
            "max_tokens": result["tokens"]["max"], "tokens": result["tokens"]["total"], "lines": result["lines"]}


def _tokenizer(model: str):
    from .render import load_tokenizer

    hub = not os.path.isdir(model) and looks_like_hub_id(model, os.getcwd())
    try:
        return load_tokenizer(model, local_only=hub), None
    except Exception as exc:  # a Hub id not in the local cache, a folder without tokenizer files, ...
        return None, f"{type(exc).__name__}: {exc}".splitlines()[0]
