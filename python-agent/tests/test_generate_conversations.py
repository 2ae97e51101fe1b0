"""Side-by-side generation where each adapter continues its own conversation (a chat panel's later turns, each
pane with its own earlier answers): one padded batch must answer exactly as each adapter alone."""

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
