"""The prewarmed launcher: a process that has imported torch, transformers and peft once, and forks each
training process from there.

A training process spends its first 5-12 s of CPU importing those libraries (12 s on a 2-core host), before
it reads a single row. Forked from this process, it starts at its first line of recipe code instead. The
server side (warm_launch.py) starts one per user, interpreter, agent code and import-time environment; it
listens on a Unix socket in a folder only its user can open, and exits after `idle_s` without a launch.

One launch, for a request {run_dir, root, env}:
- fork A: a new session (stop_run signals it whole), cwd the run folder, output to its train.log, the
  request's environment, default signal handlers;
- A forks B, the training process, which runs `tunelab_agent run RUN_DIR --root ROOT` in-process;
- A execs the usual launcher (`tunelab_agent supervise --pid B`), which records how B ends. Its command line
  names the run folder, as a spawned launcher's does, so the server's liveness check is the same.
The reply, A's pid, is sent once A has exec'd: its close-on-exec pipe closing says so.

Only forks from a process that never initialised CUDA are safe, and this one never runs a torch operation;
warm_launch.py uses it only on hosts with no GPU driver unless told otherwise (TUNELAB_WARM_START=1).
"""

import atexit
import fcntl
import json
import os
import select
import signal
import socket
import sys
import time
import traceback

REQUEST_LIMIT = 1 << 20  # the request carries an environment: generous, but bounded
REQUEST_TIMEOUT_S = 5


def main(socket_path: str, idle_s: float) -> int:
    lock = open(socket_path + ".lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another one serves this socket
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    _preload()
    try:
        os.unlink(socket_path)  # one a dead zygote left; the lock says nobody serves it
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(socket_path)
    finally:
        os.umask(old_mask)
    listener.listen(16)
    inode = os.stat(socket_path).st_ino
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"tunelab zygote {os.getpid()}: ready on {socket_path}", flush=True)
    last = time.monotonic()
    try:
        while time.monotonic() - last < idle_s and _still_ours(socket_path, inode):
            _reap()
            if not select.select([listener], [], [], 1.0)[0]:
                continue
            conn, _ = listener.accept()
            last = time.monotonic()
            with conn:
                _serve(conn, listener, lock)
    finally:
        if _still_ours(socket_path, inode):
            os.unlink(socket_path)
    print(f"tunelab zygote {os.getpid()}: idle for {idle_s:.0f} s, exiting", flush=True)
    return 0


def _preload() -> None:
    import peft  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments  # noqa: F401

    from ..training import recipe  # noqa: F401  (and through it the agent's training code)


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except FileNotFoundError:
        return False


def _reap() -> None:
    """Collects launchers that ended (each is this process's child until then)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _serve(conn: socket.socket, listener: socket.socket, lock) -> None:
    try:
        request = _read_request(conn)
        reply = {"pid": _launch(request, conn, listener, lock)}
    except (ValueError, OSError) as exc:
        reply = {"error": str(exc)}
    try:
        conn.sendall(json.dumps(reply).encode() + b"\n")
    except OSError:
        pass  # the server gave up waiting; the run's own events still tell its story


def read_line(conn: socket.socket, limit: int) -> bytes:
    """One newline-ended message (each side of a launch sends one), or what came before the peer closed."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            raise ValueError("message too large")
    return data


def _read_request(conn: socket.socket) -> dict:
    conn.settimeout(REQUEST_TIMEOUT_S)
    request = json.loads(read_line(conn, REQUEST_LIMIT))
    run_dir, root, env = request.get("run_dir"), request.get("root"), request.get("env")
    if not (isinstance(run_dir, str) and os.path.isabs(run_dir) and os.path.isfile(os.path.join(run_dir, "config.yaml"))):
        raise ValueError(f"run_dir must be an absolute run folder with a config.yaml, got {run_dir!r}")
    if not (isinstance(root, str) and os.path.isabs(root)):
        raise ValueError(f"root must be an absolute path, got {root!r}")
    if not (isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise ValueError("env must map names to strings")
    return request


def _launch(request: dict, conn: socket.socket, listener: socket.socket, lock) -> int:
    ready_r, ready_w = os.pipe()  # both close-on-exec: A's exec closes its end
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            # A training process must not hold these: the lock would keep a new zygote from starting, and
            # a listening socket would take connections nobody answers.
            conn.close()
            listener.close()
            lock.close()
            _become_launcher(request["run_dir"], request["root"], request["env"], ready_w)
        except BaseException:
            os.write(ready_w, traceback.format_exc().encode()[-4000:])
        os._exit(127)
    os.close(ready_w)
    failure = b""
    while chunk := os.read(ready_r, 4096):
        failure += chunk
    os.close(ready_r)
    if failure:
        raise OSError(f"the launcher did not start: {failure.decode(errors='replace').strip()}")
    return pid


def _become_launcher(run_dir: str, root: str, env: dict, ready_w: int) -> None:
    os.setsid()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    os.chdir(run_dir)
    log = os.open(os.path.join(run_dir, "train.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    training = os.fork()
    if training == 0:
        os.close(ready_w)
        _train(run_dir, root)
    os.execv(sys.executable, [sys.executable, "-m", "tunelab_agent", "supervise", "--root", root,
                              "--pid", str(training), run_dir])


def _train(run_dir: str, root: str) -> None:
    code = 1
    try:
        from .. import faults, logs
        from ..training.recipe import run

        faults.configure_from_environment()
        logs.configure()
        code = run(run_dir, os.path.realpath(root))  # what `tunelab_agent run RUN_DIR --root ROOT` does
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        # A spawned process would run these at exit; os._exit keeps the zygote's own cleanup out of it.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
