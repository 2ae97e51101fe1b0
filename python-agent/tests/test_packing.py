"""Packing is only an optimisation: a packed batch must give the same loss as the same samples padded."""

import pytest
import torch

from tunelab_agent.data.collate import PackingCollator, PaddingCollator
from tunelab_agent.data.packing import IGNORE, pack
from tunelab_agent.data.templating import encode_conversation


@pytest.fixture(scope="module")
def tokenizer(data_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(data_dir / "model"))


def conversations():
    """Chats of clearly different lengths, some multi-turn."""
    out = []
    for n in range(1, 9):
        turns = [{"role": "system", "content": "Be brief."}] if n % 3 == 0 else []
        for t in range(1 + n % 3):
            turns += [{"role": "user", "content": "The food was good." * n},
                      {"role": "assistant", "content": "positive" * (1 + t)}]
        out.append(turns)
    return out


def items(tokenizer, train_on):
    return [encode_conversation(tokenizer, c, train_on) for c in conversations()]


def test_pack_restarts_positions_and_keeps_every_token(tokenizer):
    samples = items(tokenizer, "all")
    rows = pack(samples, 256)
    assert len(rows) < len(samples) and all(len(r["input_ids"]) <= 256 for r in rows)
    # every sample appears once, contiguous, positions 0..n-1, its first label masked
    found = []
    for row in rows:
        starts = [i for i, p in enumerate(row["position_ids"]) if p == 0] + [len(row["input_ids"])]
        for a, b in zip(starts, starts[1:]):
            assert row["position_ids"][a:b] == list(range(b - a))
            assert row["labels"][a] == IGNORE and row["labels"][a + 1:b] == row["input_ids"][a + 1:b]
            found.append(row["input_ids"][a:b])
    assert sorted(found) == sorted(s["input_ids"] for s in samples)
    with pytest.raises(ValueError, match="does not fit"):
        pack(samples, 8)


def test_packing_collator_pads_as_a_separate_sample_without_attention_mask():
    collate = PackingCollator(pad_id=0)
    rows = [{"input_ids": [5, 6, 7, 8], "labels": [IGNORE, 6, 7, 8], "position_ids": [0, 1, 0, 1]},
            {"input_ids": [9, 9], "labels": [IGNORE, 9], "position_ids": [0, 1]}]
    batch = collate(rows)
    assert "attention_mask" not in batch and batch["use_cache"] is False
    assert batch["position_ids"].tolist() == [[0, 1, 0, 1], [0, 1, 0, 1]]
    assert batch["input_ids"].tolist()[1] == [9, 9, 0, 0]
    assert batch["labels"].tolist()[1] == [IGNORE, 9, IGNORE, IGNORE]
    assert (collate.tokens_seen, collate.samples_seen) == (6, 3)
    # unpacked (eval) items go to the padding collator, and do not count as training throughput
    padding = PaddingCollator(pad_id=0)
    collate = PackingCollator(pad_id=0, padding=padding)
    batch = collate([{"input_ids": [5, 6], "labels": [IGNORE, 6]}, {"input_ids": [7], "labels": [7]}])
    assert batch["attention_mask"].tolist() == [[1, 1], [1, 0]] and "position_ids" not in batch
    assert (collate.tokens_seen, padding.tokens_seen, padding.samples_seen) == (0, 3, 2)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("train_on", ["assistant", "all"])
def test_packed_loss_equals_unpacked_loss(data_dir, tokenizer, train_on, attn):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(data_dir / "model"), dtype=torch.float32,
                                                 attn_implementation=attn).eval()
    samples = items(tokenizer, train_on)
    padded, packed = PaddingCollator(tokenizer.pad_token_id), PackingCollator(tokenizer.pad_token_id)
    with torch.no_grad():
        unpacked_loss = model(**padded(samples)).loss.item()  # token-weighted mean over all samples
        batch = packed(pack(samples, 256))
        packed_loss = model(**batch).loss.item()
        # without the per-sample positions attention crosses samples: the check above must be able to fail
        leaky = {k: v for k, v in batch.items() if k != "position_ids"}
        leaky_loss = model(**leaky).loss.item()
    assert batch["input_ids"].shape[0] < len(samples)
    assert abs(packed_loss - unpacked_loss) < 1e-5
    assert abs(leaky_loss - unpacked_loss) > 1e-3
    assert packed.tokens_seen == padded.tokens_seen and packed.samples_seen == padded.samples_seen == len(samples)
