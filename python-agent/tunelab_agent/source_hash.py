"""Which agent code this process runs: a content hash of the package's .py and .json files.

The extension computes the same hash over the sources it ships (src/core/remote/agentSource.ts) and over
what an interpreter would import (its INSTALLED_AGENT_PROBE), and reuses a running server only when the
hashes agree. The server records it in agent.json with the interpreter and package folder it runs from.
"""

import hashlib
import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def package_files(top: str = PACKAGE_DIR) -> list[str]:
    files = []
    for folder, subdirs, names in os.walk(top):
        subdirs[:] = [s for s in subdirs if s != "__pycache__" and not s.startswith(".")]
        files += [os.path.relpath(os.path.join(folder, n), top).replace(os.sep, "/") for n in names
                  if not n.startswith(".") and n.endswith((".py", ".json"))]
    return sorted(files)


def package_hash(top: str = PACKAGE_DIR) -> str:
    """sha256 over "<relative path>\\0<sha256 of the file>\\n" for each file, in sorted order."""
    whole = hashlib.sha256()
    for rel in package_files(top):
        with open(os.path.join(top, rel), "rb") as f:
            whole.update(f"{rel}\0{hashlib.sha256(f.read()).hexdigest()}\n".encode())
    return whole.hexdigest()


def identity() -> dict:
    """What agent.json says about the code a server runs."""
    return {"source_hash": package_hash(), "python": sys.executable, "package_dir": PACKAGE_DIR}
