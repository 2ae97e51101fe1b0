"""Tool calls, tool results and the tool list, rendered for a chat template.

A template that knows tool calling (Qwen, Llama 3.1, Mistral, Hermes, ...) gets the messages as they are
and the tool list through `apply_chat_template(..., tools=)`, so a fine-tuned model sees calls exactly as
its template will show them at inference. Whether a template knows it is tested, not guessed from its
name: a probe conversation with a call, a result and a tool list is rendered, and the template counts
as supporting tools only if all three show up. A template that silently drops any of them (the tiny
test model's, most base models' fallbacks) would otherwise train on answers to calls the model never saw.

Every other template gets one fixed rendering (the Hermes convention, which many models already know),
built from plain system/user/assistant messages:

- the tool list goes at the end of the system message (a new one first when there is none):
  TOOLS_INTRO, then `<tools>`, one JSON function schema per line, `</tools>`;
- an assistant call becomes its content followed by `<tool_call>\\n{"name", "arguments"}\\n</tool_call>`
  per call; it is an assistant turn, so it carries loss;
- consecutive tool results become one user message of `<tool_response>\\n...\\n</tool_response>` blocks;
  a user turn never carries loss.
"""

import json

TOOLS_INTRO = ('You can call these functions. To call one, answer with <tool_call>{"name": ..., "arguments": '
               '{...}}</tool_call>; each result comes back in <tool_response></tool_response>.')

_PROBE_MARKS = ("tl_probe_tool", "tl_probe_call", "tl_probe_arg", "tl_probe_result")
_PROBE_TOOLS = [{"type": "function", "function": {"name": "tl_probe_tool", "description": "probe",
                                                  "parameters": {"type": "object", "properties": {}}}}]
_PROBE_MESSAGES = [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "tl_probe_call", "arguments": {"tl_probe_arg": 1}}}]},
    {"role": "tool", "name": "tl_probe_call", "content": "tl_probe_result"},
    {"role": "assistant", "content": "done"},
]
_support: dict[str, bool] = {}


def uses_tools(messages: list[dict], tools: list[dict] | None) -> bool:
    return bool(tools) or any(m["role"] == "tool" or m.get("tool_calls") for m in messages)


def supports_tools(tokenizer, template: str) -> bool:
    if template not in _support:
        try:
            text = tokenizer.apply_chat_template(_PROBE_MESSAGES, tools=_PROBE_TOOLS, tokenize=False,
                                                 chat_template=template)
            _support[template] = isinstance(text, str) and all(mark in text for mark in _PROBE_MARKS)
        except Exception:  # a template that raises on a tool turn does not support tools
            _support[template] = False
    return _support[template]


def prepare(tokenizer, template: str, messages: list[dict], tools: list[dict] | None):
    """(messages, tools) to hand the template: as they are, or the fallback rendering and no tools."""
    if not uses_tools(messages, tools):
        return messages, None
    if supports_tools(tokenizer, template):
        return messages, tools or None
    return fallback_messages(messages, tools), None


def fallback_messages(messages: list[dict], tools: list[dict] | None) -> list[dict]:
    out: list[dict] = []
    for message in messages:
        role = message["role"]
        if role == "tool":
            block = f"<tool_response>\n{message['content']}\n</tool_response>"
            if out and out[-1].get("_results"):
                out[-1]["content"] += "\n" + block
            else:
                out.append({"role": "user", "content": block, "_results": True})
        elif role == "assistant" and message.get("tool_calls"):
            calls = "\n".join("<tool_call>\n" + json.dumps({"name": c["function"]["name"],
                                                             "arguments": c["function"]["arguments"]},
                                                            ensure_ascii=False) + "\n</tool_call>"
                              for c in message["tool_calls"])
            text = message["content"].strip()
            out.append({"role": "assistant", "content": f"{text}\n{calls}" if text else calls})
        else:
            out.append({"role": role, "content": message["content"]})
    for message in out:
        message.pop("_results", None)
    if tools:
        listing = TOOLS_INTRO + "\n<tools>\n" + "\n".join(
            json.dumps(t["function"], ensure_ascii=False) for t in tools) + "\n</tools>"
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + "\n\n" + listing}
        else:
            out.insert(0, {"role": "system", "content": listing})
    return out
