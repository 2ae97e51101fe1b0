"""run_history with `details` through a real agent server: the nested metric figures as extra series, the
events a dashboard marks on its step axis, and the run's config for comparing runs."""

import json
import os

import pytest
from agent_client import AgentError
from conftest import Server

from tunelab_agent.rundir import eventlog


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "root"
    folder.mkdir()
    return str(folder)


def make_run(root: str, run_id: str) -> None:
    folder = os.path.join(root, "runs", run_id)
    os.makedirs(folder)
    with open(os.path.join(folder, "run.json"), "w") as f:
        json.dump({"name": run_id, "created": 1.0, "pid": None}, f)


def metrics(step: int, segment: int = 0) -> dict:
    return {"step": step, "max_steps": 100, "epoch": 0.0, "segment": segment, "loss": 2.0, "learning_rate": 1e-4,
            "grad_norm": 3.0, "tokens_per_sec": 900.0, "eta_s": 1.0,
            "loss_terms": {"ce_loss": 2.0 - step / 100, "kl": None},
            "lr_groups": {"default": 1e-4, "embed": 1e-5 * step},
            "gpu": {"allocated_mb": 1000.0 + step, "reserved_mb": 1200.0, "peak_mb": 1500.0, "utilization": None}}


def test_details_carry_extra_series_marker_events_and_the_config(root):
    make_run(root, "r")
    eventlog.append(root, "r", "run_created", {"name": "r", "config": "name: r\ntraining:\n  learning_rate: 0.001\n"})
    eventlog.append(root, "r", "run_state", {"state": "running", "max_steps": 100})
    eventlog.append_many(root, "r", [("metrics", metrics(s)) for s in range(1, 21)])
    eventlog.append(root, "r", "log", {"level": "info", "message": "plain note"})
    eventlog.append(root, "r", "log", {"level": "warning", "code": "grad_norm_band", "message": "grad norm 9 above 5", "step": 12})
    eventlog.append(root, "r", "control_done", {"id": "a1", "action": "save", "step": 14, "checkpoint": "checkpoint-14"})
    eventlog.append(root, "r", "checkpoint", {"name": "checkpoint-14", "step": 14, "path": "p", "files": [], "reason": "requested"})
    eventlog.append(root, "r", "control_done", {"id": "a2", "action": "eval", "step": 15})
    eventlog.append(root, "r", "run_state", {"state": "starting", "segment": 1, "resumed_from": "checkpoint-14"})
    eventlog.append(root, "r", "run_state", {"state": "completed", "segment": 1})
    server = Server(root, [])
    try:
        client = server.client()
        plain = client.call("run_history", {"run_id": "r"})
        assert "extra_series" not in plain and "events" not in plain and "config" not in plain

        full = client.call("run_history", {"run_id": "r", "series": ["loss"], "details": True, "max_points": 8})
        extra = full["extra_series"]
        # A key that is never a number (kl, utilization: null) makes no series; the others are downsampled.
        assert set(extra) == {"loss_terms.ce_loss", "lr_groups.default", "lr_groups.embed",
                              "gpu.allocated_mb", "gpu.reserved_mb", "gpu.peak_mb"}
        for series in extra.values():
            assert series["total"] == 20 and len(series["step"]) <= 8 and series["step"][0] == 1 and series["step"][-1] == 20
        assert extra["gpu.allocated_mb"]["value"][-1] == 1020.0

        kinds = [(e["kind"], e["data"].get("code") or e["data"].get("action") or e["data"].get("name") or e["data"].get("segment"))
                 for e in full["events"]]
        # The uncoded info log and the plain running / completed states are not markers.
        assert kinds == [("log", "grad_norm_band"), ("control_done", "save"), ("checkpoint", "checkpoint-14"),
                         ("control_done", "eval"), ("run_state", 1)]
        seqs = [e["seq"] for e in full["events"]]
        assert seqs == sorted(seqs) and seqs[-1] == full["head"] - 1
        assert full["config"] == "name: r\ntraining:\n  learning_rate: 0.001\n"

        with pytest.raises(AgentError) as err:
            client.call("run_history", {"run_id": "r", "details": "yes"})
        assert err.value.code == "bad_params"
    finally:
        server.stop()
