"""The run config's engine options, through the server and a real training process."""

import json

import pytest

from conftest import write_config


def chat_rows(alpaca_path) -> str:
    """The sample task as OpenAI chat rows with a system prompt."""
    out = []
    for line in open(alpaca_path):
        row = json.loads(line)
        out.append(json.dumps({"messages": [
            {"role": "system", "content": "Answer with one word."},
            {"role": "user", "content": row["instruction"] + "\n\n" + row["input"]},
            {"role": "assistant", "content": row["output"]}]}))
    return "\n".join(out) + "\n"


def test_layer_lr_loss_terms_packing_and_chat_data_in_one_run(start_server, data_dir):
    (data_dir / "chat.jsonl").write_text(chat_rows(data_dir / "train.jsonl"))
    config = json.loads(write_config(data_dir, name="options", max_steps=6, eval_steps=3, save_steps=3, logging_steps=1,
                                     warmup_steps=500))
    config["dataset"] = {"train": "chat.jsonl", "eval_ratio": 0.1, "max_length": 128, "packing": True}
    config["lora"].update(target_modules="all-linear", use_rslora=True)
    config["layer_lr"] = [{"name": "attention-0", "pattern": r"layers\.0\.self_attn", "learning_rate": 0.0001},
                          {"name": "nothing", "pattern": r"no_such_module", "learning_rate": 0.0001}]
    config["loss"] = {"length_penalty": {"weight": 0.01, "target_length": 4}, "kl": {"weight": 0.1}}
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "o.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id, timeout=300)
    assert events[-1]["data"]["state"] == "completed", events[-1]
    of = lambda kind: [e["data"] for e in events if e["kind"] == kind]

    report = of("data_report")[0]
    assert (report["format"], report["bad"]) == ("openai", 0)
    assert any(m["message"].startswith("packing:") for m in of("log"))
    warnings = {w.get("code"): w["message"] for w in of("log") if w["level"] == "warning"}
    assert "warmup_capped" in warnings and "layer_lr_unmatched" in warnings

    groups = {g["name"]: g for g in of("param_groups")[0]["groups"]}
    assert groups["attention-0"]["learning_rate"] == 0.0001 and groups["attention-0"]["parameters"] > 0
    assert groups["nothing"]["parameters"] == 0 and groups["default"]["learning_rate"] == config["training"]["learning_rate"]

    metrics = of("metrics")
    for m in metrics:
        terms = m["loss_terms"]
        assert set(terms) == {"ce_loss", "length_penalty", "kl"} and all(v is not None for v in terms.values())
        # The scheduler scales every group alike, so the configured ratio holds at every step.
        assert m["lr_groups"]["attention-0"] == pytest.approx(m["lr_groups"]["default"] * 0.0001 / 0.003)
        assert m["loss"] == pytest.approx(terms["ce_loss"] + 0.01 * terms["length_penalty"] + 0.1 * terms["kl"], rel=1e-4)
    assert metrics[0]["loss_terms"]["kl"] == pytest.approx(0, abs=1e-6)  # the adapter starts as a no-op
    assert metrics[-1]["loss_terms"]["kl"] > 0
