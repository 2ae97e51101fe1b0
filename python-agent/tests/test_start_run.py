import json

import pytest

from agent_client import AgentError
from conftest import write_config


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
    assert client.call("list_runs") == {"runs": []}  # nothing was created


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


def test_dataset_with_a_non_json_line_fails_the_run_naming_the_line(start_server, data_dir):
    broken = data_dir / "broken"
    broken.mkdir(exist_ok=True)
    (broken / "train.jsonl").write_text((data_dir / "train.jsonl").read_text().replace("\n", "\n{oops\n", 1))
    config = json.loads(write_config(data_dir))
    config["dataset"] = {"train": "broken/train.jsonl"}
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    run_id = client.call("start_run", {"config": json.dumps(config), "config_path": str(data_dir / "b.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id)
    final = events[-1]["data"]
    assert final["state"] == "failed"
    assert final["error"].startswith("train.jsonl line 2: not valid JSON")
    assert client.call("list_runs")["runs"][0]["error"] == final["error"]
