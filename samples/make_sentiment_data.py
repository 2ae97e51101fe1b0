#!/usr/bin/env python3
"""Writes the demo task: short templated reviews labelled positive or negative (Alpaca JSONL).

Deterministic (fixed seed), so running it again reproduces the committed files:
    python3 samples/make_sentiment_data.py
heldout.jsonl holds reviews whose exact text never appears in train.jsonl or eval.jsonl; it is
what the demo asks each checkpoint, scoring exact match against `output`.
"""

import json
import os
import random

SEED = 1234
INSTRUCTION = "Classify the sentiment of this review as positive or negative."

THINGS = ["food", "service", "room", "movie", "book", "phone", "coffee", "hotel", "staff", "music",
          "screen", "battery", "pizza", "ending", "plot", "bed", "price", "camera", "soup", "game"]
POSITIVE = ["great", "wonderful", "excellent", "amazing", "delightful", "superb", "lovely", "fantastic",
            "brilliant", "charming", "perfect", "pleasant", "impressive", "fresh", "friendly", "cozy"]
NEGATIVE = ["awful", "terrible", "horrible", "boring", "dreadful", "poor", "disappointing", "bland",
            "broken", "rude", "dirty", "noisy", "stale", "annoying", "slow", "cheap"]
POSITIVE_ENDINGS = ["I would come back.", "Highly recommended.", "I loved it.", "Worth every penny.", "Five stars."]
NEGATIVE_ENDINGS = ["Never again.", "Avoid it.", "I want a refund.", "What a waste.", "One star."]
TEMPLATES = [
    "The {thing} was {adj}. {ending}",
    "Honestly, the {thing} was {adj}.",
    "What a {adj} {thing}! {ending}",
    "I found the {thing} {adj} and the {thing2} {adj2}.",
    "The {thing} felt {adj}, and the {thing2} was {adj2}. {ending}",
]


def review(rng: random.Random, label: str) -> str:
    words = POSITIVE if label == "positive" else NEGATIVE
    endings = POSITIVE_ENDINGS if label == "positive" else NEGATIVE_ENDINGS
    thing, thing2 = rng.sample(THINGS, 2)
    adj, adj2 = rng.sample(words, 2)
    return rng.choice(TEMPLATES).format(thing=thing, thing2=thing2, adj=adj, adj2=adj2, ending=rng.choice(endings))


def rows(rng: random.Random, count: int, seen: set[str]) -> list[dict]:
    out = []
    while len(out) < count:
        label = rng.choice(["positive", "negative"])
        text = review(rng, label)
        if text in seen:
            continue
        seen.add(text)
        out.append({"instruction": INSTRUCTION, "input": text, "output": label})
    return out


def write(path: str, items: list[dict]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sentiment")
    os.makedirs(folder, exist_ok=True)
    write(os.path.join(folder, "train.jsonl"), rows(rng, 600, seen))
    write(os.path.join(folder, "eval.jsonl"), rows(rng, 40, seen))
    write(os.path.join(folder, "heldout.jsonl"), rows(rng, 50, seen))


if __name__ == "__main__":
    main()
