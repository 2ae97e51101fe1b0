import os

from tunelab_agent.checkpoints import list_checkpoints, verify, write_checkpoint


def save_two_files(folder):
    with open(os.path.join(folder, "adapter_model.safetensors"), "wb") as f:
        f.write(b"\x00weights" * 100)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        f.write("{}")


def test_checkpoint_has_a_manifest_with_matching_hashes(tmp_path):
    record = write_checkpoint(str(tmp_path), 20, save_two_files)
    assert record["name"] == "checkpoint-20"
    assert sorted(f["name"] for f in record["files"]) == ["adapter_config.json", "adapter_model.safetensors"]
    assert verify(record) == []
    assert list_checkpoints(str(tmp_path)) == [record]
    assert not [n for n in os.listdir(tmp_path / "checkpoints") if n.startswith(".tmp")]

    with open(os.path.join(record["path"], "adapter_config.json"), "w") as f:
        f.write('{"changed": 1}')
    assert verify(record) == ["adapter_config.json"]


def test_incomplete_checkpoints_are_never_listed(tmp_path):
    write_checkpoint(str(tmp_path), 10, save_two_files)
    (tmp_path / "checkpoints" / ".tmp-checkpoint-20").mkdir()      # killed while writing
    (tmp_path / "checkpoints" / "checkpoint-30").mkdir()           # no manifest
    assert [c["name"] for c in list_checkpoints(str(tmp_path))] == ["checkpoint-10"]


def test_a_failing_save_leaves_nothing_listed(tmp_path):
    def crash(folder):
        save_two_files(folder)
        raise OSError("disk full")

    try:
        write_checkpoint(str(tmp_path), 5, crash)
    except OSError:
        pass
    assert list_checkpoints(str(tmp_path)) == []
