"""DPO and KTO runs end to end: the real agent server, a real training process, TRL on the tiny model."""

import json
import os

import pytest

from conftest import write_config

# The rejected answer is the kind of reply the guide's negative samples hold: a dodge instead of the label.
DODGE = "I cannot tell from this review."


@pytest.fixture(scope="module")
def pairs(data_dir):
    """pairs.jsonl / pairs_eval.jsonl beside the tiny model: the sentiment task as chosen/rejected answers."""
    rows = [json.loads(line) for line in (data_dir / "train.jsonl").read_text().splitlines()]
    as_pair = lambda r: {"prompt": r["instruction"] + "\n\n" + r["input"], "chosen": r["output"], "rejected": DODGE}
    (data_dir / "pairs.jsonl").write_text("".join(json.dumps(as_pair(r)) + "\n" for r in rows[16:]))
    (data_dir / "pairs_eval.jsonl").write_text("".join(json.dumps(as_pair(r)) + "\n" for r in rows[:16]))
    # The same task as KTO rows (messages + a boolean label): each review once with its label as a desirable
    # answer and once with the dodge as an undesirable one.
    judged = lambda r, good: {"messages": [{"role": "user", "content": r["instruction"] + "\n\n" + r["input"]},
                                           {"role": "assistant", "content": r["output"] if good else DODGE}],
                              "label": good}
    for name, part in (("judged.jsonl", rows[16:]), ("judged_eval.jsonl", rows[:8])):
        (data_dir / name).write_text("".join(json.dumps(judged(r, good)) + "\n" for r in part for good in (True, False)))
    return data_dir


def preference_config(folder, method: str, files=("pairs.jsonl", "pairs_eval.jsonl"), **training) -> str:
    config = json.loads(write_config(folder, name=f"{method}-run", **training))
    config["dataset"] = {"train": files[0], "eval": files[1], "max_length": 96}
    config["training"]["method"] = method
    config[method] = {"beta": 0.1}
    return json.dumps(config)


def run_to_end(client, data_dir, config: str) -> tuple[str, list[dict]]:
    run_id = client.call("start_run", {"config": config, "config_path": str(data_dir / "p.tunelab.yaml")})["run_id"]
    return run_id, [e for e in client.wait_for_end(run_id, timeout=300) if e["run_id"] == run_id]


def test_a_dpo_run_trains_pairs_reports_preference_figures_and_resumes(start_server, pairs):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    run_id, events = run_to_end(client, pairs, preference_config(pairs, "dpo", max_steps=12, save_steps=6, eval_steps=6,
                                                                     learning_rate=0.01))
    assert events[-1]["data"] == {"state": "completed", "segment": 0}, [e for e in events if e["kind"] == "log"]

    report = next(e["data"] for e in events if e["kind"] == "data_report" and e["data"]["split"] == "train")
    assert report["format"] == "preference" and report["kept"] == 80 and report["bad"] == 0

    metrics = [e["data"] for e in events if e["kind"] == "metrics"]
    assert [m["step"] for m in metrics] == list(range(2, 13, 2))
    # Steps 1-2 score the untouched adapter (warmup starts at lr 0): the policy is then exactly the
    # reference, which is what the base with the adapter disabled gives.
    assert metrics[0]["preference"]["margin"] == 0.0
    for m in metrics:
        fig = m["preference"]
        assert set(fig) >= {"chosen_reward", "rejected_reward", "margin", "accuracy"}
        assert 0.0 <= fig["accuracy"] <= 1.0
        assert fig["margin"] == pytest.approx(fig["chosen_reward"] - fig["rejected_reward"], abs=1e-4)
    # Learning the task means pulling the right label up against the wrong one, relative to the base.
    assert metrics[-1]["preference"]["margin"] > 1.0 and metrics[-1]["preference"]["accuracy"] >= 0.9
    assert metrics[-1]["preference"]["rejected_reward"] < 0 < metrics[-1]["preference"]["margin"]

    evals = [e["data"] for e in events if e["kind"] == "eval"]
    assert [e["step"] for e in evals] == [6, 12]
    assert evals[-1]["metrics"]["eval_rewards/accuracies"] >= 0.9

    checkpoints = [e["data"] for e in events if e["kind"] == "checkpoint"]
    assert [c["name"] for c in checkpoints] == ["checkpoint-6", "checkpoint-12"]
    files = {f["name"] for f in checkpoints[-1]["files"]}
    assert "adapter_model.safetensors" in files and "optimizer.pt" in files
    # The reference is the base with the adapter off: no frozen copy of the adapter is trained or saved.
    assert not any(name.startswith("ref/") or "/ref/" in name for name in files), files
    with open(os.path.join(checkpoints[-1]["path"], "manifest.json")) as f:
        assert json.load(f)["eval_loss"] == pytest.approx(evals[-1]["eval_loss"])

    # Evaluating a preference checkpoint on the eval pairs reports its pairwise accuracy; the base has
    # no implicit reward at all (it is its own reference), so only the trained checkpoint can win pairs.
    score = lambda name: client.call("evaluate", {"run_id": run_id, "checkpoint": name, "max_new_tokens": 2,
                                                  "file": str(pairs / "pairs_eval.jsonl")}, timeout=300)
    tuned, base = score("checkpoint-12")["preference"], score(None)["preference"]
    assert tuned["pairs"] == 16 and tuned["accuracy"] >= 0.9 and tuned["likelihood_accuracy"] >= 0.9
    assert tuned["margin"] > 1.0
    assert base["accuracy"] == 0.0 and base["margin"] == 0.0

    client.events.clear()
    assert client.call("resume_run", {"run_id": run_id, "checkpoint": "checkpoint-6"}) == {"run_id": run_id, "segment": 1}
    again = [e for e in client.wait_for_end(run_id, timeout=300) if e["run_id"] == run_id]
    assert again[-1]["data"] == {"state": "completed", "segment": 1}
    resumed = [e["data"] for e in again if e["kind"] == "metrics"]
    assert [m["step"] for m in resumed] == [8, 10, 12] and {m["segment"] for m in resumed} == {1}
    first = {m["step"]: m for m in metrics}
    # Adapter, optimizer, scheduler and data order come back with the checkpoint: the same steps again.
    assert resumed[0]["learning_rate"] == pytest.approx(first[8]["learning_rate"], rel=1e-6)
    assert resumed[-1]["preference"]["margin"] == pytest.approx(first[12]["preference"]["margin"], rel=1e-3)


def test_a_kto_run_trains_judged_answers_with_events_checkpoints_and_resume(start_server, pairs):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = preference_config(pairs, "kto", ("judged.jsonl", "judged_eval.jsonl"), max_steps=10, save_steps=5,
                               eval_steps=5, learning_rate=0.005)
    run_id, events = run_to_end(client, pairs, config)
    assert events[-1]["data"] == {"state": "completed", "segment": 0}, [e for e in events if e["kind"] == "log"]
    # The file is read as KTO rows (detected), every row kept: 2 answers per review, half of them desirable.
    loaded = {e["data"]["split"]: e["data"] for e in events if e["kind"] == "data_report"}
    assert loaded["train"]["format"] == "kto" and loaded["train"]["bad"] == 0, loaded
    assert loaded["train"]["kept"] == loaded["train"]["rows"] == 2 * len((pairs / "pairs.jsonl").read_text().splitlines()), loaded

    metrics = [e["data"] for e in events if e["kind"] == "metrics"]
    assert [m["step"] for m in metrics] == list(range(2, 11, 2))
    for m in metrics:
        fig = m["preference"]
        # A batch of 8 unpaired answers: its rewards, its KL estimate; no pairs, so no pairwise accuracy.
        assert isinstance(fig["chosen_reward"], float) and isinstance(fig["kl"], float) and fig["kl"] >= 0
        assert fig["accuracy"] is None
    assert any(isinstance(m["preference"]["margin"], float) for m in metrics)
    assert metrics[-1]["preference"]["chosen_reward"] > metrics[0]["preference"]["chosen_reward"]

    assert [c["data"]["name"] for c in events if c["kind"] == "checkpoint"] == ["checkpoint-5", "checkpoint-10"]
    assert [e["data"]["step"] for e in events if e["kind"] == "eval"] == [5, 10]

    client.events.clear()
    client.call("resume_run", {"run_id": run_id, "checkpoint": "checkpoint-5"})
    again = [e for e in client.wait_for_end(run_id, timeout=300) if e["run_id"] == run_id]
    assert again[-1]["data"] == {"state": "completed", "segment": 1}
    resumed = [e["data"] for e in again if e["kind"] == "metrics"]
    assert [m["step"] for m in resumed] == [6, 8, 10]
    first = {m["step"]: m for m in metrics}
    assert resumed[0]["learning_rate"] == pytest.approx(first[6]["learning_rate"], rel=1e-6)


def test_sft_on_pairs_fails_naming_training_method(start_server, pairs):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    config = json.loads(preference_config(pairs, "dpo"))
    config["training"]["method"] = "sft"
    del config["dpo"]
    _, events = run_to_end(client, pairs, json.dumps(config))
    end = events[-1]["data"]
    assert end["state"] == "failed"
    assert "pairs.jsonl" in end["error"] and "training.method" in end["error"] and "dpo" in end["error"]


def test_dpo_obeys_control_requests_and_early_stops_on_reward_accuracy(start_server, pairs):
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    endless = json.loads(preference_config(pairs, "dpo", max_steps=100000, save_steps=100000, eval_steps=100000,
                                           learning_rate=0.01))
    run_id = client.call("start_run", {"config": json.dumps(endless),
                                       "config_path": str(pairs / "p.tunelab.yaml")})["run_id"]
    client.events_until(lambda e: e["run_id"] == run_id and e["kind"] == "metrics")
    stop = client.call("control_run", {"run_id": run_id, "action": "stop"})
    events = [e for e in client.wait_for_end(run_id, timeout=300) if e["run_id"] == run_id]
    assert events[-1]["data"]["state"] == "stopped"
    assert [e["data"]["reason"] for e in events if e["kind"] == "checkpoint"] == ["stop"]
    assert any(e["kind"] == "control_done" and e["data"]["id"] == stop["id"] and e["data"]["checkpoint"]
               for e in events)

    # Once every eval pair is ranked right, accuracy cannot improve any more: patience 1 ends the run there.
    watched = json.loads(preference_config(pairs, "dpo", max_steps=100, save_steps=100, eval_steps=2,
                                           learning_rate=0.01))
    watched["training"]["early_stopping"] = {"metric": "rewards/accuracies", "mode": "max", "patience": 1}
    client.events.clear()
    run_id, events = run_to_end(client, pairs, json.dumps(watched))
    evals = [(e["data"]["step"], e["data"]["metrics"].get("eval_rewards/accuracies")) for e in events if e["kind"] == "eval"]
    stops = [e["data"] for e in events if e["kind"] == "early_stop"]
    assert len(stops) == 1, f"ended {events[-1]['data']} after evals {evals}; logs {[e for e in events if e['kind'] == 'log']}"
    [early] = stops
    assert early["metric"] == "eval_rewards/accuracies" and early["best_value"] == 1.0
    assert early["step"] == early["best_step"] + 2 and early["step"] < 100
    saved = [e["data"] for e in events if e["kind"] == "checkpoint"]
    assert saved[-1]["reason"] == "early_stop" and saved[-1]["step"] == early["step"]
