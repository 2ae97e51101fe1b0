"""Resolving user-supplied paths so that nothing outside the served folders is touched."""

import os
import re

HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


class PathError(ValueError):
    pass


def is_inside(real_path: str, folder: str) -> bool:
    folder = os.path.realpath(folder)
    return real_path == folder or real_path.startswith(folder.rstrip(os.sep) + os.sep)


def resolve_inside(path: str, base_dir: str, allowed: list[str]) -> str:
    """Absolute real path of `path` (relative to base_dir); PathError unless it lies in one of `allowed`.

    realpath follows symlinks, so a link that points out of the allowed folders is refused too.
    """
    joined = path if os.path.isabs(path) else os.path.join(base_dir, path)
    real = os.path.realpath(joined)
    if not any(is_inside(real, folder) for folder in allowed):
        raise PathError(f"{path}: outside the folders this agent serves ({', '.join(allowed)})")
    return real


def looks_like_hub_id(model: str, base_dir: str) -> bool:
    """A Hugging Face id such as org/name, unless a folder of that name exists next to the config."""
    if not HUB_ID.match(model):
        return False
    return not os.path.exists(os.path.join(base_dir, model))
