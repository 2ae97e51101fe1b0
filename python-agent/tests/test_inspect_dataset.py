"""inspect_dataset through a real agent server: counts, token lengths, diagnostics as they are found,
the cache, cancel while other requests keep being answered, and bad paths."""

import json
import statistics

import pytest
from transformers import AutoTokenizer

from agent_client import AgentError
from tunelab_agent.serving import protocol
from tunelab_agent.data.dataset import encode_sample
from tunelab_agent.data.formats import read_rows

LONG = "the food was good and the service slow " * 12
ROWS = [
    {"instruction": "Classify: good food", "output": "positive"},
    {"instruction": "Classify: slow service", "output": "negative"},
    "not json",
    {"instruction": "Classify: good food", "output": "positive"},  # the same as line 1
    {"instruction": "Classify: slow service", "output": "positive"},  # line 2 said negative
    {"instruction": LONG, "output": "x"},  # over max_length
    {"instruction": "Add."},  # no output
    {"instruction": "Classify: the bread", "output": "It was fresh and warm.", "label": "pos"},
]
MAX_LENGTH = 48


def write(path, rows) -> str:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def inspect(client, params: dict) -> tuple[dict, list[dict]]:
    """(result, its stream frames); raises AgentError for an error response."""
    before = len(client.streams)
    result = client.call("inspect_dataset", params, timeout=120)
    assert protocol.first_error(result, "results/inspect_dataset") is None, protocol.first_error(result, "results/inspect_dataset")
    return result, client.streams[before:]


def test_inspect_counts_rows_lengths_duplicates_and_conflicts_with_the_models_tokenizer(start_server, data_dir, tmp_path):
    client = start_server().client()
    path = write(tmp_path / "root" / "mixed.jsonl", ROWS)
    model = str(data_dir / "model")
    result, frames = inspect(client, {"path": path, "model": model, "max_length": MAX_LENGTH})

    assert (result["format"], result["rows"], result["bad_rows"], result["over_length"], result["kept"]) == \
        ("alpaca", 8, 2, 1, 5)
    tokenizer = AutoTokenizer.from_pretrained(model)
    lengths = [len(encode_sample(tokenizer, s, "assistant")[0]["input_ids"]) for s in read_rows(path).samples]
    tokens = result["tokens"]
    assert tokens["method"] == "tokenizer" and tokens["count"] == len(lengths) == 6
    assert (tokens["min"], tokens["max"], tokens["total"]) == (min(lengths), max(lengths), sum(lengths))
    assert tokens["median"] == statistics.median(lengths) and max(lengths) > MAX_LENGTH
    assert sum(b["count"] for b in tokens["histogram"]) == 6
    assert result["roles"] == {"assistant": 6, "user": 6}
    assert result["labels"] == {"positive": 3, "negative": 1, "pos": 1, "x": 1}  # a label field, else a short answer
    assert result["duplicates"] == {"rows": 1, "groups": [{"lines": [1, 4]}]}
    assert result["conflicts"] == {"inputs": 1, "groups": [{"lines": [2, 5], "labels": ["negative", "positive"]}]}

    found = {(d["line"], d["code"], d["severity"]) for d in result["diagnostics"]}
    assert found == {(3, "invalid_json", "error"), (4, "duplicate", "warning"), (5, "conflicting_label", "warning"),
                     (6, "too_long", "error"), (7, "bad_row", "error")}
    assert next(d for d in result["diagnostics"] if d["line"] == 7)["message"] == '"output" must be a string (it is missing)'
    streamed = [f["data"] for f in frames if f["kind"] == "diagnostic"]
    assert streamed == result["diagnostics"]  # sent as found, in file order, before the answer
    progress = [f["data"] for f in frames if f["kind"] == "progress"]
    assert progress[-1] == {"done": 8, "total": 8} and result["cached"] is False

    again, frames = inspect(client, {"path": path, "model": model, "max_length": MAX_LENGTH})
    assert again["cached"] is True and {**again, "cached": False, "seconds": 0} == {**result, "seconds": 0}
    assert [f["data"] for f in frames if f["kind"] == "diagnostic"] == result["diagnostics"]
    write(tmp_path / "root" / "mixed.jsonl", ROWS + [{"instruction": "One more.", "output": "ok"}])
    changed, _ = inspect(client, {"path": path, "model": model, "max_length": MAX_LENGTH})
    assert changed["cached"] is False and changed["rows"] == 9
    longer, _ = inspect(client, {"path": path, "model": model, "max_length": 512})  # other options, other entry
    assert longer["cached"] is False and longer["over_length"] == 0


def test_inspect_without_a_model_labels_its_lengths_as_approximate(start_server, tmp_path):
    client = start_server().client()
    path = write(tmp_path / "root" / "plain.jsonl", ROWS)
    result, _ = inspect(client, {"path": path, "max_length": MAX_LENGTH})
    assert result["tokens"]["method"] == "approximate" and "characters / 4" in result["tokens"]["note"]
    assert (result["rows"], result["bad_rows"], result["over_length"]) == (8, 2, 1)
    chars = len(LONG) + len("x")
    assert result["tokens"]["max"] == -(-chars // 4)
    too_long = next(d for d in result["diagnostics"] if d["code"] == "too_long")
    assert too_long["line"] == 6 and too_long["severity"] == "warning" and "about" in too_long["message"]


def test_inspect_is_cancellable_and_other_requests_are_answered_meanwhile(start_server, data_dir, tmp_path):
    client = start_server().client()
    rows = [{"instruction": f"Classify review {i}: the food was good", "output": "positive"} for i in range(40000)]
    path = write(tmp_path / "root" / "big.jsonl", rows)
    inspecting = client.request("inspect_dataset", {"path": path, "model": str(data_dir / "model")})
    while True:  # the first progress frame says the inspection is under way
        message = client.recv(timeout=60)
        assert message["type"] != "response", message
        if message["type"] == "stream" and message["kind"] == "progress":
            assert message["re"] == inspecting and 0 < message["data"]["done"] < message["data"]["total"] == 40000
            break
    info = client.request("host_info")
    replies, cancel = {}, None
    while inspecting not in replies:
        message = client.recv(timeout=120)
        if message["type"] == "response":
            replies[message["re"]] = message
            if message["re"] == info:
                cancel = client.request("cancel", {"request_id": inspecting})
    assert info in replies and "result" in replies[info]  # answered while the file was being read
    assert replies[inspecting]["error"]["code"] == "cancelled", replies[inspecting]
    assert "cancelled after" in replies[inspecting]["error"]["message"]
    answered = replies.get(cancel) or client.reply_to(cancel)
    assert answered["result"] == {"request_id": inspecting, "cancelled": True}


def test_inspect_refuses_paths_outside_the_served_folders_and_unreadable_files(start_server, data_dir, tmp_path):
    client = start_server().client()

    def error(params):
        with pytest.raises(AgentError) as err:
            client.call("inspect_dataset", params)
        return err.value

    outside = error({"path": "/etc/passwd"})
    assert outside.code == "bad_params" and "outside the folders" in outside.message
    assert error({"path": str(tmp_path / "root" / "missing.jsonl")}).code == "not_found"
    broken = tmp_path / "root" / "broken.json"
    broken.write_text('[\n{"text": "a"},\n{"text": \n')
    array = error({"path": str(broken)})
    assert array.code == "bad_params" and array.message.startswith("broken.json line ")
    good = write(tmp_path / "root" / "ok.jsonl", ROWS[:2])
    unknown = error({"path": good, "format": "yaml"})
    assert unknown.code == "bad_params" and "unknown format 'yaml'" in unknown.message
    assert error({"path": good, "model": "/etc"}).code == "bad_params"
    assert error({"path": good, "model": str(tmp_path / "root" / "no-model")}).code == "not_found"
