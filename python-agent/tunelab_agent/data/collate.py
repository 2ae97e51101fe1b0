"""Collators: the Trainer's batches, padded (one sample a row) or packed (see packing.py).

Both count real tokens and samples on the CPU, so throughput is known without a device sync.
"""

import torch

from .templating import IGNORE


class PaddingCollator:
    """Pads a batch to its longest row; counts real tokens and samples on the CPU (no device sync)."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id
        self.tokens_seen = 0
        self.samples_seen = 0

    def __call__(self, batch: list[dict]) -> dict:
        width = max(len(item["input_ids"]) for item in batch)
        ids, labels, mask = [], [], []
        for item in batch:
            pad = width - len(item["input_ids"])
            ids.append(item["input_ids"] + [self.pad_id] * pad)
            labels.append(item["labels"] + [IGNORE] * pad)
            mask.append([1] * len(item["input_ids"]) + [0] * pad)
            self.tokens_seen += len(item["input_ids"])
        self.samples_seen += len(batch)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


class PackingCollator:
    """Stacks packed rows; counts real tokens and samples on the CPU so throughput needs no device sync.

    The Trainer has one collator for training and evaluation; eval items are usually left unpacked, so
    a batch without position_ids goes to `padding` (a PaddingCollator), whose counts stay separate.
    """

    def __init__(self, pad_id: int, padding=None):
        self.pad_id = pad_id
        self.padding = padding
        self.tokens_seen = 0
        self.samples_seen = 0

    def __call__(self, batch: list[dict]) -> dict:
        if "position_ids" not in batch[0]:
            if self.padding is None:
                self.padding = PaddingCollator(self.pad_id)
            return self.padding(batch)
        width = max(len(row["input_ids"]) for row in batch)
        ids, labels, positions = [], [], []
        for row in batch:
            pad = width - len(row["input_ids"])
            ids.append(row["input_ids"] + [self.pad_id] * pad)
            labels.append(row["labels"] + [IGNORE] * pad)
            positions.append(row["position_ids"] + list(range(pad)))
            self.tokens_seen += len(row["input_ids"])
            self.samples_seen += row["position_ids"].count(0)
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels),
                "position_ids": torch.tensor(positions), "use_cache": False}
