"""The agent's WebSocket server: hello/token check, request dispatch, and event subscriptions.

It holds almost no state of its own: runs, events and checkpoints are read from disk, so the
server can be killed and restarted at any time while runs keep training.
"""

import asyncio
import hmac
import json
import logging
import os
import re
import secrets
import signal
import threading
import time

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from .. import PROTOCOL_VERSION, __version__, diskspace, hostinfo, source_hash
from ..data import inspection, render
from ..data.append_row import AppendError, append_row, format_row
from ..generation import evaluate
from ..generation.errors import GenerationError
from ..models import export
from ..models.export import ExportError
from ..paths import PathError, looks_like_hub_id, resolve_inside
from ..rundir import control, eventlog, history, metric_series
from ..rundir.replay import Feed
from ..training import launch, preflight
from ..training.run_config import ConfigError, load_run_config
from . import protocol, runs
from .protocol import ProtocolError

log = logging.getLogger("tunelab_agent")
# Methods whose handler takes the request context: they stream partial output or can be cancelled.
STREAMING = {"generate", "cancel", "evaluate", "export_checkpoint", "inspect_dataset"}
# Methods that read the history index: they wait until the server has caught it up with the logs at start.
NEEDS_HISTORY = {"list_runs", "run_history", "delete_run"}
# How often a subscription checks for new events: the wait alone adds up to POLL_S to an event's trip (0.1 s
# put p95 near 100 ms). Each idle check only reads events.seq, about 1-2% of a core per subscriber at 0.02 s.
POLL_S = 0.02
REAP_S = 2.0
# How often every run's log is compared with the history index, for logs changed by hand (appends keep the
# index current themselves; listing runs only checks for run folders added or removed).
HISTORY_CHECK_S = 30.0
REAP_BACKOFF_MAX_S = 60.0  # a run whose end cannot be recorded (full disk) is retried at most this far apart
HELLO_TIMEOUT_S = 10
# The most bytes of events one `events` frame carries (a single larger event still goes, alone). A feed batch
# (replay.BATCH, 1,000 events of ~400 bytes) fits in one, so a replay of 10,000 events is ~10 frames, and no
# frame holds the client up for long.
BATCH_FRAME_BYTES = 1 << 20
SERVE_OPTIONS = {"max_size": 16 * 2**20, "compression": None}
RUN_CHECKPOINT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)/(checkpoint-\d+)$")


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
        # Whatever a killed writer left (a torn line, events.seq behind the log) is repaired before serving.
        eventlog.repair_all(self.root)
        runs.empty_trash(self.root)
        diskspace.ensure_reserve(self.root)
        # Set once the history index has caught up with the logs and dead runs are marked (see prepare).
        self.ready = asyncio.Event()
        # Loaded models, made by the first request that needs one (see generation_service).
        self._generator = None
        self._generator_lock = threading.Lock()
        self.finished: set[str] = set()  # runs in a final state never change again; skip them when reaping
        self.history_checked = time.monotonic()
        self.reap_trouble: dict[str, ReapTrouble] = {}  # runs whose end could not be recorded yet

    # --- connection -------------------------------------------------------------------------

    async def handle(self, ws) -> None:
        if not await self.handshake(ws):
            return
        subscription: asyncio.Task | None = None
        requests: set[asyncio.Task] = set()
        cancels: dict[int, threading.Event] = {}  # request id -> its cancel flag, for `cancel`
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
                ctx = RequestContext(ws, request["id"], cancels)
                task = asyncio.create_task(self.answer(ws, request, ctx))
                requests.add(task)
                task.add_done_callback(requests.discard)
        except ConnectionClosed:
            pass
        finally:
            for flag in cancels.values():
                flag.set()  # a generation nobody will read stops at its next token
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

    async def answer(self, ws, request: dict, ctx: "RequestContext") -> None:
        re, method, params = request["id"], request["method"], request["params"]
        try:
            if method in NEEDS_HISTORY:
                await self.ready.wait()
            handler = getattr(self, f"do_{method}")
            value = await (handler(params, ctx) if method in STREAMING else handler(params))
            await ctx.flush()
            reply = protocol.result(re, value)
        except ProtocolError as exc:
            reply = protocol.error(re, exc.code, exc.message)
        except (GenerationError, ExportError) as exc:
            reply = protocol.error(re, "unavailable", str(exc))
        except Exception as exc:  # a bug must answer the request, not hang it
            log.exception("%s failed", method)
            reply = protocol.error(re, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            ctx.done()
        try:
            await self.send(ws, reply)
        except ConnectionClosed:
            pass

    # --- subscriptions ----------------------------------------------------------------------

    async def subscribe(self, ws, request: dict) -> asyncio.Task:
        """Answer {head}, then replay every event after `since` from disk, then follow new ones."""
        await self.ready.wait()
        feed = Feed(self.root, request["params"]["since"])
        head = await asyncio.to_thread(feed.start)
        await self.send(ws, protocol.result(request["id"], {"head": head}))
        return asyncio.create_task(self.follow(ws, feed, request["params"].get("batch", False)))

    async def follow(self, ws, feed: Feed, batch: bool = False) -> None:
        """Send the feed's events in batches (the replay first), then poll for new ones. With `batch` (the
        client asked for it), several events go in one `events` frame; otherwise one `event` frame each."""
        upcoming = None
        try:
            lines = await asyncio.to_thread(feed.next_batch)
            while True:
                if lines:
                    # The next batch is read while this one is sent.
                    upcoming = asyncio.ensure_future(asyncio.to_thread(feed.next_batch))
                    await send_lines(ws, lines, batch)
                    lines = await upcoming
                    continue
                # events.seq is replaced atomically, so peeking at it unlocked is safe; only a changed head is
                # worth asking the index what is new.
                while eventlog.read_head(self.root) == feed.head:
                    await asyncio.sleep(POLL_S)
                lines = await asyncio.to_thread(feed.next_batch)
        except ConnectionClosed:
            pass
        finally:
            if upcoming is not None:
                upcoming.cancel()

    # --- methods ----------------------------------------------------------------------------

    async def do_list_runs(self, params: dict) -> dict:
        offset, limit = params.get("offset", 0), params.get("limit")
        try:
            # Newest first, ties by id (stable pages); `head` is read with them under the event lock.
            page, total, head = await asyncio.to_thread(history.summaries, self.root, offset, limit)
        except history.Unavailable:
            # The head is read first: an event appended meanwhile is then replayed after it, never missed.
            head = eventlog.read_head(self.root)
            every = await asyncio.to_thread(self.summaries)
            every.sort(key=lambda s: (-s["created"], s["run_id"]))
            page, total = every[offset:offset + limit] if limit else every[offset:], len(every)
        return {"runs": page, "total": total, "head": head}

    def summaries(self) -> list[dict]:
        """Every run's summary from a full read of its log: only when the history index cannot be used."""
        out = []
        for run_id in runs.all_run_ids(self.root):
            try:
                out.append(runs.summary(self.root, run_id))
            except Exception as exc:  # one damaged run must never hide the others
                log.exception("run %s: cannot summarise", run_id)
                out.append({"run_id": run_id, "name": run_id, "state": "failed", "created": 0.0, "step": 0,
                            "max_steps": None, "loss": None, "error": None,
                            "damaged": f"cannot be read: {type(exc).__name__}: {exc}"})
        return out

    async def do_start_run(self, params: dict) -> dict:
        config, resolved, source, config_path = self.check_config(params)
        try:
            # gpu_count imports torch the first time (seconds): in the thread, never on the event loop.
            await asyncio.to_thread(lambda: launch.process_count(config, hostinfo.gpu_count()))
        except launch.LaunchError as exc:
            raise ProtocolError("bad_config", f"{source}: {exc}") from None
        stem = source.split(".")[0] if config_path else "run"
        name = params.get("name") or config.get("name") or stem
        run_id = await asyncio.to_thread(runs.create_and_launch, self.root, name, params["config"], config_path, resolved)
        log.info("started run %s", run_id)
        return {"run_id": run_id}

    def check_config(self, params: dict, require_files: bool = True) -> tuple[dict, dict, str, str | None]:
        """The validated config and its paths resolved inside the served folders (bad_config otherwise)."""
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

        def local(key: str, value: str, want_dir: bool, base: str = base_dir) -> str:
            try:
                path = resolve_inside(value, base, self.allowed)
            except PathError as exc:
                raise ProtocolError("bad_config", f"{source}: {key}: {exc}") from None
            if require_files and not (os.path.isdir(path) if want_dir else os.path.isfile(path)):
                raise ProtocolError("bad_config", f"{source}: {key}: {'folder' if want_dir else 'file'} not found: {path}")
            return path

        model = config["model"]["name"]
        resolved = {"model": model if looks_like_hub_id(model, base_dir) else local("model", model, True),
                    "train": local("dataset.train", config["dataset"]["train"], False)}
        if config["dataset"].get("eval"):
            resolved["eval"] = local("dataset.eval", config["dataset"]["eval"], False)
        resume = config["training"].get("resume_from")
        if resume:
            # "run-id/checkpoint-N" names another run's checkpoint; anything else is a folder path. Both are
            # confined: the first to this agent's runs, the second to the served folders.
            path = self.run_checkpoint(resume, source) or local("training.resume_from", resume, True)
            if require_files and not os.path.isfile(os.path.join(path, "manifest.json")):
                raise ProtocolError("bad_config", f"{source}: training.resume_from: {path} is not a complete checkpoint (no manifest.json)")
            resolved["resume_from"] = path
        return config, resolved, source, config_path

    def run_checkpoint(self, value: str, source: str) -> str | None:
        """The folder of `value` when it has the form <run-id>/checkpoint-N and that run exists here, else None."""
        match = RUN_CHECKPOINT.match(value)
        if not match or not runs.exists(self.root, match[1]):
            return None
        runs_dir = eventlog.runs_dir(self.root)
        try:
            return resolve_inside(os.path.join(match[1], "checkpoints", match[2]), runs_dir, [runs_dir])
        except PathError as exc:  # a symlink in the run folder pointing elsewhere
            raise ProtocolError("bad_config", f"{source}: training.resume_from: {exc}") from None

    async def do_stop_run(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        await asyncio.to_thread(runs.stop, self.root, run_id)
        # Wait a little for the run to wind down, so the answer usually carries its final state.
        deadline = time.monotonic() + 10
        state = await asyncio.to_thread(runs.state_of, self.root, run_id)
        while state in runs.ACTIVE and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            state = await asyncio.to_thread(runs.state_of, self.root, run_id)
        return {"run_id": run_id, "state": state or "starting"}

    async def do_run_history(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        from_step, to_step = params.get("from_step"), params.get("to_step")
        if from_step is not None and to_step is not None and from_step > to_step:
            raise ProtocolError("bad_params", f"run_history: from_step {from_step} is after to_step {to_step}")
        return await asyncio.to_thread(metric_series.run_history, self.root, run_id, params.get("series"),
                                       from_step, to_step, params.get("max_points"), bool(params.get("details")))

    async def do_delete_run(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        try:
            await asyncio.to_thread(runs.delete, self.root, run_id)
        except runs.RunConflict as exc:
            raise ProtocolError("conflict", str(exc)) from None
        self.finished.discard(run_id)
        log.info("deleted run %s", run_id)
        return {"run_id": run_id}

    async def do_list_checkpoints(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        checkpoints = await asyncio.to_thread(runs.checkpoints, self.root, run_id)
        model = (await asyncio.to_thread(runs.read_meta, self.root, run_id)).get("resolved", {}).get("model")
        return {"checkpoints": checkpoints, **({"model": model} if isinstance(model, str) else {})}

    async def do_resume_run(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        checkpoint = self.checkpoint_of(run_id, params["checkpoint"])
        try:
            segment = await asyncio.to_thread(runs.resume, self.root, run_id, checkpoint)
        except runs.RunConflict as exc:
            raise ProtocolError("conflict", str(exc)) from None
        log.info("resumed run %s from %s (segment %d)", run_id, checkpoint["name"], segment)
        return {"run_id": run_id, "segment": segment}

    async def do_control_run(self, params: dict) -> dict:
        run_id = self.known_run(params["run_id"])
        if await asyncio.to_thread(runs.state_of, self.root, run_id) not in runs.ACTIVE:
            raise ProtocolError("conflict", f"run {run_id} is not running")
        if params["action"] == "set_logging_steps" and "value" not in params:
            raise ProtocolError("bad_params", "control_run: set_logging_steps needs a value (the new interval in steps)")
        request_id = await asyncio.to_thread(control.send, runs.run_dir(self.root, run_id), params["action"], params.get("value"))
        return {"run_id": run_id, "action": params["action"], "id": request_id}

    async def do_generate(self, params: dict, ctx: "RequestContext") -> dict:
        run_id = self.known_run(params["run_id"])
        model = runs.read_meta(self.root, run_id)["resolved"]["model"]
        adapters = [(name, await asyncio.to_thread(self.adapter_folder, run_id, model, name)) for name in params["adapters"]]
        on_token = ctx.streamer("token") if params.get("stream", True) else None
        sampling = params.get("sampling", {})
        busy = await asyncio.to_thread(runs.training_on_this_host, self.root)
        generator = await asyncio.to_thread(self.generation_service)
        # Torch work blocks; a thread keeps the event loop serving other requests and events meanwhile.
        results = await asyncio.get_running_loop().run_in_executor(None, lambda: generator.generate(
            model, adapters, params["messages"], sampling,
            on_token=(lambda adapter, text: on_token({"adapter": adapter, "text": text})) if on_token else None,
            cancel=ctx.cancel, busy_reason=busy, conversations=params.get("conversations")))
        return {"results": results}

    def adapter_folder(self, run_id: str, model: str, name: str) -> str | None:
        """A generate adapter: "base" (None), a checkpoint of the run, or <run-id>/checkpoint-N of another run on
        the same base model (a chat comparing runs decodes them all in one batch)."""
        if name == "base":
            return None
        other = RUN_CHECKPOINT.match(name)
        if not other or other[1] == run_id:
            return self.checkpoint_of(run_id, other[2] if other else name)["path"]
        other_model = runs.read_meta(self.root, self.known_run(other[1]))["resolved"]["model"]
        if other_model != model:
            raise ProtocolError("bad_params", f"adapters: {name} was trained on {other_model}, run {run_id} on {model}; "
                                "only checkpoints of runs on the same base model can be compared in one request")
        return self.checkpoint_of(other[1], other[2])["path"]

    async def do_cancel(self, params: dict, ctx: "RequestContext") -> dict:
        return {"request_id": params["request_id"], "cancelled": ctx.cancel_other(params["request_id"])}

    async def do_evaluate(self, params: dict, ctx: "RequestContext") -> dict:
        run_id = self.known_run(params["run_id"])
        checkpoint = self.checkpoint_of(run_id, params["checkpoint"]) if params.get("checkpoint") else None
        path = self.served_file("file", params["file"])
        config = runs.read_config(self.root, run_id)
        targets = {**config["evaluation"]["targets"], **params.get("targets", {})}
        model = runs.read_meta(self.root, run_id)["resolved"]["model"]
        progress = ctx.streamer("progress")
        adapter = (checkpoint["name"], checkpoint["path"]) if checkpoint else ("base", None)
        out_dir = checkpoint["path"] if checkpoint else None
        generator = await asyncio.to_thread(self.generation_service)
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, lambda: evaluate.evaluate(
                generator, model, adapter, path, targets, params.get("max_new_tokens", 32),
                on_progress=lambda done, total: progress({"done": done, "total": total}),
                out_dir=out_dir, cancel=ctx.cancel, dataset_opts=config["dataset"]))
        except evaluate.EvaluationError as exc:
            raise ProtocolError("bad_params", str(exc)) from None
        if result["cancelled"]:
            raise ProtocolError("cancelled", f"evaluation cancelled after {result['rows']} rows")
        labels = result["labels"] or {}
        return {"checkpoint": checkpoint["name"] if checkpoint else None, "rows": result["rows"],
                "loss": result["loss"], "perplexity": result["perplexity"], "exact_match": result["exact_match"],
                "labels": labels.get("per_label", {}), "macro": labels.get("macro"),
                "ttft_ms_median": result["ttft_ms_median"], "targets": result["targets"], "seconds": result["seconds"],
                "preference": result["preference"]}

    async def do_export_checkpoint(self, params: dict, ctx: "RequestContext") -> dict:
        run_id = self.known_run(params["run_id"])
        checkpoint = self.checkpoint_of(run_id, params["checkpoint"])
        try:
            dest = resolve_inside(params["dest"], self.root, self.allowed)
        except PathError as exc:
            raise ProtocolError("bad_params", f"dest: {exc}") from None
        model = runs.read_meta(self.root, run_id)["resolved"]["model"]
        progress = ctx.streamer("progress")
        return await asyncio.get_running_loop().run_in_executor(None, lambda: export.export_merged(
            model, checkpoint["path"], dest,
            on_progress=lambda stage, fraction: progress({"done": round(fraction * 100), "total": 100, "message": stage})))

    async def do_host_info(self, params: dict) -> dict:
        return await asyncio.to_thread(hostinfo.host_info, self.root)

    async def do_preflight(self, params: dict) -> dict:
        config, resolved, _, _ = self.check_config(params, require_files=False)
        host = await asyncio.to_thread(hostinfo.host_info, self.root)
        return await asyncio.to_thread(preflight.preflight, config, resolved, host, self.root)

    async def do_inspect_dataset(self, params: dict, ctx: "RequestContext") -> dict:
        path = self.served_file("path", params["path"])
        tokenizer = await asyncio.to_thread(self.tokenizer_of, params["model"]) if params.get("model") else None
        progress, diagnostic = ctx.streamer("progress"), ctx.streamer("diagnostic")
        try:
            # A big file takes a while; the thread leaves the event loop free for every other request.
            return await asyncio.get_running_loop().run_in_executor(None, lambda: inspection.inspect_dataset(
                path, params.get("format", "auto"), tokenizer, params.get("max_length"),
                params.get("train_on", "assistant"), cache_root=os.path.join(self.root, "cache"),
                on_progress=lambda done, total: progress({"done": done, "total": total}),
                on_diagnostic=diagnostic, cancel=ctx.cancel))
        except inspection.InspectError as exc:
            raise ProtocolError("bad_params", str(exc)) from None
        except inspection.Cancelled as exc:
            raise ProtocolError("cancelled", str(exc)) from None

    async def do_append_dataset_row(self, params: dict) -> dict:
        """The chat panel's Promote and Prefer: one row in the file's own format, atomic, read back first."""
        try:
            path = resolve_inside(params["path"], self.root, self.allowed)
        except PathError as exc:
            raise ProtocolError("bad_params", f"path: {exc}") from None
        try:
            return await asyncio.to_thread(append_row, path, params["messages"], params["answer"], params.get("rejected"))
        except AppendError as exc:
            raise ProtocolError("bad_params", str(exc)) from None

    async def do_format_dataset_row(self, params: dict) -> dict:
        """Promote and Prefer for a file the agent cannot read: the row, from the file's first lines."""
        name = params["file_name"]
        if os.path.basename(name) != name or name in (".", ".."):
            raise ProtocolError("bad_params", f"file_name: a file name without folders, got {name!r}")
        try:
            return await asyncio.to_thread(format_row, name, params["head"], params["messages"], params["answer"],
                                           params.get("rejected"))
        except AppendError as exc:
            raise ProtocolError("bad_params", str(exc)) from None

    async def do_render_sample(self, params: dict) -> dict:
        if ("row" in params) == ("path" in params) or ("path" in params) != ("line" in params):
            raise ProtocolError("bad_params", "render_sample: give either path and line, or row")
        path = self.served_file("path", params["path"]) if "path" in params else None
        tokenizer = await asyncio.to_thread(self.tokenizer_of, params["model"])
        format, train_on = params.get("format", "auto"), params.get("train_on", "assistant")

        def work() -> dict:
            sample, found = render.find_row(path, params["line"], format) if path else render.sample_of(params["row"], format)
            return render.render_sample(tokenizer, sample, found, params.get("line"), train_on, params.get("max_length"))

        try:
            return await asyncio.to_thread(work)
        except render.NoSuchRow as exc:
            raise ProtocolError("not_found", str(exc)) from None
        except render.RenderError as exc:
            raise ProtocolError("bad_params", str(exc)) from None

    def generation_service(self):
        """The service that holds loaded models, made on first use. Blocking (its module imports torch, seconds
        and ~170 MB): call from a thread. A server that is never asked to generate never imports torch, so it
        stays small however long it runs (tests/test_server_imports.py)."""
        with self._generator_lock:
            if self._generator is None:
                from ..generation.generate import GenerationService

                self._generator = GenerationService()
            return self._generator

    def tokenizer_of(self, model: str):
        """The tokenizer of a model folder inside the served folders, or of a Hub id in the local cache."""
        if not looks_like_hub_id(model, self.root):
            try:
                model = resolve_inside(model, self.root, self.allowed)
            except PathError as exc:
                raise ProtocolError("bad_params", f"model: {exc}") from None
            if not os.path.isdir(model):
                raise ProtocolError("not_found", f"model: folder not found: {model}")
        try:
            return render.load_tokenizer(model, local_only=not os.path.isdir(model))
        except Exception as exc:  # no tokenizer files, a Hub id not downloaded here, ...
            raise ProtocolError("bad_params", f"model: cannot load a tokenizer from {model}: "
                                f"{type(exc).__name__}: {exc}".splitlines()[0]) from None

    def checkpoint_of(self, run_id: str, name: str) -> dict:
        found = [c for c in runs.checkpoints(self.root, run_id) if c["name"] == name]
        if not found:
            raise ProtocolError("not_found", f"run {run_id} has no complete checkpoint {name}")
        return found[0]

    def served_file(self, key: str, value: str) -> str:
        try:
            path = resolve_inside(value, self.root, self.allowed)
        except PathError as exc:
            raise ProtocolError("bad_params", f"{key}: {exc}") from None
        if not os.path.isfile(path):
            raise ProtocolError("not_found", f"{key}: file not found: {path}")
        return path

    def known_run(self, run_id: str) -> str:
        if not runs.exists(self.root, run_id):
            raise ProtocolError("not_found", f"no run {run_id}")
        return run_id

    # --- housekeeping -----------------------------------------------------------------------

    def reap(self) -> None:
        """Mark runs whose process died without saying so as failed; remember finished ones.

        A run whose end cannot be recorded (a full disk) is retried with a growing delay, and each
        different reason is logged once, in one line; it is recorded as soon as the disk has room.
        """
        runs.collect_exited_children()
        diskspace.ensure_reserve(self.root)  # put the reserve back once a full disk has room again
        now = time.monotonic()
        if now - self.history_checked > HISTORY_CHECK_S:
            self.history_checked = now
            history.sync(self.root)
        try:
            indexed = history.states(self.root)  # one query, not a read of every run's log
        except history.Unavailable:
            indexed = {}
        for run_id in runs.all_run_ids(self.root):
            trouble = self.reap_trouble.get(run_id)
            if run_id in self.finished or (trouble and now < trouble.next_try):
                continue
            try:
                state = indexed[run_id] if run_id in indexed else runs.last_state(self.root, run_id)
                note = f"recording this was delayed by: {trouble.reason}" if trouble else None
                cause = runs.mark_if_dead(self.root, run_id, note) if state in runs.ACTIVE else None
            except Exception as exc:
                self.reap_failed(run_id, exc, now)
                continue
            if trouble:
                del self.reap_trouble[run_id]
                log.info("run %s: checked again after %d failed tries; %s", run_id, trouble.tries,
                         "recorded that it failed" if cause else "nothing to record")
            if cause:
                log.warning("run %s failed: %s", run_id, cause)
                state = "failed"
            if state not in runs.ACTIVE:
                self.finished.add(run_id)

    def reap_failed(self, run_id: str, exc: Exception, now: float) -> None:
        trouble = self.reap_trouble.setdefault(run_id, ReapTrouble())
        trouble.tries += 1
        trouble.delay = min(max(trouble.delay * 2, REAP_S), REAP_BACKOFF_MAX_S)
        trouble.next_try = now + trouble.delay
        reason = str(exc) if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        if reason == trouble.reason:
            return
        trouble.reason = reason
        # A disk fault is the host's state, not a bug: one line, no traceback. Anything else gets one traceback.
        log.warning("run %s: cannot record that its process ended: %s; retrying, at most every %.0f s",
                    run_id, reason, REAP_BACKOFF_MAX_S, exc_info=not isinstance(exc, OSError))

    async def prepare_then_reap(self) -> None:
        """Catch the history index up with the logs (long only the first time a big root is served),
        mark runs that died while no server watched, then let history requests in and keep reaping."""
        try:
            began = time.monotonic()
            await asyncio.to_thread(history.sync, self.root)
            log.info("history index ready in %.1f s", time.monotonic() - began)
            await asyncio.to_thread(self.reap)
        except Exception:
            log.exception("checking runs at start failed")
        self.ready.set()
        await self.reap_forever()

    async def reap_forever(self) -> None:
        last_problem = None
        while True:
            await asyncio.sleep(REAP_S)
            try:
                await asyncio.to_thread(self.reap)
                last_problem = None
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
                if problem != last_problem:  # the same failure every 2 s would bury the log
                    log.exception("checking runs failed")
                last_problem = problem


async def serve_forever(root: str, data_dirs: list[str], port: int) -> None:
    agent = Agent(root, data_dirs)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(agent.handle, "127.0.0.1", port, **SERVE_OPTIONS) as server:
        port = server.sockets[0].getsockname()[1]
        info_path = os.path.join(agent.root, "agent.json")
        with open(info_path + ".tmp", "w") as f:
            # data_dirs lets a launcher tell whether this server may read the files it is about to name;
            # source_hash, python and package_dir whether it runs the code that launcher would start.
            json.dump({"pid": os.getpid(), "port": port, "version": __version__, "started": time.time(),
                       "data_dirs": agent.allowed[1:], **source_hash.identity()}, f)
        os.replace(info_path + ".tmp", info_path)
        print(json.dumps({"listening": True, "port": port, "pid": os.getpid(), "root": agent.root,
                          "token_file": os.path.join(agent.root, "token"), "version": __version__}), flush=True)
        log.info("listening on 127.0.0.1:%d, root %s", port, agent.root)
        reaper = asyncio.create_task(agent.prepare_then_reap())
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


async def send_lines(ws, lines: list[bytes], batch: bool = False) -> None:
    """Send stored event lines as they are: a log line is the protocol's `event` message.

    Without `batch`, each line is one text frame. With it, consecutive lines are joined into `events` frames
    of up to BATCH_FRAME_BYTES (a lone line stays an `event` frame): each frame costs the sender and,
    above all, the receiver far more than its bytes do (in Python, 10,000 single frames took about twice
    as long to receive and decode as the same events in 10 frames, which cost little more than decoding the
    events themselves). The lines are joined as bytes, never parsed.
    One write to the socket and one flow-control wait per call, not per frame (websockets' own pattern,
    see its Connection.send_context).
    """
    async with ws.send_context():
        if not batch:
            for line in lines:
                ws.protocol.send_text(line)
            return
        for group in frame_groups(lines):
            ws.protocol.send_text(group[0] if len(group) == 1 else BATCH_HEAD + BATCH_SEPARATOR.join(group) + BATCH_TAIL)


BATCH_HEAD, BATCH_SEPARATOR, BATCH_TAIL = b'{"type": "events", "events": [', b", ", b"]}"
BATCH_ENVELOPE = len(BATCH_HEAD) + len(BATCH_TAIL) - len(BATCH_SEPARATOR)  # counted with a separator per line


def frame_groups(lines: list[bytes]) -> list[list[bytes]]:
    """`lines` cut into runs of consecutive lines whose `events` frame is at most BATCH_FRAME_BYTES (a longer
    line alone)."""
    each = len(BATCH_SEPARATOR)
    if BATCH_ENVELOPE + sum(map(len, lines)) + each * len(lines) <= BATCH_FRAME_BYTES:
        return [lines] if lines else []  # the usual case: a feed batch is ~1,000 events of a few hundred bytes
    groups: list[list[bytes]] = []
    group: list[bytes] = []
    size = BATCH_ENVELOPE
    for line in lines:
        if group and size + len(line) + each > BATCH_FRAME_BYTES:
            groups.append(group)
            group, size = [], BATCH_ENVELOPE
        group.append(line)
        size += len(line) + each
    if group:
        groups.append(group)
    return groups


class ReapTrouble:
    """Why a run's end could not be recorded, and when to try again."""

    def __init__(self):
        self.reason = ""
        self.tries = 0
        self.delay = 0.0
        self.next_try = 0.0


class RequestContext:
    """One request's side channel: stream frames sent before its response, and its cancel flag."""

    def __init__(self, ws, request_id: int, cancels: dict):
        self.ws, self.id, self.cancels = ws, request_id, cancels
        self.cancel = threading.Event()
        cancels[request_id] = self.cancel
        self.loop = asyncio.get_running_loop()
        self.sending: list[asyncio.Future] = []

    def streamer(self, kind: str):
        """A thread-safe function that sends one stream frame of `kind` (called from torch worker threads)."""

        def send(data: dict) -> None:
            frame = json.dumps(protocol.stream(self.id, kind, data))
            # Scheduled in call order, so frames arrive in order and all before the response (see flush).
            self.sending.append(asyncio.run_coroutine_threadsafe(self._send(frame), self.loop))

        return send

    async def _send(self, frame: str) -> None:
        try:
            await self.ws.send(frame)
        except ConnectionClosed:
            self.cancel.set()

    async def flush(self) -> None:
        if self.sending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in self.sending), return_exceptions=True)

    def cancel_other(self, request_id: int) -> bool:
        flag = self.cancels.get(request_id)
        if flag is None or request_id == self.id:
            return False
        flag.set()
        return True

    def done(self) -> None:
        self.cancels.pop(self.id, None)
