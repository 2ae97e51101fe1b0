"""The transport floor for the history bench: a WebSocket server that sends COUNT copies of one event line,
with the agent server's own settings and send path (serving/server.py's send_lines, 1,000 frames a batch),
and nothing else: no disk, no index. What a replay of COUNT events costs beyond this is the agent's.

Usage: frame_server.py COUNT LINE_BYTES. Prints {"port": N} once listening; each connection that sends a
frame gets COUNT frames back; ends on SIGTERM.
"""

import asyncio
import json
import signal
import sys

from websockets.asyncio.server import serve

from tunelab_agent.rundir.eventlog import event_message
from tunelab_agent.serving.server import send_lines


async def main() -> None:
    count, size = int(sys.argv[1]), int(sys.argv[2])
    line = json.dumps(event_message(1, 0.0, "run", "log", {"message": ""}))
    line = json.dumps(event_message(1, 0.0, "run", "log", {"message": "x" * max(0, size - len(line))})).encode()

    async def handler(ws):
        async for _ in ws:
            for start in range(0, count, 1000):
                await send_lines(ws, [line] * min(1000, count - start))

    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", 0, max_size=16 * 2**20) as server:
        print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
