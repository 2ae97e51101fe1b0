"""Talking to a run's base model or one of its checkpoints.

Each base model is loaded once and kept; checkpoints are attached to it as named peft adapters,
so switching between checkpoints costs an adapter load the first time and nothing after.
Calls are blocking (torch); the server runs them in a thread so the event loop keeps serving.
"""

import re
import threading
import time

from .data import prompt_ids


class LoadedModel:
    def __init__(self, model_path: str):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the server's stderr is its log
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        dtype = "auto" if torch.cuda.is_available() else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype)
        if torch.cuda.is_available():
            self.model.to("cuda")
        self.model.eval()
        self.adapters: set[str] = set()
        self.lock = threading.Lock()

    def attach(self, name: str, folder: str) -> None:
        from peft import PeftModel

        if name in self.adapters:
            return
        if not self.adapters:
            self.model = PeftModel.from_pretrained(self.model, folder, adapter_name=name)
        else:
            self.model.load_adapter(folder, adapter_name=name)
        self.model.eval()
        self.adapters.add(name)

    def generate(self, prompt: str, max_new_tokens: int, adapter: tuple[str, str] | None) -> tuple[str, int]:
        import contextlib

        import torch

        with self.lock:
            if adapter:
                self.attach(*adapter)
                self.model.set_adapter(adapter[0])
                context = contextlib.nullcontext()
            else:
                context = self.model.disable_adapter() if self.adapters else contextlib.nullcontext()
            ids = torch.tensor([prompt_ids(self.tokenizer, prompt)], device=self.model.device)
            with context, torch.no_grad():
                out = self.model.generate(
                    input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                    do_sample=False, eos_token_id=self.tokenizer.eos_token_id,
                    pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
            new = out[0, ids.shape[1]:].tolist()
            text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
            return text, len(new)


class Generator:
    """A cache of loaded base models, keyed by model path."""

    def __init__(self):
        self.models: dict[str, LoadedModel] = {}
        self.lock = threading.Lock()

    def model(self, model_path: str) -> LoadedModel:
        with self.lock:
            if model_path not in self.models:
                self.models[model_path] = LoadedModel(model_path)
            return self.models[model_path]

    def generate(self, model_path: str, prompt: str, max_new_tokens: int = 64,
                 run_id: str | None = None, checkpoint: dict | None = None) -> dict:
        started = time.monotonic()
        adapter = None
        if checkpoint is not None:
            adapter = (re.sub(r"[^A-Za-z0-9_]", "_", f"{run_id}__{checkpoint['name']}"), checkpoint["path"])
        text, count = self.model(model_path).generate(prompt, max_new_tokens, adapter)
        return {"text": text, "checkpoint": checkpoint["name"] if checkpoint else None,
                "new_tokens": count, "seconds": time.monotonic() - started}
