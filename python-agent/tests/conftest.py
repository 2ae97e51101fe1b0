"""Shared fixtures: one tiny model per session, a small dataset, and real agent servers."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from agent_client import AgentClient

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "sentiment")


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A served folder holding the tiny model and a 96-row slice of the sample task."""
    folder = tmp_path_factory.mktemp("data")
    with open(os.path.join(SAMPLES, "train.jsonl")) as f:
        rows = f.readlines()[:96]
    (folder / "train.jsonl").write_text("".join(rows))
    (folder / "eval.jsonl").write_text("".join(rows[:16]))
    from tunelab_agent.models.tiny_model import make_tiny_model

    make_tiny_model(str(folder / "model"), corpus=str(folder / "train.jsonl"))
    return folder


def write_config(folder, name="test", **training) -> str:
    """A run config next to the data, small enough to train in seconds; returns its YAML text."""
    opts = {"learning_rate": 0.003, "warmup_steps": 2, "batch_size": 8, "max_steps": 30,
            "eval_steps": 10, "save_steps": 10, "logging_steps": 2, **training}
    config = {"name": name, "model": "model", "dataset": {"train": "train.jsonl", "eval": "eval.jsonl", "max_length": 96},
              "lora": {"r": 8, "alpha": 16, "dropout": 0.0,
                       "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]},
              "training": opts}
    return json.dumps(config, indent=1)  # JSON is YAML


class Server:
    def __init__(self, root, data_dirs, env: dict | None = None, log_dir=None):
        self.root = str(root)
        cmd = [sys.executable, "-m", "tunelab_agent", "serve", "--root", self.root]
        for d in data_dirs:
            cmd += ["--data-dir", str(d)]
        log = open(os.path.join(str(log_dir or root), "server.log"), "ab")
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env={**os.environ, **(env or {})})
        line = self.process.stdout.readline()
        assert line, f"server exited before listening; see {self.root}/server.log"
        self.info = json.loads(line)
        self.port = self.info["port"]
        with open(self.info["token_file"]) as f:
            self.token = f.read().strip()

    def client(self) -> AgentClient:
        return AgentClient(self.port, self.token)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            # Generous: a server holding loaded models takes a while to exit on a machine busy with other suites.
            self.process.wait(timeout=60)


# For a server whose run must keep going while the test does other things (stop it, kill the server, send
# controls): each step lasts at least 0.1 s, as on a GPU, instead of spinning a core (faults.py explains).
PACED = {"TUNELAB_STEP_PACE_S": "0.1"}


@pytest.fixture
def start_server(tmp_path, data_dir):
    """Starts real agent servers on a fresh root (tmp_path/root); all are stopped at the end."""
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    servers = []

    def start(env: dict | None = None):
        servers.append(Server(root, [data_dir], env=env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
    wait_for_runs_to_end(root)


def wait_for_runs_to_end(root, timeout=60):
    """Tests leave no training process behind: stop any that still run."""
    runs_dir = os.path.join(root, "runs")
    for run_id in os.listdir(runs_dir) if os.path.isdir(runs_dir) else []:
        meta_path = os.path.join(runs_dir, run_id, "run.json")
        pid = json.load(open(meta_path)).get("pid") if os.path.exists(meta_path) else None
        if not pid:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
