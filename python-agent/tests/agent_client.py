"""A small synchronous client for the agent protocol, used by the tests."""

import itertools
import json
from collections import deque

from websockets.sync.client import connect

from tunelab_agent.serving import protocol

TERMINAL = ("completed", "failed", "stopped")


class AgentError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AgentClient:
    def __init__(self, port: int, token: str, hello: bool = True):
        self.ws = connect(f"ws://127.0.0.1:{port}", max_size=None, legacy=True)  # a plain object, closed by close()
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        self.streams: list[dict] = []  # stream frames (generate tokens, progress), in arrival order
        self.unpacked: deque[dict] = deque()  # events of an `events` frame not returned by recv yet
        self.frames: list[str] = []  # the type of every frame received, in order (batches show as "events")
        if hello:
            self.send({"type": "hello", "protocol": 1, "token": token, "client": "tunelab-tests/0"})
            reply = self.recv()
            assert reply["type"] == "hello", reply
            self.hello = reply

    def send(self, message) -> None:
        self.ws.send(message if isinstance(message, str) else json.dumps(message))

    def recv(self, timeout: float = 60) -> dict:
        """The next message. The events of an `events` frame (subscribe {batch: true}) come one by one, in
        order, as if each had been its own `event` frame: callers never see a batch."""
        if self.unpacked:
            return self.unpacked.popleft()
        message = json.loads(self.ws.recv(timeout=timeout))
        problem = protocol.first_error(message, "message")
        assert problem is None, f"the agent sent a message that breaks the schema: {problem}: {message}"
        self.frames.append(message["type"])
        if message["type"] == "events":
            self.unpacked.extend(message["events"])
            return self.unpacked.popleft()
        return message

    def reply_to(self, re, timeout: float = 60) -> dict:
        """The response with `re`; events that arrive meanwhile are kept in self.events."""
        while True:
            message = self.recv(timeout)
            if message["type"] == "event":
                self.events.append(message)
            elif message["type"] == "stream":
                self.streams.append(message)
            elif message["re"] == re:
                return message

    def request(self, method: str, params: dict | None = None) -> int:
        """Send without waiting; returns the request id (for reply_to, or for cancel)."""
        request_id = next(self.ids)
        self.send({"type": "request", "id": request_id, "method": method, "params": params or {}})
        return request_id

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        request_id = self.request(method, params)
        reply = self.reply_to(request_id, timeout)
        if "error" in reply:
            raise AgentError(reply["error"]["code"], reply["error"]["message"])
        return reply["result"]

    def events_until(self, done, timeout: float = 120) -> list[dict]:
        """Collect events until done(event) is true; returns all events collected so far."""
        for ev in self.events:
            if done(ev):
                return self.events
        while True:
            message = self.recv(timeout)
            if message["type"] == "event":
                self.events.append(message)
                if done(message):
                    return self.events
            elif message["type"] == "stream":
                self.streams.append(message)

    def wait_for_end(self, run_id: str, timeout: float = 120) -> list[dict]:
        return self.events_until(lambda e: e["run_id"] == run_id and e["kind"] == "run_state"
                                 and e["data"]["state"] in TERMINAL, timeout)

    def close(self) -> None:
        self.ws.close()
