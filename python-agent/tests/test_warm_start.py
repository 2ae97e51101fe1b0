"""The prewarmed launcher (serving/zygote.py, serving/warm_launch.py), with real servers, runs and zygotes.

Each test uses its own socket folder, so the zygote it starts is its own and the suite's shared one (which
every other test's runs use on this GPU-less host) is not touched.
"""

import json
import os
import signal
import socket
import time

import psutil
import pytest
from conftest import PACED, Server, write_config

from tunelab_agent.serving import warm_launch


@pytest.fixture
def warm_env(tmp_path):
    folder = tmp_path / "warm"
    env = {"TUNELAB_WARM_START": "1", "TUNELAB_WARM_START_DIR": str(folder), "TUNELAB_WARM_START_IDLE_S": "300"}
    yield env
    for lock in folder.glob("*.lock") if folder.exists() else []:
        pid = int(lock.read_text().split()[0] or 0)
        if pid and psutil.pid_exists(pid):
            os.kill(pid, signal.SIGTERM)
            psutil.Process(pid).wait(30)


def zygote_socket(env: dict) -> str:
    """The socket a server started with `env` uses (its spawn environment, as runs.spawn builds it)."""
    return warm_launch.socket_path({**os.environ, **env, "PYTHONUNBUFFERED": "1"})


def wait_for_socket(path: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"no zygote listens at {path}; see {path[:-5]}.log"
        time.sleep(0.2)


def launcher_of(root, run_id) -> psutil.Process:
    with open(os.path.join(root, "runs", run_id, "run.json")) as f:
        return psutil.Process(json.load(f)["pid"])


def start(client, data_dir, name, **training) -> str:
    config = write_config(data_dir, name=name, **training)
    return client.call("start_run", {"config": config, "config_path": str(data_dir / f"{name}.tunelab.yaml")})["run_id"]


def test_the_first_run_starts_the_zygote_and_the_next_ones_are_forked_from_it_and_train_the_same(tmp_path, data_dir, warm_env):
    root = tmp_path / "root"
    root.mkdir()
    server = Server(root, [data_dir], env={**warm_env, **PACED})
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        path = zygote_socket({**warm_env, **PACED})
        cold = start(client, data_dir, "cold", max_steps=6)
        cold_launcher = launcher_of(root, cold)
        # Spawned as before: the launcher runs the training command as its child.
        assert "--" in cold_launcher.cmdline() and "--pid" not in cold_launcher.cmdline()
        wait_for_socket(path)
        assert client.wait_for_end(cold)[-1]["data"]["state"] == "completed"

        warm = start(client, data_dir, "warm", max_steps=100000, save_steps=100000)
        launcher = launcher_of(root, warm)
        run_folder = os.path.join(str(root), "runs", warm)
        # The usual launcher, exec'd in the forked process: its command line names the run (the server's liveness
        # check) and the training process it waits for, which was forked from the zygote.
        [training] = launcher.children()
        assert launcher.cmdline()[-3:] == ["--pid", str(training.pid), run_folder], launcher.cmdline()
        assert "zygote" in training.cmdline()
        assert os.getsid(launcher.pid) == launcher.pid, "a session of its own, as stop_run expects"
        assert os.getsid(training.pid) == launcher.pid

        client.events_until(lambda e: e["run_id"] == warm and e["kind"] == "metrics")
        assert client.call("stop_run", {"run_id": warm})["state"] == "stopped"
        events = client.wait_for_end(warm)
        assert events[-1]["data"] == {"state": "stopped", "segment": 0}
        assert [e["data"]["reason"] for e in events if e["kind"] == "checkpoint"][-1] == "stop"
        launcher.wait(30)
        with open(os.path.join(run_folder, "exit.json")) as f:
            assert json.load(f) | {"time": 0} == {"returncode": 0, "pid": training.pid, "time": 0}
        with open(os.path.join(run_folder, "train.log")) as f:
            log = f.read()
        assert f"tunelab: training process {training.pid} ended: exit status 0" in log
    finally:
        server.stop()


def test_each_warm_run_gets_its_own_servers_environment(tmp_path, data_dir, warm_env):
    """A fault set only in the second server's environment reaches the run forked for it, not the first one's."""
    for name in ("a", "b", "root"):
        (tmp_path / name).mkdir()
    first = Server(tmp_path / "a", [data_dir], env=warm_env)
    path = zygote_socket(warm_env)
    second = Server(tmp_path / "b", [data_dir], env={**warm_env, "TUNELAB_FAULT": "cuda_oom@2"})
    try:
        client = first.client()
        client.call("subscribe", {"since": 0})
        ok = start(client, data_dir, "ok", max_steps=4)  # cold; starts the zygote
        wait_for_socket(path)
        assert client.wait_for_end(ok)[-1]["data"]["state"] == "completed"
        ok_again = start(client, data_dir, "ok-again", max_steps=4)
        assert "--pid" in launcher_of(tmp_path / "a", ok_again).cmdline()
        assert client.wait_for_end(ok_again)[-1]["data"]["state"] == "completed"

        other = second.client()
        other.call("subscribe", {"since": 0})
        oom = start(other, data_dir, "oom", max_steps=4)
        assert "--pid" in launcher_of(tmp_path / "b", oom).cmdline(), "the same zygote serves both servers"
        final = other.wait_for_end(oom)[-1]["data"]
        assert final["state"] == "failed" and final["error"].startswith("CUDA out of memory at step 1"), final
    finally:
        first.stop()
        second.stop()


def test_a_request_the_zygote_cannot_serve_is_answered_with_why_and_the_run_is_spawned_instead(tmp_path, data_dir, warm_env):
    (tmp_path / "root").mkdir()
    server = Server(tmp_path / "root", [data_dir], env=warm_env)
    try:
        client = server.client()
        client.call("subscribe", {"since": 0})
        first = start(client, data_dir, "first", max_steps=2)
        path = zygote_socket(warm_env)
        wait_for_socket(path)
        client.wait_for_end(first)
    finally:
        server.stop()

    def ask(raw: bytes) -> dict:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(path)
            conn.sendall(raw)
            return json.loads(conn.makefile().readline())

    assert ask(b'{"run_dir": "/etc", "root": "/tmp", "env": {}}\n') == {
        "error": "run_dir must be an absolute run folder with a config.yaml, got '/etc'"}
    assert ask(b"not json\n")["error"].startswith("Expecting value")
    assert ask(json.dumps({"run_dir": str(tmp_path), "root": "relative", "env": {}}).encode() + b"\n")["error"].startswith(
        "run_dir must be")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600", "only this user may ask for training processes"
    # The server side turns any refusal into None, so runs.spawn spawns the run as before.
    env = {**os.environ, **warm_env, "PYTHONUNBUFFERED": "1"}
    assert warm_launch.launch(str(tmp_path / "no-such-run"), str(tmp_path), env) is None


def test_it_is_on_by_default_only_on_a_linux_host_without_a_gpu_driver_and_never_in_a_shared_folder(tmp_path, monkeypatch):
    assert warm_launch.enabled({}) is True  # this host: Linux, no GPU driver
    assert warm_launch.enabled({"TUNELAB_WARM_START": "0"}) is False
    monkeypatch.setattr(warm_launch.hostinfo, "no_gpu_driver", lambda: False)
    assert warm_launch.enabled({}) is False
    assert warm_launch.enabled({"TUNELAB_WARM_START": "1"}) is True

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    assert warm_launch.socket_path({"TUNELAB_WARM_START_DIR": str(shared)}) is None
    mine = tmp_path / "mine"
    path = warm_launch.socket_path({"TUNELAB_WARM_START_DIR": str(mine)})
    assert path.startswith(str(mine)) and oct(os.stat(mine).st_mode & 0o777) == "0o700"
    # Another import-time environment is another zygote; a variable read at run time is not.
    assert warm_launch.socket_path({"TUNELAB_WARM_START_DIR": str(mine), "HF_HOME": "/x"}) != path
    assert warm_launch.socket_path({"TUNELAB_WARM_START_DIR": str(mine), "TUNELAB_FAULT": "x"}) == path
