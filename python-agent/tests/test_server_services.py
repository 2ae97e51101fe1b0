"""host_info, preflight, evaluate, export_checkpoint and cancel through a real agent server."""

import json
import math
import os

import pytest
import torch

from agent_client import AgentError
from conftest import write_config


def test_host_info_describes_this_machine(start_server):
    info = start_server().client().call("host_info")
    assert info["gpus"] == [] and info["cpu_count"] == os.cpu_count()
    assert info["ram_total_mb"] > info["ram_available_mb"] > 0 and info["disk_free_mb"] > 0
    assert info["versions"]["torch"] == torch.__version__


def test_preflight_reports_blocking_errors_by_key_before_anything_starts(start_server, data_dir):
    client = start_server().client()
    ok = client.call("preflight", {"config": write_config(data_dir), "config_path": str(data_dir / "p.tunelab.yaml")})
    assert ok["errors"] == [] and ok["estimate"]["total_mb"] > 0
    assert any("GPU" in w for w in ok["warnings"]), ok["warnings"]

    config = json.loads(write_config(data_dir))
    config["training"]["gpus"] = 3
    config["model"] = {"name": "model", "quantization": "4bit"}
    bad = client.call("preflight", {"config": json.dumps(config), "config_path": str(data_dir / "p.tunelab.yaml")})
    assert any(e.startswith("training.gpus:") for e in bad["errors"]), bad["errors"]
    assert any(e.startswith("model.quantization:") for e in bad["errors"]), bad["errors"]
    assert client.call("list_runs")["runs"] == []

    with pytest.raises(AgentError) as err:
        client.call("preflight", {"config": "model: [", "config_path": str(data_dir / "p.tunelab.yaml")})
    assert err.value.code == "bad_config" and "p.tunelab.yaml line 1" in err.value.message


@pytest.fixture
def finished_run(start_server, data_dir):
    server = start_server()
    client = server.client()
    client.call("subscribe", {"since": 0})
    config = write_config(data_dir, name="services", max_steps=20, save_steps=20, eval_steps=20)
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "s.tunelab.yaml")})["run_id"]
    assert client.wait_for_end(run_id)[-1]["data"]["state"] == "completed"
    return client, run_id


def test_evaluate_scores_a_checkpoint_and_stores_the_result_with_it(finished_run, data_dir):
    client, run_id = finished_run
    result = client.call("evaluate", {"run_id": run_id, "checkpoint": "checkpoint-20", "file": str(data_dir / "eval.jsonl"),
                                      "max_new_tokens": 4, "targets": {"ttft_ms": 10000}}, timeout=300)
    assert result["checkpoint"] == "checkpoint-20" and result["rows"] == 16
    assert result["perplexity"] == pytest.approx(math.exp(result["loss"]))
    assert set(result["labels"]) == {"positive", "negative"}
    assert result["targets"]["ttft_ms"] == {"target": 10000, "value": result["ttft_ms_median"], "met": True}
    assert result["targets"]["precision"]["target"] == 0.92  # the guide's default stays in force
    progress = [m["data"] for m in client.streams if m["kind"] == "progress"]
    assert progress[-1] == {"done": 16, "total": 16}
    checkpoint = client.call("list_checkpoints", {"run_id": run_id})["checkpoints"][-1]
    with open(os.path.join(checkpoint["path"], "evaluation.json")) as f:
        assert json.load(f)["exact_match"] == result["exact_match"]

    with pytest.raises(AgentError) as err:
        client.call("evaluate", {"run_id": run_id, "checkpoint": None, "file": "/etc/passwd"})
    assert err.value.code == "bad_params" and "file" in err.value.message


def test_export_merges_the_adapter_into_a_new_folder_inside_the_served_roots(finished_run, data_dir):
    client, run_id = finished_run
    dest = data_dir / "merged-services"
    result = client.call("export_checkpoint", {"run_id": run_id, "checkpoint": "checkpoint-20", "dest": str(dest)}, timeout=300)
    assert result["path"] == str(dest)
    names = {f["name"] for f in result["files"]}
    assert "config.json" in names and any(n.endswith(".safetensors") for n in names) and "tokenizer.json" in names
    assert not os.path.exists(str(dest) + ".partial")

    for bad_dest, code in ((str(dest), "unavailable"), ("/tmp/outside-the-roots", "bad_params")):
        with pytest.raises(AgentError) as err:
            client.call("export_checkpoint", {"run_id": run_id, "checkpoint": "checkpoint-20", "dest": bad_dest})
        assert err.value.code == code, err.value


def test_cancel_stops_a_generation_early(finished_run):
    client, run_id = finished_run
    generating = client.request("generate", {"run_id": run_id, "adapters": ["base", "checkpoint-20"],
                                             "messages": [{"role": "user", "content": "Tell me a long story."}],
                                             "sampling": {"max_new_tokens": 4096, "temperature": 0.8, "seed": 3}})
    cancel = client.request("cancel", {"request_id": generating})
    replies = {}
    while len(replies) < 2:
        message = client.recv(timeout=120)
        if message["type"] == "response":
            replies[message["re"]] = message
    assert replies[cancel]["result"] == {"request_id": generating, "cancelled": True}
    results = replies[generating]["result"]["results"]
    assert [r["finish_reason"] for r in results] == ["cancelled", "cancelled"]
    assert all(r["new_tokens"] < 4096 for r in results)
    assert client.call("cancel", {"request_id": generating}) == {"request_id": generating, "cancelled": False}
