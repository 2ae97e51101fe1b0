"""Tool-calling data in both common forms trains end to end: the real server, a real training process,
the tiny model. Detected with format auto, read with no bad row, and the loss goes down. The OpenAI form
also trains from Parquet, the file form dataset hubs publish."""

import json
import random

import pytest

from conftest import write_config

CITIES = ["Oslo", "Rome", "Lima", "Cairo", "Quito", "Seoul", "Dakar", "Perth", "Minsk", "Tunis", "Hanoi", "Bern"]
WEATHER = {"name": "get_weather", "description": "Current temperature of a city in degrees Celsius",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def dialogues(n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        city, temp = rng.choice(CITIES), rng.randint(-5, 30)
        yield city, temp


def sharegpt_rows(n: int, seed: int) -> str:
    rows = []
    for city, temp in dialogues(n, seed):
        rows.append({"conversations": [
            {"from": "human", "value": f"How warm is it in {city}?"},
            {"from": "function_call", "value": json.dumps({"name": "get_weather", "arguments": {"city": city}})},
            {"from": "observation", "value": json.dumps({"celsius": temp})},
            {"from": "gpt", "value": f"{temp} degrees in {city}."}], "tools": json.dumps([WEATHER])})
    return "".join(json.dumps(r) + "\n" for r in rows)


def openai_rows(n: int, seed: int) -> str:
    rows = []
    for i, (city, temp) in enumerate(dialogues(n, seed)):
        rows.append({"messages": [
            {"role": "system", "content": "Use the tools."},
            {"role": "user", "content": f"How warm is it in {city}?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": f"call{i}", "type": "function", "function": {
                "name": "get_weather", "arguments": json.dumps({"city": city})}}]},
            {"role": "tool", "tool_call_id": f"call{i}", "content": json.dumps({"celsius": temp})},
            {"role": "assistant", "content": f"{temp} degrees in {city}."}],
            "tools": [{"type": "function", "function": WEATHER}]})
    return "".join(json.dumps(r) + "\n" for r in rows)


def write_parquet(path, jsonl: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([json.loads(line) for line in jsonl.splitlines()]), str(path),
                   row_group_size=16)


@pytest.mark.parametrize("form,rows,ext", [("sharegpt", sharegpt_rows, "jsonl"), ("openai", openai_rows, "jsonl"),
                                           ("openai", openai_rows, "parquet")])
def test_tool_calling_rows_train_with_no_bad_row(start_server, data_dir, form, rows, ext):
    folder = data_dir / f"tools-{form}-{ext}"
    folder.mkdir(exist_ok=True)
    for name, n, seed in (("train", 48, 1), ("eval", 8, 2)):
        if ext == "parquet":
            write_parquet(folder / f"{name}.parquet", rows(n, seed))
        else:
            (folder / f"{name}.jsonl").write_text(rows(n, seed))
    config = json.loads(write_config(data_dir, name=f"tools-{form}", max_steps=12, eval_steps=6, save_steps=12,
                                     logging_steps=1, warmup_steps=1, learning_rate=0.01))
    config["dataset"] = {"train": f"{folder.name}/train.{ext}", "eval": f"{folder.name}/eval.{ext}", "max_length": 512,
                         "format": "auto"}
    client = start_server().client()
    client.call("subscribe", {"since": 0})
    run_id = client.call("start_run", {"config": json.dumps(config),
                                       "config_path": str(data_dir / f"tools-{form}.tunelab.yaml")})["run_id"]
    events = client.wait_for_end(run_id, timeout=300)
    mine = [e for e in events if e["run_id"] == run_id]
    assert mine[-1]["data"]["state"] == "completed", mine[-1]
    reports = {e["data"]["split"]: e["data"] for e in mine if e["kind"] == "data_report"}
    assert (reports["train"]["format"], reports["train"]["rows"], reports["train"]["kept"], reports["train"]["bad"]) \
        == (form, 48, 48, 0)
    assert (reports["eval"]["kept"], reports["eval"]["bad"]) == (8, 0)
    assert not [e for e in mine if e["kind"] in ("bad_row", "truncated_row")]
    losses = [e["data"]["loss"] for e in mine if e["kind"] == "metrics" and e["data"].get("loss") is not None]
    assert len(losses) >= 10 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
