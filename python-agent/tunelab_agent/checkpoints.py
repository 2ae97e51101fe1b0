"""Checkpoints that are either complete or invisible.

The adapter is written to checkpoints/.tmp-checkpoint-<step>, a manifest with each file's size and
sha256 goes in last, and only then is the folder renamed to checkpoint-<step>. Listing ignores any
folder without a manifest, so a run killed mid-save never shows a broken checkpoint.
"""

import hashlib
import json
import os
import shutil

MANIFEST = "manifest.json"


def checkpoints_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints")


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checkpoint(run_dir: str, step: int, save_files) -> dict:
    """`save_files(folder)` writes the checkpoint's files; returns the checkpoint record."""
    name = f"checkpoint-{step}"
    parent = checkpoints_dir(run_dir)
    tmp = os.path.join(parent, f".tmp-{name}")
    final = os.path.join(parent, name)
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    save_files(tmp)
    files = [{"name": rel, "size": os.path.getsize(os.path.join(tmp, rel)), "sha256": sha256_of(os.path.join(tmp, rel))}
             for rel in _relative_files(tmp)]
    manifest = {"step": step, "files": files}
    with open(os.path.join(tmp, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)
    return {"name": name, "step": step, "path": final, "files": files}


def _relative_files(folder: str) -> list[str]:
    out = []
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, filename), folder))
    return sorted(out)


def list_checkpoints(run_dir: str) -> list[dict]:
    """Complete checkpoints (those with a manifest), by step."""
    parent = checkpoints_dir(run_dir)
    found = []
    for name in os.listdir(parent) if os.path.isdir(parent) else []:
        path = os.path.join(parent, name)
        if name.startswith(".") or not os.path.isfile(os.path.join(path, MANIFEST)):
            continue
        with open(os.path.join(path, MANIFEST)) as f:
            manifest = json.load(f)
        found.append({"name": name, "step": manifest["step"], "path": path, "files": manifest["files"]})
    return sorted(found, key=lambda c: c["step"])


def verify(checkpoint: dict) -> list[str]:
    """Names of the files whose size or sha256 no longer matches the manifest."""
    bad = []
    for entry in checkpoint["files"]:
        path = os.path.join(checkpoint["path"], entry["name"])
        if not os.path.isfile(path) or os.path.getsize(path) != entry["size"] or sha256_of(path) != entry["sha256"]:
            bad.append(entry["name"])
    return bad
