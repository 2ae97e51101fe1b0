"""Benchmark: inspect_dataset over a big JSONL file, against the least any reader of that file must pay.

One process, one file made here: OpenAI-style chats of one to three exchanges with long-tailed
(lognormal) turn lengths, about 1 KB a row, as in real SFT data. Two ratios, each baseline time divided
by the inspection's time (1.0x = as fast as the baseline; the goals are >= 0.8x and >= 0.9x):

- without a tokenizer: inspect_dataset (format checks, approximate lengths, roles, labels, duplicates,
  conflicts) against a bare Python loop of json.loads per line over the same file;
- with the model's tokenizer: inspect_dataset (which renders every row through the chat template and
  tokenises it exactly as the trainer does) against the tokenizer's own batched encode of the same
  rendered texts (the texts are rendered beforehand, untimed).

No cache: each inspection reads the file from scratch. The tokenizer is the tiny model's byte-level BPE
(models/tiny_model.py), trained on the file's own words.

inspect_dataset runs in one process. By default it uses worker threads: one hashes the file (the cache
key) while the rows are read, and with a tokenizer another makes the tokenizer calls while the next rows
go through the chat template. The ratios are for that default; each is followed by the same measurement
with threads=False (everything on one thread), for reference.

Usage: python-agent/.venv/bin/python test/bench/inspect_bench.py [--mb 200] [--keep FILE]
"""

import argparse
import json
import math
import os
import random
import tempfile
import time

from tunelab_agent.data.inspection import inspect_dataset
from tunelab_agent.data.templating import chat_template
from tunelab_agent.models.tiny_model import build_tokenizer

WORDS = ("the food was good and the service slow but we would come back for the bread next time "
         "although parking near the place is hard on weekends and the music was loud").split()


def make_file(path: str, megabytes: float, seed: int = 0) -> int:
    """Writes chats until the file holds `megabytes`; returns the row count."""
    rng = random.Random(seed)
    say = lambda n: " ".join(rng.choice(WORDS) for _ in range(max(1, n)))  # noqa: E731
    target, written, count = megabytes * 2**20, 0, 0
    with open(path, "w") as f:
        while written < target:
            messages = [{"role": "system", "content": "You are a helpful assistant."}] if rng.random() < 0.3 else []
            for _ in range(rng.choice([1, 1, 2, 3])):
                messages += [{"role": "user", "content": say(int(rng.lognormvariate(math.log(30), 0.8)))},
                             {"role": "assistant", "content": say(int(rng.lognormvariate(math.log(60), 1.0)))}]
            line = json.dumps({"messages": messages}) + "\n"
            f.write(line)
            written += len(line)
            count += 1
    return count


def bare_json(path: str) -> float:
    began = time.perf_counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            json.loads(line)
    return time.perf_counter() - began


def rendered_texts(path: str, tokenizer) -> list[str]:
    template = chat_template(tokenizer)
    with open(path, encoding="utf-8") as f:
        return [tokenizer.apply_chat_template(json.loads(line)["messages"], tokenize=False, chat_template=template)
                for line in f]


def batched_encode(tokenizer, texts: list[str]) -> float:
    began = time.perf_counter()
    tokenizer(texts, add_special_tokens=False)
    return time.perf_counter() - began


def timed_inspection(path: str, tokenizer=None, threads: bool = True) -> tuple[float, dict]:
    began = time.perf_counter()
    result = inspect_dataset(path, tokenizer=tokenizer, max_length=2048, threads=threads)
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20, help="size of the JSONL file the bench makes (MB)")
    parser.add_argument("--keep", help="write the file here and keep it (default: a temp file, removed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or os.path.join(tmp, "chats.jsonl")
        rows = make_file(path, args.mb)
        size = os.path.getsize(path) / 2**20
        print(f"file: {size:.0f} MB, {rows} chats ({size * 2**20 / rows:.0f} bytes a row)")
        corpus = os.path.join(tmp, "corpus.txt")
        with open(corpus, "w") as f:
            f.write("\n".join(" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))))
        tokenizer = build_tokenizer(corpus, 1000)

        bare = bare_json(path)
        plain, result = timed_inspection(path)
        print(f"json.loads per line: {bare:.2f} s; inspect_dataset without a tokenizer: {plain:.2f} s "
              f"({result['rows']} rows, {result['bad_rows']} bad, median ~{result['tokens']['median']:.0f} tokens; "
              "1 process, 2 threads: the file hash alongside)")
        print(f"inspect_dataset without tokenizer / bare json.loads loop: ratio {bare / plain:.2f}x (goal >= 0.8x)")
        alone, _ = timed_inspection(path, threads=False)
        print(f"  for reference, on one thread (threads=False): {alone:.2f} s, {bare / alone:.2f}x")

        texts = rendered_texts(path, tokenizer)
        encode = batched_encode(tokenizer, texts)
        del texts
        with_tokenizer, result = timed_inspection(path, tokenizer)
        tokens = result["tokens"]
        print(f"batched encode of the rendered texts: {encode:.2f} s; inspect_dataset with the tokenizer: "
              f"{with_tokenizer:.2f} s (median {tokens['median']:.0f} tokens, p95 {tokens['p95']:.0f}; "
              "1 process, 3 threads: the file hash and the tokenizer calls alongside)")
        print(f"inspect_dataset with tokenizer / tokenizer batched encode: ratio {encode / with_tokenizer:.2f}x "
              "(goal >= 0.9x)")
        alone, _ = timed_inspection(path, tokenizer, threads=False)
        print(f"  for reference, on one thread (threads=False): {alone:.2f} s, {encode / alone:.2f}x")


if __name__ == "__main__":
    main()
