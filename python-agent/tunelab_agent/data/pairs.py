"""Preference rows (format "preference") and labelled single answers (format "kto") -> Sample.

Every form ends as `Sample(prompt=[... ending with a user turn], chosen, rejected)` or
`Sample(prompt, completion, desirable)`, so the trainers never look at the row's shape:

    preference  {"prompt": str | [messages], "chosen", "rejected"}            (flat, TRL's form)
                {"conversations": [turns ending with human], "chosen": {"from": "gpt", "value"}, ...}
                {"messages": [messages ending with user], "chosen": {"role": "assistant", ...} | str, ...}
                {"chosen": [user, ..., assistant], "rejected": [user, ..., assistant]}  (shared prompt inside)
    kto         {"messages": [..., assistant], "label": true | false}
                {"conversations": [..., gpt], "label": true | false}
                {"prompt": str | [messages], "completion": str | [assistant message], "label": true | false}
"""

from .conversation import check_conversation, check_prompt, parse_messages, parse_tools, sharegpt_messages
from .samples import RowError, Sample


def _object(record, expected: str) -> dict:
    if not isinstance(record, dict):
        raise RowError(f"expected an object with {expected}, got {type(record).__name__}")
    return record


def _label(row: dict) -> str | None:
    value = row.get("label")
    return None if value is None or isinstance(value, bool) else str(value)


def preference(record, line: int) -> Sample:
    row = _object(record, "prompt/chosen/rejected")
    if any(key in row for key in ("conversations", "messages", "prompt")):
        prompt = prompt_of(row)
        chosen, rejected = (answer(row, key) for key in ("chosen", "rejected"))
    else:
        prompt, chosen, rejected = shared_prompt(row)
    return Sample(line, prompt=prompt, chosen=chosen, rejected=rejected, label=_label(row),
                  tools=parse_tools(row.get("tools")))


def kto(record, line: int) -> Sample:
    row = _object(record, "messages/label")
    desirable = row.get("label")
    if not isinstance(desirable, bool):
        raise RowError('"label" must be true or false (whether the answer is desirable)'
                       + ("" if "label" in row else " (it is missing)"))
    if "prompt" in row and "messages" not in row and "conversations" not in row:
        return Sample(line, prompt=prompt_of(row), completion=answer(row, "completion"), desirable=desirable,
                      tools=parse_tools(row.get("tools")))
    key = "conversations" if "conversations" in row and "messages" not in row else "messages"
    messages = sharegpt_messages(row.get(key), key) if key == "conversations" else parse_messages(row.get(key), key)
    check_conversation(messages, key)
    last = messages[-1]
    if last.get("tool_calls"):
        raise RowError(f"{key}[{len(messages) - 1}] is a tool call; a KTO row's last turn must be a text answer")
    if messages[-2]["role"] != "user":
        raise RowError(f"{key}[{len(messages) - 1}] answers a {messages[-2]['role']} turn; a KTO row's last "
                       "answer must follow a user turn")
    return Sample(line, prompt=messages[:-1], completion=last["content"], desirable=desirable,
                  tools=parse_tools(row.get("tools")))


def prompt_of(row: dict) -> list[dict]:
    if "conversations" in row and "messages" not in row:
        prompt = sharegpt_messages(row["conversations"], "conversations")
        check_prompt(prompt, "conversations")
        return prompt
    key = "messages" if "messages" in row else "prompt"
    value = row.get(key)
    if isinstance(value, str):
        if not value.strip():
            raise RowError(f'"{key}" is empty')
        return [{"role": "user", "content": value}]
    prompt = parse_messages(value, key)
    check_prompt(prompt, key)
    return prompt


def answer(row: dict, key: str) -> str:
    """A string, one assistant message ({role, content} or ShareGPT's {from, value}), or a list of one."""
    value = row.get(key)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict):
        role = value.get("role", value.get("from"))
        if role not in ("assistant", "gpt"):
            raise RowError(f'"{key}" must be an assistant turn, got role {role!r}')
        value = value.get("content", value.get("value"))
    if not isinstance(value, str):
        raise RowError(f'"{key}" must be a string' + ("" if key in row else " (it is missing)"))
    if not value.strip():
        raise RowError(f'"{key}" is empty')
    return value


def shared_prompt(row: dict) -> tuple[list[dict], str, str]:
    """TRL's implicit-prompt pairs: two whole conversations that differ only in the last answer."""
    if "chosen" not in row or not isinstance(row["chosen"], list) or len(row["chosen"]) < 2:
        raise RowError('"prompt" must be a string or a message list (it is missing)')
    both = []
    for key in ("chosen", "rejected"):
        messages = parse_messages(row.get(key), key)
        check_conversation(messages, key)
        both.append(messages)
    (chosen, rejected) = both
    if chosen[:-1] != rejected[:-1]:
        raise RowError('"chosen" and "rejected" must share every turn but the last (the prompt)')
    if chosen[-2]["role"] != "user" or chosen[-1].get("tool_calls") or rejected[-1].get("tool_calls"):
        raise RowError('"chosen" and "rejected" must each end with a text answer to a user turn')
    return chosen[:-1], chosen[-1]["content"], rejected[-1]["content"]
