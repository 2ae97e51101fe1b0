"""Conversations -> token ids and labels through the tokenizer's own chat template.

The template is rendered prefix by prefix: after each message, and before each assistant turn with the
generation prompt. The text between two consecutive prefixes is a "piece"; pieces are tokenised one by
one and concatenated. Two things follow from that:

- the loss mask is exact: an assistant piece is precisely what the model must write after the generation
  prompt (its content plus the template's end-of-turn tokens), and nothing else carries loss unless
  train_on is "all";
- generation uses the same split (`prompt_ids`), so the ids of a prompt at inference are exactly the
  ids the model saw before that answer in training, even where a BPE merge could cross a turn boundary.

Multi-turn dialogue keeps the whole history in context and trains every assistant turn.
A template that re-renders earlier turns differently once later ones exist (some "thinking" templates
drop old reasoning) cannot be split this way; such a conversation is reported as a bad row. Only the
cuts around assistant turns are needed for the mask; a cut after any other message is skipped when the
template re-renders it once more follows (Qwen closes a run of tool results only after the last one).

Tool calls, tool results and the tool list go through tool_render.py: natively with `tools=` where the
template supports it, otherwise through one documented fallback rendering.
"""

import functools

from . import tool_render
from ..libraries import from_transformers

IGNORE = -100

# For tokenizers without a chat template (base models): a plain ChatML-like layout.
FALLBACK_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\n' + m['content'] + eos_token + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


class TemplateError(ValueError):
    """This conversation cannot be rendered prefix by prefix with this template."""


def chat_template(tokenizer, tools: bool = False):
    """The template text; for a tokenizer with named templates, `tool_use` when tools are in play."""
    template = tokenizer.chat_template
    if isinstance(template, dict):
        return template.get("tool_use") if tools and "tool_use" in template else template.get("default") \
            or next(iter(template.values()))
    return template or FALLBACK_TEMPLATE


def _render(tokenizer, template: str, messages: list[dict], generation_prompt: bool, tools=None) -> str:
    if not messages and not generation_prompt:
        return ""
    try:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt,
                                             chat_template=template, tools=tools)
    except Exception as exc:  # templates raise_exception() on what they refuse, e.g. a system turn
        raise TemplateError(f"the chat template refused this conversation: {exc}") from None


def pieces(tokenizer, messages: list[dict], add_generation_prompt: bool = False,
           tools: list[dict] | None = None) -> list[tuple[str, bool]]:
    """[(text, is_assistant_answer)] whose concatenation is the rendered conversation."""
    template = chat_template(tokenizer, tool_render.uses_tools(messages, tools))
    messages, tools = tool_render.prepare(tokenizer, template, messages, tools)
    render = lambda upto, generation: _render(tokenizer, template, messages[:upto], generation, tools)  # noqa: E731
    # (text, is_answer, needed): the cuts before and after an assistant turn are needed for the mask
    bounds: list[tuple[str, bool, bool]] = []
    for i, message in enumerate(messages):
        if message["role"] == "assistant":
            bounds.append((render(i, True), False, True))
            bounds.append((render(i + 1, False), True, True))
        else:
            bounds.append((render(i + 1, False), False, False))
    if add_generation_prompt:
        bounds.append((render(len(messages), True), False, True))

    out: list[tuple[str, bool]] = []
    done = ""
    for n, (upto, answer, needed) in enumerate(bounds):
        if not needed and n < len(bounds) - 1:
            anchor = next((b[0] for b in bounds[n + 1:] if b[2]), bounds[-1][0])
            if not (upto.startswith(done) and anchor.startswith(upto)):
                continue
        if not upto.startswith(done):
            raise TemplateError("the chat template renders earlier turns differently once later turns "
                                "are added, so this conversation cannot be masked turn by turn")
        if len(upto) > len(done):
            out.append((upto[len(done):], answer))
        done = upto
    return out


def tokenise_pieces(tokenizer, texts: list[str]) -> list[list[int]]:
    """Each piece's ids, without the tokenizer's special tokens (the template writes its own)."""
    if not texts:
        return []
    backend = _stock_backend(tokenizer)
    if backend is not None:
        return [encoding.ids for encoding in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def _stock_backend(tokenizer):
    """The Rust tokenizer of a stock fast tokenizer that is already as its own call would set it, or None.

    Such a call sets the backend's truncation, padding and special-token splitting, encodes with character
    offsets and builds Python objects for every text; asking the backend for the ids alone gives the same
    ids for about three quarters of the work. A class that encodes in its own way, a backend with
    truncation or padding set, or one that splits special tokens otherwise than its tokenizer says goes
    through the call instead (which leaves the backend set for the next time).
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not _stock_class(type(tokenizer)) or not hasattr(backend, "encode_batch_fast"):
        return None
    if backend.truncation is not None or backend.padding is not None \
            or backend.encode_special_tokens != bool(getattr(tokenizer, "split_special_tokens", False)):
        return None
    return backend


# What a fast tokenizer's call goes through on its way to the backend's encode_batch.
_ENCODE_METHODS = ("__call__", "_call_one", "encode_plus", "batch_encode_plus", "_encode_plus", "_batch_encode_plus",
                   "set_truncation_and_padding", "_convert_encoding")


@functools.cache
def _stock_class(cls) -> bool:
    """Whether a tokenizer class encodes exactly as transformers' fast tokenizer does (none of its steps
    overridden, as CodeLlama's or LayoutLM's are)."""
    (PreTrainedTokenizerFast,) = from_transformers("PreTrainedTokenizerFast")

    return issubclass(cls, PreTrainedTokenizerFast) and all(
        getattr(cls, name, None) is getattr(PreTrainedTokenizerFast, name, None) for name in _ENCODE_METHODS)


def tokenise_texts(tokenizer, texts: list[str]) -> list[list[int]]:
    """Each plain text's ids, with the tokenizer's special tokens."""
    return tokenizer(texts, add_special_tokens=True)["input_ids"] if texts else []


def encode_conversation(tokenizer, messages: list[dict], train_on: str = "assistant",
                        tools: list[dict] | None = None) -> dict:
    """{"input_ids", "labels"}: labels copy the ids on assistant answers (or everywhere), IGNORE elsewhere."""
    parts = pieces(tokenizer, messages, tools=tools)
    return assemble(parts, tokenise_pieces(tokenizer, [text for text, _ in parts]), train_on)


def assemble(parts: list[tuple[str, bool]], piece_ids: list[list[int]], train_on: str = "assistant") -> dict:
    """encode_conversation's item from the pieces and each piece's ids (tokenised one by one, possibly in a
    batch with other conversations' pieces: a tokenizer encodes each text of a batch on its own)."""
    ids, labels = [], []
    for (_, answer), one in zip(parts, piece_ids):
        ids += one
        labels += one if answer or train_on == "all" else [IGNORE] * len(one)
    return {"input_ids": ids, "labels": labels}


def encode_text(tokenizer, text: str) -> dict:
    """A plain-text sample: the tokenizer's own special tokens, the text, then EOS; loss on every token."""
    return text_item(tokenizer, tokenise_texts(tokenizer, [text])[0])


def text_item(tokenizer, ids: list[int]) -> dict:
    """encode_text's item from the text's ids with the tokenizer's special tokens."""
    if tokenizer.eos_token_id is not None and (not ids or ids[-1] != tokenizer.eos_token_id):
        ids = ids + [tokenizer.eos_token_id]
    return {"input_ids": ids, "labels": list(ids)}


def prompt_ids(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> list[int]:
    """The ids a model sees before writing the next assistant turn, split exactly as in training."""
    parts = pieces(tokenizer, messages, add_generation_prompt=True, tools=tools)
    return [i for piece_ids in tokenise_pieces(tokenizer, [text for text, _ in parts]) for i in piece_ids]


def render_prompt(tokenizer, messages: list[dict], tools: list[dict] | None = None) -> str:
    template = chat_template(tokenizer, tool_render.uses_tools(messages, tools))
    messages, tools = tool_render.prepare(tokenizer, template, messages, tools)
    return _render(tokenizer, template, messages, True, tools)
