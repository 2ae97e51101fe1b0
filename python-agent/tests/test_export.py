"""Merging a LoRA checkpoint into its base: same logits as the adapter on the base, files hashed, atomic."""

import hashlib
import os

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunelab_agent.models.export import ExportError, export_merged
from tunelab_agent.models.tiny_model import make_tiny_model


@pytest.fixture(scope="module")
def base_and_checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    base = make_tiny_model(str(folder / "base"), hidden=32, layers=2, vocab_size=300)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                      task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    with torch.no_grad():  # lora_B starts at zero; give the adapter an effect to merge
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    model.save_pretrained(str(folder / "checkpoint-10"))
    return base, str(folder / "checkpoint-10")


def test_merged_model_gives_the_adapters_logits(base_and_checkpoint, tmp_path):
    base, checkpoint = base_and_checkpoint
    stages = []
    result = export_merged(base, checkpoint, str(tmp_path / "merged"), on_progress=lambda s, f: stages.append(f))
    assert result["path"] == str(tmp_path / "merged") and stages[-1] == 1.0
    assert not os.path.exists(str(tmp_path / "merged") + ".partial")

    names = {f["name"] for f in result["files"]}
    assert "model.safetensors" in names and "config.json" in names and "tokenizer.json" in names
    assert not any("adapter" in n for n in names)
    for entry in result["files"]:
        data = open(os.path.join(result["path"], entry["name"]), "rb").read()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()

    ids = AutoTokenizer.from_pretrained(result["path"])("hello world, tell me more", return_tensors="pt").input_ids
    with torch.no_grad():
        merged = AutoModelForCausalLM.from_pretrained(result["path"]).eval()
        adapted = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), checkpoint).eval()
        plain = AutoModelForCausalLM.from_pretrained(base).eval()
        expected = adapted(ids).logits
        assert (plain(ids).logits - expected).abs().max() > 1e-2  # the adapter does change the output
        torch.testing.assert_close(merged(ids).logits, expected, atol=1e-4, rtol=0)


def test_export_refuses_a_non_empty_folder_and_bad_input(base_and_checkpoint, tmp_path):
    base, checkpoint = base_and_checkpoint
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="must be new or empty"):
        export_merged(base, checkpoint, str(tmp_path / "taken"))
    assert os.listdir(tmp_path / "taken") == ["keep.txt"]
    with pytest.raises(ExportError, match="not a LoRA checkpoint"):
        export_merged(base, base, str(tmp_path / "out"))
    (tmp_path / "empty").mkdir()  # an empty folder is fine, and bf16 is honoured
    result = export_merged(base, checkpoint, str(tmp_path / "empty"), dtype="bf16")
    assert AutoModelForCausalLM.from_pretrained(result["path"], dtype="auto").dtype == torch.bfloat16
