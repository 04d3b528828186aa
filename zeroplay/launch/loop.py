"""The self-play loop: seed, warm start, then rounds of propose/solve/judge with learning.

    summary = SelfPlayLoop(run_dir, events=print_event).run()

Rollout actors, the sandbox actor and the learner actor all run on Ray. Each step the
rollout side plays one round (propose, validate, solve, judge, score, record in the
curriculum) and hands its GRPO groups to the learner. With `run.overlap` the next round
is generated while the learner trains on this one, never more than one round behind, so
samples are at most a round's worth of versions stale (`learner.max_staleness` drops the
rest). Each step appends one line to metrics.jsonl and records the dashboard metrics.

Checkpoints are named by the loop step: every `learner.checkpoint_every` steps, at the
end, and when the run is interrupted. `--resume` continues after the newest complete
checkpoint (or after the newest recorded round, if later) with the same curriculum; the
rounds recorded after the checkpoint stay in the curriculum, their samples are not
trained again. A learner actor that dies is restarted from the newest checkpoint (up to
`learner.max_restarts` times); one that fails otherwise, or once more, stops the run,
pointing at the checkpoint to resume.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from zeroplay import metrics
from zeroplay.errors import ConfigError, ZeroplayError
from zeroplay.handoff import LearnerStatus
from zeroplay.jsonl import append_jsonl, read_jsonl
from zeroplay.launch.rundir import RunDir
from zeroplay.launch.step_rows import step_row
from zeroplay.learner.checkpoint import (
    PREFIX,
    latest_checkpoint,
    missing_reference,
    read_state,
)

log = logging.getLogger(__name__)

Events = Callable[[str, dict[str, Any]], None]  # (kind, data): phase | step | done
LEARNER_TIMEOUT_S = 1800.0
HELDOUT_NLL_TASKS = 64  # fixed heldout-seen subset whose reference NLL the warm start logs


class LearnerFailed(ZeroplayError):
    """The learner stopped; the run stops with it."""

    exit_code = 1


class LearnerDied(LearnerFailed):
    """The learner's actor died (a crash, a lost node): it may be restarted."""


class RunStopped(ZeroplayError):
    """Something outside the loop failed (Docker gone, disk full, ...): the run stopped
    after its last complete step, with a checkpoint where one could be written."""

    exit_code = 1


def stop_reason(exc: BaseException) -> str | None:
    """A one-line cause for errors the user can fix, looking inside Ray's task errors;
    None for anything else (a bug: let it raise with its traceback)."""
    import errno
    import sqlite3

    from ray.exceptions import RayActorError, RayTaskError

    if isinstance(exc, RayActorError) and exc.actor_init_failed:
        last = [line for line in str(exc).splitlines() if line.strip()][-1:]
        return f"a Ray actor could not start: {last[0].strip() if last else exc}"
    cause = exc.cause if isinstance(exc, RayTaskError) and exc.cause is not None else exc
    if isinstance(cause, ZeroplayError):
        return str(cause)
    if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
        return f"no space left on the device ({cause.filename or 'a run file'}); free some"
    if isinstance(cause, sqlite3.OperationalError) and "disk is full" in str(cause):
        return "no space left for the curriculum store; free some"
    return None


@dataclass
class RunSummary:
    run_dir: Path
    first_step: int
    last_step: int  # last completed step
    interrupted: bool = False
    stopped: str | None = None  # why the run stopped early, if it did
    checkpoint: Path | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Greedy pass@1 by held-out split when self-play started and when it ended.
    heldout_start: dict[str, float] = field(default_factory=dict)
    heldout_end: dict[str, float] = field(default_factory=dict)


class SelfPlayLoop:
    def __init__(self, run: RunDir, *, events: Events | None = None,
                 cache_dir: str | None = None):
        self.run_dir, self.cfg = run, run.config
        self.events = events or (lambda kind, data: None)
        self.cache_dir = cache_dir
        self.learners: list = []  # the learner workers' handles; a restart replaces them
        self.restarts = 0

    @property
    def learner(self):
        """The learner, or rank 0 of a learner group: it takes groups and reports."""
        return self.learners[0] if self.learners else None

    def run(self) -> RunSummary:
        from zeroplay.actors.fleet import Fleet
        from zeroplay.curricula.store import CurriculumStore
        from zeroplay.launch.trackers import open_trackers

        cfg, run = self.cfg, self.run_dir
        resume_from = self._newest_checkpoint()  # (step, its state) or None
        if resume_from is not None and not self._reference_in_storage() and (
                missing := missing_reference(run.reference_dir, cfg.learner.beta)):
            raise ConfigError(missing)  # before any actor starts
        self._phase("starting Ray actors (policy, sandbox)")
        with open_trackers(cfg.run.report_to, run.path, cfg.model_dump(mode="json")) as \
                self.trackers, Fleet.on_ray(cfg, self.cache_dir, with_learner=True) as fleet, \
                CurriculumStore.open(run.curriculum_path, create=True,
                                     run_id=run.path.name) as store:
            summary = RunSummary(run.path, 1, 0)
            self.learners = []
            try:
                self._seed(store, fleet)
                self._phase("starting the learner" + (f" from step-{resume_from[0]}"
                                                      if resume_from else ""))
                self._start_learner(fleet, resume_from[0] if resume_from else None)
                if resume_from is None:
                    self._warm_start(store, fleet, self.learner)
                self._start_training()
                done = max(store.steps()[-1][0],
                           resume_from[1]["loop"]["step"] if resume_from else 0)
                summary = RunSummary(run.path, done + 1, done)
                if cfg.run.eval_every:
                    summary.heldout_start = self._heldout_eval(store, fleet, done, "start")
                self._steps(store, fleet, summary)
            except KeyboardInterrupt:
                summary.interrupted = True
                self._phase("interrupted: stopping cleanly")
            except LearnerFailed as exc:
                _kill(*self.learners)
                raise LearnerFailed(self._failure(str(exc))) from None
            except Exception as exc:
                summary.stopped = stop_reason(exc)
                if summary.stopped is None:
                    _kill(*self.learners)
                    raise
                self._phase(f"stopping: {summary.stopped}")
            except BaseException:
                _kill(*self.learners)
                raise
            finally:
                self._write_provenance(store)
            try:
                summary.checkpoint = self._final_checkpoint(self.learner, summary)
                if cfg.run.eval_every and summary.heldout_start and not summary.interrupted \
                        and summary.stopped is None:
                    summary.heldout_end = self._heldout_eval(store, fleet, summary.last_step,
                                                             "end")
            except Exception as exc:
                if summary.stopped is None or stop_reason(exc) is None:
                    raise
            finally:
                _kill(*self.learners)
        if summary.stopped is not None:
            where = (f"checkpoint {summary.checkpoint.name}" if summary.checkpoint
                     else "no checkpoint")
            raise RunStopped(f"{summary.stopped}; the run stopped after step "
                             f"{summary.last_step} ({where}); continue with `zeroplay run "
                             f"--resume {run.path}`")
        self.events("done", {"summary": summary})
        return summary

    # --- phases ---------------------------------------------------------------------------

    def _phase(self, text: str) -> None:
        log.info(text)
        self.events("phase", {"text": text})

    def _seed(self, store, fleet) -> None:
        cur = self.cfg.curriculum
        if store.steps():  # seeded before (the seed is step 0)
            return
        from zeroplay.curricula.admit import seed_curriculum

        self._phase(f"seeding the curriculum: {cur.seed_tasks} tasks + {cur.heldout_tasks} "
                    "in each held-out split, validated in the sandbox")
        seeded = seed_curriculum(store, fleet.sandboxes.validate, self.cfg,
                                 n=cur.seed_tasks, heldout=cur.heldout_tasks,
                                 seed=self.cfg.run.seed, run_id=self.run_dir.path.name)
        self._phase("seeded " + ", ".join(f"{v.valid} {split}" for split, v in seeded.items())
                    + " tasks")

    def _warm_start(self, store, fleet, learner) -> None:
        from zeroplay.curricula.admit import warm_start_tasks
        from zeroplay.learner.warmstart import WarmStartReport, record_warm_start

        lc = self.cfg.learner
        if lc.warm_start_steps <= 0 or self.cfg.policy.follows_format:
            return
        if lc.warm_start_tasks:
            self._phase(f"warm start: synthesizing and validating {lc.warm_start_tasks} fresh "
                        "tasks")
        tasks = warm_start_tasks(store, partial(fleet.sandboxes.validate,
                                                num_tests=lc.warm_start_tests), self.cfg,
                                 run_id=self.run_dir.path.name)
        if not tasks:
            self._phase("warm start skipped: no valid training task")
            return
        heldout = sorted(store.tasks(status="valid", split="heldout-seen"),
                         key=lambda t: t.id)[:HELDOUT_NLL_TASKS]
        self._phase(f"warm start: {lc.warm_start_steps} SFT steps on {len(tasks)} synthetic "
                    f"tasks, then {lc.warm_start_proposer_steps} of the proposer phase")
        report: WarmStartReport = _get(learner.warm_start.remote(
            [t.to_json() for t in tasks], lc.warm_start_steps, [t.to_json() for t in heldout]))
        record_warm_start(store, report, tasks)
        nll = (f"; held-out NLL {report.heldout_nll[0][1]:.2f} -> {report.heldout_nll[-1][1]:.2f}"
               if report.heldout_nll else "")
        proposer = (f"; proposer phase of {report.proposer_steps} steps, loss "
                    f"{report.proposer_loss[0]:.2f} -> {report.proposer_loss[1]:.2f}"
                    if report.proposer_loss else "")
        self._phase(f"warm start done: loss {report.first_loss:.2f} -> "
                    f"{report.last_loss:.2f}{nll}{proposer}")

    def _start_learner(self, fleet, resume_step: int | None) -> None:
        from zeroplay.actors.group import make_actor
        from zeroplay.learner.actor import LearnerActor

        name = f"learner-{self.restarts}" if self.restarts else "learner"
        self.learners = [
            make_actor(LearnerActor, self.cfg.cluster.learner,
                       f"{name}-{rank}" if rank else name, restarts=0
                       ).remote(self.cfg.model_dump(mode="json"), fleet.weights_name,
                                fleet.rollout_names, str(self.run_dir.path), self.cache_dir,
                                resume_step, rank)
            for rank in range(self.cfg.cluster.learner.num_workers)]

    def _start_training(self) -> None:
        """GRPO from here on; a learner group first forms around rank 0's weights."""
        master = _get(self.learner.address.remote()) if len(self.learners) > 1 else None
        _get([worker.start.remote(master) for worker in self.learners])

    def _restart_learner(self, fleet, why: str) -> None:
        """A learner actor that died comes back from the newest checkpoint, at most
        `learner.max_restarts` times; the groups it had not trained on are lost. In a
        learner group every worker is started again (the others wait on collectives
        with the dead one)."""
        if self.restarts >= self.cfg.learner.max_restarts:
            raise LearnerFailed(why)
        newest = self._newest_checkpoint()
        if newest is None:
            raise LearnerFailed(f"{why}; no checkpoint to restart it from")
        _kill(*self.learners)
        self.restarts += 1
        self._phase(f"the learner failed ({why}); restarting it from step-{newest[0]} "
                    f"(restart {self.restarts} of {self.cfg.learner.max_restarts})")
        self._start_learner(fleet, newest[0])
        self._start_training()

    def _train_round(self, groups: list, log_index: int, invented: list
                     ) -> tuple[LearnerStatus, float]:
        """Hand a round's groups (and, with learner.reference_sft, its new valid policy
        tasks) to the learner and wait as run.overlap says; the learner's status and the
        seconds waited."""
        references = ([t.to_json() for t in invented] if self.cfg.learner.reference_sft
                      else None)
        _get(self.learner.submit.remote(groups, references))
        waited = time.monotonic()
        if self.cfg.run.overlap:  # train this round while the next one is generated
            status = _get(self.learner.wait_pending.remote(len(groups), LEARNER_TIMEOUT_S))
        else:
            status = _get(self.learner.wait_drained.remote(LEARNER_TIMEOUT_S))
        check_workers(self.learners)
        if status.error:
            raise LearnerFailed(status.error)
        waited = time.monotonic() - waited
        return _get(self.learner.status.remote(log_index)), waited

    def _steps(self, store, fleet, summary: RunSummary) -> None:
        from zeroplay.selfplay import selfplay_step

        cfg = self.cfg
        log_index = 0
        solve_rate = summary.heldout_start.get("heldout-seen")
        for step in range(summary.first_step, cfg.run.steps + 1):
            start = time.monotonic()
            rng = random.Random(cfg.run.seed * 7919 + step)
            proposing = proposer_on(cfg, solve_rate, store)
            result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=step,
                                   rng=rng, run_id=self.run_dir.path.name, proposing=proposing)
            try:
                status, result.seconds["learn_wait"] = self._train_round(
                    result.groups(), log_index, result.invented)
            except LearnerDied as exc:
                self._restart_learner(fleet, str(exc))
                status, log_index = _get(self.learner.status.remote(0)), 0
            log_index = status.log_index
            heldout = None
            if cfg.run.eval_every and step % cfg.run.eval_every == 0 and step < cfg.run.steps:
                evaluated = time.monotonic()
                heldout = self._heldout_eval(store, fleet, step, "step")
                result.seconds["heldout_eval"] = time.monotonic() - evaluated
            row = step_row(step, result, status, time.monotonic() - start,
                           store.count("status = 'valid' AND heldout = 0"))
            row["proposing"] = proposing
            if heldout is not None:
                row["heldout_pass@1"] = heldout
                solve_rate = heldout.get("heldout-seen", solve_rate)
            self._record(row, result.seconds)
            summary.last_step = step
            summary.rows.append(row)
            if step % cfg.learner.checkpoint_every == 0 and step < cfg.run.steps:
                try:
                    self._checkpoint(self.learner, step)
                except LearnerDied as exc:
                    self._restart_learner(fleet, str(exc))

    def _heldout_eval(self, store, fleet, step: int, when: str) -> dict[str, float]:
        """Greedy pass@1 of the rollout actors' current weights on the first
        `run.eval_tasks` tasks (by id) of each held-out split; appended to the run's
        heldout curve and recorded for the dashboard. Measures only: nothing trains on it."""
        from zeroplay.curricula.task import HELDOUT_SPLITS
        from zeroplay.eval.problems import task_problem
        from zeroplay.eval.run import evaluate
        from zeroplay.jsonl import append_jsonl

        self._phase(f"evaluating greedy pass@1 on the held-out splits ({when})")
        scores: dict[str, float] = {}
        for split in HELDOUT_SPLITS:
            tasks = sorted(store.tasks(status="valid", split=split),
                           key=lambda t: t.id)[:self.cfg.run.eval_tasks]
            if tasks:
                report = evaluate([task_problem(t) for t in tasks], fleet, 1,
                                  self.cfg.rollout.max_prompt_tokens, batch_problems=64,
                                  greedy=True)
                scores[split] = report.pass_at(1)
                metrics.record("heldout_pass_at_1", scores[split], split=split)
        self.run_dir.eval_dir.mkdir(exist_ok=True)
        append_jsonl(self.run_dir.heldout_curve_path, {"step": step, "when": when,
                                                       "time": time.time(), **scores})
        if when != "step":  # a step's scores go with its row
            self.trackers.log(step, {"heldout_pass@1": scores})
        self.events("heldout", {"step": step, "when": when, "scores": scores})
        return scores

    def _record(self, row: dict[str, Any], stages: dict[str, float]) -> None:
        from zeroplay.jsonl import append_jsonl

        append_jsonl(self.run_dir.metrics_path, row)
        self.trackers.log(row["step"], row)
        metrics.record("step", row["step"])
        metrics.record("curriculum_tasks", row["curriculum_tasks"])
        metrics.record("solve_rate", row["solve_rate"])
        metrics.record("samples_per_second", row["samples_per_s"])
        for role, r in row["reward"].items():
            metrics.record("reward_mean", r["mean"], role=role)
            metrics.record("reward_std", r["std"], role=role)
        for status in ("valid", "duplicate"):
            metrics.record("proposals_total", row["proposals"].get(status, 0), status=status,
                           reason="")
        for status, key in (("format", "format_reasons"), ("rejected", "rejected")):
            for reason, n in row[key].items():
                metrics.record("proposals_total", n, status=status, reason=reason)
        if row["proposing"]:
            for share, key in (("valid", "proposal_validity"), ("novel", "proposal_novelty"),
                               ("learnable", "policy_tasks_learnable")):
                if row[key] is not None:
                    metrics.record("proposer_share", row[key], share=share)
        for role, frac in row["frac_reward_zero_std"].items():
            metrics.record("frac_reward_zero_std", frac, role=role)
        for cause, n in row["dropped_groups"].items():
            metrics.record("dropped_groups_total", n, cause=cause)
        metrics.record("sampling_rounds", row["sampling_rounds"])
        for stage, seconds in stages.items():
            metrics.record("stage_seconds", seconds, stage=stage)
        self.events("step", {"row": row})

    def _final_checkpoint(self, learner, summary: RunSummary) -> Path | None:
        if learner is None or summary.last_step < summary.first_step:  # no step done here
            return latest_checkpoint(self.run_dir.checkpoints_dir)
        try:
            if not summary.interrupted and summary.stopped is None:
                self._phase("training on the last round")
                status = _get(learner.wait_drained.remote(LEARNER_TIMEOUT_S))
                if status.error:
                    raise LearnerFailed(status.error)
            self._phase(f"writing checkpoint step-{summary.last_step}")
            return self._checkpoint(learner, summary.last_step)
        except LearnerFailed as exc:
            raise LearnerFailed(self._failure(str(exc))) from None

    def _write_provenance(self, store) -> None:
        from zeroplay.eval.provenance import provenance_report, write_provenance

        try:
            write_provenance(provenance_report(store), self.run_dir.provenance_path)
        except OSError as exc:  # e.g. a full disk: the previous file stays whole
            log.warning("provenance.json not updated: %s", exc)

    def _reference_in_storage(self) -> bool:
        """Whether run.storage holds a complete KL reference (the learner takes it there)."""
        if not self.cfg.run.storage or self.cfg.learner.beta == 0:
            return False
        from zeroplay.learner.storage import REFERENCE_MARK, CheckpointStorage

        storage = CheckpointStorage.open(self.cfg.run.storage, self.run_dir.path.name)
        return storage.exists(f"reference/{REFERENCE_MARK}")

    def _checkpoint(self, learner, step: int) -> Path:
        """Have the learner write step-N, and note it in checkpoints.jsonl: a resume that
        then finds none knows they exist elsewhere."""
        try:
            path = Path(_get(learner.checkpoint.remote(step, {"step": step})))
        except Exception:
            check_workers(self.learners)  # a dead worker stops the others' trainers: say so
            raise
        append_jsonl(self.run_dir.checkpoint_log_path,
                     {"step": step, "path": str(path), "storage": self.cfg.run.storage})
        return path

    def _newest_checkpoint(self) -> tuple[int, dict] | None:
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

    def _failure(self, error: str) -> str:
        newest = self._newest_checkpoint()
        where = (f"resume from step-{newest[0]} with `zeroplay run --resume {self.run_dir.path}`"
                 if newest else f"no checkpoint was written yet; `zeroplay run --resume "
                 f"{self.run_dir.path}` starts training again on the same curriculum")
        return f"the learner failed: {error}; the run stopped, {where}"


def proposer_on(cfg, heldout_seen: float | None, store) -> bool:
    """Whether this step proposes: always with a threshold of 0; else once the solver's
    last heldout-seen pass@1 reached it (and from then on: a run that proposed before a
    resume keeps proposing)."""
    threshold = cfg.rollout.proposer_after_solve_rate
    if threshold <= 0 or (heldout_seen is not None and heldout_seen >= threshold):
        return True
    return any(s.get("proposals") for _, _, s in store.steps()[1:])


def _kill(*actors) -> None:
    import ray

    for actor in actors:
        ray.kill(actor)


def check_workers(learners: list) -> None:
    """LearnerDied if a worker of a learner group other than rank 0 (which the loop talks
    to) has died: its peers then fail in their collectives."""
    _get([worker.__ray_ready__.remote() for worker in learners[1:]])


def _get(ref):
    """ray.get, with a learner that died turned into LearnerFailed."""
    import ray
    from ray.exceptions import RayActorError

    try:
        return ray.get(ref)
    except RayActorError as exc:
        raise LearnerDied(f"its actor died ({type(exc).__name__}; the Ray logs say why)"
                          ) from None
