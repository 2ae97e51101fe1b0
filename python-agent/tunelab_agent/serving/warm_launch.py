"""The server's side of the prewarmed launcher (zygote.py): ask it for a training process, or start it.

`launch()` returns the launcher pid of a run forked by a zygote, or None, and then the caller spawns the
run as usual: a first run starts the zygote in the background and is spawned itself, so it never waits for
the import; the runs after it start warm. Anything unexpected (no socket, a refused or slow answer) also
falls back to a spawn, with a line in the agent's log.

One zygote serves every agent server of a user that runs the same interpreter and agent code with the same
import-time environment (HF_*, TORCH*, CUDA*, OMP_*, PYTHON*: what libraries read once, at import), so test
suites and several roots share it. The rest of the environment goes with each request.

TUNELAB_WARM_START: 0 turns it off; 1 turns it on even on a host with a GPU driver, where it is off by
default (a fork is only safe before CUDA is initialised, and that was not verified on a GPU host).
TUNELAB_WARM_START_DIR: where the sockets live (default: a folder for this user in the temp folder).
TUNELAB_WARM_START_IDLE_S: how long a zygote waits for a launch before it exits (default 1200).
"""

import hashlib
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

from .. import hostinfo, source_hash
from .zygote import read_line

log = logging.getLogger(__name__)

IMPORT_TIME_PREFIXES = ("HF_", "HUGGINGFACE", "TRANSFORMERS_", "TORCH", "PYTORCH_", "CUDA", "NVIDIA", "OMP_",
                        "MKL_", "OPENBLAS_", "TOKENIZERS_", "PYTHON", "LD_", "XDG_CACHE_HOME", "HOME", "TUNELAB_WARM")
ANSWER_TIMEOUT_S = 15
START_GRACE_S = 120  # a zygote started this long ago may still be importing: do not start another

_started: dict[str, tuple[float, subprocess.Popen]] = {}


def enabled(env: dict) -> bool:
    wanted = env.get("TUNELAB_WARM_START", "auto")
    if wanted in ("0", "1"):
        return wanted == "1"
    return sys.platform.startswith("linux") and hostinfo.no_gpu_driver()


def launch(run_dir: str, root: str, env: dict) -> int | None:
    """The launcher pid of the run's training process, forked warm; None when the caller must spawn it."""
    if not enabled(env):
        return None
    path = socket_path(env)
    if path is None:
        return None
    request = json.dumps({"run_dir": run_dir, "root": root, "env": env}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(ANSWER_TIMEOUT_S)
            conn.connect(path)
            conn.sendall(request)
            reply = read_line(conn, 65536)
    except (FileNotFoundError, ConnectionRefusedError):
        _start(path, env)
        return None
    except (OSError, ValueError) as exc:  # a timeout included, or an answer too long to be one
        log.warning("prewarmed launcher at %s did not answer (%s); spawning the run instead", path, exc)
        return None
    try:
        answer = json.loads(reply)
        answer = answer if isinstance(answer, dict) else {"error": f"unexpected answer {reply[:200]!r}"}
    except ValueError:
        answer = {"error": f"unreadable answer {reply[:200]!r}"}
    if isinstance(answer.get("pid"), int):
        return answer["pid"]
    log.warning("prewarmed launcher could not launch %s (%s); spawning it instead", run_dir, answer.get("error"))
    return None


def socket_path(env: dict) -> str | None:
    folder = env.get("TUNELAB_WARM_START_DIR") or os.path.join(tempfile.gettempdir(), f"tunelab-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
    except OSError as exc:
        log.warning("no prewarmed launcher: cannot use %s (%s)", folder, exc)
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("no prewarmed launcher: %s is not this user's alone", folder)
        return None
    return os.path.join(folder, f"zygote-{_key(env)}.sock")


def _key(env: dict) -> str:
    """Which zygote fits: the interpreter, the agent's code, and the environment libraries read at import."""
    whole = hashlib.sha256()
    whole.update(f"{sys.executable}\0{source_hash.package_hash()}\0".encode())
    for name in sorted(n for n in env if n.startswith(IMPORT_TIME_PREFIXES)):
        whole.update(f"{name}={env[name]}\0".encode())
    return whole.hexdigest()[:16]


def _start(path: str, env: dict) -> None:
    reap()
    started = _started.get(path)
    if started and started[1].poll() is None and time.monotonic() - started[0] < START_GRACE_S:
        return
    idle_s = env.get("TUNELAB_WARM_START_IDLE_S") or "1200"
    with open(path[: -len(".sock")] + ".log", "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tunelab_agent", "zygote", "--socket", path, "--idle-s", idle_s],
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd="/", env={**env, "PYTHONUNBUFFERED": "1"})
    _started[path] = (time.monotonic(), process)
    log.info("starting a prewarmed launcher (pid %d) at %s", process.pid, path)


def reap() -> None:
    """wait() for zygotes this server started that have exited."""
    for path, (_, process) in list(_started.items()):
        if process.poll() is not None:
            del _started[path]
