"""Side-by-side generation where each adapter continues its own conversation (a chat panel's later turns, each
pane with its own earlier answers): one padded batch must answer exactly as each adapter alone."""

import os

import pytest

from test_generate import GREEDY, make_adapter
from tunelab_agent.generation.generate import GenerationError, GenerationService

FIRST = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Classify: The movie was fantastic."}]


def later_turn(answer: str) -> list[dict]:
    return FIRST + [{"role": "assistant", "content": answer}, {"role": "user", "content": "Why do you say that?"}]


@pytest.fixture(scope="module")
def setup(data_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("conv-adapters")
    model_dir = str(data_dir / "model")
    a = make_adapter(model_dir, folder / "checkpoint-10", seed=3)
    b = make_adapter(model_dir, folder / "checkpoint-20", seed=4)
    return model_dir, a, b, GenerationService(device="cpu")


@pytest.mark.parametrize("sampling", [GREEDY, {"max_new_tokens": 12, "temperature": 0.8, "seed": 7}])
def test_one_batch_of_different_conversations_answers_as_each_alone(setup, sampling):
    model_dir, a, b, service = setup
    order = [("base", None), ("a", a), ("b", b)]
    # Histories of different lengths: the batch is left-padded, and the padding must change nothing.
    conversations = [later_turn("positive"), later_turn("It is a very positive review, clearly."), FIRST]
    pieces = {}
    together = service.generate(model_dir, order, None, sampling, conversations=conversations,
                                 on_token=lambda name, piece: pieces.setdefault(name, []).append(piece))
    alone = [service.generate(model_dir, [pair], conv, sampling)[0] for pair, conv in zip(order, conversations)]
    assert [(r["adapter"], r["text"], r["new_tokens"]) for r in together] == [(r["adapter"], r["text"], r["new_tokens"]) for r in alone]
    for r in together:
        assert "".join(pieces.get(r["adapter"], [])) == r["text"]
    assert len({r["text"] for r in together}) > 1


def test_conversations_must_match_the_adapters(setup):
    model_dir, a, _, service = setup
    with pytest.raises(GenerationError, match=r"conversations: one per adapter \(2\), got 1"):
        service.generate(model_dir, [("base", None), ("a", a)], None, GREEDY, conversations=[FIRST])
    with pytest.raises(GenerationError, match=r"conversations\[1\]\.messages\[0\]: the last turn must be the user's"):
        service.generate(model_dir, [("base", None), ("a", a)], None, GREEDY,
                         conversations=[FIRST, [{"role": "assistant", "content": "x"}]])


def test_one_request_compares_checkpoints_of_runs_on_the_same_base_model(setup, start_server, tmp_path):
    """<run-id>/checkpoint-N names another run's checkpoint; a run on another base model is refused by name."""
    import shutil

    from tunelab_agent.rundir.checkpoints import write_checkpoint
    from tunelab_agent.serving import runs
    from agent_client import AgentError

    model_dir, a, b, _ = setup
    root = str(tmp_path / "root")
    os.makedirs(root, exist_ok=True)

    def run_with(name, model, step, adapter):
        run_id = runs.create(root, name, f"name: {name}\n", None, {"model": model, "train": "t"})
        write_checkpoint(runs.run_dir(root, run_id), step, lambda folder: shutil.copytree(adapter, folder, dirs_exist_ok=True))
        return run_id

    first, second = run_with("first", model_dir, 10, a), run_with("second", model_dir, 20, b)
    other = run_with("other", model_dir + "-elsewhere", 30, b)
    # Written before the server starts, as finished runs on disk are (a live server tidies unfinished saves).
    client = start_server().client()
    asked = {"messages": FIRST, "sampling": GREEDY, "stream": False}
    both = client.call("generate", {"run_id": first, "adapters": ["base", "checkpoint-10", f"{second}/checkpoint-20"], **asked}, timeout=300)
    assert [r["adapter"] for r in both["results"]] == ["base", "checkpoint-10", f"{second}/checkpoint-20"]
    alone = client.call("generate", {"run_id": second, "adapters": ["checkpoint-20"], **asked}, timeout=300)
    assert both["results"][2]["text"] == alone["results"][0]["text"]
    assert both["results"][1]["text"] != both["results"][2]["text"]
    with pytest.raises(AgentError) as err:
        client.call("generate", {"run_id": first, "adapters": ["base", f"{other}/checkpoint-30"], **asked}, timeout=300)
    assert err.value.code == "bad_params" and "same base model" in err.value.message
