"""Tool calling through the chat template: natively (`tools=`) where the template supports it, else the
documented fallback. Either way the loss falls on the assistant's turns, calls included, never on results."""

import json

import pytest

from tunelab_agent.data.dataset import prompt_ids
from tunelab_agent.data.templating import IGNORE, encode_conversation
from tunelab_agent.data.tool_render import TOOLS_INTRO, supports_tools

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object",
                                                           "properties": {"city": {"type": "string"}}}}}
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Oslo and Rome?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]},
    {"role": "tool", "content": "RESULT-OSLO"},
    {"role": "tool", "content": "RESULT-ROME"},
    {"role": "assistant", "content": "Oslo 3, Rome 21."},
]

# A tool-aware template in the style of Qwen's: the tool list in the system turn, calls inside the
# assistant turn, and a run of tool results in one user turn that is closed only after the last result
# (so a prefix ending inside the run renders differently; the splitter must not cut there).
NATIVE = (
    "{% if tools %}<|system|>\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\n{% endif %}"
    "Tools:\n{% for t in tools %}{{ t | tojson }}\n{% endfor %}<|end|>\n"
    "{% elif messages[0].role == 'system' %}<|system|>\n{{ messages[0].content }}<|end|>\n{% endif %}"
    "{% for m in messages %}"
    "{% if m.role == 'system' %}"
    "{% elif m.role == 'tool' %}"
    "{% if loop.first or messages[loop.index0 - 1].role != 'tool' %}<|user|>\n{% endif %}"
    "<result>{{ m.content }}</result>"
    "{% if loop.last or messages[loop.index0 + 1].role != 'tool' %}<|end|>\n{% endif %}"
    "{% elif m.role == 'assistant' %}<|assistant|>\n{{ m.content }}"
    "{% for c in m.tool_calls or [] %}<call>{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}"
    "</call>{% endfor %}<|end|>\n"
    "{% else %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


@pytest.fixture(scope="module")
def native(data_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(data_dir / "model"))
    tokenizer.chat_template = NATIVE
    return tokenizer


def loss_texts(tokenizer, item) -> list[str]:
    runs, current = [], []
    for token, label in zip(item["input_ids"], item["labels"] + [IGNORE]):
        if label != IGNORE:
            current.append(token)
        elif current:
            runs.append(tokenizer.decode(current))
            current = []
    if current:
        runs.append(tokenizer.decode(current))
    return runs


def test_native_template_renders_tools_itself_and_masks_results(native):
    assert supports_tools(native, NATIVE)
    item = encode_conversation(native, CONVERSATION, tools=[WEATHER])
    assert native.decode(item["input_ids"]) == native.apply_chat_template(CONVERSATION, tools=[WEATHER], tokenize=False)
    calls = ('<call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</call>'
             '<call>{"name": "get_weather", "arguments": {"city": "Rome"}}</call><|end|>\n')
    assert loss_texts(native, item) == [calls, "Oslo 3, Rome 21.<|end|>\n"]
    head = prompt_ids(native, CONVERSATION[:5], tools=[WEATHER])
    assert item["input_ids"][:len(head)] == head  # generation after the results sees the training split
    assert native.decode(head).endswith("<result>RESULT-ROME</result><|end|>\n<|assistant|>\n")
    assert '"name": "get_weather", "description": "Weather in a city"' in native.decode(head)


def test_template_without_tool_support_gets_the_documented_fallback(tokenizer):
    assert not supports_tools(tokenizer, tokenizer.chat_template)  # the tiny template drops tool_calls
    item = encode_conversation(tokenizer, CONVERSATION, tools=[WEATHER])
    text = tokenizer.decode(item["input_ids"])
    listing = TOOLS_INTRO + "\n<tools>\n" + json.dumps(WEATHER["function"]) + "\n</tools>"
    assert text.startswith("<|system|>\nBe brief.\n\n" + listing + "<|end|>\n<|user|>\nOslo and Rome?<|end|>\n")
    calls = ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
             '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|end|>\n')
    assert "<|user|>\n<tool_response>\nRESULT-OSLO\n</tool_response>\n<tool_response>\nRESULT-ROME\n</tool_response>" \
           "<|end|>\n" in text
    assert loss_texts(tokenizer, item) == [calls, "Oslo 3, Rome 21.<|end|>\n"]
    assert not any("RESULT" in run for run in loss_texts(tokenizer, item))


def test_a_row_that_only_offers_tools_still_shows_them(tokenizer):
    plain = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    with_tools = tokenizer.decode(encode_conversation(tokenizer, plain, tools=[WEATHER])["input_ids"])
    assert with_tools.startswith("<|system|>\n" + TOOLS_INTRO)
    without = tokenizer.decode(encode_conversation(tokenizer, plain)["input_ids"])
    assert without == tokenizer.apply_chat_template(plain, tokenize=False)  # rows without tools are unchanged
