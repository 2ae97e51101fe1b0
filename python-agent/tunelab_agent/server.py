"""The agent's WebSocket server: hello/token check, request dispatch, and event subscriptions.

It holds almost no state of its own: runs, events and checkpoints are read from disk, so the
server can be killed and restarted at any time while runs keep training.
"""

import asyncio
import hmac
import json
import logging
import os
import secrets
import signal
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from . import PROTOCOL_VERSION, __version__, eventlog, protocol, runs
from .generate import Generator
from .paths import PathError, looks_like_hub_id, resolve_inside
from .protocol import ProtocolError
from .run_config import ConfigError, load_run_config

log = logging.getLogger("tunelab_agent")
POLL_S = 0.1
REAP_S = 2.0
HELLO_TIMEOUT_S = 10


def ensure_token(root: str) -> str:
    path = os.path.join(root, "token")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        with open(path) as f:
            return f.read().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    return ensure_token(root)


class Agent:
    def __init__(self, root: str, data_dirs: list[str]):
        self.root = os.path.realpath(root)
        self.allowed = [self.root] + [os.path.realpath(d) for d in data_dirs]
        os.makedirs(eventlog.runs_dir(self.root), exist_ok=True)
        self.token = ensure_token(self.root)
        self.generator = Generator()
        self.finished: set[str] = set()  # runs in a final state never change again; skip them when reaping

    # --- connection -------------------------------------------------------------------------

    async def handle(self, ws) -> None:
        if not await self.handshake(ws):
            return
        subscription: asyncio.Task | None = None
        requests: set[asyncio.Task] = set()
        try:
            async for frame in ws:
                request = await self.parse(ws, frame)
                if request is None:
                    continue
                if request["method"] == "subscribe":
                    if subscription:
                        subscription.cancel()
                    subscription = await self.subscribe(ws, request)
                    continue
                task = asyncio.create_task(self.answer(ws, request))
                requests.add(task)
                task.add_done_callback(requests.discard)
        except ConnectionClosed:
            pass
        finally:
            for task in [subscription, *requests]:
                if task:
                    task.cancel()

    async def handshake(self, ws) -> bool:
        try:
            frame = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S)
            hello = json.loads(frame)
        except (asyncio.TimeoutError, ConnectionClosed):
            await ws.close(4401, "no hello")
            return False
        except ValueError:
            hello = None
        if protocol.first_error(hello, "clientHello") or not hmac.compare_digest(
                hello["token"].encode(), self.token.encode()):
            await self.refuse(ws, "unauthorized", "a valid hello with the agent's token must come first", 4401)
            return False
        if hello["protocol"] != PROTOCOL_VERSION:
            await self.refuse(ws, "unsupported_protocol",
                              f"this agent speaks protocol {PROTOCOL_VERSION}, the client asked for {hello['protocol']}", 4400)
            return False
        await self.send(ws, protocol.server_hello())
        return True

    async def refuse(self, ws, code: str, message: str, close_code: int) -> None:
        try:
            await self.send(ws, protocol.error(None, code, message))
            await ws.close(close_code, code)
        except ConnectionClosed:
            pass

    async def send(self, ws, message: dict) -> None:
        await ws.send(json.dumps(message))

    async def parse(self, ws, frame) -> dict | None:
        """The request in `frame`, or None after answering a malformed one (the connection stays open)."""
        try:
            message = json.loads(frame)
        except (ValueError, TypeError) as exc:
            await self.send(ws, protocol.error(None, "bad_message", f"not JSON: {exc}"))
            return None
        re = message.get("id") if isinstance(message, dict) and isinstance(message.get("id"), int) else None
        if not isinstance(message, dict) or message.get("type") != "request" or re is None:
            await self.send(ws, protocol.error(re, "bad_message", "expected {type: request, id, method, params}"))
            return None
        if message.get("method") not in protocol.schema()["definitions"]["request"]["properties"]["method"]["enum"]:
            await self.send(ws, protocol.error(re, "unknown_method", f"unknown method {json.dumps(message.get('method'))}"))
            return None
        problem = protocol.first_error(message.get("params"), f"params/{message['method']}")
        if problem:
            await self.send(ws, protocol.error(re, "bad_params", f"{message['method']}: {problem}"))
            return None
        problem = protocol.first_error(message, "request")
        if problem:
            await self.send(ws, protocol.error(re, "bad_message", problem))
            return None
        return message

    async def answer(self, ws, request: dict) -> None:
        re, method, params = request["id"], request["method"], request["params"]
        try:
            value = await getattr(self, f"do_{method}")(params)
            reply = protocol.result(re, value)
        except ProtocolError as exc:
            reply = protocol.error(re, exc.code, exc.message)
        except Exception as exc:  # a bug must answer the request, not hang it
            log.exception("%s failed", method)
            reply = protocol.error(re, "internal", f"{type(exc).__name__}: {exc}")
        try:
            await self.send(ws, reply)
        except ConnectionClosed:
            pass

    # --- subscriptions ----------------------------------------------------------------------

    async def subscribe(self, ws, request: dict) -> asyncio.Task:
        """Answer {head}, then replay every event after `since` from disk, then follow new ones."""
        since = request["params"]["since"]
        tail = eventlog.Tail(self.root)
        backlog = [ev for ev in await asyncio.to_thread(tail.poll) if ev["seq"] > since]
        await self.send(ws, protocol.result(request["id"], {"head": tail.head}))
        return asyncio.create_task(self.follow(ws, tail, backlog, since))

    async def follow(self, ws, tail: eventlog.Tail, backlog: list[dict], since: int) -> None:
        last = since
        try:
            while True:
                for ev in backlog:
                    if ev["seq"] > last:
                        await self.send(ws, ev)
                        last = ev["seq"]
                await asyncio.sleep(POLL_S)
                backlog = await asyncio.to_thread(tail.poll)
        except ConnectionClosed:
            pass

    # --- methods ----------------------------------------------------------------------------

    async def do_list_runs(self, params: dict) -> dict:
        ids = await asyncio.to_thread(runs.all_run_ids, self.root)
        return {"runs": [await asyncio.to_thread(runs.summary, self.root, r) for r in ids]}

    async def do_start_run(self, params: dict) -> dict:
        name, resolved, config_path = self.check_run_request(params)
        run_id = await asyncio.to_thread(runs.create_and_launch, self.root, name, params["config"], config_path, resolved)
        log.info("started run %s", run_id)
        return {"run_id": run_id}

    def check_run_request(self, params: dict) -> tuple[str, dict, str | None]:
        config_path = None
        base_dir, source = self.root, "run config"
        if params.get("config_path"):
            try:
                config_path = resolve_inside(params["config_path"], self.root, self.allowed)
            except PathError as exc:
                raise ProtocolError("bad_params", f"config_path: {exc}") from None
            base_dir, source = os.path.dirname(config_path), os.path.basename(config_path)
        try:
            config = load_run_config(params["config"], source)
        except ConfigError as exc:
            raise ProtocolError("bad_config", str(exc)) from None

        def local(key: str, value: str, want_dir: bool) -> str:
            try:
                path = resolve_inside(value, base_dir, self.allowed)
            except PathError as exc:
                raise ProtocolError("bad_config", f"{source}: {key}: {exc}") from None
            if not (os.path.isdir(path) if want_dir else os.path.isfile(path)):
                raise ProtocolError("bad_config", f"{source}: {key}: {'folder' if want_dir else 'file'} not found: {path}")
            return path

        model = config["model"]
        resolved = {"model": model if looks_like_hub_id(model, base_dir) else local("model", model, True),
                    "train": local("dataset.train", config["dataset"]["train"], False)}
        if config["dataset"].get("eval"):
            resolved["eval"] = local("dataset.eval", config["dataset"]["eval"], False)
        stem = source.split(".")[0] if config_path else "run"
        name = params.get("name") or config.get("name") or stem
        return name, resolved, config_path

    async def do_stop_run(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        await asyncio.to_thread(runs.stop, self.root, run_id)
        # Wait a little for the run to wind down, so the answer usually carries its final state.
        deadline = time.monotonic() + 10
        state = await asyncio.to_thread(runs.last_state, self.root, run_id)
        while state in runs.ACTIVE and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            state = await asyncio.to_thread(runs.last_state, self.root, run_id)
        return {"run_id": run_id, "state": state or "starting"}

    async def do_list_checkpoints(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        return {"checkpoints": await asyncio.to_thread(runs.checkpoints, self.root, run_id)}

    async def do_generate(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        checkpoint = None
        if params.get("checkpoint"):
            found = [c for c in runs.checkpoints(self.root, run_id) if c["name"] == params["checkpoint"]]
            if not found:
                raise ProtocolError("not_found", f"run {run_id} has no complete checkpoint {params['checkpoint']}")
            checkpoint = found[0]
        model = runs.read_meta(self.root, run_id)["resolved"]["model"]
        # Torch work blocks; a thread keeps the event loop serving other requests and events meanwhile.
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: self.generator.generate(model, params["prompt"], params.get("max_new_tokens", 64),
                                                  run_id, checkpoint))

    def known_run(self, run_id: str) -> str:
        if not runs.exists(self.root, run_id):
            raise ProtocolError("not_found", f"no run {run_id}")
        return run_id

    # --- housekeeping -----------------------------------------------------------------------

    def reap(self) -> None:
        """Mark runs whose process died without saying so as failed; remember finished ones."""
        runs.collect_exited_children()
        for run_id in runs.all_run_ids(self.root):
            if run_id in self.finished:
                continue
            state = runs.last_state(self.root, run_id)
            if state in runs.ACTIVE and runs.mark_if_dead(self.root, run_id):
                log.warning("run %s: %s", run_id, runs.DIED)
                state = "failed"
            if state not in runs.ACTIVE:
                self.finished.add(run_id)

    async def reap_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_S)
            try:
                await asyncio.to_thread(self.reap)
            except Exception:
                log.exception("checking runs failed")


async def serve_forever(root: str, data_dirs: list[str], port: int) -> None:
    agent = Agent(root, data_dirs)
    agent.reap()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(agent.handle, "127.0.0.1", port, max_size=16 * 2**20) as server:
        port = server.sockets[0].getsockname()[1]
        info_path = os.path.join(agent.root, "agent.json")
        with open(info_path + ".tmp", "w") as f:
            # data_dirs lets a launcher tell whether this server may read the files it is about to name.
            json.dump({"pid": os.getpid(), "port": port, "version": __version__, "started": time.time(),
                       "data_dirs": agent.allowed[1:]}, f)
        os.replace(info_path + ".tmp", info_path)
        print(json.dumps({"listening": True, "port": port, "pid": os.getpid(), "root": agent.root,
                          "token_file": os.path.join(agent.root, "token"), "version": __version__}), flush=True)
        log.info("listening on 127.0.0.1:%d, root %s", port, agent.root)
        reaper = asyncio.create_task(agent.reap_forever())
        await stop
        reaper.cancel()
    # A newer server may already have taken the root over; its agent.json is not ours to delete.
    try:
        with open(info_path) as f:
            if json.load(f).get("pid") == os.getpid():
                os.remove(info_path)
    except (OSError, ValueError):
        pass
    log.info("stopped")
