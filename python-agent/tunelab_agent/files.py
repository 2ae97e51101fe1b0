"""Files that are either whole or absent, and their hashes.

A write goes to a temporary name in the same folder, is flushed to disk, and is renamed over the
target, so a reader (or a process killed mid-write) sees the old file or the new one, never half.
"""

import hashlib
import json
import os
import tempfile


def write_atomically(path: str, write) -> None:
    """`write(f)` fills a binary file object; `path` appears only once it is complete."""
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def write_json_atomically(path: str, data) -> None:
    write_atomically(path, lambda f: f.write(json.dumps(data, indent=1).encode()))


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
