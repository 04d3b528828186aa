"""Checkpoints on shared storage: complete steps only, the state file last, pruning, a
download that lands whole, one-line errors for storage that is not there, and the loop's
resume that looks there (or fails, naming where it looked)."""

import json
from pathlib import Path

import pytest

from zeroplay.config import load_config
from zeroplay.errors import ConfigError
from zeroplay.launch.learners import Learners
from zeroplay.launch.rundir import RunDir
from zeroplay.learner.checkpoint import STATE_FILE
from zeroplay.learner.storage import CheckpointStorage


def _checkpoint(root: Path, step: int) -> Path:
    path = root / f"step-{step}"
    (path / "sub").mkdir(parents=True)
    (path / "model.safetensors").write_bytes(bytes([step]) * 1000)
    (path / "sub" / "note.txt").write_text(f"step {step}")
    (path / STATE_FILE).write_text(json.dumps({"loop": {"step": step}, "policy_version": step}))
    return path


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_upload_prune_and_download(tmp_path, scheme):
    shared = tmp_path / "shared"
    shared.mkdir()
    storage = CheckpointStorage.open(f"{scheme}{shared}", "demo")
    assert storage.steps() == []
    for step in (2, 4, 6):
        storage.upload(_checkpoint(tmp_path / "learner", step), keep=2)
    assert storage.steps() == [4, 6]
    assert storage.read_state(6)["loop"] == {"step": 6}
    assert (shared / "demo" / "checkpoints" / "step-6" / "sub" / "note.txt").read_text() == \
        "step 6"
    # A copy cut short before its state file is not a checkpoint.
    (shared / "demo" / "checkpoints" / "step-8").mkdir()
    (shared / "demo" / "checkpoints" / "step-8" / "model.safetensors").write_bytes(b"x")
    assert storage.steps() == [4, 6]
    local = tmp_path / "driver" / "checkpoints"
    got = storage.download(6, local)
    assert got == local / "step-6"
    assert (got / "model.safetensors").read_bytes() == bytes([6]) * 1000
    assert json.loads((got / STATE_FILE).read_text())["policy_version"] == 6
    assert [p.name for p in local.iterdir()] == ["step-6"]  # no temporary left


def test_storage_that_is_not_there_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="no such directory") as error:
        CheckpointStorage.open(str(tmp_path / "missing"), "demo")
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="relative path"):
        load_config(None, ["run.storage=shared/zeroplay"])


def _run(tmp_path, *overrides) -> RunDir:
    cfg = load_config(None, [f"run.runs_dir={tmp_path / 'runs'}", "run.name=demo", *overrides])
    return RunDir.create(cfg)


def test_resume_finds_the_newest_checkpoint_in_storage(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    run = _run(tmp_path, f"run.storage={shared}")
    storage = CheckpointStorage.open(str(shared), "demo")
    for step in (3, 5):  # written by a learner on another node
        storage.upload(_checkpoint(tmp_path / "learner-node" / "checkpoints", step), keep=3)
    step, state = Learners(run).newest_checkpoint()
    assert (step, state["loop"]) == (5, {"step": 5})
    assert not run.checkpoints_dir.exists()  # the driver only read the state file
    shared.rename(tmp_path / "unmounted")
    with pytest.raises(ConfigError, match="no such directory"):
        Learners(run).newest_checkpoint()


def test_a_resume_whose_checkpoints_are_elsewhere_fails_naming_where_it_looked(tmp_path):
    run = _run(tmp_path)
    assert Learners(run).newest_checkpoint() is None  # none written yet: start over
    run.checkpoint_log_path.write_text(json.dumps(
        {"step": 10, "path": "/node-7/runs/demo/checkpoints/step-10", "storage": None}) + "\n")
    with pytest.raises(ConfigError) as error:
        Learners(run).newest_checkpoint()
    message = str(error.value)
    assert "step-10" in message and str(run.checkpoints_dir) in message
    assert "run.storage" in message and "\n" not in message


def test_the_kl_reference_goes_to_storage_and_comes_back(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    run = _run(tmp_path, f"run.storage={shared}", "learner.beta=0.04")
    storage = CheckpointStorage.open(str(shared), "demo")
    elsewhere = tmp_path / "node-b" / "reference"
    assert not storage.download_reference(elsewhere)
    assert not Learners(run).reference_in_storage()
    saved = tmp_path / "node-a" / "reference"
    saved.mkdir(parents=True)
    (saved / "model.safetensors").write_bytes(b"w" * 100)
    (saved / "config.json").write_text("{}")
    storage.upload_reference(saved)
    assert Learners(run).reference_in_storage()  # the driver's resume check passes
    assert storage.download_reference(elsewhere)
    assert (elsewhere / "model.safetensors").read_bytes() == b"w" * 100
