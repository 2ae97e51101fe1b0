"""A dataset is tokenised once; a change of file content or options tokenises it again."""

import json
import os

import pytest

from tunelab_agent.data import token_cache
from tunelab_agent.data.dataset import load_split

OPTS = {"max_length": 64, "format": "auto", "train_on": "assistant", "max_bad_rows": 0.5}
ROWS = [{"instruction": "Say hi.", "output": "hi"}, {"instruction": "Say bye.", "output": "bye"}, "not json",
        {"instruction": "Count. " * 40, "output": "x"}]


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(path)


def load(path, tokenizer, root, **opts):
    events = []
    split = load_split(path, {**OPTS, **opts}, tokenizer, str(root), lambda k, d: events.append((k, d)))
    return split, events


def test_second_load_is_a_hit_with_the_same_items_and_bad_rows(tmp_path, tokenizer):
    path = write(tmp_path / "train.jsonl", ROWS)
    first, events = load(path, tokenizer, tmp_path / "root")
    assert events[-1][1]["cached"] is False
    second, events = load(path, tokenizer, tmp_path / "root")
    assert events[-1][1]["cached"] is True and second.cached
    assert second.items == first.items and second.total == first.total == 4
    assert [(b.file, b.line, b.reason) for b in second.bad] == [(b.file, b.line, b.reason) for b in first.bad]
    assert [d["line"] for k, d in events if k == "bad_row"] == [3, 4]  # replayed from the cache
    assert len(os.listdir(tmp_path / "root" / "tokenized")) == 2  # one .pt + one .json, no temp files left


def test_changes_that_alter_the_ids_miss(tmp_path, tokenizer):
    root = tmp_path / "root"
    path = write(tmp_path / "train.jsonl", ROWS)
    load(path, tokenizer, root)
    _, events = load(path, tokenizer, root, max_length=512)
    assert events[-1][1]["cached"] is False and events[-1][1]["bad"] == 1  # the long row now fits
    _, events = load(path, tokenizer, root, train_on="all")
    assert events[-1][1]["cached"] is False
    write(tmp_path / "train.jsonl", ROWS[:2] + [{"instruction": "New.", "output": "row"}])
    split, events = load(path, tokenizer, root)
    assert events[-1][1]["cached"] is False and split.total == 3
    templated = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    templated.chat_template = "{{ '#' }}" + tokenizer.chat_template
    _, events = load(path, templated, root)
    assert events[-1][1]["cached"] is False


def test_same_content_under_another_name_hits_and_names_the_new_file(tmp_path, tokenizer):
    root = tmp_path / "root"
    load(write(tmp_path / "a.jsonl", ROWS), tokenizer, root)
    split, events = load(write(tmp_path / "b.jsonl", ROWS), tokenizer, root)
    assert split.cached and {b.file for b in split.bad} == {"b.jsonl"} and events[-1][1]["file"] == "b.jsonl"


def test_an_entry_without_its_json_is_never_read(tmp_path, tokenizer):
    root = tmp_path / "root"
    path = write(tmp_path / "train.jsonl", ROWS)
    load(path, tokenizer, root)
    folder = root / "tokenized"
    [meta] = [name for name in os.listdir(folder) if name.endswith(".json")]
    os.unlink(folder / meta)  # as if the process died between the two renames
    assert token_cache.load(str(root), meta[: -len(".json")]) is None
    split, events = load(path, tokenizer, root)
    assert events[-1][1]["cached"] is False and len(split.items) == 2
