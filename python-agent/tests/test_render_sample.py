"""render_sample through a real agent server: the trainer's own tokens and loss mask, for every format."""

import json

import pytest
from transformers import AutoTokenizer

from agent_client import AgentError
from format_rows import METHODS, ROWS
from tunelab_agent.data import formats
from tunelab_agent.training import preference
from tunelab_agent.serving import protocol
from tunelab_agent.data.collate import PaddingCollator
from tunelab_agent.data.dataset import load_split
from tunelab_agent.data.preference_split import load_preference_split

OPTS = {"max_length": 256, "format": "auto", "train_on": "assistant", "max_bad_rows": 0.0}


def write_rows(path, rows) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def collated(path: str, fmt: str, tokenizer, cache: str) -> list[tuple[list[int], list[bool]]]:
    """(ids, trained flags) per sequence, from the batch the trainer's collator builds for this format."""
    pad = tokenizer.pad_token_id
    if fmt in METHODS:
        method = METHODS[fmt]
        items = load_preference_split(path, OPTS, tokenizer, cache, lambda *a: None, method).items
        batch = preference.collator(method, pad)(items)
        trained = batch["completion_mask"]
    else:
        items = load_split(path, OPTS, tokenizer, cache, lambda *a: None).items
        batch = PaddingCollator(pad)(items)
        trained = batch["labels"] != -100
    out = []
    for ids, mask, flags in zip(batch["input_ids"], batch["attention_mask"], trained):
        n = int(mask.sum())
        out.append((ids[:n].tolist(), [bool(f) for f in flags[:n]]))
    return out


def test_every_format_has_a_sample_row():
    missing = sorted(set(formats.FORMATS) - set(ROWS))
    assert not missing, f"add a row to tests/format_rows.py for: {', '.join(missing)}"


def test_render_sample_gives_the_collators_tokens_and_loss_mask_for_every_format(start_server, data_dir, tmp_path):
    client = start_server().client()
    tokenizer = AutoTokenizer.from_pretrained(str(data_dir / "model"))
    for fmt in formats.FORMATS:
        assert fmt in ROWS, f"add a row for format {fmt} to tests/format_rows.py"
        path = tmp_path / "root" / f"{fmt}.jsonl"
        write_rows(path, ROWS[fmt])
        expected = collated(str(path), fmt, tokenizer, str(tmp_path / "cache"))
        rendered = []
        for line in range(1, len(ROWS[fmt]) + 1):
            result = client.call("render_sample", {"model": str(data_dir / "model"), "path": str(path), "line": line})
            assert protocol.first_error(result, "results/render_sample") is None, (fmt, result)
            assert result["format"] == fmt and result["line"] == line
            for seq in result["sequences"]:
                for t in seq["tokens"]:  # offsets point at the token's own characters
                    assert t["end"] <= t["start"] or seq["text"][t["start"]:t["end"]] == t["text"], (fmt, t)
                rendered.append(([t["id"] for t in seq["tokens"]], [t["trained"] for t in seq["tokens"]]))
        assert rendered == expected, f"format {fmt}: render_sample differs from the collator's batch"
        assert any(any(flags) for _, flags in rendered), fmt
        assert fmt == "text" or any(not all(flags) for _, flags in rendered), f"{fmt}: the prompt must not be trained"


def test_render_sample_shows_the_chat_template_and_the_answer_as_the_trained_part(start_server, data_dir):
    client = start_server().client()
    row = {"instruction": "Is the soup hot?", "output": "It is."}
    result = client.call("render_sample", {"model": str(data_dir / "model"), "row": row, "max_length": 8})
    (seq,) = result["sequences"]
    assert seq["text"] == "<|user|>\nIs the soup hot?<|end|>\n<|assistant|>\nIt is.<|end|>\n"
    trained = "".join(t["text"] for t in seq["tokens"] if t["trained"])
    assert trained == "It is.<|end|>\n"
    assert seq["trained_tokens"] == sum(t["trained"] for t in seq["tokens"]) and seq["length"] == len(seq["tokens"])
    assert result["line"] is None and result["over_length"] is True  # far over 8 tokens

    everything = client.call("render_sample", {"model": str(data_dir / "model"), "row": row, "train_on": "all"})
    assert all(t["trained"] for t in everything["sequences"][0]["tokens"])


def test_render_sample_refuses_bad_rows_paths_and_models_with_a_reason(start_server, data_dir, tmp_path):
    client = start_server().client()
    path = tmp_path / "root" / "mixed.jsonl"
    path.write_text('{"instruction": "Say hi.", "output": "hi"}\nnot json\n{"instruction": "Add."}\n')
    model = str(data_dir / "model")

    def error(params):
        with pytest.raises(AgentError) as err:
            client.call("render_sample", params)
        return err.value

    bad_json = error({"model": model, "path": str(path), "line": 2})
    assert bad_json.code == "bad_params" and "mixed.jsonl line 2: not valid JSON" in bad_json.message
    missing_key = error({"model": model, "path": str(path), "line": 3})
    assert missing_key.code == "bad_params" and '"output"' in missing_key.message
    past_end = error({"model": model, "path": str(path), "line": 9})
    assert past_end.code == "not_found" and "line 9" in past_end.message
    outside = error({"model": model, "path": "/etc/passwd", "line": 1})
    assert outside.code == "bad_params" and "outside the folders" in outside.message
    assert error({"model": model, "path": str(tmp_path / "root" / "none.jsonl"), "line": 1}).code == "not_found"
    assert error({"model": "/etc", "row": {"text": "x"}}).code == "bad_params"
    assert error({"model": model, "path": str(path)}).code == "bad_params"  # a path needs its line
    both = error({"model": model, "path": str(path), "line": 1, "row": {"text": "x"}})
    assert both.code == "bad_params" and "either" in both.message
    unknown = error({"model": model, "row": {"question": "x"}})
    assert unknown.code == "bad_params" and "format" in unknown.message
