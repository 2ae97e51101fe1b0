"""The command that starts a run's training process, and the Trainer's arguments for multi-process runs.

One process trains on one GPU (or the CPU). `training.gpus: N` (or `all`) starts N processes through
torchrun (`python -m torch.distributed.run`), never a home-made launcher: torchrun sets RANK,
WORLD_SIZE and MASTER_ADDR/PORT, and the Trainer wraps the model in DDP or FSDP from them.

A CPU-only host has no GPUs to spread over, so N > 1 there is an error, unless TUNELAB_ALLOW_CPU_DDP=1
asks for N CPU processes on the gloo backend (that is how the tests exercise multi-process training).
"""

import os
import socket
import sys

ALLOW_CPU_DDP = "TUNELAB_ALLOW_CPU_DDP"


class LaunchError(ValueError):
    pass


def cpu_ddp_allowed() -> bool:
    return os.environ.get(ALLOW_CPU_DDP) == "1"


def process_count(config: dict, host_gpus: int) -> int:
    """How many training processes `training.gpus` asks for on a host with `host_gpus` GPUs."""
    wanted = config["training"]["gpus"]
    if wanted == "all":
        return max(host_gpus, 1)
    if wanted <= 1:
        return 1
    if host_gpus == 0:
        if cpu_ddp_allowed():
            return wanted
        raise LaunchError(f"training.gpus: {wanted} requested but this host has no GPU "
                          f"(set {ALLOW_CPU_DDP}=1 to run {wanted} CPU processes on gloo instead)")
    if wanted > host_gpus:
        raise LaunchError(f"training.gpus: {wanted} requested but this host has {host_gpus} "
                          f"GPU{'' if host_gpus == 1 else 's'}")
    return wanted


def command(run_dir: str, root: str, config: dict, python: str = sys.executable,
            host_gpus: int | None = None) -> list[str]:
    """argv of the training process for this run; raises LaunchError when the host cannot run it."""
    if host_gpus is None:
        from ..hostinfo import gpu_count

        host_gpus = gpu_count()
    processes = process_count(config, host_gpus)
    if processes == 1:
        return single_process_command(run_dir, root, python)
    agent = ["-m", "tunelab_agent", "run", run_dir, "--root", root]
    return [python, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(processes),
            "--master_addr", "127.0.0.1", "--master_port", str(free_port()), *agent]


def single_process_command(run_dir: str, root: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "tunelab_agent", "run", run_dir, "--root", root]


def free_port() -> int:
    # The port is free now; torchrun binds it a moment later. A clash in between is possible but
    # rare, and fails the run visibly rather than joining someone else's job.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def distributed_args(config: dict, on_cpu: bool | None = None, processes: int | None = None) -> dict:
    """TrainingArguments kwargs for a multi-process run ({} when the run has one process).

    `processes` defaults to WORLD_SIZE, which torchrun sets in each process it starts.

    Verified on this CPU host with torchrun --nproc_per_node 2 and a peft LoRA model: without
    use_cpu=True the Trainer sees no accelerator, stays NOT_PARALLEL and every rank trains its own copy
    (silently; the weights diverge). With use_cpu=True + gloo the model is wrapped in DDP, the data is
    sharded and the ranks end with identical weights.

    fsdp uses FSDP2 (transformers 5 deprecates the "full_shard auto_wrap" string and FSDP1); FSDP2
    shards per parameter, so frozen base weights and trainable LoRA weights can share a wrapped
    block, which is what use_orig_params was for under FSDP1. Accelerate only does FSDP on GPUs; on the
    CPU the run falls back to DDP (preflight warns).
    """
    if on_cpu is None:
        import torch

        on_cpu = not torch.cuda.is_available()
    if processes is None:
        processes = int(os.environ.get("WORLD_SIZE", "1"))
    if processes <= 1:
        return {}
    opts = config["training"]
    checkpointing = config["model"].get("gradient_checkpointing", False)
    args = {"ddp_backend": "gloo" if on_cpu else "nccl"}
    if on_cpu:
        args["use_cpu"] = True
    if opts["distributed"] == "fsdp" and not on_cpu:
        # FSDP's own activation checkpointing replaces the model's gradient_checkpointing (the latter
        # adds a redundant all-gather in backward): recipe.py must not enable both.
        args["fsdp"] = True
        args["fsdp_config"] = {"version": 2, "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                               "reshard_after_forward": True, "state_dict_type": "FULL_STATE_DICT",
                               "activation_checkpointing": checkpointing}
        return args
    # Every LoRA parameter gets a gradient each step, so DDP can skip the search for unused ones.
    args["ddp_find_unused_parameters"] = False
    if checkpointing:
        # Reentrant checkpointing re-runs forward inside backward, which DDP's reducer cannot follow.
        args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    return args
