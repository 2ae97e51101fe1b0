import json
import os

from tunelab_agent.rundir.checkpoints import verify
from conftest import write_config


def test_lora_run_through_the_server(start_server, data_dir):
    client = start_server().client()
    assert client.call("subscribe", {"since": 0}) == {"head": 0}
    run_id = client.call("start_run", {"config": write_config(data_dir, name="Real Run"),
                                       "config_path": str(data_dir / "real.tunelab.yaml")})["run_id"]
    assert "-real-run-" in run_id
    events = client.wait_for_end(run_id)  # every message was validated against the schema on receipt

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "run_created" and all(e["run_id"] == run_id for e in events)
    states = [e["data"]["state"] for e in events if e["kind"] == "run_state"]
    assert states == ["starting", "running", "completed"]

    metrics = [e["data"] for e in events if e["kind"] == "metrics"]
    assert [m["step"] for m in metrics] == list(range(2, 31, 2))
    assert metrics[-1]["loss"] < 0.5 * metrics[0]["loss"], (metrics[0]["loss"], metrics[-1]["loss"])
    assert all(m["tokens_per_sec"] > 0 and m["max_steps"] == 30 for m in metrics)
    assert metrics[-1]["eta_s"] == 0

    evals = [e["data"] for e in events if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [10, 20, 30] and evals[-1]["eval_loss"] < evals[0]["eval_loss"]

    saved = [e["data"] for e in events if e["kind"] == "checkpoint"]
    assert [c["name"] for c in saved] == ["checkpoint-10", "checkpoint-20", "checkpoint-30"]
    listed = client.call("list_checkpoints", {"run_id": run_id})["checkpoints"]
    assert [{k: c[k] for k in ("name", "step", "path", "files")} for c in listed] == \
        [{k: c[k] for k in ("name", "step", "path", "files")} for c in saved]
    # Each checkpoint carries the eval loss of its step, and the lowest one is marked best.
    assert [c["eval_loss"] for c in listed] == [e["eval_loss"] for e in evals]
    assert [c["is_best"] for c in listed] == [c["eval_loss"] == min(e["eval_loss"] for e in evals) for c in listed]
    for checkpoint in listed:
        assert verify(checkpoint) == []
        assert "adapter_model.safetensors" in {f["name"] for f in checkpoint["files"]}
        with open(os.path.join(checkpoint["path"], "manifest.json")) as f:
            assert json.load(f)["step"] == checkpoint["step"]

    summary = client.call("list_runs")["runs"]
    assert summary == [{"run_id": run_id, "name": "Real Run", "state": "completed", "created": summary[0]["created"],
                        "step": 30, "max_steps": 30, "loss": metrics[-1]["loss"], "error": None,
                        "checkpoints": 3}]

    # Base and checkpoint answer side by side; the trained adapter actually changes the answer.
    prompt = "Classify the sentiment of this review as positive or negative.\n\nThe soup was awful. Never again."
    messages = [{"role": "user", "content": prompt}]
    results = client.call("generate", {"run_id": run_id, "adapters": ["base", "checkpoint-30"], "messages": messages,
                                       "sampling": {"max_new_tokens": 8}})["results"]
    base, tuned = results
    assert base["adapter"] == "base" and tuned["adapter"] == "checkpoint-30"
    assert 0 < base["new_tokens"] <= 8 and base["text"]
    assert tuned["text"] in ("positive", "negative") and tuned["text"] != base["text"]
    assert tuned["ttft_ms"] > 0 and tuned["finish_reason"] in ("eos", "length")
    # The streamed pieces of each adapter add up to its answer.
    for result in results:
        pieces = "".join(m["data"]["text"] for m in client.streams if m["data"]["adapter"] == result["adapter"])
        assert pieces.strip() == result["text"].strip()
    again = client.call("generate", {"run_id": run_id, "adapters": ["base"], "messages": messages,
                                     "sampling": {"max_new_tokens": 8}, "stream": False})["results"][0]
    assert again["text"] == base["text"]  # attaching adapters left the base untouched
