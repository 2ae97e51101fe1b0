"""dataset.truncation: rows over max_length are bad rows by default; `answer` cuts the last answer's tail,
`left` drops the oldest turns; every cut row is counted and reported."""

import json

import pytest

from tunelab_agent.data.dataset import DatasetError, load_split, prompt_ids, tokenise_file
from tunelab_agent.training.run_config import ConfigError, load_run_config
from tunelab_agent.data.templating import IGNORE, encode_conversation, encode_text

SYSTEM = {"role": "system", "content": "You are terse."}


def exchange(n: int) -> list[dict]:
    return [{"role": "user", "content": f"Question number {n}?"}, {"role": "assistant", "content": f"Answer {n}."}]


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def write(path, *rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_answer_mode_cuts_the_last_answer_and_keeps_the_prompt_whole(tmp_path, tokenizer):
    prompt = [SYSTEM] + exchange(1) + [{"role": "user", "content": "Tell me a long story."}]
    story = {"role": "assistant", "content": "Once upon a time " * 30}
    full = encode_conversation(tokenizer, prompt + [story])
    head = prompt_ids(tokenizer, prompt)
    limit = len(head) + 7
    long_prompt = [{"role": "user", "content": "Why? " * 60}, {"role": "assistant", "content": "Because."}]
    path = write(tmp_path / "long.jsonl", {"messages": prompt + [story]}, {"messages": long_prompt},
                 {"messages": exchange(2)})

    refused = tokenise_file(path, "auto", tokenizer, limit, "assistant")  # the default: never cut silently
    assert [(b.line, b.reason) for b in refused.bad] == [
        (1, f"{len(full['input_ids'])} tokens, over max_length {limit}"),
        (2, f"{len(encode_conversation(tokenizer, long_prompt)['input_ids'])} tokens, over max_length {limit}")]
    assert refused.truncated == [] and len(refused.items) == 1

    split = tokenise_file(path, "auto", tokenizer, limit, "assistant", "answer")
    cut = split.items[0]
    assert cut["input_ids"] == full["input_ids"][:limit] and cut["labels"] == full["labels"][:limit]
    assert cut["input_ids"][:len(head)] == head and cut["labels"][len(head) - 1] == IGNORE
    assert cut["labels"][len(head):] == cut["input_ids"][len(head):]  # the 7 kept answer tokens train
    assert [(t.line, t.reason) for t in split.truncated] == [
        (1, f"cut from {len(full['input_ids'])} to {limit} tokens: the end of the last answer is dropped "
            "(dataset.truncation: answer)")]
    [(line, reason)] = [(b.line, b.reason) for b in split.bad]
    assert line == 2 and reason.endswith(f"and the prompt alone is {len(prompt_ids(tokenizer, long_prompt[:1]))} "
                                         "tokens: cutting the answer cannot make it fit")


def test_left_mode_drops_the_oldest_turns_and_keeps_the_system_prompt(tmp_path, tokenizer):
    dialogue = [SYSTEM] + exchange(1) + exchange(2) + exchange(3) + exchange(4)
    kept = [SYSTEM] + exchange(3) + exchange(4)
    expected = encode_conversation(tokenizer, kept)
    limit = len(expected["input_ids"])
    assert len(encode_conversation(tokenizer, [SYSTEM] + exchange(2) + exchange(3) + exchange(4))["input_ids"]) > limit
    huge = [SYSTEM, {"role": "user", "content": "Why? " * 60}, {"role": "assistant", "content": "Because."}]
    path = write(tmp_path / "dialogue.jsonl", {"messages": dialogue}, {"messages": exchange(1) + huge[1:]})

    split = tokenise_file(path, "auto", tokenizer, limit, "assistant", "left")
    assert split.items == [expected]
    assert [(t.line, t.reason) for t in split.truncated] == [
        (1, f"dropped the 4 oldest turns, from {len(encode_conversation(tokenizer, dialogue)['input_ids'])} to {limit} "
            "tokens (dataset.truncation: left)")]
    last_alone = len(encode_conversation(tokenizer, huge[1:])["input_ids"])
    assert [(b.line, b.reason[b.reason.index("and"):]) for b in split.bad] == [
        (2, f"and still {last_alone} tokens with only the last exchange kept")]


def test_plain_text_keeps_its_start_or_its_end(tmp_path, tokenizer):
    text = "alpha beta gamma delta " * 20
    full = encode_text(tokenizer, text)["input_ids"]
    path = write(tmp_path / "t.jsonl", {"text": text})
    assert tokenise_file(path, "auto", tokenizer, 16, "assistant", "answer").items[0]["input_ids"] == full[:16]
    tail = tokenise_file(path, "auto", tokenizer, 16, "assistant", "left").items[0]
    assert tail == {"input_ids": full[-16:], "labels": full[-16:]} and tail["input_ids"][-1] == tokenizer.eos_token_id


def test_cut_rows_are_reported_counted_and_cached_per_mode(tmp_path, tokenizer):
    story = exchange(1)[:1] + [{"role": "assistant", "content": "Once upon a time " * 30}]
    path = write(tmp_path / "story.jsonl", {"messages": story}, {"messages": exchange(2)})
    opts = {"max_length": 40, "format": "auto", "train_on": "assistant", "max_bad_rows": 0.0, "truncation": "answer"}
    for cached in (False, True):
        events = []
        split = load_split(path, opts, tokenizer, str(tmp_path / "cache"), lambda k, d: events.append((k, d)))
        assert split.cached is cached
        assert events[0][0] == "truncated_row" and events[0][1]["line"] == 1 and events[0][1]["file"] == "story.jsonl"
        assert events[0][1]["reason"].startswith("cut from ") and events[0][1]["split"] == "train"
        assert events[-1] == ("data_report", {"split": "train", "file": "story.jsonl", "format": "openai", "rows": 2,
                                              "kept": 2, "bad": 0, "cached": cached, "tokens": split.tokens,
                                              "truncated": 1})
        assert max(len(i["input_ids"]) for i in split.items) == 40
    with pytest.raises(DatasetError, match=r"story\.jsonl: 1 of 2 rows are bad .* line 1: \d+ tokens, over max_length 40"):
        load_split(path, {**opts, "truncation": "none"}, tokenizer, str(tmp_path / "cache"), lambda k, d: None)


def test_the_run_config_key_is_validated_and_defaults_to_none():
    config = load_run_config("model: m\ndataset:\n  train: t.jsonl\n", "a.yaml")
    assert config["dataset"]["truncation"] == "none"
    assert load_run_config("model: m\ndataset:\n  train: t.jsonl\n  truncation: left\n")["dataset"]["truncation"] == "left"
    with pytest.raises(ConfigError, match=r"^b\.yaml line 4: dataset\.truncation: expected one of none, answer, left, "
                                          r'got string "right"$'):
        load_run_config("model: m\ndataset:\n  train: t.jsonl\n  truncation: right\n", "b.yaml")
