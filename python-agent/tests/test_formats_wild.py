"""The data people bring from hubs: tool calling, preference and KTO rows in every common form,
multimodal rows (refused), and Parquet files. Each is detected with format auto and read with its
bad rows named by file, line (or row) and key."""

import json

import pytest

from tunelab_agent.data.formats import FormatError, read_rows

WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CALL = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}


def lines(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def bad_lines(rows):
    return [(b.line, b.reason) for b in rows.bad]


def test_sharegpt_tool_calls_with_tools_as_a_json_string_or_a_list(tmp_path):
    turns = [{"from": "human", "value": "Weather in Oslo?"},
             {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": "Oslo"}})},
             {"from": "observation", "value": json.dumps({"temp": 3})},
             {"from": "gpt", "value": "3 degrees."}]
    path = tmp_path / "tools.jsonl"
    path.write_text(lines(
        {"conversations": turns, "tools": json.dumps([WEATHER]), "system": "Be brief."},
        {"conversations": turns, "tools": [{"type": "function", "function": WEATHER}]},
        {"conversations": turns[:1] + [{"from": "function_call", "value": "get_weather(Oslo)"}] + turns[2:]},
        {"conversations": turns, "tools": "[{oops"},
        {"conversations": [turns[0], turns[2], turns[3]]},
        {"conversations": turns[:1] + [{"from": "function_call", "value": json.dumps({"arguments": {}})}] + turns[2:]}))
    rows = read_rows(str(path))
    assert rows.format == "sharegpt" and rows.total == 6
    first, second = rows.samples
    assert first.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "tool", "content": '{"temp": 3}'},
        {"role": "assistant", "content": "3 degrees."}]
    assert first.tools == second.tools == [{"type": "function", "function": WEATHER}]
    assert second.messages == first.messages[1:]
    reasons = dict(bad_lines(rows))
    assert reasons[3].startswith("conversations[1].value is not valid JSON (Expecting value at column 1)")
    assert reasons[4].startswith('"tools" is not valid JSON')
    assert reasons[5] == "role order broken at conversations[1]: expected assistant, got tool"
    assert reasons[6] == "conversations[1].value.name must be a non-empty string"


def test_openai_tool_calls_parallel_results_and_their_errors(tmp_path):
    messages = [{"role": "user", "content": "Oslo and Rome?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
                    {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}]},
                {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "3"},
                {"role": "tool", "tool_call_id": "c2", "content": "21"},
                {"role": "assistant", "content": "Oslo 3, Rome 21."}]
    broken_args = json.loads(json.dumps(messages))
    broken_args[1]["tool_calls"][1]["function"]["arguments"] = '{"city": '
    nameless = json.loads(json.dumps(messages))
    del nameless[1]["tool_calls"][0]["function"]["name"]
    path = tmp_path / "calls.jsonl"
    path.write_text(lines(
        {"messages": messages, "tools": [WEATHER]},
        {"messages": broken_args},
        {"messages": nameless},
        {"messages": messages[:3]},
        {"messages": messages[:2]},  # a call as the last turn is a valid target: the model learns to call
        {"messages": messages[:1] + messages[2:]}))
    rows = read_rows(str(path))
    assert rows.format == "openai" and [s.line for s in rows.samples] == [1, 5]
    sample = rows.samples[0]
    assert sample.tools == [{"type": "function", "function": WEATHER}]
    assert sample.messages[1] == {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}, "id": "c1"},
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}, "id": "c2"}]}
    assert sample.messages[2:4] == [{"role": "tool", "content": "3", "name": "get_weather", "tool_call_id": "c1"},
                                    {"role": "tool", "content": "21", "tool_call_id": "c2"}]
    assert bad_lines(rows) == [
        (2, "messages[1].tool_calls[1].function.arguments is not valid JSON (Expecting value at column 10)"),
        (3, "messages[1].tool_calls[0].function.name must be a non-empty string"),
        (4, "messages ends with a tool turn; the last turn must be the assistant's answer"),
        (6, "role order broken at messages[1]: expected assistant, got tool")]


def test_preference_pairs_in_every_form_normalise_to_one_shape(tmp_path):
    question = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q?"}]
    expected = (question, "good", "bad")
    path = tmp_path / "pairs.jsonl"
    path.write_text(lines(
        {"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "Q?"}],
         "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}},
        {"messages": question, "chosen": {"role": "assistant", "content": "good"}, "rejected": "bad"},
        {"prompt": question, "chosen": "good", "rejected": [{"role": "assistant", "content": "bad"}]},
        {"chosen": question + [{"role": "assistant", "content": "good"}],
         "rejected": question + [{"role": "assistant", "content": "bad"}]},
        {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A"}],
         "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}},
        {"messages": question, "chosen": {"role": "user", "content": "good"}, "rejected": "bad"},
        {"chosen": question + [{"role": "assistant", "content": "good"}],
         "rejected": [{"role": "user", "content": "other"}, {"role": "assistant", "content": "bad"}]}))
    rows = read_rows(str(path))
    assert rows.format == "preference"
    assert [(s.prompt, s.chosen, s.rejected) for s in rows.samples] == [expected] * 4
    assert bad_lines(rows) == [(5, '"conversations" must end with a user turn'),
                               (6, "\"chosen\" must be an assistant turn, got role 'user'"),
                               (7, '"chosen" and "rejected" must share every turn but the last (the prompt)')]


def test_kto_rows_need_a_boolean_label_and_string_labels_stay_class_labels(tmp_path):
    conversation = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    path = tmp_path / "kto.jsonl"
    path.write_text(lines(
        {"messages": conversation, "label": True},
        {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "B."}], "label": False},
        {"prompt": "Q?", "completion": [{"role": "assistant", "content": "C."}], "label": True},
        {"messages": conversation, "label": "yes"},
        {"messages": conversation[:1] + [{"role": "assistant", "content": "", "tool_calls": [CALL]}], "label": True}))
    rows = read_rows(str(path))
    assert rows.format == "kto"
    assert [(s.prompt, s.completion, s.desirable) for s in rows.samples] == [
        (conversation[:1], "A.", True), (conversation[:1], "B.", False), (conversation[:1], "C.", True)]
    assert all(s.messages is None and s.chosen is None for s in rows.samples)
    assert bad_lines(rows) == [(4, '"label" must be true or false (whether the answer is desirable)'),
                               (5, "messages[1] is a tool call; a KTO row's last turn must be a text answer")]

    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text(lines({"messages": conversation, "label": "positive"}))
    rows = read_rows(str(labelled))
    assert rows.format == "openai" and rows.samples[0].label == "positive" and rows.samples[0].desirable is None


@pytest.mark.parametrize("key", ["images", "videos", "audios"])
def test_rows_with_media_fail_the_file_with_one_message_naming_the_key(tmp_path, key):
    path = tmp_path / "mm.jsonl"
    conversation = [{"role": "user", "content": "<image>What is this?"}, {"role": "assistant", "content": "A cat."}]
    path.write_text(lines({"messages": conversation, key: []},  # an empty list is a text-only row
                          {"messages": conversation, key: ["cat.png"]},
                          {"messages": conversation, key: ["dog.png"]}))
    with pytest.raises(FormatError) as caught:
        read_rows(str(path))
    assert str(caught.value) == (f'mm.jsonl line 2: "{key}" holds media; this agent trains text models, so rows '
                                 f'with images, videos or audios are refused (remove the "{key}" key, or use a '
                                 "text-only dataset)")


def test_image_parts_in_openai_content_fail_the_file_too(tmp_path):
    path = tmp_path / "parts.jsonl"
    path.write_text(lines({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "data:..."}}]},
        {"role": "assistant", "content": "A cat."}]}))
    with pytest.raises(FormatError, match=r'^parts\.jsonl line 1: messages\[0\]\.content has a "image_url" part; '
                                          "this agent trains text models"):
        read_rows(str(path))


def test_parquet_is_read_in_batches_with_row_numbers(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from tunelab_agent.data import parquet_rows

    good = [{"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
            {"role": "tool", "content": "3"},
            {"role": "assistant", "content": "3 degrees."}]
    rows = [{"messages": good, "tools": json.dumps([WEATHER]), "images": []} for _ in range(7)]
    rows[4] = {"messages": good[:1], "tools": None, "images": []}
    path = tmp_path / "train-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), str(path), row_group_size=3)
    assert pq.ParquetFile(str(path)).num_row_groups == 3

    found = read_rows(str(path))
    assert found.format == "openai" and found.total == 7
    assert [s.line for s in found.samples] == [1, 2, 3, 4, 6, 7]
    # Parquet gives absent struct fields as None; they must not reach the template as "null" keys.
    assert found.samples[0].messages[0] == {"role": "user", "content": "Weather in Oslo?"}
    assert found.samples[0].messages[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert found.samples[0].tools == [{"type": "function", "function": WEATHER}]
    [bad] = found.bad
    assert bad.describe() == ("train-00000-of-00001.parquet row 5: messages ends with a user turn; "
                              "the last turn must be the assistant's answer")

    seen = [line for line, _ in parquet_rows.parquet_records(str(path), path.name)]
    assert seen == list(range(1, 8))

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FormatError, match=r"^broken\.parquet: not a readable Parquet file"):
        read_rows(str(broken))


def test_csv_with_an_empty_images_column_is_text_only(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('instruction,output,images\nSay hi.,hi,[]\nSay bye.,bye,["a.png"]\n')
    with pytest.raises(FormatError, match=r'^d\.csv line 3: "images" holds media'):
        read_rows(str(path))
    path.write_text('instruction,output,images\nSay hi.,hi,[]\nSay bye.,bye,\n')
    rows = read_rows(str(path))
    assert rows.format == "alpaca" and len(rows.samples) == 2 and not rows.bad


def test_kto_rows_give_evaluate_their_desirable_answers_only(tmp_path):
    from tunelab_agent.generation.evaluate import read_eval_rows

    conversation = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    path = tmp_path / "kto.jsonl"
    path.write_text(lines({"messages": conversation, "label": True}, {"messages": conversation, "label": False}))
    rows, skipped = read_eval_rows(str(path))
    assert rows == [{"line": 1, "messages": conversation[:1], "answer": "A.", "label": None}]
    assert skipped == ["kto.jsonl line 2: an undesirable answer (label false) is no reference"]
