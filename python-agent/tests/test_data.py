import pytest

from tunelab_agent.data.dataset import IGNORE, DatasetError, encode_row, prompt_ids, read_alpaca, user_message


def test_non_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n\n{"instruction": "c", "output": "d"}\nnot json\n')
    with pytest.raises(DatasetError, match=r"^train\.jsonl line 4: not valid JSON"):
        read_alpaca(str(path))


def test_row_without_output_names_the_key(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "a"}\n')
    with pytest.raises(DatasetError, match=r'd\.jsonl line 1: "output" must be a string'):
        read_alpaca(str(path))


def test_loss_covers_only_the_answer_and_prompt_matches_generation(data_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(data_dir / "model"))
    row = {"instruction": "Classify.", "input": "The soup was awful.", "output": "negative"}
    assert user_message(row) == "Classify.\n\nThe soup was awful."
    item = encode_row(tokenizer, row, 512)
    answer = [t for t, label in zip(item["input_ids"], item["labels"]) if label != IGNORE]
    assert tokenizer.decode(answer).startswith("negative" + tokenizer.eos_token)
    head = prompt_ids(tokenizer, user_message(row))
    assert item["input_ids"][: len(head)] == head
    assert all(label == IGNORE for label in item["labels"][: len(head)])
    assert encode_row(tokenizer, row, len(head)) is None  # truncation that cuts the whole answer
