import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

from tunelab_agent.models.tiny_model import make_tiny_model
from tunelab_agent.training.trainer import zero_grad_trainable_only


def test_the_fast_zero_grad_clears_every_gradient_the_stock_one_would(tmp_path):
    make_tiny_model(str(tmp_path / "m"), hidden=32, layers=1)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tmp_path / "m")),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    ids = torch.tensor([[1, 2, 3, 4]])
    for set_to_none in (True, False):
        model(input_ids=ids, labels=ids).loss.backward()
        with_grads = [n for n, p in model.named_parameters() if p.grad is not None]
        assert with_grads and all("lora_" in n for n in with_grads)
        zero_grad_trainable_only(model)
        model.zero_grad(set_to_none=set_to_none)
        for name, p in model.named_parameters():
            assert p.grad is None or (not set_to_none and not p.grad.any()), name
