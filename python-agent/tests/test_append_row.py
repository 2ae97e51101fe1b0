"""append_dataset_row: the chat panel's Promote and Prefer write one row in the file's own format, atomically,
and the row reads back through the trainer's reader (read_rows here, the same reader training uses)."""

import json
import os

import pytest

from agent_client import AgentError
from tunelab_agent.data.append_row import AppendError, append_row
from tunelab_agent.data.formats import read_rows

PROMPT = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Is this film good?"}]


def write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("first, fmt, expected", [
    ({"instruction": "Classify.", "input": "great", "output": "positive"}, "alpaca",
     {"instruction": "Is this film good?", "input": "", "output": "yes", "system": "Answer in one word."}),
    ({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}, "sharegpt",
     {"conversations": [{"from": "system", "value": "Answer in one word."}, {"from": "human", "value": "Is this film good?"},
                        {"from": "gpt", "value": "yes"}]}),
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, "openai",
     {"messages": PROMPT + [{"role": "assistant", "content": "yes"}]}),
])
def test_promote_appends_one_row_in_the_files_format_that_the_trainer_reads(tmp_path, first, fmt, expected):
    path = tmp_path / "data.jsonl"
    write(path, [first])
    result = append_row(str(path), PROMPT, "yes")
    assert result == {"path": str(path), "format": fmt, "line": 2}
    assert lines(path) == [first, expected]
    rows = read_rows(str(path))
    assert rows.format == fmt and not rows.bad and len(rows.samples) == 2
    assert rows.samples[1].line == 2 and rows.samples[1].messages[-1] == {"role": "assistant", "content": "yes"}
    assert [f for f in os.listdir(tmp_path) if f != "data.jsonl"] == [], "no temporary file is left behind"


def test_a_file_without_a_final_newline_and_blank_lines_gets_the_row_on_its_own_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}\n\n{"text": 1')
    result = append_row(str(path), PROMPT[1:], "yes")
    assert result["line"] == 4
    assert path.read_text().splitlines()[3] == json.dumps({"messages": PROMPT[1:] + [{"role": "assistant", "content": "yes"}]})


def test_prefer_writes_a_pair_in_the_shape_of_the_files_rows(tmp_path):
    flat = tmp_path / "flat.jsonl"
    write(flat, [{"prompt": "Is it good?", "chosen": "yes", "rejected": "no"}])
    assert append_row(str(flat), PROMPT[1:], "yes", "no")["format"] == "preference"
    assert lines(flat)[1] == {"prompt": "Is this film good?", "chosen": "yes", "rejected": "no"}

    implicit = tmp_path / "implicit.jsonl"
    write(implicit, [{"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                      "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}])
    append_row(str(implicit), PROMPT, "yes", "no")
    assert lines(implicit)[1]["chosen"][-1] == {"role": "assistant", "content": "yes"}
    assert lines(implicit)[1]["rejected"][:-1] == PROMPT

    new = tmp_path / "new-pairs.jsonl"
    assert append_row(str(new), PROMPT, "yes", "no") == {"path": str(new), "format": "preference", "line": 1}
    assert lines(new) == [{"prompt": PROMPT, "chosen": "yes", "rejected": "no"}]
    pairs = read_rows(str(new))
    assert pairs.format == "preference" and pairs.samples[0].prompt == PROMPT and pairs.samples[0].rejected == "no"


def test_a_file_changed_on_disk_during_the_append_is_read_again_and_keeps_the_change(tmp_path):
    path = tmp_path / "data.jsonl"
    first = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    edit = {"messages": [{"role": "user", "content": "saved by an editor"}, {"role": "assistant", "content": "meanwhile"}]}
    write(path, [first])
    calls = []

    def editor_saves(temp):
        calls.append(temp)
        if len(calls) == 1:  # the first attempt's rename would overwrite this save
            with open(path, "a") as f:
                f.write(json.dumps(edit) + "\n")

    result = append_row(str(path), PROMPT[1:], "yes", before_rename=editor_saves)
    assert len(calls) == 2, "the append was redone after the change"
    assert result["line"] == 3
    assert lines(path) == [first, edit, {"messages": PROMPT[1:] + [{"role": "assistant", "content": "yes"}]}]


def test_refusals_name_the_file_and_the_reason_and_leave_it_untouched(tmp_path):
    alpaca = tmp_path / "alpaca.jsonl"
    write(alpaca, [{"instruction": "Classify.", "output": "positive"}])
    before = alpaca.read_text()
    two_turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
    cases = [
        (alpaca, two_turns, "yes", None, "Alpaca rows hold one instruction"),
        (alpaca, PROMPT, "yes", "no", "not preference pairs"),
        (alpaca, PROMPT, "  ", None, "answer: the answer is empty"),
        (alpaca, PROMPT[:1], "yes", None, "must end with the user's turn"),
        (tmp_path / "data.csv", PROMPT, "yes", None, "JSONL files only"),
        (tmp_path / "missing" / "x.jsonl", PROMPT, "yes", None, "folder does not exist"),
    ]
    for path, messages, answer, rejected, why in cases:
        with pytest.raises(AppendError, match=why):
            append_row(str(path), messages, answer, rejected)
    assert alpaca.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["alpaca.jsonl"]


def test_the_server_appends_inside_served_folders_only(start_server, data_dir, tmp_path):
    client = start_server().client()
    path = data_dir / "promoted.jsonl"
    write(path, [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}])
    try:
        result = client.call("append_dataset_row", {"path": str(path), "messages": PROMPT, "answer": "yes"})
        assert result == {"path": str(path), "format": "openai", "line": 2}
        with pytest.raises(AgentError) as err:
            client.call("append_dataset_row", {"path": str(tmp_path / "elsewhere.jsonl"), "messages": PROMPT, "answer": "yes"})
        assert err.value.code == "bad_params" and "outside the folders" in err.value.message
        with pytest.raises(AgentError) as err:
            client.call("append_dataset_row", {"path": str(path), "messages": PROMPT, "answer": "yes", "rejected": "no"})
        assert err.value.code == "bad_params" and "promoted.jsonl: holds openai rows" in err.value.message
    finally:
        path.unlink()
