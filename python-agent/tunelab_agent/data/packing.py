"""Sequence packing: several short samples share one row, and attention stays inside each sample.

Padding a batch of variable-length chats to its longest member spends most of the compute on pad
tokens. Packing concatenates samples into rows of up to `max_length` tokens instead. Correctness rests
on three details:

- position ids restart at 0 for every sample, and the batch carries NO attention_mask: transformers 5
  then finds the sample boundaries from the position ids (masking_utils.find_packed_sequence_indices)
  and builds a block-diagonal causal mask, so no token attends to another sample; flash-attention
  derives its varlen boundaries from the same position ids;
- the first label of every sample is IGNORE: the model shifts labels by one inside the row, so that
  label would otherwise be predicted from the previous sample's last token;
- `use_cache=False` goes with the batch: with a cache object present transformers skips the packed-mask
  detection (it is only meant for training without a cache).

Row padding uses the pad id, labels IGNORE and position ids that restart at 0, so the padding is a
"sample" of its own that no real token can see.
"""

import bisect

from .templating import IGNORE


def pack(items: list[dict], max_length: int) -> list[dict]:
    """Best-fit decreasing: each sample goes into the fullest row that still has room for it.

    Returns rows {"input_ids", "labels", "position_ids"}; the order of samples inside rows is
    deterministic (the Trainer shuffles rows between epochs).
    """
    order = sorted(range(len(items)), key=lambda i: len(items[i]["input_ids"]), reverse=True)
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # sorted (room left, bin index): bisect finds the tightest fit
    for i in order:
        size = len(items[i]["input_ids"])
        if size > max_length:
            raise ValueError(f"a sample of {size} tokens does not fit a packed row of {max_length}")
        at = bisect.bisect_left(free, (size, -1))
        if at < len(free):
            room, b = free.pop(at)
        else:
            room, b = max_length, len(bins)
            bins.append([])
        bins[b].append(i)
        if room - size > 0:
            bisect.insort(free, (room - size, b))
    return [_join([items[i] for i in members]) for members in bins]


def _join(samples: list[dict]) -> dict:
    ids, labels, positions = [], [], []
    for sample in samples:
        n = len(sample["input_ids"])
        ids += sample["input_ids"]
        labels += [IGNORE] + list(sample["labels"][1:])
        positions += range(n)
    return {"input_ids": ids, "labels": labels, "position_ids": positions}
