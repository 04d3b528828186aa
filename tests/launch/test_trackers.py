"""`run.report_to`: each tracker, the real package writing to a temporary directory, gets
the rows' numbers by step and keeps one run across a resume; a missing package or a
tracker that cannot start is a one-line ConfigError; one that fails while logging is
turned off, never the run."""

from __future__ import annotations

import importlib.util
import logging

import pytest

from zeroplay.config import load_config
from zeroplay.errors import ConfigError
from zeroplay.launch import trackers
from zeroplay.launch.trackers import Trackers, check_installed, open_trackers

ROWS = [{"step": s, "time": 1.8e9, "solve_rate": 0.25 * s, "proposing": True,
         "reward": {"solver": {"mean": 0.1 * s, "n": 8}}, "learner": {"kl": None},
         "heldout_pass@1": {"heldout-seen": 0.5}} for s in (1, 2)]


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)


def _log_twice(name, run_dir):
    """Two processes' worth of the same run: a start, then a resume at step 2."""
    for rows in (ROWS[:1], ROWS[1:]):
        with open_trackers([name], run_dir, {"run": {"steps": 2}}) as opened:
            for row in rows:
                opened.log(row["step"], row)
            assert list(opened.opened) == [name]


def test_report_to_takes_transformers_names():
    assert load_config(None, ["run.report_to=none"]).run.report_to == []
    assert load_config(None, ["run.report_to=wandb"]).run.report_to == ["wandb"]
    assert load_config(None, ["run.report_to=[tensorboard,none,tensorboard]"]
                       ).run.report_to == ["tensorboard"]
    with pytest.raises(ConfigError, match="run.report_to.0.*'tensorboard', 'wandb'"):
        load_config(None, ["run.report_to=[neptune]"])


def test_a_missing_package_is_named_with_its_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(trackers.importlib.util, "find_spec",
                        lambda name: None if name == "mlflow" else real(name))
    check_installed(["tensorboard"])
    with pytest.raises(ConfigError, match=r"names mlflow, not installed here: pip install "
                                          r"mlflow .*leave it out of run.report_to"):
        check_installed(["tensorboard", "mlflow"])


def test_tensorboard_events_read_back(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _log_twice("tensorboard", tmp_path / "run-a")
    events = EventAccumulator(str(tmp_path / "run-a" / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert tags == {"solve_rate", "reward/solver/mean", "reward/solver/n",
                    "heldout_pass@1/heldout-seen"}  # no step, time, booleans or None
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("reward/solver/mean")] == [
        (1, 0.1), (2, 0.2)]


def test_wandb_offline_writes_one_local_run(tmp_path):
    _log_twice("wandb", tmp_path / "run-a")
    runs = sorted((tmp_path / "run-a" / "wandb").glob("offline-run-*-run-a"))
    assert runs, list((tmp_path / "run-a").rglob("*"))
    assert all((r / "run-run-a.wandb").stat().st_size > 0 for r in runs)  # the run's id


def test_trackio_keeps_one_run_across_a_resume(tmp_path, monkeypatch):
    from trackio import sqlite_storage
    from trackio.sqlite_storage import SQLiteStorage

    # trackio reads TRACKIO_DIR once, at import: point its storage here for this test.
    monkeypatch.setattr(sqlite_storage, "TRACKIO_DIR", tmp_path / "trackio")
    _log_twice("trackio", tmp_path / "run-a")
    assert SQLiteStorage.get_runs("zeroplay") == ["run-a"]
    logs = SQLiteStorage.get_logs("zeroplay", "run-a")
    assert [(r["step"], r["reward/solver/mean"]) for r in logs] == [(1, 0.1), (2, 0.2)]


def test_mlflow_keeps_one_run_across_a_resume(tmp_path):
    import mlflow

    _log_twice("mlflow", tmp_path / "run-a")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'run-a' / 'mlflow.db'}")
    (run,) = mlflow.search_runs(experiment_names=["zeroplay"], output_format="list")
    assert run.info.run_name == "run-a" and run.data.params["run.steps"] == "2"
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id,
                                                       "heldout_pass_at_1/heldout-seen")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.5)]


def test_a_tracker_that_cannot_start_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchstore://nowhere")
    with pytest.raises(ConfigError, match=r"mlflow did not start \(.*nosuchstore.*\); fix "
                                          "its settings"):
        open_trackers(["tensorboard", "mlflow"], tmp_path / "run-a", {})


def test_a_tracker_that_fails_while_logging_is_turned_off(caplog):
    class Broken:
        closed = False

        def log(self, step, scalars):
            raise OSError("disk full")

        def close(self):
            Broken.closed = True

    seen = []

    class Working:
        def log(self, step, scalars):
            seen.append((step, scalars))

        def close(self):
            pass

    opened = Trackers({"broken": Broken(), "working": Working()})
    with caplog.at_level(logging.WARNING):
        opened.log(1, ROWS[0])
        opened.log(2, ROWS[1])
    assert list(opened.opened) == ["working"] and Broken.closed
    assert [s for s, _ in seen] == [1, 2] and seen[0][1]["solve_rate"] == 0.25
    assert "tracker broken failed at step 1 and is turned off: disk full" in caplog.text
