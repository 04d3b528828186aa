"""The layout of a run directory: the one place that names what a run writes.

    run = RunPaths(Path("runs/demo"))
    run.curriculum_path           # runs/demo/curriculum.sqlite
    run.checkpoints_dir           # runs/demo/checkpoints (step-N/ inside)

    <run>/config.yaml             resolved config
    <run>/curriculum.sqlite       task store (+ attempts)
    <run>/metrics.jsonl           one JSON object per step
    <run>/checkpoints/step-N/     model + tokenizer, learner and loop state (on the
                                  learner's node; also in run.storage when set)
    <run>/checkpoints.jsonl       the checkpoints the learner reported writing
    <run>/reference/              the policy as RL began: the KL anchor (learner.beta > 0)
    <run>/provenance.json         data manifest
    <run>/snapshots/step-N/       the store and the run's files as of checkpoint step-N
    <run>/eval/                   evaluation results of the run's checkpoints, and
                                  heldout-during-run.jsonl (run.eval_every)

`RunDir` (launch/rundir.py) is a RunPaths together with the run's config; the stages
below `launch` (curricula, learner, eval) take a RunPaths, since they never import
launch. Only names live here: nothing is created or checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunPaths:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def curriculum_path(self) -> Path:
        return self.path / "curriculum.sqlite"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def snapshots_dir(self) -> Path:
        return self.path / "snapshots"

    @property
    def checkpoint_log_path(self) -> Path:
        return self.path / "checkpoints.jsonl"

    @property
    def reference_dir(self) -> Path:
        """The KL reference: the policy when GRPO began, kept for resumes."""
        return self.path / "reference"

    @property
    def provenance_path(self) -> Path:
        return self.path / "provenance.json"

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def heldout_curve_path(self) -> Path:
        """Greedy held-out pass@1 measured during the run, one JSON object per evaluation."""
        return self.eval_dir / "heldout-during-run.jsonl"

    @classmethod
    def of_checkpoint(cls, checkpoint: Path) -> RunPaths | None:
        """The run a `<run>/checkpoints/<name>` directory belongs to, else None.

        >>> RunPaths.of_checkpoint(Path("runs/demo/checkpoints/step-3")).path.as_posix()
        'runs/demo'
        >>> RunPaths.of_checkpoint(Path("models/coder")) is None
        True
        """
        run = cls(checkpoint.parent.parent)
        return run if checkpoint.parent == run.checkpoints_dir else None
