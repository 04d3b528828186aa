"""The learner workers as the run's driver sees them: start, feed, checkpoint, restart.

    learners = Learners(run_dir, cache_dir, phase=print)
    learners.start(fleet, resume_step=None)  # one worker, or cluster.learner.num_workers
    learners.warm_start(tasks, steps, heldout)
    learners.start_training()              # GRPO from here on
    status, waited = learners.train_round(groups, log_index, invented)
    learners.checkpoint(step)
    learners.restart("why")                # from the newest checkpoint, within max_restarts

The driver talks to rank 0 only; after each round it asks whether the other workers of a
group are alive, since a dead one leaves its peers waiting in their collectives. A worker
that died raises LearnerDied, which the loop answers with `restart` (at most
`learner.max_restarts` times, from the newest checkpoint in `run.storage` when set, else in
the run directory); the groups it had not trained on are lost. Any other failure is
LearnerFailed, and `failure` words it with the checkpoint to resume from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from zeroplay.errors import ConfigError, ZeroplayError
from zeroplay.handoff import LearnerStatus
from zeroplay.jsonl import append_jsonl, read_jsonl
from zeroplay.launch.rundir import RunDir
from zeroplay.learner.checkpoint import PREFIX, latest_checkpoint, read_state

LEARNER_TIMEOUT_S = 1800.0


class LearnerFailed(ZeroplayError):
    """The learner stopped; the run stops with it."""

    exit_code = 1


class LearnerDied(LearnerFailed):
    """The learner's actor died (a crash, a lost node): it may be restarted."""


class Learners:
    def __init__(self, run: RunDir, cache_dir: str | None = None,
                 phase: Callable[[str], None] = lambda text: None):
        self.run_dir, self.cfg, self.fleet = run, run.config, None
        self.cache_dir, self.phase = cache_dir, phase
        self.workers: list = []  # the workers' handles, rank 0 first; a restart replaces them
        self.restarts = 0
        self.published_index = 0  # publish records of rank 0 already handed on

    @property
    def rank0(self):
        """The learner, or rank 0 of a learner group: it takes groups and reports."""
        return self.workers[0] if self.workers else None

    def start(self, fleet, resume_step: int | None) -> None:
        """Start the workers (from checkpoint step-N to resume), publishing to `fleet`."""
        from zeroplay.actors.group import make_actor
        from zeroplay.learner.actor import LearnerActor

        self.fleet, self.published_index = fleet, 0
        name = f"learner-{self.restarts}" if self.restarts else "learner"
        self.workers = [
            make_actor(LearnerActor, self.cfg.cluster.learner,
                       f"{name}-{rank}" if rank else name, restarts=0
                       ).remote(self.cfg.model_dump(mode="json"), self.fleet.weights_name,
                                self.fleet.rollout_names, str(self.run_dir.path),
                                self.cache_dir, resume_step, rank)
            for rank in range(self.cfg.cluster.learner.num_workers)]

    def warm_start(self, tasks: list, steps: int, heldout: list):
        """SFT on rank 0 before GRPO, published as the next version: its WarmStartReport."""
        return _get(self.rank0.warm_start.remote([t.to_json() for t in tasks], steps,
                                                 [t.to_json() for t in heldout]))

    def start_training(self) -> None:
        """GRPO from here on; a learner group first forms around rank 0's weights."""
        master = _get(self.rank0.address.remote()) if len(self.workers) > 1 else None
        _get([worker.start.remote(master) for worker in self.workers])

    def restart(self, why: str) -> None:
        """A learner actor that died comes back from the newest checkpoint, at most
        `learner.max_restarts` times; the groups it had not trained on are lost. In a
        learner group every worker is started again (the others wait on collectives
        with the dead one)."""
        if self.restarts >= self.cfg.learner.max_restarts:
            raise LearnerFailed(why)
        newest = self.newest_checkpoint()
        if newest is None:
            raise LearnerFailed(f"{why}; no checkpoint to restart it from")
        self.kill()
        self.restarts += 1
        self.phase(f"the learner failed ({why}); restarting it from step-{newest[0]} "
                   f"(restart {self.restarts} of {self.cfg.learner.max_restarts})")
        self.start(self.fleet, newest[0])
        self.start_training()

    def train_round(self, groups: list, log_index: int, invented: list
                    ) -> tuple[LearnerStatus, float]:
        """Hand a round's groups (and, with learner.reference_sft, its new valid policy
        tasks) to the learner and wait as run.overlap says; the learner's status and the
        seconds waited."""
        references = ([t.to_json() for t in invented] if self.cfg.learner.reference_sft
                      else None)
        _get(self.rank0.submit.remote(groups, references))
        waited = time.monotonic()
        if self.cfg.run.overlap:  # train this round while the next one is generated
            status = _get(self.rank0.wait_pending.remote(len(groups), LEARNER_TIMEOUT_S))
        else:
            status = _get(self.rank0.wait_drained.remote(LEARNER_TIMEOUT_S))
        check_workers(self.workers)
        if status.error:
            raise LearnerFailed(status.error)
        waited = time.monotonic() - waited
        return self.status(log_index), waited

    def status(self, since: int = 0) -> LearnerStatus:
        """Rank 0's status: its log entries from index `since` on, and the publish records
        not handed on yet."""
        status = _get(self.rank0.status.remote(since, self.published_index))
        self.published_index = status.published_index
        return status

    def drain(self) -> None:
        """Wait until every full batch handed over has been trained on."""
        status = _get(self.rank0.wait_drained.remote(LEARNER_TIMEOUT_S))
        if status.error:
            raise LearnerFailed(status.error)

    def checkpoint(self, step: int) -> Path:
        """Have the learner write step-N, and note it in checkpoints.jsonl: a resume that
        then finds none knows they exist elsewhere."""
        try:
            path = Path(_get(self.rank0.checkpoint.remote(step, {"step": step})))
        except Exception:
            check_workers(self.workers)  # a dead worker stops the others' trainers: say so
            raise
        append_jsonl(self.run_dir.checkpoint_log_path,
                     {"step": step, "path": str(path), "storage": self.cfg.run.storage})
        return path

    def newest_checkpoint(self) -> tuple[int, dict] | None:
        """(step, state) of the newest complete checkpoint: in `run.storage` when set (a
        one-line error if it cannot be opened), else in the run directory. None for a run
        that never wrote one; a one-line error for a run whose checkpoints are not there
        (written on another node's disk), rather than training again from the start."""
        if self.cfg.run.storage:
            from zeroplay.learner.storage import CheckpointStorage

            storage = CheckpointStorage.open(self.cfg.run.storage, self.run_dir.path.name)
            steps, where = storage.steps(), storage.where()
            if steps:
                return steps[-1], storage.read_state(steps[-1])
        else:
            newest = latest_checkpoint(self.run_dir.checkpoints_dir)
            if newest:
                return int(newest.name[len(PREFIX):]), read_state(newest)
            where = str(self.run_dir.checkpoints_dir)
        log_path = self.run_dir.checkpoint_log_path
        written = read_jsonl(log_path, tail_ok=True) if log_path.is_file() else []
        if written:
            raise ConfigError(
                f"this run wrote checkpoints up to step-{written[-1]['step']} "
                f"({written[-1]['path']}, on the learner's node) but none is in {where}: copy "
                "them there, or run on storage every node sees (run.storage)")
        return None

    def reference_in_storage(self) -> bool:
        """Whether run.storage holds a complete KL reference (the learner takes it there)."""
        if not self.cfg.run.storage or self.cfg.learner.beta == 0:
            return False
        from zeroplay.learner.storage import REFERENCE_MARK, CheckpointStorage

        storage = CheckpointStorage.open(self.cfg.run.storage, self.run_dir.path.name)
        return storage.exists(f"reference/{REFERENCE_MARK}")

    def failure(self, error: str) -> str:
        """The learner's error, worded with what to resume from."""
        newest = self.newest_checkpoint()
        where = (f"resume from step-{newest[0]} with `zeroplay run --resume {self.run_dir.path}`"
                 if newest else f"no checkpoint was written yet; `zeroplay run --resume "
                 f"{self.run_dir.path}` starts training again on the same curriculum")
        return f"the learner failed: {error}; the run stopped, {where}"

    def kill(self) -> None:
        import ray

        for worker in self.workers:
            ray.kill(worker)


def check_workers(workers: list) -> None:
    """LearnerDied if a worker of a learner group other than rank 0 (which the loop talks
    to) has died: its peers then fail in their collectives."""
    _get([worker.__ray_ready__.remote() for worker in workers[1:]])


def _get(ref):
    """ray.get, with a learner that died turned into LearnerDied."""
    import ray
    from ray.exceptions import RayActorError

    try:
        return ray.get(ref)
    except RayActorError as exc:
        raise LearnerDied(f"its actor died ({type(exc).__name__}; the Ray logs say why)"
                          ) from None
