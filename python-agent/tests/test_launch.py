"""The training command for one and several processes, and the gpus-too-many error."""

import json
import os
import sys

import pytest

from tunelab_agent.training.launch import LaunchError, command, distributed_args
from tunelab_agent.training.run_config import load_run_config


def config(gpus=1, distributed="ddp", checkpointing=False):
    return load_run_config(json.dumps({"model": {"name": "m", "gradient_checkpointing": checkpointing},
                                       "dataset": {"train": "t.jsonl"},
                                       "training": {"gpus": gpus, "distributed": distributed}}))


def test_one_gpu_runs_the_agent_directly():
    assert command("/r/run-1", "/root", config(1), python="py", host_gpus=1) == \
        ["py", "-m", "tunelab_agent", "run", "/r/run-1", "--root", "/root"]
    # "all" on a single-GPU (or GPU-less) host is one plain process too
    assert command("/r/run-1", "/root", config("all"), python="py", host_gpus=0)[1:3] == ["-m", "tunelab_agent"]


def test_several_gpus_go_through_torchrun():
    argv = command("/r/run-1", "/root", config("all"), python="py", host_gpus=4)
    assert argv[:3] == ["py", "-m", "torch.distributed.run"]
    assert argv[argv.index("--nproc_per_node") + 1] == "4"
    assert argv[argv.index("--master_addr") + 1] == "127.0.0.1"
    assert 0 < int(argv[argv.index("--master_port") + 1]) < 65536
    assert argv[-6:] == ["-m", "tunelab_agent", "run", "/r/run-1", "--root", "/root"]
    two = command("/r/run-1", "/root", config(2), python="py", host_gpus=4)
    assert two[two.index("--nproc_per_node") + 1] == "2"


def test_more_gpus_than_the_host_has_is_a_clear_error(monkeypatch):
    with pytest.raises(LaunchError, match="training.gpus: 4 requested but this host has 2 GPUs"):
        command("/r", "/root", config(4), host_gpus=2)
    monkeypatch.delenv("TUNELAB_ALLOW_CPU_DDP", raising=False)
    with pytest.raises(LaunchError, match="training.gpus: 2 requested but this host has no GPU"):
        command("/r", "/root", config(2), host_gpus=0)
    monkeypatch.setenv("TUNELAB_ALLOW_CPU_DDP", "1")  # gloo on CPU processes, for tests
    argv = command("/r", "/root", config(2), python=sys.executable, host_gpus=0)
    assert argv[argv.index("--nproc_per_node") + 1] == "2"


def test_distributed_args_for_ddp_and_fsdp():
    assert distributed_args(config(2), on_cpu=True, processes=1) == {}
    assert distributed_args(config(2), on_cpu=True, processes=2) == \
        {"ddp_backend": "gloo", "use_cpu": True, "ddp_find_unused_parameters": False}
    gpu = distributed_args(config(2, checkpointing=True), on_cpu=False, processes=2)
    assert gpu["ddp_backend"] == "nccl" and gpu["gradient_checkpointing_kwargs"] == {"use_reentrant": False}
    fsdp = distributed_args(config(2, "fsdp", checkpointing=True), on_cpu=False, processes=2)
    assert fsdp["fsdp"] is True and fsdp["fsdp_config"]["version"] == 2
    assert fsdp["fsdp_config"]["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert fsdp["fsdp_config"]["activation_checkpointing"] is True
    # accelerate has no FSDP on the CPU: the CPU processes use DDP
    assert "fsdp" not in distributed_args(config(2, "fsdp"), on_cpu=True, processes=2)



WORKER = '''
import json, os, sys
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, Trainer, TrainingArguments
from tunelab_agent.training.launch import distributed_args

config, model_dir, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir),
                       LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
rows = [torch.randint(5, 200, (12,), generator=torch.Generator().manual_seed(i)) for i in range(16)]
batch = lambda b: {"input_ids": torch.stack(b), "labels": torch.stack(b)}
args = TrainingArguments(output_dir=out, per_device_train_batch_size=2, max_steps=3, learning_rate=0.01,
                         save_strategy="no", report_to=[], disable_tqdm=True, dataloader_pin_memory=False,
                         **distributed_args(config))
trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=batch)
trainer.train()
lora_b = [p.detach().clone() for n, p in trainer.accelerator.unwrap_model(trainer.model).named_parameters() if "lora_B" in n]
torch.save({"lora_b": lora_b, "wrapped": type(trainer.model_wrapped).__name__, "epoch": trainer.state.epoch},
           os.path.join(out, f"rank{os.environ['RANK']}.pt"))
'''


def test_two_cpu_processes_train_one_model_with_distributed_args(tmp_path, monkeypatch):
    """torchrun with 2 gloo processes: DDP wraps the model, each rank sees half the data, weights agree."""
    import subprocess

    import torch

    from tunelab_agent.training.launch import free_port
    from tunelab_agent.models.tiny_model import make_tiny_model

    model_dir = make_tiny_model(str(tmp_path / "model"), hidden=32, layers=1, vocab_size=300)
    (tmp_path / "worker.py").write_text(WORKER)
    argv = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
            "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
            str(tmp_path / "worker.py"), json.dumps(config(2)), model_dir, str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    assert all(r["wrapped"] == "DistributedDataParallel" for r in ranks)
    assert ranks[0]["epoch"] == 3 * 2 * 2 / 16  # 3 steps of 2 rows on each of 2 ranks out of 16 rows
    assert any(b.abs().sum() > 0 for b in ranks[0]["lora_b"])  # it did train
    for mine, theirs in zip(ranks[0]["lora_b"], ranks[1]["lora_b"]):
        torch.testing.assert_close(mine, theirs)
