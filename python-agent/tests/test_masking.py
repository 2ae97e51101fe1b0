"""Which token positions carry loss: assistant answers only (every turn), or all tokens with train_on all."""

import pytest

from tunelab_agent.data.dataset import prompt_ids, render_prompt
from tunelab_agent.data.templating import IGNORE, TemplateError, encode_conversation, encode_text

SYSTEM = {"role": "system", "content": "Answer in one word."}
Q1, A1 = {"role": "user", "content": "Is the soup good?"}, {"role": "assistant", "content": "No"}
Q2, A2 = {"role": "user", "content": "And the bread?"}, {"role": "assistant", "content": "Yes"}


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def loss_runs(labels):
    """[(start, end)] of the maximal runs of positions whose label is not IGNORE."""
    runs, start = [], None
    for i, label in enumerate(labels + [IGNORE]):
        if label != IGNORE and start is None:
            start = i
        elif label == IGNORE and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_single_turn_loss_is_exactly_the_answer(tokenizer):
    item = encode_conversation(tokenizer, [Q1, A1])
    ids, labels = item["input_ids"], item["labels"]
    head = prompt_ids(tokenizer, [Q1])
    answer = tokenizer("No<|end|>\n", add_special_tokens=False)["input_ids"]
    assert ids == head + answer  # the prompt generation sees, then the answer
    assert labels == [IGNORE] * len(head) + answer
    assert tokenizer.decode(ids) == tokenizer.apply_chat_template([Q1, A1], tokenize=False)


def test_multi_turn_trains_every_answer_with_history_in_context(tokenizer):
    conversation = [SYSTEM, Q1, A1, Q2, A2]
    item = encode_conversation(tokenizer, conversation)
    ids, labels = item["input_ids"], item["labels"]
    first_prompt, second_prompt = prompt_ids(tokenizer, [SYSTEM, Q1]), prompt_ids(tokenizer, [SYSTEM, Q1, A1, Q2])
    assert ids[: len(second_prompt)] == second_prompt  # the whole history precedes the second answer
    runs = loss_runs(labels)
    assert [tokenizer.decode(ids[a:b]) for a, b in runs] == ["No<|end|>\n", "Yes<|end|>\n"]
    assert runs[0][0] == len(first_prompt) and runs[1][0] == len(second_prompt) and runs[1][1] == len(ids)
    assert all(labels[i] == ids[i] for a, b in runs for i in range(a, b))
    assert sum(label != IGNORE for label in labels) == sum(b - a for a, b in runs)


def test_train_on_all_labels_every_token(tokenizer):
    item = encode_conversation(tokenizer, [SYSTEM, Q1, A1], train_on="all")
    assert item["labels"] == item["input_ids"]
    assert item["input_ids"] == encode_conversation(tokenizer, [SYSTEM, Q1, A1])["input_ids"]


def test_plain_text_ends_with_eos_and_trains_all(tokenizer):
    item = encode_text(tokenizer, "just some text")
    assert item["input_ids"][-1] == tokenizer.eos_token_id and item["labels"] == item["input_ids"]


def test_prompt_accepts_a_plain_string_as_one_user_turn(tokenizer):
    assert prompt_ids(tokenizer, "Is the soup good?") == prompt_ids(tokenizer, [Q1])
    assert render_prompt(tokenizer, [Q1]).endswith("<|assistant|>\n")


def test_template_that_rewrites_history_is_refused(tokenizer):
    odd = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    odd.chat_template = "{{ messages | length }}" + tokenizer.chat_template  # every prefix renders differently
    with pytest.raises(TemplateError, match="renders earlier turns differently"):
        encode_conversation(odd, [Q1, A1])
    strict = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    strict.chat_template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}"
                            "{% endif %}" + tokenizer.chat_template)
    with pytest.raises(TemplateError, match="the chat template refused this conversation: no system role"):
        encode_conversation(strict, [SYSTEM, Q1, A1])


def test_tokenizer_without_template_uses_the_fallback(tokenizer):
    bare = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    bare.chat_template = None
    item = encode_conversation(bare, [Q1, A1])
    [(a, b)] = loss_runs(item["labels"])
    assert bare.decode(item["input_ids"][a:b]) == "No<|end|>\n" and a == len(prompt_ids(bare, [Q1]))
