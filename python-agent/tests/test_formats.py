"""Every supported file shape and row format, and bad rows reported with their file line numbers."""

import json

import pytest

from tunelab_agent.data.dataset import DatasetError, load_split
from tunelab_agent.data.formats import FormatError, read_rows

OPTS = {"max_length": 96, "format": "auto", "train_on": "assistant", "max_bad_rows": 0.5}


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def lines(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def bad_lines(rows):
    return [(b.line, b.reason) for b in rows.bad]


def test_alpaca_jsonl_with_bad_rows_keeps_line_numbers(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(lines(
        {"instruction": "Say hi.", "output": "hi"},
        "",
        "not json",
        {"instruction": "Add.", "input": "1+1"},
        {"instruction": "Add.", "input": "2+2", "output": "  "},
        {"instruction": "Add.", "input": "2+3", "output": "5", "label": "5"},
        ["a", "list"]))
    rows = read_rows(str(path))
    assert rows.format == "alpaca" and rows.total == 6
    assert [s.line for s in rows.samples] == [1, 6]
    assert rows.samples[1].messages == [{"role": "user", "content": "Add.\n\n2+3"}, {"role": "assistant", "content": "5"}]
    assert rows.samples[1].label == "5"
    assert [line for line, _ in bad_lines(rows)] == [3, 4, 5, 7]
    reasons = dict(bad_lines(rows))
    assert reasons[3].startswith("not valid JSON")
    assert reasons[4] == '"output" must be a string (it is missing)'
    assert reasons[5] == '"output" is empty'
    assert reasons[7].startswith("expected an object")
    assert all(b.file == "train.jsonl" for b in rows.bad)


def test_sharegpt_json_array_reports_the_line_where_each_element_starts(tmp_path):
    good = {"conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Hi"},
                              {"from": "gpt", "value": "Hello"}]}
    swapped = {"conversations": [{"from": "gpt", "value": "Hello"}, {"from": "human", "value": "Hi"}]}
    unknown = {"conversations": [{"from": "bot", "value": "x"}]}
    path = tmp_path / "chat.json"
    path.write_text("[\n" + ",\n".join(json.dumps(r, indent=1) for r in (good, swapped, unknown, good)) + "\n]\n")
    rows = read_rows(str(path))
    starts = [i + 1 for i, text in enumerate(path.read_text().splitlines()) if text == "{"]
    assert rows.format == "sharegpt" and rows.total == 4
    assert [s.line for s in rows.samples] == [starts[0], starts[3]]
    assert rows.samples[0].messages[0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in rows.samples[0].messages] == ["system", "user", "assistant"]
    assert bad_lines(rows) == [
        (starts[1], "role order broken at conversations[0]: expected user, got assistant"),
        (starts[2], "conversations[0].from is 'bot'; expected human, gpt, system, function_call or observation")]


def test_openai_chat_checks_roles_and_empty_answers(tmp_path):
    ok = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                       {"role": "assistant", "content": "A1"}, {"role": "user", "content": [{"type": "text", "text": "Q2"}]},
                       {"role": "assistant", "content": "A2"}]}
    empty = {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": ""}]}
    tool = {"messages": [{"role": "user", "content": "Q"}, {"role": "tool", "content": "x"}]}  # a result with no call
    open_end = {"messages": [{"role": "user", "content": "Q"}]}
    path = tmp_path / "o.jsonl"
    path.write_text(lines(ok, empty, tool, open_end))
    rows = read_rows(str(path))
    assert rows.format == "openai"
    assert rows.samples[0].messages[3] == {"role": "user", "content": "Q2"}
    assert bad_lines(rows) == [(2, "empty assistant turn at messages[1]"),
                               (3, "role order broken at messages[1]: expected assistant, got tool"),
                               (4, "messages ends with a user turn; the last turn must be the assistant's answer")]


def test_csv_records_report_their_first_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('instruction,input,output\nSay hi.,,hi\n"Two\nlines",x,y\n\nonly,two\nAdd.,2+2,4\n')
    rows = read_rows(str(path))
    assert rows.format == "alpaca"
    assert [s.line for s in rows.samples] == [2, 3, 7]
    assert rows.samples[1].messages[0]["content"] == "Two\nlines\n\nx"
    assert bad_lines(rows) == [(6, "2 cells but the header has 3 columns")]


def test_plain_text_lines_and_text_field(tmp_path):
    txt = tmp_path / "corpus.txt"
    txt.write_text("first line\n\nthird line\n")
    rows = read_rows(str(txt))
    assert rows.format == "text" and [(s.line, s.text) for s in rows.samples] == [(1, "first line"), (3, "third line")]
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text(lines({"text": "a document"}, {"text": 3}))
    rows = read_rows(str(jsonl))
    assert rows.format == "text" and rows.samples[0].text == "a document"
    assert bad_lines(rows) == [(2, '"text" must be a string')]
    with pytest.raises(FormatError, match="corpus.txt: a .txt file holds plain text"):
        read_rows(str(txt), "alpaca")


def test_preference_pairs(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(lines(
        {"prompt": "Q?", "chosen": "good", "rejected": "bad"},
        {"prompt": [{"role": "user", "content": "Q?"}], "chosen": [{"role": "assistant", "content": "good"}],
         "rejected": "bad"},
        {"prompt": "Q?", "chosen": "good"}))
    rows = read_rows(str(path))
    assert rows.format == "preference"
    assert [(s.prompt, s.chosen, s.rejected) for s in rows.samples] == [([{"role": "user", "content": "Q?"}], "good", "bad")] * 2
    assert bad_lines(rows) == [(3, '"rejected" must be a string (it is missing)')]


def test_explicit_format_mismatch_is_a_bad_row(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(lines({"instruction": "x", "output": "y"}))
    rows = read_rows(str(path), "openai")
    assert bad_lines(rows) == [(1, '"messages" must be a list of {role, content}')]


def test_broken_json_array_fails_the_file_with_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n{"text": "a"},\n{"text": }\n]')
    with pytest.raises(FormatError, match=r"^broken\.json line 3: not valid JSON"):
        read_rows(str(path))


def test_load_split_reports_each_bad_row_and_fails_over_the_limit(tmp_path, tokenizer):
    path = tmp_path / "mixed.jsonl"
    path.write_text(lines(
        {"instruction": "Say hi.", "output": "hi"},
        "{oops",
        {"instruction": "Long. " * 80, "output": "x"},
        {"instruction": "Say bye.", "output": "bye"}))
    events, batches = [], []
    split = load_split(str(path), OPTS, tokenizer, None, lambda k, d: events.append((k, d)), "eval",
                       emit_many=batches.append)
    assert events == [] and len(batches) == 1  # emit_many gets everything in one call
    kinds = [(k, d.get("line")) for k, d in batches[0]]
    assert kinds == [("bad_row", 2), ("bad_row", 3), ("data_report", None)]
    assert batches[0][1][1]["reason"].endswith("tokens, over max_length 96")
    assert batches[0][0][1] == {"split": "eval", "file": "mixed.jsonl", "line": 2,
                                "reason": batches[0][0][1]["reason"]}
    report = batches[0][-1][1]
    assert report == {"split": "eval", "file": "mixed.jsonl", "format": "alpaca", "rows": 4, "kept": 2, "bad": 2,
                      "cached": False, "tokens": sum(len(i["input_ids"]) for i in split.items), "truncated": 0}
    assert len(split.items) == 2 and split.total == 4

    events.clear()
    with pytest.raises(DatasetError, match=r"mixed\.jsonl: 2 of 4 rows are bad \(50\.0%\), over the "
                                           r"dataset\.max_bad_rows limit of 10\.0%; first: line 2: not valid JSON"):
        load_split(str(path), {**OPTS, "max_bad_rows": 0.1}, tokenizer, None, lambda k, d: events.append((k, d)))
    assert [k for k, _ in events] == ["bad_row", "bad_row", "data_report"]  # reported before failing


def test_preference_data_is_validated_then_refused(tmp_path, tokenizer):
    path = tmp_path / "pairs.jsonl"
    path.write_text(lines({"prompt": "Q?", "chosen": "good", "rejected": "bad"}, {"prompt": "Q?", "chosen": "good"}))
    events = []
    with pytest.raises(DatasetError, match=r"pairs\.jsonl: the rows are preference pairs"):  # SFT cannot use them
        load_split(str(path), OPTS, tokenizer, None, lambda k, d: events.append((k, d)))
    assert events[0] == ("bad_row", {"split": "train", "file": "pairs.jsonl", "line": 2,
                                     "reason": '"rejected" must be a string (it is missing)'})
    assert events[-1][1]["format"] == "preference" and events[-1][1]["kept"] == 1
