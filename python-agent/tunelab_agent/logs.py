"""How agent processes log: one format for the server, training processes and tools, on stderr."""

import logging
import sys


def configure() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
