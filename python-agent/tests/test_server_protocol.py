import json
import os
import stat

import pytest
from websockets.exceptions import ConnectionClosed

from agent_client import AgentClient


def refused(server, hello) -> tuple[dict, int]:
    """Send `hello` as the first frame; return the error response and the close code."""
    client = AgentClient(server.port, server.token, hello=False)
    client.send(hello)
    reply = client.recv()
    with pytest.raises(ConnectionClosed):
        client.ws.recv(timeout=10)
    return reply, client.ws.close_code


def test_token_file_and_agent_json(start_server):
    server = start_server()
    token_file = server.info["token_file"]
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    with open(os.path.join(server.root, "agent.json")) as f:
        assert json.load(f)["port"] == server.port
    assert server.client().hello["agent_version"] == "0.1.0"
    server.stop()
    assert not os.path.exists(os.path.join(server.root, "agent.json"))  # removed on clean shutdown
    assert start_server().token == server.token  # the token is reused


def test_missing_or_wrong_token_is_refused_and_closed(start_server):
    server = start_server()
    reply, code = refused(server, {"type": "hello", "protocol": 1, "token": "wrong", "client": "t"})
    assert reply == {"type": "response", "re": None, "error": reply["error"]} and reply["error"]["code"] == "unauthorized"
    assert code == 4401
    reply, code = refused(server, {"type": "hello", "protocol": 1, "client": "t"})
    assert reply["error"]["code"] == "unauthorized" and code == 4401
    reply, code = refused(server, {"type": "request", "id": 1, "method": "list_runs", "params": {}})
    assert reply["error"]["code"] == "unauthorized" and code == 4401


def test_unsupported_protocol_is_refused(start_server):
    server = start_server()
    reply, code = refused(server, {"type": "hello", "protocol": 99, "token": server.token, "client": "t"})
    assert reply["error"]["code"] == "unsupported_protocol" and code == 4400


def test_malformed_messages_get_errors_and_the_connection_stays_usable(start_server):
    client = start_server().client()
    client.send("this is not json")
    assert client.recv()["error"]["code"] == "bad_message"
    client.send({"type": "request", "id": 7, "method": "launch_missiles", "params": {}})
    assert client.recv() == {"type": "response", "re": 7, "error": {"code": "unknown_method", "message": 'unknown method "launch_missiles"'}}
    client.send({"type": "request", "id": 8, "method": "subscribe", "params": {"since": "yesterday"}})
    reply = client.recv()
    assert reply["re"] == 8 and reply["error"]["code"] == "bad_params" and "since" in reply["error"]["message"]
    client.send({"type": "request", "id": 9, "method": "list_runs", "params": {}, "extra": 1})
    assert client.recv()["error"]["code"] == "bad_message"
    client.send({"type": "request", "id": 10, "method": "stop_run", "params": {"run_id": "nope"}})
    assert client.recv()["error"]["code"] == "not_found"
    assert client.call("list_runs") == {"runs": [], "total": 0, "head": 0}
