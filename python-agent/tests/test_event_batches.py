"""subscribe {batch: true}: the agent sends a replay as `events` frames of many events each, which a client
unpacks into exactly the events, in the same order, that one `event` frame each would have brought: none
lost, none twice. A client that does not ask gets single frames as before."""

import json
import os

import pytest
from agent_client import AgentError
from conftest import Server

from tunelab_agent.rundir import eventlog
from tunelab_agent.serving import protocol, server as agent_server

BIG = 300 * 1024  # a few log events this size make a feed batch outgrow one frame


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("batches") / "root")
    for run_id in ("a", "b", "c"):
        os.makedirs(os.path.join(folder, "runs", run_id))
        with open(os.path.join(folder, "runs", run_id, "run.json"), "w") as f:
            json.dump({"name": run_id, "created": 1.0}, f)
    # 1,200 events (more than the agent reads in one go, replay.BATCH), the runs taking turns, so a replay
    # reads every log in turn.
    for chunk in range(24):
        events = [("metrics", {"step": i, "max_steps": 1200, "epoch": 0.1, "loss": 1 / (i + 1), "learning_rate": 1e-4,
                               "grad_norm": 1.0, "tokens_per_sec": 1e3, "eta_s": 1.0}) for i in range(chunk * 50, chunk * 50 + 49)]
        if chunk % 8 == 3:
            events.insert(20, ("log", {"level": "info", "message": "é" * (BIG // 2)}))  # 2 bytes a character
        else:
            events.append(("log", {"level": "info", "message": f"chunk {chunk}"}))
        eventlog.append_many(folder, "abc"[chunk % 3], events)
    return folder


@pytest.fixture
def server(root):
    started = Server(root, [])
    yield started
    started.stop()


def raw_replay(client, since: int, until: int, validate: bool) -> tuple[list[dict], list[tuple[str, int]]]:
    """Events after `since` up to `until` and every frame's (type, bytes), read from the socket directly.
    `validate`: check each frame against the schema (~5 ms an event here, so only where it is the point)."""
    events, frames = [], []
    while (events[-1]["seq"] if events else since) < until:
        raw = client.ws.recv(timeout=60)
        message = json.loads(raw)
        assert not validate or protocol.first_error(message, "message") is None
        frames.append((message["type"], len(raw.encode())))
        events += message["events"] if message["type"] == "events" else [message] if message["type"] == "event" else []
    return events, frames


def test_the_agent_offers_batches_and_checks_the_parameter(server):
    client = server.client()
    assert "event_batches" in client.hello["capabilities"]
    with pytest.raises(AgentError) as err:
        client.call("subscribe", {"since": 0, "batch": "yes"})
    assert err.value.code == "bad_params"


@pytest.mark.parametrize("since", [0, 1, 700, 1199, 1200])
def test_a_batched_replay_brings_the_same_events_as_single_frames(server, since):
    head = eventlog.read_head(server.root)
    single, batched = server.client(), server.client()
    assert single.call("subscribe", {"since": since})["head"] == head
    expected, frames = raw_replay(single, since, head, validate=False)
    assert [kind for kind, _ in frames] == ["event"] * (head - since)  # a client that did not ask gets no batch
    assert [e["seq"] for e in expected] == list(range(since + 1, head + 1))

    assert batched.call("subscribe", {"since": since, "batch": True})["head"] == head
    got, frames = raw_replay(batched, since, head, validate=since == 0)
    assert got == expected
    if head - since > 1:
        assert "events" in {kind for kind, _ in frames}
        assert len(frames) < len(got) / 50
    # No frame over the cap, except a single event larger than it would be; a batch holds more than one event.
    assert all(size <= agent_server.BATCH_FRAME_BYTES for kind, size in frames if kind == "events")


def test_live_events_follow_a_batched_replay_with_nothing_lost_or_doubled(server):
    client = server.client()
    head = client.call("subscribe", {"since": 100, "batch": True})["head"]
    for i in range(30):
        eventlog.append(server.root, "abc"[i % 3], "log", {"level": "info", "message": f"live {i}"})
    events = client.events_until(lambda e: e["seq"] == head + 30)
    assert [e["seq"] for e in events] == list(range(101, head + 31))
    assert [e["data"]["message"] for e in events[-30:]] == [f"live {i}" for i in range(30)]
    assert "events" in client.frames


def test_frame_groups_cut_at_the_byte_cap_and_keep_the_order(monkeypatch):
    monkeypatch.setattr(agent_server, "BATCH_FRAME_BYTES", 130)  # the envelope is 32 bytes, a separator 2
    lines = [b"x" * n for n in (10, 20, 64, 150, 5, 5, 90, 1, 96)]
    groups = agent_server.frame_groups(lines)
    assert [line for group in groups for line in group] == lines
    frames = [b'{"type": "events", "events": [' + b", ".join(group) + b"]}" for group in groups]
    assert all(len(frame) <= 130 or len(group) == 1 for frame, group in zip(frames, groups))
    assert [len(group) for group in groups] == [3, 1, 2, 2, 1]
    assert len(frames[0]) == 130  # the cap itself fits
    assert agent_server.frame_groups(lines[:3]) == [lines[:3]] and agent_server.frame_groups([]) == []
