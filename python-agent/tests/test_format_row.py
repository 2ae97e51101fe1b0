"""format_dataset_row: Promote and Prefer for a file the agent cannot read (the agent on an SSH host, the file in
the extension's workspace). The agent sees the file's first lines and answers the row append_row would add."""

import json

import pytest

from agent_client import AgentError
from test_append_row import PROMPT
from tunelab_agent.data.append_row import AppendError, append_row, format_row

FIRSTS = [
    {"instruction": "Classify.", "input": "great", "output": "positive"},
    {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
]


@pytest.mark.parametrize("first", FIRSTS)
def test_the_row_is_the_one_append_row_writes_for_the_same_file(tmp_path, first):
    head = json.dumps(first) + "\n"
    path = tmp_path / "data.jsonl"
    path.write_text(head)
    written = append_row(str(path), PROMPT, "yes")
    answered = format_row("data.jsonl", head, PROMPT, "yes")
    assert answered == {"row": path.read_text().splitlines()[1], "format": written["format"]}


def test_a_pair_follows_the_preference_file_and_a_new_file_gets_trls_shape():
    head = json.dumps({"messages": [{"role": "user", "content": "q"}], "chosen": "a", "rejected": "b"})  # no final newline
    answered = format_row("prefs.jsonl", head, PROMPT, "yes", "no")
    assert json.loads(answered["row"]) == {"messages": PROMPT, "chosen": "yes", "rejected": "no"}
    assert answered["format"] == "preference"
    fresh = format_row("new.jsonl", "", PROMPT[1:], "yes", "no")
    assert json.loads(fresh["row"]) == {"prompt": PROMPT[1:], "chosen": "yes", "rejected": "no"}


@pytest.mark.parametrize("name, head, rejected, why", [
    ("data.csv", "", None, "data.csv: rows can be appended to JSONL files only"),
    ("data.jsonl", json.dumps(FIRSTS[0]) + "\n", "no", "data.jsonl: holds alpaca rows, not preference pairs"),
    ("data.jsonl", json.dumps(FIRSTS[2]) + "\n", "no", "data.jsonl: holds openai rows, not preference pairs"),
])
def test_what_cannot_be_appended_is_refused_with_the_files_name(name, head, rejected, why):
    with pytest.raises(AppendError, match=why):
        format_row(name, head, PROMPT, "yes", rejected)


def test_the_server_answers_the_row_and_refuses_a_path_for_a_name(start_server):
    client = start_server().client()
    head = json.dumps(FIRSTS[2]) + "\n"
    result = client.call("format_dataset_row", {"file_name": "chat.jsonl", "head": head, "messages": PROMPT, "answer": "yes"})
    assert result["format"] == "openai"
    assert json.loads(result["row"]) == {"messages": PROMPT + [{"role": "assistant", "content": "yes"}]}
    for name in ("../chat.jsonl", "/etc/chat.jsonl"):
        with pytest.raises(AgentError) as err:
            client.call("format_dataset_row", {"file_name": name, "head": "", "messages": PROMPT, "answer": "yes"})
        assert err.value.code == "bad_params" and "a file name without folders" in err.value.message
