"""Talking to a base model and its checkpoints, several of them side by side.

Why it is built this way:
- A base model is loaded once per path and kept. Checkpoints are attached to it as named peft adapters,
  so switching costs an adapter load the first time and nothing after.
- Comparing N checkpoints on one prompt decodes them in ONE batch: every row carries the same prompt and
  goes through its own adapter (or none, for the base model). The base
  weights are read once per step for all rows, which is where plain `generate` per adapter loses.
  The decode loop is our own (a KV cache, one forward per step) so every row gets its own seeded
  torch.Generator — the same seed for each adapter, so a comparison differs only by the weights — and
  its own streaming, TTFT and tokens/s.
- The batched LoRA itself is StackedLora (one bmm pair per layer for all rows); peft's `adapter_names`
  routing is the fallback for adapters it cannot stack (LoRA on embeddings, modules_to_save).
- One adapter alone takes a merged fast path: its LoRA delta is added into the base weights (the
  originals are kept on the CPU and copied back exactly, so no rounding drift accumulates over swaps)
  and it stays merged while the following requests ask for the same adapter.
- Loading refuses early, with a message that says why, when the weights would not fit in free memory.

Calls block (torch); the server runs them in a thread and passes a threading.Event to cancel.
"""

import contextlib
import hashlib
import os
import re
import threading
import time
from collections import OrderedDict

import torch

from ..models import oom
from ..models.sizing import load_bytes, load_dtype, load_size_text
from .errors import GenerationError  # noqa: F401  (callers import it from here too)
from ..libraries import from_transformers

BASE = "__base__"  # peft's row name for "no adapter" in a mixed-adapter batch
DEFAULT_SAMPLING = {"max_new_tokens": 64, "temperature": 0.0, "top_p": 1.0, "top_k": 0, "seed": 0}
MAX_ADAPTERS = 8     # attached at once per base model; the least recently used one is dropped beyond


# --- request checking -------------------------------------------------------------------------

def sampling_options(sampling: dict | None) -> dict:
    """Defaults filled in; a bad value raises GenerationError naming `sampling.<key>`."""
    opts = {**DEFAULT_SAMPLING, **(sampling or {})}
    unknown = sorted(set(opts) - set(DEFAULT_SAMPLING))
    if unknown:
        raise GenerationError(f"sampling.{unknown[0]}: unknown setting (known: {', '.join(DEFAULT_SAMPLING)})")
    checks = {
        "max_new_tokens": (int, lambda v: v >= 1, "an integer >= 1"),
        "temperature": ((int, float), lambda v: v >= 0, "a number >= 0 (0 = greedy)"),
        "top_p": ((int, float), lambda v: 0 < v <= 1, "a number in (0, 1]"),
        "top_k": (int, lambda v: v >= 0, "an integer >= 0 (0 = off)"),
        "seed": (int, lambda v: True, "an integer"),
    }
    for key, (kind, ok, wanted) in checks.items():
        value = opts[key]
        if isinstance(value, bool) or not isinstance(value, kind) or not ok(value):
            raise GenerationError(f"sampling.{key}: must be {wanted}, got {value!r}")
    return opts


def check_messages(messages) -> list[dict]:
    """A conversation [{role, content}]; a plain string is one user turn."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list) or not messages:
        raise GenerationError("messages: must be a non-empty list of {role, content}")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
            raise GenerationError(f"messages[{i}].role: must be system, user or assistant")
        if not isinstance(message.get("content"), str):
            raise GenerationError(f"messages[{i}].content: must be a string")
    if messages[-1]["role"] != "user":
        raise GenerationError(f"messages[{len(messages) - 1}]: the last turn must be the user's")
    return messages


def conversation_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The generation prompt of a conversation, split into ids exactly as training split it."""
    from ..data.dataset import prompt_ids

    return prompt_ids(tokenizer, messages)


# --- fit check --------------------------------------------------------------------------------

def free_bytes(device: str) -> int:
    if device == "cpu":
        import psutil

        return psutil.virtual_memory().available
    return torch.cuda.mem_get_info(torch.device(device))[0]


def check_fit(model_path: str, device: str, busy_reason: str | None = None, free: int | None = None) -> int:
    """Estimated bytes to load the model; GenerationError when that exceeds the free memory.

    estimate = parameters × bytes per parameter of the load dtype × LOAD_OVERHEAD.
    `busy_reason` (e.g. "run r1 is training on this GPU") is named in the refusal; `free` overrides the
    measured free memory (tests).
    """
    needed = load_bytes(model_path, device)
    available = free_bytes(device) if free is None else free
    if needed > available:
        where = "in RAM" if device == "cpu" else f"on {device}"
        message = (f"loading {os.path.basename(os.path.normpath(model_path))} for generation needs "
                   f"{load_size_text(model_path, device)} but only {available / 2**30:.1f} GiB is free {where}")
        if busy_reason:
            message += f": {busy_reason}"
        raise GenerationError(message + ". Wait for it to finish or free memory, then try again.")
    return needed


# --- a base model with its adapters -----------------------------------------------------------

def adapter_key(folder: str) -> str:
    """The peft name of an adapter folder: stable per real path, safe as a module key."""
    real = os.path.realpath(folder)
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.basename(real))[:32]
    return f"{stem}_{hashlib.sha1(real.encode()).hexdigest()[:10]}"


class MergedWeights:
    """One adapter's delta added into the base weights; `restore` copies the saved originals back."""

    def __init__(self, model, key: str):
        self.key = key
        self.saved = []
        with torch.no_grad():
            for module in self.layers(model, key):
                weight = module.get_base_layer().weight
                self.saved.append((weight, weight.detach().to("cpu", copy=True)))
                weight += module.get_delta_weight(key).to(weight.dtype)

    @staticmethod
    def layers(model, key: str) -> list:
        from peft.tuners.lora import LoraLayer

        return [m for m in model.modules()
                if isinstance(m, LoraLayer) and (key in m.lora_A or key in m.lora_embedding_A)]

    @staticmethod
    def fits(model, key: str) -> bool:
        """The saved originals live in RAM; a big model with all-linear targets may not leave room."""
        import psutil

        weights = (m.get_base_layer().weight for m in MergedWeights.layers(model, key))
        return sum(w.numel() * w.element_size() for w in weights) < psutil.virtual_memory().available / 2

    def restore(self) -> None:
        with torch.no_grad():
            for weight, original in self.saved:
                weight.copy_(original)
        self.saved = []


class StackedLora:
    """Row i of a batch through adapter keys[i] with one pair of batched matmuls per layer.

    peft's own mixed batches (`adapter_names`) gather each adapter's rows, run its LoRA and scatter
    the result back, layer by layer: a handful of small ops per adapter per layer, which on a
    launch- or interpreter-bound decode step costs as much as running the adapters one after the
    other. Here every LoRA-wrapped Linear gets its adapters' A and B stacked per row (zeros for the
    base, ranks padded to the largest, the scaling folded into B) and a forward hook adds
    bmm(bmm(x, A), B) to the base output while peft's own LoRA path is disabled.
    """

    def __init__(self, model, keys: list[str]):
        from peft.tuners.lora.layer import Linear

        self.handles = []
        for layer in model.modules():
            used = [k for k in set(keys) if k != BASE and isinstance(layer, Linear) and k in layer.lora_A]
            if not used:
                continue
            rank = max(layer.r[k] for k in used)
            weight = layer.lora_A[used[0]].weight
            down = torch.zeros(len(keys), layer.in_features, rank, dtype=weight.dtype, device=weight.device)
            up = torch.zeros(len(keys), rank, layer.out_features, dtype=weight.dtype, device=weight.device)
            with torch.no_grad():
                for row, key in enumerate(keys):
                    if key in used:
                        r = layer.r[key]
                        down[row, :, :r] = layer.lora_A[key].weight.t()
                        up[row, :r, :] = layer.lora_B[key].weight.t() * layer.scaling[key]
            self.handles.append(layer.register_forward_hook(self.hook(down, up), with_kwargs=True))

    @staticmethod
    def hook(down: torch.Tensor, up: torch.Tensor):
        def add_lora(module, args, kwargs, output):
            x = args[0] if args else kwargs["x"]
            if x.dim() != 3 or x.shape[0] != down.shape[0]:  # e.g. MoE layers that regroup tokens
                raise GenerationError("this architecture feeds LoRA layers a regrouped batch; "
                                      "compare its adapters one at a time")
            return output + torch.bmm(torch.bmm(x.to(down.dtype), down), up).to(output.dtype)
        return add_lora

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


class LoadedModel:
    """A base model loaded once, plus the adapters attached to it (peft names from adapter_key)."""

    def __init__(self, model_path: str, device: str):
        AutoModelForCausalLM, AutoTokenizer = from_transformers("AutoModelForCausalLM", "AutoTokenizer")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the server's stderr is its log
        self.path = model_path
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=load_dtype(model_path, device))
        self.model.to(self.device).eval()
        self.adapters: OrderedDict[str, str] = OrderedDict()  # key -> folder, least recently used first
        self.merged: MergedWeights | None = None
        self.lock = threading.RLock()
        eos = {self.tokenizer.eos_token_id, *_as_list(self.model.generation_config.eos_token_id)}
        self.eos_ids = {i for i in eos if i is not None}

    def attach(self, folder: str) -> str:
        from peft import PeftModel

        key = adapter_key(folder)
        if key in self.adapters:
            self.adapters.move_to_end(key)
            return key
        if not os.path.isfile(os.path.join(folder, "adapter_config.json")):
            raise GenerationError(f"{folder}: not a peft adapter (no adapter_config.json)")
        if len(self.adapters) >= MAX_ADAPTERS:
            self.drop(next(iter(self.adapters)))
        try:
            if not isinstance(self.model, PeftModel):
                self.model = PeftModel.from_pretrained(self.model, folder, adapter_name=key)
            else:
                self.model.load_adapter(folder, adapter_name=key)
        except (RuntimeError, ValueError, KeyError) as exc:
            raise GenerationError(f"{folder}: cannot attach this adapter to {self.path}: {exc}") from exc
        self.model.eval()
        self.adapters[key] = folder
        return key

    def drop(self, key: str) -> None:
        if self.merged and self.merged.key == key:
            self.unmerge()
        self.model.delete_adapter(key)
        del self.adapters[key]

    def unmerge(self) -> None:
        if self.merged:
            self.merged.restore()
            self.merged = None

    def plain_lora(self, key: str) -> bool:
        """LoRA on Linear layers only, nothing else trained: its effect is x·A·B·scaling, which
        StackedLora can batch and MergedWeights can fold into float base weights."""
        from peft.tuners.lora import LoraLayer
        from peft.tuners.lora.layer import Linear

        if key == BASE:
            return True
        config = self.model.peft_config[key]
        if (getattr(config, "peft_type", None) != "LORA" or config.use_dora or getattr(config, "lora_bias", False)
                or config.modules_to_save or getattr(config, "trainable_token_indices", None)):
            return False
        return all(type(m) is Linear and m.get_base_layer().weight.is_floating_point()
                   for m in self.model.modules()
                   if isinstance(m, LoraLayer) and (key in m.lora_A or key in m.lora_embedding_A))

    def mixable(self, keys: list[str]) -> bool:
        """peft's per-row routing supports LoRA without DoRA, and a modules_to_save copy only around a
        Linear/Embedding/Conv module and only when every adapter in the batch has that copy."""
        from peft.utils.other import ModulesToSaveWrapper

        routable = (torch.nn.Linear, torch.nn.Embedding, torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)
        adapters = {k for k in keys if k != BASE}
        if any(self.model.peft_config[k].use_dora for k in adapters):
            return False
        return all(isinstance(m.original_module, routable) and adapters <= set(m.modules_to_save)
                   for m in self.model.modules()
                   if isinstance(m, ModulesToSaveWrapper) and adapters & set(m.modules_to_save))

    @contextlib.contextmanager
    def single(self, key: str):
        """The model with one adapter (or the base, key == BASE) active; yields the forward kwargs."""
        if key == BASE:
            self.unmerge()
            context = self.model.disable_adapter() if self.adapters else contextlib.nullcontext()
        elif (self.merged and self.merged.key == key) or (self.plain_lora(key) and MergedWeights.fits(self.model, key)):
            if not self.merged or self.merged.key != key:
                self.unmerge()
                self.merged = MergedWeights(self.model, key)
            context = self.model.disable_adapter()  # the delta is in the weights; don't add it twice
        else:
            self.unmerge()
            self.model.set_adapter(key)
            context = contextlib.nullcontext()
        with context:
            yield {}

    @contextlib.contextmanager
    def mixed(self, keys: list[str]):
        """The model routing row i through adapter keys[i] (BASE: none); yields the forward kwargs.
        Callers check mixable(keys) first."""
        self.unmerge()
        if not self.adapters:
            yield {}
        elif all(self.plain_lora(k) for k in keys):
            stacked = StackedLora(self.model, keys)
            try:
                with self.model.disable_adapter():
                    yield {}
            finally:
                stacked.remove()
        else:  # e.g. LoRA on embeddings or modules_to_save: peft's own per-row routing handles those
            with routed_rows(self.model, keys):
                yield {}


@contextlib.contextmanager
def routed_rows(model, keys: list[str]):
    """peft's mixed-batch routing: every LoRA layer and modules_to_save wrapper gets `adapter_names`.

    What `model(..., adapter_names=...)` does per call, done once for the whole decode and removed
    in a `finally` (peft's own context leaves its hooks behind when a forward raises).
    """
    from peft.tuners.lora import LoraLayer
    from peft.utils.other import AuxiliaryTrainingWrapper

    def add_names(module, args, kwargs):
        return args, {**kwargs, "adapter_names": keys}

    handles = [m.register_forward_pre_hook(add_names, with_kwargs=True) for m in model.modules()
               if isinstance(m, (LoraLayer, AuxiliaryTrainingWrapper))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- decoding ---------------------------------------------------------------------------------

class Row:
    """One adapter's output: its tokens, streamed text and timings."""

    def __init__(self, name: str, tokenizer):
        self.name = name
        self.tokenizer = tokenizer
        self.tokens: list[int] = []   # visible tokens (no EOS)
        self.generated = 0            # everything the model produced, EOS included
        self.text = ""                # what has been streamed so far
        self.prefix_offset = 0        # incremental detokenisation window, as in HF's TextStreamer
        self.read_offset = 0
        self.first_at = self.last_at = None
        self.finish_reason = None

    def add(self, token: int, now: float, is_eos: bool) -> str:
        """Takes one token; returns the text piece it completes ("" while a character is still partial)."""
        self.generated += 1
        self.first_at = self.first_at or now
        self.last_at = now
        if is_eos:
            self.finish_reason = "eos"
            return ""
        self.tokens.append(token)
        # Decode a short window, not the whole answer: the left context fixes spacing, a trailing
        # replacement character means a multi-byte character is not complete yet.
        before = self.tokenizer.decode(self.tokens[self.prefix_offset:self.read_offset], skip_special_tokens=True)
        after = self.tokenizer.decode(self.tokens[self.prefix_offset:], skip_special_tokens=True)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            piece = after[len(before):]
            self.prefix_offset, self.read_offset = self.read_offset, len(self.tokens)
            self.text += piece
            return piece
        return ""

    def flush(self) -> str:
        """The rest of the text once decoding stops, so the pieces add up to the answer."""
        full = self.tokenizer.decode(self.tokens, skip_special_tokens=True)
        piece = full[len(self.text):] if full.startswith(self.text) else ""
        self.text += piece
        return piece

    def result(self, started: float) -> dict:
        ttft = (self.first_at - started) if self.first_at else None
        if self.generated > 1:
            speed = (self.generated - 1) / max(self.last_at - self.first_at, 1e-9)
        else:
            speed = self.generated / ttft if ttft else 0.0
        return {"adapter": self.name, "text": self.text, "new_tokens": self.generated,
                "ttft_ms": round(ttft * 1000, 3) if ttft is not None else None,
                "tokens_per_sec": round(speed, 3), "finish_reason": self.finish_reason or "cancelled"}


def pick_tokens(logits: torch.Tensor, sampling: dict, generators: list) -> torch.Tensor:
    """Next token per row: argmax when temperature is 0, else temperature/top-k/top-p sampling
    with each row's own generator (so equal seeds give equal draws whatever the other rows do)."""
    if sampling["temperature"] == 0:
        return logits.argmax(dim=-1)
    logits = logits / sampling["temperature"]
    if sampling["top_k"]:
        kth = torch.topk(logits, min(sampling["top_k"], logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling["top_p"] < 1:
        ordered, order = torch.sort(logits, dim=-1, descending=True)
        probs = ordered.softmax(dim=-1)
        # drop a token when the ones before it already cover top_p (the most likely always stays)
        drop = (probs.cumsum(dim=-1) - probs) >= sampling["top_p"]
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    probs = logits.softmax(dim=-1)
    return torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)])


def decode(loaded: LoadedModel, prompt: list[int] | list[list[int]], names: list[str], forward_kwargs: dict,
           sampling: dict, on_token, cancel: threading.Event | None) -> list[dict]:
    """Decodes one row per name in one batch.

    `prompt` is one prompt for every row (no padding), or one per row: a side-by-side chat's later turns, where
    each pane's history holds its own answers. Those are left-padded to one length, with an attention mask that
    hides the padding and positions that start at 0 on each row's first real token, so each row decodes as it
    would alone.
    """
    (DynamicCache,) = from_transformers("DynamicCache")

    model, device = loaded.model, loaded.device
    rows = [Row(name, loaded.tokenizer) for name in names]
    generators = []
    if sampling["temperature"] > 0:
        generators = [torch.Generator(device=device).manual_seed(sampling["seed"]) for _ in rows]
    cache = DynamicCache(config=model.config)
    prompts = prompt if prompt and isinstance(prompt[0], list) else [prompt] * len(rows)
    padded = len({len(p) for p in prompts}) > 1 or any(p != prompts[0] for p in prompts)
    mask = None
    if padded:
        width = max(len(p) for p in prompts)
        pad = loaded.tokenizer.pad_token_id if loaded.tokenizer.pad_token_id is not None else next(iter(loaded.eos_ids), 0)
        step_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
    else:
        step_ids = torch.tensor(prompts, device=device)
    started = time.perf_counter()
    with torch.inference_mode():
        for _ in range(sampling["max_new_tokens"]):
            if cancel is not None and cancel.is_set():
                break
            extra = {"attention_mask": mask, "position_ids": positions} if padded else {}
            logits = model(input_ids=step_ids, past_key_values=cache, use_cache=True, logits_to_keep=1,
                           **extra, **forward_kwargs).logits[:, -1, :].float()
            next_ids = pick_tokens(logits, sampling, generators)
            now = time.perf_counter()
            for row, token in zip(rows, next_ids.tolist()):
                if row.finish_reason:
                    continue  # a finished row keeps its place in the batch; what it decodes is ignored
                piece = row.add(token, now, token in loaded.eos_ids)
                if piece and on_token:
                    on_token(row.name, piece)
            if all(row.finish_reason for row in rows):
                break
            step_ids = next_ids[:, None]
            if padded:
                positions = positions[:, -1:] + 1
                mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
    for row in rows:
        if not row.finish_reason and not (cancel is not None and cancel.is_set()):
            row.finish_reason = "length"
        piece = row.flush()
        if piece and on_token:
            on_token(row.name, piece)
    return [row.result(started) for row in rows]


# --- the service ------------------------------------------------------------------------------

class GenerationService:
    """Base models by path (loaded once) and their adapters; generate() compares any of them."""

    def __init__(self, device: str | None = None):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.models: dict[str, LoadedModel] = {}
        self.lock = threading.Lock()

    def load(self, model_path: str, busy_reason: str | None = None) -> LoadedModel:
        with self.lock:
            if model_path not in self.models:
                check_fit(model_path, self.device, busy_reason)
                self.models[model_path] = LoadedModel(model_path, self.device)
            return self.models[model_path]

    def unload(self, model_path: str) -> None:
        with self.lock:
            self.models.pop(model_path, None)

    def generate(self, model_path: str, adapters: list, messages, sampling: dict | None = None,
                 on_token=None, cancel: threading.Event | None = None, busy_reason: str | None = None,
                 conversations: list | None = None) -> list[dict]:
        """One result per adapter, in the order asked.

        adapters: [(name, folder)] with folder None for the base model; names are the caller's labels and
          must be unique. on_token(name, piece) is called on this thread as text appears (see Row.add).
        conversations: one message list per adapter (in place of `messages`), decoded in the same batch.
        result: {adapter, text, new_tokens, ttft_ms, tokens_per_sec, finish_reason: eos|length|cancelled}.
        """
        if not adapters:
            raise GenerationError("adapters: name at least one adapter, or the base model")
        names = [name for name, _ in adapters]
        if len(set(names)) != len(names):
            raise GenerationError(f"adapters: names must be unique, got {names}")
        if len(adapters) > MAX_ADAPTERS:
            raise GenerationError(f"adapters: at most {MAX_ADAPTERS} side by side, got {len(adapters)}")
        sampling = sampling_options(sampling)
        if conversations is not None:
            if not isinstance(conversations, list) or len(conversations) != len(adapters):
                raise GenerationError(f"conversations: one per adapter ({len(adapters)}), got "
                                      f"{len(conversations) if isinstance(conversations, list) else conversations!r}")
            per_row = []
            for i, c in enumerate(conversations):
                try:
                    per_row.append(check_messages(c))
                except GenerationError as exc:
                    raise GenerationError(f"conversations[{i}].{exc}") from None
            messages = per_row
        else:
            messages = check_messages(messages)
        loaded = self.load(model_path, busy_reason)
        try:
            with loaded.lock:
                return self._generate(loaded, adapters, names, messages, sampling, on_token, cancel)
        except Exception as exc:
            if not oom.is_cuda_oom(exc):
                raise
            raise GenerationError(oom.generation_cause(exc, model_path, names, sampling["max_new_tokens"])) from exc

    def _generate(self, loaded, adapters, names, messages, sampling, on_token, cancel) -> list[dict]:
        keys = [loaded.attach(folder) if folder else BASE for _, folder in adapters]
        # `messages` is one conversation, or (from `conversations`) a list of them, one per adapter.
        per_row = bool(messages) and isinstance(messages[0], list)
        prompts = [conversation_ids(loaded.tokenizer, m) for m in messages] if per_row else None
        prompt = prompts if per_row else conversation_ids(loaded.tokenizer, messages)
        if len(adapters) == 1:
            with loaded.single(keys[0]) as kwargs:
                return decode(loaded, prompts[0] if per_row else prompt, names, kwargs, sampling, on_token, cancel)
        if loaded.mixable(keys):
            with loaded.mixed(keys) as kwargs:
                return decode(loaded, prompt, names, kwargs, sampling, on_token, cancel)
        results = []  # DoRA cannot share a batch: one adapter after the other
        for i, (name, key) in enumerate(zip(names, keys)):
            with loaded.single(key) as kwargs:
                results += decode(loaded, prompts[i] if per_row else prompt, [name], kwargs, sampling, on_token, cancel)
        return results

    def answer_loss(self, model_path: str, folder: str | None, messages, answer: str) -> tuple[float, int]:
        """Teacher-forced (sum of token NLL, token count) of `answer` after the conversation, as training
        scores an assistant turn (its chat-template ending included)."""
        from ..data.templating import encode_conversation

        messages = check_messages(messages)
        loaded = self.load(model_path)
        with loaded.lock:
            key = loaded.attach(folder) if folder else BASE
            prompt = conversation_ids(loaded.tokenizer, messages)
            full = encode_conversation(loaded.tokenizer, messages + [{"role": "assistant", "content": answer}])
            if full["input_ids"][:len(prompt)] != prompt:
                raise GenerationError("the chat template splits this conversation differently with its answer")
            target = full["input_ids"][len(prompt):]
            if not target:
                return 0.0, 0
            ids = torch.tensor([full["input_ids"]], device=loaded.device)
            with loaded.single(key) as kwargs, torch.inference_mode():
                logits = loaded.model(input_ids=ids, **kwargs).logits[0, len(prompt) - 1:-1].float()
            nll = torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):], reduction="sum")
            return nll.item(), len(target)


class Generator:
    """The earlier one-prompt API the server still calls; a thin layer over GenerationService."""

    def __init__(self, service: GenerationService | None = None):
        self.service = service or GenerationService()

    def generate(self, model_path: str, prompt: str, max_new_tokens: int = 64,
                 run_id: str | None = None, checkpoint: dict | None = None) -> dict:
        started = time.monotonic()
        name = checkpoint["name"] if checkpoint else "base"
        [result] = self.service.generate(model_path, [(name, checkpoint["path"] if checkpoint else None)],
                                         prompt, {"max_new_tokens": max_new_tokens})
        return {"text": result["text"].strip(), "checkpoint": checkpoint["name"] if checkpoint else None,
                "new_tokens": result["new_tokens"], "seconds": time.monotonic() - started}


__all__ = ["BASE", "GenerationError", "GenerationService", "Generator", "check_fit", "sampling_options",
           "pick_tokens", "conversation_ids"]
