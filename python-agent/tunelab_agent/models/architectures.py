"""The shapes of common open models, so that preflight can estimate memory for a Hub id with no download.

Each shape is what the model's config.json on the Hugging Face Hub says (hidden size, layers, attention and
key/value heads, MLP size, vocabulary). A Hub id is matched by its family and its size in the name, so the
DeepSeek-R1 distills find the Qwen2.5 or Llama 3 shape they were distilled into. An estimate made from these is
labelled as such; a model that matches none is "unknown", never guessed.
"""

import re

# name: (model_type, hidden, layers, heads, kv_heads, intermediate, vocab, tied embeddings)
SHAPES = {
    "qwen2.5-0.5b": ("qwen2", 896, 24, 14, 2, 4864, 151936, True),
    "qwen2.5-1.5b": ("qwen2", 1536, 28, 12, 2, 8960, 151936, True),
    "qwen2.5-3b": ("qwen2", 2048, 36, 16, 2, 11008, 151936, True),
    "qwen2.5-7b": ("qwen2", 3584, 28, 28, 4, 18944, 152064, False),
    "qwen2.5-14b": ("qwen2", 5120, 48, 40, 8, 13824, 152064, False),
    "qwen2.5-32b": ("qwen2", 5120, 64, 40, 8, 27648, 152064, False),
    "qwen2.5-72b": ("qwen2", 8192, 80, 64, 8, 29568, 152064, False),
    "llama-3-8b": ("llama", 4096, 32, 32, 8, 14336, 128256, False),
    "llama-3-70b": ("llama", 8192, 80, 64, 8, 28672, 128256, False),
    "llama-2-7b": ("llama", 4096, 32, 32, 32, 11008, 32000, False),
    "llama-2-13b": ("llama", 5120, 40, 40, 40, 13824, 32000, False),
    "llama-2-70b": ("llama", 8192, 80, 64, 8, 28672, 32000, False),
    "mistral-7b": ("mistral", 4096, 32, 32, 8, 14336, 32000, False),
}

_SIZE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)b(?![a-z0-9])")


def shape_name(hub_id: str) -> str | None:
    """The built-in shape a Hub id has (e.g. deepseek-ai/DeepSeek-R1-Distill-Qwen-7B: qwen2.5-7b), or None."""
    name = hub_id.lower().rsplit("/", 1)[-1]
    sizes = _SIZE.findall(name)
    if not sizes:
        return None
    size = f"{sizes[0]}b"
    if "qwen" in name:
        family = "qwen2.5"
    elif "mistral" in name:
        family = "mistral"
    elif re.search(r"llama[-_ ]?2", name):
        family = "llama-2"
    elif "llama" in name:
        family = "llama-3"
    else:
        return None
    key = f"{family}-{size}"
    return key if key in SHAPES else None


def config_fields(key: str) -> dict:
    """The fields for transformers' AutoConfig.for_model (model_type first)."""
    model_type, hidden, layers, heads, kv, mlp, vocab, tied = SHAPES[key]
    return {"model_type": model_type, "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": kv, "intermediate_size": mlp, "vocab_size": vocab, "tie_word_embeddings": tied}
