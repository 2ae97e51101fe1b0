"""Command line: `tunelab-agent serve | make-tiny-model | run | supervise | zygote`."""

import argparse
import asyncio
import os
import sys

from . import logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tunelab-agent", description="Tunelab's training agent.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve runs, events and checkpoints over a WebSocket on 127.0.0.1")
    serve.add_argument("--root", default=os.path.expanduser("~/.tunelab"), help="where runs are kept (default ~/.tunelab)")
    serve.add_argument("--data-dir", action="append", default=[], help="another folder configs and data may come from (repeatable)")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")

    tiny = commands.add_parser("make-tiny-model", help="build a tiny random Llama + tokenizer locally, for tests and demos")
    tiny.add_argument("dir")
    tiny.add_argument("--corpus", help="text or Alpaca JSONL file to train the tokenizer's BPE merges on")
    tiny.add_argument("--hidden", type=int, default=64)
    tiny.add_argument("--layers", type=int, default=2)
    tiny.add_argument("--vocab-size", type=int, default=1000)
    tiny.add_argument("--seed", type=int, default=0)

    run = commands.add_parser("run", help="(internal) the training process of one run")
    run.add_argument("run_dir")
    run.add_argument("--root", required=True)

    supervise = commands.add_parser("supervise", help="(internal) run a training process and record how it ends")
    supervise.add_argument("run_dir")
    supervise.add_argument("--root", required=True)
    supervise.add_argument("--pid", type=int, help="wait for this child instead of starting a command")
    supervise.add_argument("training_command", nargs=argparse.REMAINDER, help="-- then the training command")

    zygote = commands.add_parser("zygote", help="(internal) the prewarmed launcher of training processes")
    zygote.add_argument("--socket", required=True, help="the Unix socket it listens on")
    zygote.add_argument("--idle-s", type=float, default=1200, help="exit after this long without a launch")

    args = parser.parse_args(argv)
    if args.command == "supervise":
        from .serving.supervise import main as supervise_run

        command = args.training_command[1:] if args.training_command[:1] == ["--"] else args.training_command
        if not command and args.pid is None:
            parser.error("supervise: give the training command after --, or --pid")
        return supervise_run(os.path.abspath(args.run_dir), os.path.realpath(args.root), command, args.pid)
    if args.command == "zygote":
        from .serving.zygote import main as zygote_main

        return zygote_main(args.socket, args.idle_s)
    logs.configure()

    if args.command == "serve":
        from .serving.server import serve_forever

        os.makedirs(args.root, exist_ok=True)
        for folder in args.data_dir:
            if not os.path.isdir(folder):
                parser.error(f"--data-dir {folder}: not a folder")
        asyncio.run(serve_forever(args.root, args.data_dir, args.port))
        return 0
    if args.command == "make-tiny-model":
        from .models.tiny_model import make_tiny_model

        if args.corpus and not os.path.isfile(args.corpus):
            parser.error(f"--corpus {args.corpus}: file not found")
        make_tiny_model(args.dir, args.corpus, hidden=args.hidden, layers=args.layers,
                        vocab_size=args.vocab_size, seed=args.seed)
        print(os.path.abspath(args.dir))
        return 0
    from .training.recipe import run as run_training

    return run_training(args.run_dir, os.path.realpath(args.root))


if __name__ == "__main__":
    sys.exit(main())
