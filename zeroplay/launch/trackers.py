"""Experiment trackers (`run.report_to`): each self-play step's scalars, the learner's
among them, sent to TensorBoard, W&B, trackio or MLflow under the run's name.

    trackers = open_trackers(cfg, run_dir)      # ConfigError if a package is missing
    trackers.log(step, row)                     # a metrics.jsonl row, nested dicts too
    trackers.close()

A row is flattened to `a/b/c` keys and only its numbers are sent; metrics.jsonl stays
the record of the run. The x-axis is the self-play step (the learner's numbers are the
step's means, as in metrics.jsonl). Where each tracker writes follows its own settings
(WANDB_MODE, WANDB_PROJECT, MLFLOW_TRACKING_URI, TRACKIO_DIR, ...); unset, files go under
the run directory or the tracker's local default. A tracker that fails while logging
is turned off with a warning: it never stops the run.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zeroplay.errors import ConfigError

log = logging.getLogger(__name__)

TRACKERS = ("tensorboard", "wandb", "trackio", "mlflow")
PROJECT = "zeroplay"


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of a nested row, keyed by path (booleans and None left out).

    >>> flatten({"step": 3, "reward": {"solver": {"mean": 0.5}}, "ok": True, "x": None})
    {'step': 3.0, 'reward/solver/mean': 0.5}
    """
    out: dict[str, float] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flatten(value, name + "/")
        elif isinstance(value, int | float) and not isinstance(value, bool) \
                and math.isfinite(value):
            out[name] = float(value)
    return out


def check_installed(names: list[str]) -> None:
    """Refuse, before anything starts, a tracker whose package is not installed."""
    missing = [n for n in names if importlib.util.find_spec(n) is None]  # package = name
    if missing:
        raise ConfigError(
            f"run.report_to names {', '.join(missing)}, not installed here: pip install "
            f"{' '.join(missing)} (or pip install 'zeroplay[trackers]'), or leave "
            f"{'them' if len(missing) > 1 else 'it'} out of run.report_to")


class _TensorBoard:
    def __init__(self, run_dir: Path, name: str, config: dict) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, step: int, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()  # a watching TensorBoard sees each step as it ends

    def close(self) -> None:
        self.writer.close()


class _WandB:
    def __init__(self, run_dir: Path, name: str, config: dict) -> None:
        import os

        import wandb

        # The run's name is its id, so a resumed run continues the same W&B run.
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=name,
                              id=re.sub(r"[^A-Za-z0-9_-]", "-", name), resume="allow",
                              dir=str(run_dir), config=config)

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.run.log(scalars, step=step)

    def close(self) -> None:
        self.run.finish()


class _Trackio:
    def __init__(self, run_dir: Path, name: str, config: dict) -> None:
        import trackio

        self.trackio = trackio
        trackio.init(project=PROJECT, name=name, config=config, resume="allow")

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.trackio.log(scalars, step=step)

    def close(self) -> None:
        self.trackio.finish()


class _MLflow:
    def __init__(self, run_dir: Path, name: str, config: dict) -> None:
        import os

        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI") or
                                f"sqlite:///{(run_dir / 'mlflow.db').resolve()}")
        mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME", PROJECT))
        found = mlflow.search_runs(filter_string=f"attributes.run_name = '{name}'",
                                   output_format="list", max_results=1)
        self.run = mlflow.start_run(run_id=found[0].info.run_id if found else None,
                                    run_name=None if found else name)
        if not found:
            mlflow.log_params(flatten_params(config))

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.mlflow.log_metrics({_mlflow_key(k): v for k, v in scalars.items()}, step=step)

    def close(self) -> None:
        self.mlflow.end_run()


def _mlflow_key(key: str) -> str:
    """MLflow names allow letters, digits and `_-. /`; `heldout_pass@1` becomes
    `heldout_pass_at_1`."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", key.replace("@", "_at_"))


def flatten_params(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested config as `section.key` strings (MLflow params are flat strings)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out |= flatten_params(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = str(value)[:500]  # MLflow's limit on a param value
    return out


_OPENERS = {"tensorboard": _TensorBoard, "wandb": _WandB, "trackio": _Trackio,
            "mlflow": _MLflow}


class Trackers:
    """The run's open trackers; a failing one is closed and dropped with a warning."""

    def __init__(self, opened: dict[str, Any]) -> None:
        self.opened = opened

    def log(self, step: int, row: Mapping[str, Any]) -> None:
        scalars = flatten(row)
        scalars.pop("step", None)  # the x-axis
        scalars.pop("time", None)  # a wall-clock stamp, not a curve
        for name, tracker in list(self.opened.items()):
            try:
                tracker.log(step, scalars)
            except Exception as exc:  # watching must never stop training
                log.warning("tracker %s failed at step %d and is turned off: %s", name, step,
                            exc)
                self._close(name)

    def close(self) -> None:
        for name in list(self.opened):
            self._close(name)

    def __enter__(self) -> Trackers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _close(self, name: str) -> None:
        tracker = self.opened.pop(name)
        try:
            tracker.close()
        except Exception as exc:
            log.warning("tracker %s did not close cleanly: %s", name, exc)


def open_trackers(names: list[str], run_dir: Path, config: dict) -> Trackers:
    """Start each named tracker for this run (its directory's name is the run name)."""
    check_installed(names)
    trackers = Trackers({})
    for name in names:
        try:
            trackers.opened[name] = _OPENERS[name](run_dir, run_dir.name, config)
        except Exception as exc:
            trackers.close()
            raise ConfigError(f"run.report_to: {name} did not start ({type(exc).__name__}: "
                              f"{exc}); fix its settings (for W&B without an account: "
                              "WANDB_MODE=offline) or leave it out of run.report_to") from None
    return trackers
