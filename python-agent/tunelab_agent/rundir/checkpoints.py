"""Checkpoints that are either complete or invisible.

The adapter is written to checkpoints/.tmp-checkpoint-<step>, a manifest with each file's size and
sha256 goes in last, and only then is the folder renamed to checkpoint-<step>. Listing ignores any
folder without a manifest, so a run killed mid-save never shows a broken checkpoint.
"""

import json
import os
import shutil

from .. import diskspace, faults
from ..files import sha256_of

MANIFEST = "manifest.json"


def checkpoints_dir(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints")


def write_checkpoint(run_dir: str, step: int, save_files, info: dict | None = None,
                     expected_bytes: int | None = None) -> dict:
    """`save_files(folder)` writes the checkpoint's files; returns the checkpoint record.

    `info` goes into the manifest beside the file list: eval_loss, the early-stopping metric
    ({name, value, mode}) that decides which checkpoint is best, segment and reason.
    A save that fails removes its temporary folder; on a full disk it raises DiskFullError saying how
    much was free and about how much the checkpoint needs (`expected_bytes`, e.g. the last one's size).
    """
    name = f"checkpoint-{step}"
    parent = checkpoints_dir(run_dir)
    tmp = os.path.join(parent, f".tmp-{name}")
    final = os.path.join(parent, name)
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        faults.fill_disk_at("checkpoint_file")
        save_files(tmp)
        files = [{"name": rel, "size": os.path.getsize(os.path.join(tmp, rel)), "sha256": sha256_of(os.path.join(tmp, rel))}
                 for rel in _relative_files(tmp)]
        manifest = {"step": step, "files": files, **(info or {})}
        faults.fill_disk_at("manifest")
        with open(os.path.join(tmp, MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        shutil.rmtree(final, ignore_errors=True)
        faults.fill_disk_at("rename")
        os.rename(tmp, final)
    except BaseException as exc:
        full = isinstance(exc, Exception) and diskspace.is_disk_full(exc, parent)
        free = diskspace.where_free(parent) if full else ""
        written = _folder_bytes(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            need = max(expected_bytes or 0, written)
            raise diskspace.DiskFullError(
                f"disk full while saving {name}: {free}, the checkpoint needs "
                f"{'about' if expected_bytes else 'at least'} {diskspace.mb_text(need)}") from exc
        raise
    record = {"name": name, "step": step, "path": final, "files": files}
    if info and "eval_loss" in info:
        record["eval_loss"] = info["eval_loss"]
    return record


def checkpoint_bytes(checkpoint: dict) -> int:
    return sum(f["size"] for f in checkpoint["files"])


def remove_temporary(run_dir: str) -> list[str]:
    """Delete the temporary folders of saves that never finished (their writer is gone); returns their names."""
    parent = checkpoints_dir(run_dir)
    removed = []
    for name in os.listdir(parent) if os.path.isdir(parent) else []:
        if name.startswith(".tmp-"):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
            removed.append(name)
    return removed


def _folder_bytes(folder: str) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            try:
                total += os.path.getsize(os.path.join(dirpath, filename))
            except OSError:
                pass
    return total


def _relative_files(folder: str) -> list[str]:
    out = []
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            out.append(os.path.relpath(os.path.join(dirpath, filename), folder))
    return sorted(out)


def list_checkpoints(run_dir: str) -> list[dict]:
    """Complete checkpoints (those with a manifest), by step, each with its eval loss and whether it is the best."""
    found = []
    for name, manifest in _manifests(run_dir):
        found.append({"name": name, "step": manifest["step"], "path": os.path.join(checkpoints_dir(run_dir), name),
                      "files": manifest["files"], "eval_loss": manifest.get("eval_loss"), "is_best": False})
    found.sort(key=lambda c: c["step"])
    best = best_name(dict(_manifests(run_dir)))
    for c in found:
        c["is_best"] = c["name"] == best
    return found


def _manifests(run_dir: str):
    parent = checkpoints_dir(run_dir)
    for name in os.listdir(parent) if os.path.isdir(parent) else []:
        path = os.path.join(parent, name, MANIFEST)
        if name.startswith(".") or not os.path.isfile(path):
            continue
        try:
            with open(path) as f:
                yield name, json.load(f)
        except (OSError, ValueError):
            continue  # being removed right now, or damaged: not a complete checkpoint


def best_name(manifests: dict[str, dict]) -> str | None:
    """The checkpoint with the best early-stopping metric (eval loss when none was recorded); None without any."""
    scored = []
    for name, m in manifests.items():
        metric = m.get("metric") or {"value": m.get("eval_loss"), "mode": "min"}
        if isinstance(metric.get("value"), (int, float)):
            sign = -1 if metric.get("mode") == "max" else 1
            scored.append((sign * metric["value"], m["step"], name))
    return min(scored)[2] if scored else None


def prune(run_dir: str, keep_last: int) -> list[str]:
    """Remove all but the last `keep_last` checkpoints and the best one; returns the names removed.

    The manifest goes first, so a checkpoint being removed is never listed as complete.
    """
    manifests = dict(_manifests(run_dir))
    by_step = sorted(manifests, key=lambda n: manifests[n]["step"])
    keep = set(by_step[-keep_last:]) | {best_name(manifests)}
    removed = []
    for name in by_step:
        if name in keep:
            continue
        folder = os.path.join(checkpoints_dir(run_dir), name)
        os.remove(os.path.join(folder, MANIFEST))
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(name)
    return removed


def verify(checkpoint: dict) -> list[str]:
    """Names of the files whose size or sha256 no longer matches the manifest."""
    bad = []
    for entry in checkpoint["files"]:
        path = os.path.join(checkpoint["path"], entry["name"])
        if not os.path.isfile(path) or os.path.getsize(path) != entry["size"] or sha256_of(path) != entry["sha256"]:
            bad.append(entry["name"])
    return bad
