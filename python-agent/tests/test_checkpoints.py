import os

from tunelab_agent.rundir.checkpoints import list_checkpoints, prune, verify, write_checkpoint


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
    assert list_checkpoints(str(tmp_path)) == [{**record, "eval_loss": None, "is_best": False}]
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


def test_the_best_checkpoint_follows_the_metric_and_survives_pruning(tmp_path):
    losses = {10: 0.9, 20: 0.4, 30: 0.6, 40: 0.7, 50: 0.8}
    for step, loss in losses.items():
        write_checkpoint(str(tmp_path), step, save_two_files,
                         {"eval_loss": loss, "metric": {"name": "eval_loss", "value": loss, "mode": "min"}})
    listed = list_checkpoints(str(tmp_path))
    assert [c["eval_loss"] for c in listed] == list(losses.values())
    assert [c["name"] for c in listed if c["is_best"]] == ["checkpoint-20"]

    assert prune(str(tmp_path), keep_last=2) == ["checkpoint-10", "checkpoint-30"]
    assert [c["name"] for c in list_checkpoints(str(tmp_path))] == ["checkpoint-20", "checkpoint-40", "checkpoint-50"]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["checkpoint-20", "checkpoint-40", "checkpoint-50"]


def test_a_metric_to_maximise_picks_the_highest(tmp_path):
    for step, f1 in {10: 0.5, 20: 0.9, 30: 0.7}.items():
        write_checkpoint(str(tmp_path), step, save_two_files, {"metric": {"name": "eval_f1", "value": f1, "mode": "max"}})
    assert [c["name"] for c in list_checkpoints(str(tmp_path)) if c["is_best"]] == ["checkpoint-20"]


def test_a_checkpoint_gets_only_the_eval_of_its_own_step():
    """A save at a stop or Save now, between evals, must not show the last eval (of other weights) as its loss."""
    from tunelab_agent.training.recipe import eval_of_step

    history = [{"step": 10, "loss": 2.0}, {"step": 10, "eval_loss": 1.5, "eval_accuracy": 0.7},
               {"step": 12, "loss": 1.9}]
    stopping = {"metric": "accuracy", "mode": "max"}
    assert eval_of_step(history, 10, stopping) == {
        "eval_loss": 1.5, "metric": {"name": "eval_accuracy", "value": 0.7, "mode": "max"}}
    assert eval_of_step(history, 13, stopping) == {}
    assert eval_of_step(history, 9, stopping) == {}
