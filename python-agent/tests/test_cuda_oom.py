"""CUDA out-of-memory ends a run, or a generation request, with the cause and the preflight estimate.

There is no GPU here, so these tests raise torch.cuda.OutOfMemoryError, the exception PyTorch raises
when a GPU allocation fails, at the point where it would arise: from the training step of a real run
(TUNELAB_FAULT=cuda_oom, see faults.py) and from decoding in the real generation service.
"""

import re

import pytest
import torch
from conftest import Server, write_config

from tunelab_agent.generation import generate
from tunelab_agent.generation.generate import GenerationError, GenerationService


def test_a_cuda_oom_in_training_fails_the_run_with_the_cause_and_the_estimate(tmp_path, data_dir):
    root = tmp_path / "root"
    root.mkdir()
    server = Server(root, [data_dir], env={"TUNELAB_FAULT": "cuda_oom@3"})
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        config = write_config(data_dir, max_steps=20)
        run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "oom.tunelab.yaml")})["run_id"]
        final = client.wait_for_end(run_id)[-1]["data"]
    finally:
        server.stop()
    assert final["state"] == "failed"
    assert re.match(r"CUDA out of memory at step 2 \(CUDA out of memory\. Tried to allocate 2\.00 GiB\. .*\); "
                    r"the preflight estimate for this config is [\d.]+ (MB|GiB) per GPU \(weights [\d.]+ (MB|GiB), "
                    r"LoRA \+ optimizer [\d.]+ (MB|GiB), activations [\d.]+ (MB|GiB), overhead [\d.]+ (MB|GiB)\); "
                    r"try model\.gradient_checkpointing: true", final["error"]), final["error"]


def test_a_cuda_oom_while_generating_answers_with_the_cause_and_the_model_size(data_dir, monkeypatch):
    def out_of_memory(*_args, **_kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 512.00 MiB.")

    monkeypatch.setattr(generate, "decode", out_of_memory)
    service = GenerationService()
    with pytest.raises(GenerationError) as caught:
        service.generate(str(data_dir / "model"), [("base", None)], [{"role": "user", "content": "hi"}],
                         {"max_new_tokens": 8})
    message = str(caught.value)
    assert message.startswith("CUDA out of memory while generating with base (CUDA out of memory. Tried to allocate "
                              "512.00 MiB); loading the model takes about ")
    assert "(preflight estimate)" in message and "a smaller max_new_tokens (now 8)" in message
    # The service stays usable after the failure.
    monkeypatch.undo()
    [result] = service.generate(str(data_dir / "model"), [("base", None)], [{"role": "user", "content": "hi"}],
                                {"max_new_tokens": 2})
    assert result["new_tokens"] <= 2
