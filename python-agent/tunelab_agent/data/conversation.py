"""What a well-formed conversation is, in the one shape every chat format is read into.

That shape is OpenAI's: [{role, content}], with tool calling as the chat templates of Hugging Face
tokenizers expect it (so `apply_chat_template(messages, tools=...)` renders it as-is):

    {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
                                                         "function": {"name": "f", "arguments": {...}}}]}
    {"role": "tool", "content": "result", "name"?: "f", "tool_call_id"?: "..."}

`arguments` is always a dict here, never a JSON string: templates write it with `tojson`, and a string
would come out quoted twice. ShareGPT rows (LLaMA-Factory's `function_call` / `observation` turns)
are converted into the same shape by `sharegpt_messages`.

Every error is a RowError whose text names the key, e.g. `messages[2].tool_calls[0].function.name`.
"""

import json

from .samples import MediaRefused, RowError

ROLES = ("system", "user", "assistant", "tool")
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                  "system": "system", "function_call": "call", "observation": "tool", "tool": "tool",
                  "tool_call": "call", "function_response": "tool", "tool_response": "tool"}
MEDIA_PARTS = ("image", "image_url", "input_image", "audio", "input_audio", "audio_url", "video", "video_url")
MEDIA_WHY = "this agent trains text models, so rows with images, videos or audios are refused"


def text_of(value, where: str, allow_json: bool = False) -> str:
    """A string, or the text of [{"type": "text", "text"}] parts. Tool results may also be JSON values."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        for part in value:
            kind = part.get("type")
            if kind in MEDIA_PARTS:
                raise MediaRefused(f'{where} has a "{kind}" part; {MEDIA_WHY}')
            if kind != "text" or not isinstance(part.get("text"), str):
                raise RowError(f"{where} has a {kind!r} part; only text parts are supported")
        return "".join(p["text"] for p in value)
    if allow_json and isinstance(value, (dict, list, int, float, bool)):
        return json.dumps(value, ensure_ascii=False)
    raise RowError(f"{where} must be a string")


def parse_messages(value, key: str) -> list[dict]:
    """OpenAI-style messages: string content (or text parts), assistant tool_calls, tool results."""
    if not isinstance(value, list):
        raise RowError(f'"{key}" must be a list of {{role, content}}')
    messages = []
    for i, message in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(message, dict):
            raise RowError(f"{where} must be an object with role/content")
        role = message.get("role")
        if role not in ROLES:
            raise RowError(f"{where}.role is {role!r}; expected system, user, assistant or tool")
        calls = message.get("tool_calls")
        if role == "assistant" and calls not in (None, []):
            content = message.get("content")
            out = {"role": role, "content": "" if content is None else text_of(content, f"{where}.content"),
                   "tool_calls": tool_calls(calls, f"{where}.tool_calls")}
        elif role == "tool":
            out = {"role": role, "content": text_of(message.get("content"), f"{where}.content", allow_json=True)}
            for extra in ("name", "tool_call_id"):  # some templates show the tool's name or match the call id
                if isinstance(message.get(extra), str) and message[extra]:
                    out[extra] = message[extra]
        else:
            out = {"role": role, "content": text_of(message.get("content"), f"{where}.content")}
        messages.append(out)
    return messages


def tool_calls(value, where: str) -> list[dict]:
    """[{type: function, function: {name, arguments: dict}}] from OpenAI's form or a bare {name, arguments}."""
    single = isinstance(value, dict)  # ShareGPT's function_call turn usually holds one call, not a list
    if single:
        value = [value]
    if not isinstance(value, list) or not value:
        raise RowError(f"{where} must be a list of calls {{type, function: {{name, arguments}}}}")
    calls = []
    for i, call in enumerate(value):
        at = where if single else f"{where}[{i}]"
        if not isinstance(call, dict):
            raise RowError(f"{at} must be an object with function: {{name, arguments}}")
        function, prefix = (call["function"], f"{at}.function") if isinstance(call.get("function"), dict) else (call, at)
        name = function.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RowError(f"{prefix}.name must be a non-empty string")
        out = {"type": "function", "function": {"name": name, "arguments": arguments(function.get("arguments"),
                                                                                     f"{prefix}.arguments")}}
        if isinstance(call.get("id"), str) and call["id"]:
            out["id"] = call["id"]
        calls.append(out)
    return calls


def arguments(value, where: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError as exc:
            raise RowError(f"{where} is not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise RowError(f"{where} must be a JSON object of argument names and values")
    return value


def parse_tools(value, key: str = "tools") -> list[dict] | None:
    """The function schemas a row offers: a list, or a JSON string of one; None when there are none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(f'"{key}" is not valid JSON ({exc.msg} at column {exc.colno})') from None
    if not isinstance(value, list):
        raise RowError(f'"{key}" must be a list of function schemas (or a JSON string of one)')
    tools = []
    for i, tool in enumerate(value):
        at = f"{key}[{i}]"
        if not isinstance(tool, dict):
            raise RowError(f"{at} must be an object with a name")
        function = tool["function"] if isinstance(tool.get("function"), dict) else tool
        if not isinstance(function.get("name"), str) or not function["name"].strip():
            raise RowError(f"{at}{'.function' if function is not tool else ''}.name must be a non-empty string")
        # Parquet fills absent struct fields with None; a template would print them as "null".
        tools.append({"type": "function", "function": {k: v for k, v in function.items() if v is not None}})
    return tools or None


def sharegpt_messages(turns, key: str = "conversations") -> list[dict]:
    """ShareGPT turns -> messages; `function_call` turns hold the call as JSON, `observation` its result."""
    if not isinstance(turns, list):
        raise RowError(f'"{key}" must be a list of {{from, value}}')
    messages = []
    for i, turn in enumerate(turns):
        where = f"{key}[{i}]"
        if not isinstance(turn, dict):
            raise RowError(f"{where} must be an object with from/value")
        role = SHAREGPT_ROLES.get(turn.get("from"))
        if role is None:
            raise RowError(f"{where}.from is {turn.get('from')!r}; expected human, gpt, system, "
                           "function_call or observation")
        value = turn.get("value")
        if role == "call":
            messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls(
                call_json(value, f"{where}.value"), f"{where}.value")})
        elif role == "tool":
            messages.append({"role": "tool", "content": text_of(value, f"{where}.value", allow_json=True)})
        else:
            if not isinstance(value, str):
                raise RowError(f"{where}.value must be a string")
            messages.append({"role": role, "content": value})
    return messages


def call_json(value, where: str):
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        raise RowError(f'{where} must be a JSON string of {{"name", "arguments"}}')
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise RowError(f'{where} is not valid JSON ({exc.msg} at column {exc.colno}); a function_call turn '
                       'holds {"name", "arguments"}') from None


def check_conversation(messages: list[dict], key: str) -> None:
    """Optional system first; a user turn opens each exchange; an assistant answers a user or a tool turn;
    a tool turn follows a call (or another tool turn); the last turn is the assistant's, not empty."""
    if not messages:
        raise RowError(f'"{key}" is empty')
    start = 1 if messages[0]["role"] == "system" else 0
    if start == len(messages):
        raise RowError(f'"{key}" has only a system message')
    for i in range(start, len(messages)):
        expected = next_roles(messages[i - 1] if i > start else None)
        role = messages[i]["role"]
        if role not in expected:
            raise RowError(f"role order broken at {key}[{i}]: expected {' or '.join(expected)}, got {role}")
        if role == "assistant" and not messages[i]["content"].strip() and not messages[i].get("tool_calls"):
            raise RowError(f"empty assistant turn at {key}[{i}]")
    if messages[-1]["role"] != "assistant":
        raise RowError(f"{key} ends with a {messages[-1]['role']} turn; the last turn must be the assistant's answer")


def next_roles(previous: dict | None) -> tuple[str, ...]:
    if previous is None or previous["role"] == "system":
        return ("user",)
    if previous["role"] == "user":
        return ("assistant",)
    if previous["role"] == "tool":
        return ("assistant", "tool")  # parallel calls get one result each
    return ("tool",) if previous.get("tool_calls") else ("user",)


def check_prompt(messages: list[dict], key: str) -> None:
    """A prompt for a preference or KTO row: a valid conversation up to a final user turn."""
    if not messages or messages[-1]["role"] != "user":
        raise RowError(f'"{key}" must end with a user turn')
    check_conversation(messages + [{"role": "assistant", "content": "-"}], key)
