"""The transport floor for the history bench: a WebSocket server that sends COUNT copies of one event line,
with the agent server's own settings and send path (serving/server.py's serve options and send_lines, 1,000
lines a call, batched as for subscribe {batch: true}), and nothing else: no disk, no index. What a replay of
COUNT events costs beyond this is the agent's.

Usage: frame_server.py COUNT LINE_FILE. LINE_FILE holds the event line to send (its first line, e.g. a
typical metrics event of the bench's root, so that decoding it costs what decoding a stored event does).
Prints {"port": N} once listening; each connection that sends a frame gets the COUNT events back; ends on
SIGTERM.
"""

import asyncio
import json
import signal
import sys

from websockets.asyncio.server import serve

from tunelab_agent.serving.server import SERVE_OPTIONS, send_lines


async def main() -> None:
    count = int(sys.argv[1])
    with open(sys.argv[2], "rb") as f:
        line = f.readline().rstrip(b"\n")
    assert json.loads(line)["type"] == "event", line[:80]

    async def handler(ws):
        async for _ in ws:
            for start in range(0, count, 1000):
                await send_lines(ws, [line] * min(1000, count - start), batch=True)

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", 0, **SERVE_OPTIONS) as server:
        print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
