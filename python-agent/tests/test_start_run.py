import json

import pytest

from agent_client import AgentError
from conftest import write_config
from test_server_imports import mapped_torch


def start_error(client, **params) -> AgentError:
    with pytest.raises(AgentError) as info:
        client.call("start_run", params)
    return info.value


def test_bad_config_is_refused_with_the_key_path(start_server, data_dir):
    client = start_server().client()
    config = json.loads(write_config(data_dir))
    config["training"]["learning_rate"] = "fast"
    err = start_error(client, config=json.dumps(config), config_path=str(data_dir / "demo.tunelab.yaml"))
    assert err.code == "bad_config"
    assert 'demo.tunelab.yaml line' in err.message and 'training.learning_rate: expected number, got string "fast"' in err.message
    assert client.call("list_runs")["runs"] == []  # nothing was created


def test_missing_dataset_names_the_key_and_path(start_server, data_dir):
    client = start_server().client()
    config = json.loads(write_config(data_dir))
    config["dataset"]["train"] = "nowhere.jsonl"
    err = start_error(client, config=json.dumps(config), config_path=str(data_dir / "x.tunelab.yaml"))
    assert err.code == "bad_config"
    assert "dataset.train: file not found" in err.message and str(data_dir / "nowhere.jsonl") in err.message


def test_paths_outside_the_served_folders_are_refused(start_server, data_dir, tmp_path):
    client = start_server().client()
    err = start_error(client, config=write_config(data_dir), config_path=str(tmp_path / "elsewhere.tunelab.yaml"))
    assert err.code == "bad_params" and "outside the folders" in err.message
    config = json.loads(write_config(data_dir))
    config["dataset"]["train"] = "../../../etc/passwd"
    err = start_error(client, config=json.dumps(config), config_path=str(data_dir / "x.tunelab.yaml"))
    assert err.code == "bad_config" and "dataset.train" in err.message and "outside" in err.message


def test_bad_rows_are_reported_by_line_and_skipped_until_too_many(start_server, data_dir):
    broken = data_dir / "broken"
    broken.mkdir(exist_ok=True)
    good = (data_dir / "train.jsonl").read_text().splitlines(keepends=True)
    # One bad row in 97 is under the default 5% limit: reported with its line, then skipped.
    (broken / "train.jsonl").write_text(good[0] + "{oops\n" + "".join(good[1:]))
    config = json.loads(write_config(data_dir, max_steps=2, eval_steps=2, save_steps=2))
    config["dataset"] = {"train": "broken/train.jsonl", "eval": "eval.jsonl", "max_length": 96}
    server = start_server()
    client = server.client()
    client.call("subscribe", {"since": 0})
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "b.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id)
    assert events[-1]["data"]["state"] == "completed"
    bad = [e["data"] for e in events if e["kind"] == "bad_row"]
    assert [(b["split"], b["file"], b["line"]) for b in bad] == [("train", "train.jsonl", 2)]
    assert "not valid JSON" in bad[0]["reason"]
    report = next(e["data"] for e in events if e["kind"] == "data_report" and e["data"]["split"] == "train")
    assert (report["rows"], report["kept"], report["bad"]) == (97, 96, 1)

    # Ten bad rows in 30 (33%) is over the limit: the run fails and says how many and where.
    (broken / "train.jsonl").write_text("".join(good[:20]) + "[1, 2]\n" * 10)
    client.events.clear()
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "b.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id)
    final = events[-1]["data"]
    assert final["state"] == "failed"
    assert "train.jsonl" in final["error"] and "10 of 30" in final["error"] and "line 21" in final["error"], final["error"]
    assert len([e for e in events if e["kind"] == "bad_row"]) == 10
    assert next(r for r in client.call("list_runs")["runs"] if r["run_id"] == run_id)["error"] == final["error"]
    # Two runs started and watched on this GPU-less host, and the server never imported torch: the training
    # processes load the model, the server only needed to know there is no GPU driver.
    assert not mapped_torch(server.process.pid)
