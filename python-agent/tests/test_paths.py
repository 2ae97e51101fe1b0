import os

import pytest

from tunelab_agent.paths import PathError, looks_like_hub_id, resolve_inside


def test_paths_inside_are_resolved(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.jsonl").write_text("")
    assert resolve_inside("data/a.jsonl", str(tmp_path), [str(tmp_path)]) == str((tmp_path / "data" / "a.jsonl").resolve())


def test_dot_dot_escape_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(PathError, match="outside the folders"):
        resolve_inside("../secret", str(tmp_path / "root"), [str(tmp_path / "root")])
    with pytest.raises(PathError):
        resolve_inside("/etc/passwd", str(tmp_path / "root"), [str(tmp_path / "root")])


def test_symlink_pointing_out_is_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "x.jsonl").write_text("")
    os.symlink(outside, root / "link")
    with pytest.raises(PathError):
        resolve_inside("link/x.jsonl", str(root), [str(root)])
    # A prefix that only looks like the root is not inside it either.
    (tmp_path / "root2").mkdir()
    with pytest.raises(PathError):
        resolve_inside(str(tmp_path / "root2"), str(root), [str(root)])


def test_hub_ids_are_told_apart_from_local_folders(tmp_path):
    assert looks_like_hub_id("Qwen/Qwen2.5-0.5B", str(tmp_path))
    assert not looks_like_hub_id("model", str(tmp_path))
    (tmp_path / "org" / "name").mkdir(parents=True)
    assert not looks_like_hub_id("org/name", str(tmp_path))
