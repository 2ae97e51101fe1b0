"""History at scale (issue 11): a root with months of runs against a fresh one, through the real agent server.

Writes a root of RUNS runs x EVENTS events straight to disk in the event log's own format (what months of
training leave behind), starts `python -m tunelab_agent serve` on it and lets it build its history index
(timed), then measures over a real WebSocket each goal of the issue against the same operation on a fresh
root (5 runs x 2,000 events, enough to hold the 10,000-event gap):

  subscribe from the head (<= 50 ms), replaying a gap of K events (proportional to K; 10,000 <= 200 ms;
  timed until the client holds every event decoded, with subscribe {batch: true} as the extension asks,
  and for 10,000 also one frame per event as older clients get them),
  list_runs (<= 100 ms), a new event's trip to a subscriber (p95 <= 50 ms, as on a fresh root), the
  server's RSS (<= 200 MB, flat in history size), run_history of one run, and what the index adds to one
  append.

Usage: history_bench.py [--runs 1000] [--events 2000] [--dir PATH]   (PATH: where the temporary roots go,
default the system's temp folder; they are removed at the end, whatever happens)
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from websockets.asyncio.client import connect

from tunelab_agent.rundir import eventlog, history

HERE = os.path.dirname(os.path.abspath(__file__))
FRESH_RUNS, FRESH_EVENTS = 5, 2000
GAPS = (100, 1000, 10000)
WRITER_RATE, WRITER_SECONDS = 100, 5


# --- making a root ------------------------------------------------------------------------------


def make_root(root: str, runs: int, events: int) -> tuple[int, int]:
    """Write `runs` finished runs of `events` events each; returns (events written, bytes of logs)."""
    os.makedirs(os.path.join(root, "runs"))
    rng = random.Random(0)
    seq, size = 0, 0
    start = time.time() - 180 * 86400  # six months ago, one run after another
    for r in range(runs):
        run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(start + r * 3600))}-sweep-{r}-{r % 65536:04x}"
        folder = os.path.join(root, "runs", run_id)
        os.makedirs(folder)
        created = start + r * 3600
        with open(os.path.join(folder, "run.json"), "w") as f:
            json.dump({"name": f"sweep {r}", "created": created, "config_path": None, "resolved": {}, "pid": None}, f)
        lines = run_lines(run_id, seq, created, events, rng)
        data = "".join(lines).encode()
        with open(os.path.join(folder, "events.jsonl"), "wb") as f:
            f.write(data)
        seq += len(lines)
        size += len(data)
    with open(os.path.join(root, "events.seq"), "w") as f:
        f.write(str(seq))
    return seq, size


def run_lines(run_id: str, seq: int, created: float, events: int, rng: random.Random) -> list[str]:
    """One finished run's log lines, exactly as eventlog.append writes them (json.dumps of the message)."""
    head = [("run_created", {"name": run_id, "config": "model: tiny\ndataset:\n  train: train.jsonl\n" * 3}),
            ("run_state", {"state": "starting"}), ("run_state", {"state": "running", "max_steps": events})]
    lines = [json.dumps(eventlog.event_message(seq + i + 1, created + i, run_id, kind, data)) + "\n"
             for i, (kind, data) in enumerate(head)]
    steps = events - len(head) - 1
    for step in range(1, steps + 1):
        n = seq + len(lines) + 1
        t = created + 3 + step
        if step % 200 == 0:
            lines.append(json.dumps(eventlog.event_message(n, t, run_id, "eval", {
                "step": step, "segment": 0, "eval_loss": 2.0 / (1 + step / 500), "metrics": {}, "best": True})) + "\n")
        elif step % 500 == 1 and step > 1:
            lines.append(json.dumps(eventlog.event_message(n, t, run_id, "checkpoint", {
                "name": f"checkpoint-{step}", "step": step, "path": f"/x/{run_id}/checkpoints/checkpoint-{step}",
                "files": [], "eval_loss": None, "reason": "scheduled", "segment": 0})) + "\n")
        else:
            # The bulk: formatted directly (json.dumps of 2 M dicts would take longer than all the rest).
            loss = 2.5 / (1 + step / 300) + rng.random() * 0.05
            lines.append(
                f'{{"type": "event", "seq": {n}, "time": {t!r}, "run_id": "{run_id}", "kind": "metrics", "data": '
                f'{{"step": {step}, "max_steps": {events}, "epoch": {step / events!r}, "segment": 0, "loss": {loss!r}, '
                f'"learning_rate": {2e-4 * (1 - step / events)!r}, "lr_groups": {{"default": {2e-4 * (1 - step / events)!r}}}, '
                f'"grad_norm": {1 + rng.random()!r}, "tokens_per_sec": {12000 + rng.random() * 500!r}, '
                f'"samples_per_sec": 45.6, "eta_s": {float(events - step)!r}, "gpu": null}}}}\n')
    lines.append(json.dumps(eventlog.event_message(seq + len(lines) + 1, created + 4 + steps, run_id, "run_state",
                                                   {"state": "completed"})) + "\n")
    return lines


# --- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(self, root: str):
        self.root = root
        began = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "tunelab_agent", "serve", "--root", root],
                                        stdout=subprocess.PIPE, stderr=open(os.path.join(root, "..", f"{os.path.basename(root)}.log"), "ab"))
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the agent server on {root} exited before listening")
        self.listening_s = time.perf_counter() - began
        info = json.loads(line)
        self.port = info["port"]
        with open(info["token_file"]) as f:
            self.token = f.read().strip()

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system; clock-tick resolution, 10 ms here)."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> tuple[float, float]:
        """(RSS now, peak RSS) of the server process."""
        fields = {}
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.ids = 0

    @classmethod
    async def open(cls, server: Server) -> "Client":
        ws = await connect(f"ws://127.0.0.1:{server.port}", max_size=None)
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "token": server.token, "client": "history-bench/0"}))
        assert json.loads(await ws.recv())["type"] == "hello"
        return cls(ws)

    async def request(self, method: str, params: dict) -> int:
        self.ids += 1
        await self.ws.send(json.dumps({"type": "request", "id": self.ids, "method": method, "params": params}))
        return self.ids

    async def call(self, method: str, params: dict | None = None, timeout: float = 600) -> dict:
        re = await self.request(method, params or {})
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message.get("type") == "response" and message["re"] == re:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def close(self) -> None:
        await self.ws.close()


# --- measurements -------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


async def timed_calls(client: Client, method: str, params: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await client.call(method, params)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def replay_time(server: Server, since: int, until: int, batch: bool = True) -> float:
    """Seconds from subscribe {since} to holding every event up to `until` decoded, as a client sees them:
    each frame parsed, each event checked to be the next seq (none lost, none twice, in order). `batch`:
    subscribe {batch: true} (several events per `events` frame, as the extension asks); else one frame each."""
    client = await Client.open(server)
    try:
        began = time.perf_counter()
        await client.request("subscribe", {"since": since, "batch": True} if batch else {"since": since})
        last = since
        while last < until:
            message = json.loads(await client.ws.recv())
            kind = message["type"]
            for event in message["events"] if kind == "events" else [message] if kind == "event" else []:
                assert event["seq"] == last + 1, f"after seq {last} came {event['seq']}"
                last = event["seq"]
        return time.perf_counter() - began
    finally:
        await client.close()


async def event_trip(server: Server, root: str, run_id: str) -> list[float]:
    """Latencies (s) of events appended by a separate writer process, append to arrival at a subscriber."""
    client = await Client.open(server)
    try:
        head = (await client.call("list_runs", {"limit": 1}))["head"]
        await client.call("subscribe", {"since": head})
        writer = subprocess.Popen([sys.executable, os.path.join(HERE, "event_writer.py"), root, run_id,
                                   str(WRITER_RATE), str(WRITER_SECONDS)], stdout=subprocess.PIPE)
        expected = WRITER_RATE * WRITER_SECONDS
        latencies = []
        while len(latencies) < expected:
            message = json.loads(await asyncio.wait_for(client.ws.recv(), 60))
            if message.get("type") == "event" and message["run_id"] == run_id:
                latencies.append(time.time() - message["time"])
        writer.wait(timeout=60)
        return latencies
    finally:
        await client.close()


async def transport_floor(count: int, line_file: str) -> float:
    """Seconds for `count` copies of the event line in `line_file` through the same WebSocket stack and send
    path (frame_server.py: batched as a subscribe {batch: true} gets them), every frame decoded as replay_time
    does."""
    process = subprocess.Popen([sys.executable, os.path.join(HERE, "frame_server.py"), str(count), line_file],
                               stdout=subprocess.PIPE)
    try:
        port = json.loads(process.stdout.readline())["port"]
        times = []
        async with connect(f"ws://127.0.0.1:{port}", max_size=None) as ws:
            for _ in range(3):
                began = time.perf_counter()
                await ws.send("go")
                received = 0
                while received < count:
                    message = json.loads(await ws.recv())
                    received += len(message["events"]) if message["type"] == "events" else 1
                times.append(time.perf_counter() - began)
        return statistics.median(times)
    finally:
        process.terminate()
        process.wait()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(server: Server, root: str, label: str) -> dict:
    out = {"listening_s": server.listening_s}
    client = await Client.open(server)
    began = time.perf_counter()
    first = await client.call("list_runs", {"limit": 50})  # waits for the index to be caught up
    out["first_list_s"] = time.perf_counter() - began
    head = first["head"]
    out["runs"], out["head"] = first["total"], head
    out["list_page_s"] = await timed_calls(client, "list_runs", {"limit": 50}, 10)
    out["list_all_s"] = await timed_calls(client, "list_runs", {}, 5)
    out["subscribe_head_s"] = await timed_calls(client, "subscribe", {"since": head}, 20)
    for gap in GAPS:
        out[f"gap_{gap}_s"] = statistics.median([await replay_time(server, head - gap, head) for _ in range(3)])
    gap = max(GAPS)
    out["gap_unbatched_s"] = statistics.median([await replay_time(server, head - gap, head, batch=False)
                                                for _ in range(3)])
    # CPU time, which a machine busy with other work does not inflate as it does wall time: the server's and
    # this client's (receiving and decoding), per replay of the largest gap, averaged over 5.
    for label, batch in (("batched", True), ("unbatched", False)):
        server_cpu, client_cpu = server.cpu_s(), time.process_time()
        for _ in range(5):
            await replay_time(server, head - gap, head, batch)
        out[f"cpu_{label}_server_s"] = (server.cpu_s() - server_cpu) / 5
        out[f"cpu_{label}_client_s"] = (time.process_time() - client_cpu) / 5
    one = first["runs"][len(first["runs"]) // 2]["run_id"]
    out["history_s"] = await timed_calls(client, "run_history", {"run_id": one, "max_points": 500}, 5)
    await client.close()
    latencies = await event_trip(server, root, f"20990101-000000-bench-writer-{label}")
    out["trip_p50_s"], out["trip_p95_s"] = percentile(latencies, 50), percentile(latencies, 95)
    out["rss_mb"], out["peak_rss_mb"] = server.memory_mb()
    return out


# --- one append ---------------------------------------------------------------------------------


def append_cost(base: str, count: int = 300) -> tuple[float, float]:
    """(µs per eventlog.append without an index, with one) in folders under `base`: best of interleaved rounds,
    as eventlog_append.py does."""
    data = {"step": 1, "max_steps": 1000, "epoch": 0.1, "loss": 2.3, "learning_rate": 1e-4, "grad_norm": 3.2,
            "tokens_per_sec": 12345.6, "eta_s": 12.0, "segment": 0}
    best = {False: float("inf"), True: float("inf")}
    for round_ in range(5):
        for with_index in (False, True):
            root = os.path.join(base, f"append-{with_index}-{round_}")
            os.makedirs(os.path.join(root, "runs", "r"))
            if with_index:
                assert history.sync(root)
            began = time.perf_counter()
            for _ in range(count):
                eventlog.append(root, "r", "metrics", data)
            best[with_index] = min(best[with_index], (time.perf_counter() - began) / count)
            shutil.rmtree(root)
    return best[False] * 1e6, best[True] * 1e6


# --- report -------------------------------------------------------------------------------------


def row(name: str, big: float, fresh: float, goal: str, unit: str = "ms") -> str:
    ratio = big / fresh if fresh else float("inf")
    return f"{name}: {big:.1f} {unit} (fresh {fresh:.1f} {unit}, ratio {ratio:.1f}x; goal {goal})"


def report(big: dict, fresh: dict, sizes: tuple, build: tuple, append: dict, floor_s: float) -> None:
    events, nbytes, made_s = sizes
    print()
    print(f"== history bench: {big['runs']} runs, {events:,} events, {nbytes / 2**20:.0f} MB of logs "
          f"(written in {made_s:.1f} s); fresh root: {fresh['runs']} runs, {fresh['head']:,} events")
    print(f"index build at first start: {build[0]:.1f} s to the first list_runs answer "
          f"(server listening after {big['listening_s']:.1f} s; index file {build[1] / 2**20:.0f} MB)")
    print(row("subscribe from head", ms(big["subscribe_head_s"]), ms(fresh["subscribe_head_s"]), "<= 50 ms"))
    for gap in GAPS:
        goal = "<= 200 ms" if gap == 10000 else "proportional to the gap"
        print(row(f"subscribe with a gap of {gap:,} events", ms(big[f"gap_{gap}_s"]), ms(fresh[f"gap_{gap}_s"]), goal))
    print(row(f"  the same {max(GAPS):,} events one frame each (a client without batch: true)",
              ms(big["gap_unbatched_s"]), ms(fresh["gap_unbatched_s"]), "-"))
    for label, how in (("batched", "batch: true"), ("unbatched", "one frame each")):
        print(f"  CPU per replay of {max(GAPS):,} events ({how}): server {ms(big[f'cpu_{label}_server_s']):.0f} ms, "
              f"client {ms(big[f'cpu_{label}_client_s']):.0f} ms (fresh: {ms(fresh[f'cpu_{label}_server_s']):.0f} ms, "
              f"{ms(fresh[f'cpu_{label}_client_s']):.0f} ms)")
    print(f"  (the WebSocket alone, same stack, settings and batching, no disk or index: {ms(floor_s):.1f} ms for "
          f"{max(GAPS):,} copies of a stored metrics event, received and decoded)")
    print(row("list_runs, first page of 50", ms(big["list_page_s"]), ms(fresh["list_page_s"]), "<= 100 ms"))
    print(row(f"list_runs, all {big['runs']} runs", ms(big["list_all_s"]), ms(fresh["list_all_s"]), "<= 100 ms"))
    print(row("new event to a subscriber, p95", ms(big["trip_p95_s"]), ms(fresh["trip_p95_s"]), "<= 50 ms, as fresh"))
    print(row("new event to a subscriber, p50", ms(big["trip_p50_s"]), ms(fresh["trip_p50_s"]), "-"))
    print(row("run_history of one run (max_points 500)", ms(big["history_s"]), ms(fresh["history_s"]), "- (one run's size)"))
    print(row("server RSS after all of the above", big["rss_mb"], fresh["rss_mb"], "<= 200 MB, flat", unit="MB"))
    print(row("server peak RSS", big["peak_rss_mb"], fresh["peak_rss_mb"], "flat", unit="MB"))
    for where, (bare, indexed) in append.items():
        print(f"one append {where}: {indexed:.0f} us with the index, {bare:.0f} us without "
              f"(the index adds {indexed - bare:.0f} us, {100 * (indexed - bare) / bare:.0f}%)")


async def run(args) -> None:
    base = tempfile.mkdtemp(prefix="tunelab-history-bench-", dir=args.dir)
    servers: list[Server] = []
    try:
        began = time.perf_counter()
        big_root = os.path.join(base, "big")
        events, nbytes = make_root(big_root, args.runs, args.events)
        made_s = time.perf_counter() - began
        print(f"wrote {args.runs} runs x {args.events} events ({nbytes / 2**20:.0f} MB) in {made_s:.1f} s", flush=True)
        fresh_root = os.path.join(base, "fresh")
        make_root(fresh_root, FRESH_RUNS, FRESH_EVENTS)

        results = {}
        for label, root in (("fresh", fresh_root), ("big", big_root)):
            print(f"measuring the {label} root ...", flush=True)
            server = Server(root)
            servers.append(server)
            results[label] = await measure(server, root, label)
            server.stop()
            print(f"  {json.dumps({k: round(v, 4) for k, v in results[label].items()})}", flush=True)
        build = (results["big"]["first_list_s"], os.path.getsize(os.path.join(big_root, "index.sqlite")))
        # On the bench's disk, where fsync dominates; and in memory, where only the CPU cost is left.
        append = {"on the bench's disk": append_cost(base)}
        if os.path.isdir("/dev/shm"):
            with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
                append["in /dev/shm (no disk)"] = append_cost(shm, 1000)
        # A typical stored event (a metrics line from the middle of a run) for the transport floor.
        first_run = sorted(os.listdir(os.path.join(big_root, "runs")))[0]
        with open(os.path.join(big_root, "runs", first_run, "events.jsonl"), "rb") as f:
            sample = f.readlines()[args.events // 2]
        line_file = os.path.join(base, "line.json")
        with open(line_file, "wb") as f:
            f.write(sample)
        floor_s = await transport_floor(max(GAPS), line_file)
        report(results["big"], results["fresh"], (events, nbytes, made_s), build, append, floor_s)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000, help="events per run")
    parser.add_argument("--dir", default=None, help="where the temporary roots go")
    args = parser.parse_args()
    if args.runs * args.events < max(GAPS) + 1 or args.events < 10:
        parser.error(f"the big root needs more than {max(GAPS):,} events (runs x events) and 10 events per run")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
