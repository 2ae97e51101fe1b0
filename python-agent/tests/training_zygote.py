"""Starts real training processes quickly, for tests that kill many of them.

A training process spends most of its first seconds importing torch, transformers and peft. This
script imports them once, then for each run folder it reads on stdin it forks a child that runs the
real training recipe (tunelab_agent.training.recipe.run, what `python -m tunelab_agent run` calls) in a new
session, with its output in the run's train.log, and prints the child's pid. The parent never runs a
torch operation, so the children start with no thread pools to lose in the fork.

Usage: python training_zygote.py ROOT; then write one RUN_DIR per line; "wait PID" reaps a child and
prints its exit status.
"""

import os
import sys

import peft  # noqa: F401  (preloaded for the children)
import torch  # noqa: F401
import transformers  # noqa: F401
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments  # noqa: F401

from tunelab_agent.training import recipe


def main(root: str) -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("wait "):
            _, status = os.waitpid(int(line.split()[1]), 0)
            print(os.waitstatus_to_exitcode(status), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            os.setsid()
            log = os.open(os.path.join(line, "train.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            code = 1
            try:
                code = recipe.run(line, root)
            finally:
                os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
