"""A run's files snapshotted with its checkpoints, and what a resume repairs with them: a
torn metrics line, a store with 8 KB overwritten, a run directory restored from storage
alone. Every command answers a damaged store with one line."""

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from zeroplay.config import load_config
from zeroplay.curricula.store import CurriculumStore, integrity_problems
from zeroplay.jsonl import append_jsonl, read_jsonl
from zeroplay.launch.cli import app
from zeroplay.launch.rundir import RunDir
from zeroplay.launch.snapshots import (
    repair_for_resume,
    restore_from_storage,
    take_snapshot,
    whole_snapshots,
)

from ..curricula.conftest import make_task

runner = CliRunner()


def _run(tmp_path, *overrides) -> RunDir:
    cfg = load_config(None, [f"run.runs_dir={tmp_path / 'runs'}", "run.name=demo",
                             "learner.keep_checkpoints=2", *overrides])
    return RunDir.create(cfg)


def _play(run: RunDir, store: CurriculumStore, steps: range) -> None:
    """Steps as a run records them: tasks in the store, then a metrics row."""
    for step in steps:
        with store.transaction(step=step):
            for i in range(150):
                store.add_task(make_task(step * 1000 + i, step=step))
        append_jsonl(run.metrics_path, {"step": step, "curriculum_tasks": store.count()})


def _damage(path) -> None:
    """8 KB of garbage in the middle of the file, as a bad disk or a stray write leaves."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 8192] = b"\xde\xad" * 4096
    path.write_bytes(bytes(data))


@pytest.fixture
def played(tmp_path):
    """Steps 1-3 recorded, snapshots with the checkpoints of steps 1 and 2."""
    run = _run(tmp_path)
    with CurriculumStore.open(run.curriculum_path, create=True) as store:
        for step in (1, 2):
            _play(run, store, range(step, step + 1))
            take_snapshot(run, store, step)
        _play(run, store, range(3, 4))
    return run


def test_a_snapshot_holds_the_store_and_the_run_files_as_of_its_step(played):
    snapshot = played.path / "snapshots" / "step-2"
    with CurriculumStore.open(snapshot / "curriculum.sqlite", readonly=True) as copy:
        assert copy.count() == 300 and copy.steps()[-1][0] == 2
    assert [r["step"] for r in read_jsonl(snapshot / "metrics.jsonl")] == [1, 2]
    assert (snapshot / "config.yaml").read_text() == played.config_path.read_text()
    assert json.loads((snapshot / "snapshot.json").read_text())["step"] == 2
    assert [step for step, found in whole_snapshots(played) if not found] == [2, 1]


def test_only_the_newest_snapshots_are_kept(played):
    with CurriculumStore.open(played.curriculum_path) as store:
        take_snapshot(played, store, 3)
    assert sorted(p.name for p in (played.path / "snapshots").iterdir()) == ["step-2", "step-3"]


def test_resume_cuts_a_torn_line_and_restores_a_damaged_store(played):
    with open(played.metrics_path, "a") as metrics:
        metrics.write('{"step": 4, "rew')  # a crash while step 4's row was written
    _damage(played.curriculum_path)
    assert integrity_problems(played.curriculum_path)
    notes = repair_for_resume(played)
    assert "cut a torn last line" in notes[0]
    assert "restored" in notes[1] and "the tasks of 1 step(s) after it were lost" in notes[1]
    assert not integrity_problems(played.curriculum_path)
    with CurriculumStore.open(played.curriculum_path, readonly=True) as store:
        assert store.count() == 300 and store.steps()[-1][0] == 2
    assert [r["step"] for r in read_jsonl(played.metrics_path)] == [1, 2, 3]  # kept
    kept = [p for p in played.path.iterdir()
            if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and integrity_problems(kept[0])  # never deleted
    assert repair_for_resume(played) == []  # nothing left to repair


def test_a_damaged_store_without_a_whole_snapshot_is_an_error_that_keeps_it(played):
    for snapshot in (played.path / "snapshots").iterdir():
        _damage(snapshot / "curriculum.sqlite")
    _damage(played.curriculum_path)
    with pytest.raises(Exception, match="no whole snapshot of it is left"):
        repair_for_resume(played)
    assert played.curriculum_path.is_file()


def test_a_run_is_restored_from_storage_alone(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    run = _run(tmp_path, f"run.storage={shared}")
    with CurriculumStore.open(run.curriculum_path, create=True) as store:
        _play(run, store, range(1, 3))
        take_snapshot(run, store, 2)
    elsewhere = tmp_path / "node-b" / "runs" / "demo"
    restored = restore_from_storage(str(shared), elsewhere)
    assert restored.config == run.config
    with CurriculumStore.open(restored.curriculum_path, readonly=True) as store:
        assert store.count() == 300
    assert [r["step"] for r in read_jsonl(restored.metrics_path)] == [1, 2]
    with pytest.raises(Exception, match="exists already"):
        restore_from_storage(str(shared), elsewhere)
    with pytest.raises(Exception, match="no complete snapshot"):
        restore_from_storage(str(shared), tmp_path / "other")


def test_commands_answer_a_damaged_store_with_one_line(played):
    _damage(played.curriculum_path)
    checked = runner.invoke(app, ["curriculum", "check", str(played.path)])
    assert checked.exit_code == 1 and "DAMAGED" in checked.output
    assert "snapshot step-2: whole" in checked.output
    for command in (["curriculum", "stats", str(played.path)],
                    ["curriculum", "list", str(played.path)],
                    ["report", str(played.path)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output and "curriculum check" in result.output


def test_a_file_that_is_not_sqlite_is_one_problem(tmp_path):
    path = tmp_path / "curriculum.sqlite"
    path.write_bytes(b"not a database" * 100)
    assert integrity_problems(path)
    with sqlite3.connect(tmp_path / "fine.sqlite") as conn:
        conn.execute("CREATE TABLE t (x)")
    assert integrity_problems(tmp_path / "fine.sqlite") == []
