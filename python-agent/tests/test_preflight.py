"""Memory estimate and preflight checks, on a tiny Llama config (only its config.json is needed)."""

import json

import pytest
import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

from tunelab_agent.models.sizing import MB, estimate_memory
from tunelab_agent.training.preflight import preflight
from tunelab_agent.training.run_config import load_run_config

# hidden 32, 4 heads of 8 with 2 kv heads (k/v are 16 wide), MLP 64, vocab 100, 2 layers, untied head
TINY = dict(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
HAND_COUNT = (100 * 32                                   # embeddings
              + 2 * (32 * 32 + 32 * 16 + 32 * 16 + 32 * 32  # q, k, v, o
                     + 3 * 32 * 64                        # gate, up, down
                     + 2 * 32)                            # two RMSNorms
              + 32                                        # final norm
              + 100 * 32)                                 # lm_head
HAND_LORA_QV = 2 * (4 * (32 + 32) + 4 * (32 + 16))       # r=4 on q_proj (32->32) and v_proj (32->16)


def run_config(model=None, training=None, lora=None, dataset=None):
    return load_run_config(json.dumps({
        "model": {"name": "model", **(model or {})},
        "dataset": {"train": "t.jsonl", "max_length": 16, **(dataset or {})},
        "lora": {"r": 4, "target_modules": ["q_proj", "v_proj"], **(lora or {})},
        "training": {"batch_size": 2, **(training or {})}}))


@pytest.fixture
def model_dir(tmp_path):
    LlamaConfig(**TINY).save_pretrained(tmp_path / "model")
    return str(tmp_path / "model")


def cpu_host(**overrides):
    return {"gpus": [], "cpu_count": 2, "ram_total_mb": 8000, "ram_available_mb": 4000, "disk_free_mb": 10_000,
            "versions": {"bitsandbytes": None, "flash_attn": None}, **overrides}


def gpu(index, total_mb=40_000, free_mb=40_000, bf16=True):
    return {"index": index, "name": "Test GPU", "memory_total_mb": total_mb, "memory_free_mb": free_mb,
            "utilization": 0, "bf16": bf16}


def test_parameter_counts_match_the_real_model_and_peft(model_dir):
    torch.manual_seed(0)
    real = LlamaForCausalLM(LlamaConfig(**TINY))
    assert sum(p.numel() for p in real.parameters()) == HAND_COUNT
    estimate = estimate_memory(model_dir, run_config(), on_gpu=False)
    assert estimate["parameters"] == HAND_COUNT
    assert estimate["trainable_parameters"] == HAND_LORA_QV
    for targets, dora in ((["q_proj", "v_proj"], False), ("all-linear", False), (["down_proj"], True)):
        peft_model = get_peft_model(LlamaForCausalLM(LlamaConfig(**TINY)),
                                    LoraConfig(r=4, target_modules=targets, use_dora=dora, task_type="CAUSAL_LM"))
        trainable, _ = peft_model.get_nb_trainable_parameters()
        counted = estimate_memory(model_dir, run_config(lora={"target_modules": targets, "use_dora": dora}), on_gpu=False)
        assert counted["trainable_parameters"] == trainable, targets


def test_estimate_follows_the_formula(model_dir):
    cpu = estimate_memory(model_dir, run_config(), on_gpu=False)["bytes"]
    assert cpu["weights"] == HAND_COUNT * 4  # fp32 on the CPU
    assert cpu["lora"] == HAND_LORA_QV * 16
    b, s, layers = 2, 16, 2
    per_layer = b * s * (6 * 32 + 2 * 16 + 4 * 64) * 4
    logits = b * s * 100 * (4 + 8)
    assert cpu["activations"] == layers * per_layer + logits
    assert abs(cpu["total"] - 1.1 * (cpu["weights"] + cpu["lora"] + cpu["activations"])) <= 1
    gpu_est = estimate_memory(model_dir, run_config(), on_gpu=True)["bytes"]
    assert gpu_est["weights"] == HAND_COUNT * 2  # auto is 16-bit on a GPU
    assert gpu_est["overhead"] > 1024 * MB  # CUDA context
    quantized = estimate_memory(model_dir, run_config(model={"quantization": "4bit"}), on_gpu=True)["bytes"]
    linear = 2 * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64)
    assert quantized["weights"] == linear // 2 + (HAND_COUNT - linear) * 2
    checkpointed = estimate_memory(model_dir, run_config(model={"gradient_checkpointing": True}), on_gpu=False)["bytes"]
    assert checkpointed["activations"] == b * s * layers * 32 * 4 + per_layer + logits



def test_preference_methods_count_their_extra_rows_and_no_second_model(model_dir):
    b, s, layers = 2, 16, 2
    per_row_layer = s * (6 * 32 + 2 * 16 + 4 * 64) * 4
    sft = estimate_memory(model_dir, run_config(), on_gpu=False)
    dpo = estimate_memory(model_dir, run_config(training={"method": "dpo"}, dataset={"packing": False}), on_gpu=False)
    kto = estimate_memory(model_dir, run_config(training={"method": "kto"}, dataset={"packing": False}), on_gpu=False)
    # DPO: chosen and rejected of each pair in one batch, so twice the rows' activations and logits
    assert dpo["bytes"]["activations"] == 2 * b * (layers * per_row_layer + s * 100 * (4 + 8))
    # KTO: its own rows, plus the logits of the no-grad KL pass
    assert kto["bytes"]["activations"] == sft["bytes"]["activations"] + b * s * 100 * (4 + 4)
    # the reference is the base with the adapter off: weights and LoRA states as for SFT
    for est in (dpo, kto):
        assert est["bytes"]["weights"] == sft["bytes"]["weights"] and est["bytes"]["lora"] == sft["bytes"]["lora"]
    assert (sft["method"], dpo["method"], kto["method"]) == ("sft", "dpo", "kto")

def test_a_fitting_run_on_cpu_only_warns_that_it_is_slow(model_dir, tmp_path):
    result = preflight(run_config(), {"model": model_dir}, cpu_host(), str(tmp_path))
    assert result["errors"] == []
    assert any(w.startswith("training.gpus:") and "CPU" in w for w in result["warnings"])
    assert result["estimate"]["parameters"] == HAND_COUNT


def test_blocking_errors_name_their_config_key(model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("TUNELAB_ALLOW_CPU_DDP", raising=False)
    two_gpus = cpu_host(gpus=[gpu(0), gpu(1)], versions={"bitsandbytes": None, "flash_attn": None})
    errors = preflight(run_config(training={"gpus": 4}), {"model": model_dir}, two_gpus, str(tmp_path))["errors"]
    assert errors == ["training.gpus: 4 requested but this host has 2 GPUs"]

    errors = preflight(run_config(model={"quantization": "4bit"}), {"model": model_dir}, cpu_host(), str(tmp_path))["errors"]
    assert len(errors) == 1 and errors[0].startswith("model.quantization: 4bit") and "CUDA" in errors[0]
    errors = preflight(run_config(model={"quantization": "8bit"}), {"model": model_dir}, two_gpus, str(tmp_path))["errors"]
    assert len(errors) == 1 and "bitsandbytes" in errors[0]

    errors = preflight(run_config(model={"attn_implementation": "flash_attention_2"}), {"model": model_dir},
                       two_gpus, str(tmp_path))["errors"]
    assert len(errors) == 1 and errors[0].startswith("model.attn_implementation:")

    old_gpu = cpu_host(gpus=[gpu(0, bf16=False)])
    errors = preflight(run_config(model={"dtype": "bf16"}), {"model": model_dir}, old_gpu, str(tmp_path))["errors"]
    assert len(errors) == 1 and errors[0].startswith("model.dtype:")


def test_a_model_too_large_for_the_gpu_is_an_error(model_dir, tmp_path):
    small_gpu = cpu_host(gpus=[gpu(0, total_mb=1000, free_mb=1000)])  # below the 1 GiB CUDA context alone
    result = preflight(run_config(), {"model": model_dir}, small_gpu, str(tmp_path))
    assert len(result["errors"]) == 1
    assert result["errors"][0].startswith("model.name: training needs about") and "GPU 0" in result["errors"][0]
    busy_gpu = cpu_host(gpus=[gpu(0, total_mb=40_000, free_mb=500)])
    result = preflight(run_config(), {"model": model_dir}, busy_gpu, str(tmp_path))
    assert result["errors"] == [] and any("free now" in w for w in result["warnings"])


def test_an_unreadable_model_is_an_error(tmp_path):
    result = preflight(run_config(), {"model": str(tmp_path / "missing")}, cpu_host(), str(tmp_path))
    assert result["estimate"] is None
    assert result["errors"][0].startswith("model.name: cannot read the model's config")


def test_disk_need_counts_kept_checkpoints_and_logs_and_warns_when_short(model_dir, tmp_path):
    config = run_config(training={"save_total_limit": 3, "max_steps": 2000, "logging_steps": 10, "eval_steps": 100})
    roomy = preflight(config, {"model": model_dir}, cpu_host(disk_free_mb=10_000), str(tmp_path))
    disk = roomy["estimate"]["disk"]
    assert disk["checkpoints"] == 4  # the last 3 plus the best
    assert disk["checkpoints_mb"] == round(4 * roomy["estimate"]["checkpoint_mb"], 1)
    # 200 metrics + 20 eval lines (+50 for setup events) at 1.6 KB, plus 1 MB of slack
    assert disk["logs_mb"] == round(270 * 1.6 / 1024 + 1, 1)
    assert disk["total_mb"] == round(disk["checkpoints_mb"] + disk["logs_mb"], 1)
    assert not [w for w in roomy["warnings"] if w.startswith("training.save_total_limit")]

    short = preflight(config, {"model": model_dir}, cpu_host(disk_free_mb=2), str(tmp_path))
    assert short["errors"] == []  # space can be freed before the first save: a warning, not a refusal
    [warning] = [w for w in short["warnings"] if w.startswith("training.save_total_limit")]
    assert "4 checkpoints" in warning and "of logs" in warning and "2 MB free" in warning


def test_disk_need_counts_the_rows_of_a_parquet_file_from_its_footer(model_dir, tmp_path):
    import pyarrow
    import pyarrow.parquet

    path = tmp_path / "train.parquet"
    pyarrow.parquet.write_table(pyarrow.table({"text": [f"row {i}" for i in range(500)]}), path)
    config = run_config(training={"epochs": 1, "logging_steps": 10, "eval_steps": 1000})
    disk = preflight(config, {"model": model_dir, "train": str(path)}, cpu_host(), str(tmp_path))["estimate"]["disk"]
    # 500 rows / batch 2 = 250 steps: 25 logged lines + 0 evals + 50, at 1.6 KB, plus 1 MB of slack
    assert disk["logs_mb"] == round(75 * 1.6 / 1024 + 1, 1)
