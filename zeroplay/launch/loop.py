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
pointing at the checkpoint to resume. The learner workers' lifecycle is `learners.py`,
the held-out evaluation `heldout.py`, the metrics row `step_rows.py`: this module runs
the phases in order.
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

from zeroplay.errors import ConfigError, ZeroplayError
from zeroplay.failpoints import crash_point
from zeroplay.jsonl import append_jsonl
from zeroplay.launch.heldout import heldout_change, heldout_pass_at_1
from zeroplay.launch.learners import LearnerDied, LearnerFailed, Learners
from zeroplay.launch.rundir import RunDir
from zeroplay.launch.snapshots import last_recorded_step, snapshot_steps, take_snapshot
from zeroplay.launch.step_rows import record_dashboard, step_row
from zeroplay.learner.checkpoint import latest_checkpoint, missing_reference

log = logging.getLogger(__name__)

Events = Callable[[str, dict[str, Any]], None]  # (kind, data): phase | step | done
HELDOUT_NLL_TASKS = 64  # fixed heldout-seen subset whose reference NLL the warm start logs


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
    # Per split, end - start over the same tasks and its paired 95% interval.
    heldout_change: dict[str, tuple[float, float, float]] = field(default_factory=dict)


class SelfPlayLoop:
    def __init__(self, run: RunDir, *, events: Events | None = None,
                 cache_dir: str | None = None):
        self.run_dir, self.cfg = run, run.config
        self.events = events or (lambda kind, data: None)
        self.learners = Learners(run, cache_dir, phase=self._phase)

    def run(self) -> RunSummary:
        from zeroplay.actors.fleet import Fleet
        from zeroplay.curricula.store import CurriculumStore
        from zeroplay.launch.trackers import open_trackers

        cfg, run, learners = self.cfg, self.run_dir, self.learners
        resume_from = learners.newest_checkpoint()  # (step, its state) or None
        if resume_from is not None and not learners.reference_in_storage() and (
                missing := missing_reference(run.reference_dir, cfg.learner.beta)):
            raise ConfigError(missing)  # before any actor starts
        self._phase("starting Ray actors (policy, sandbox)")
        with open_trackers(cfg.run.report_to, run.path, cfg.model_dump(mode="json")) as \
                self.trackers, Fleet.on_ray(cfg, learners.cache_dir, with_learner=True) as fleet, \
                CurriculumStore.open(run.curriculum_path, create=True,
                                     run_id=run.path.name) as store:
            summary, solved_at_start = RunSummary(run.path, 1, 0), {}
            try:
                self._seed(store, fleet)
                self._phase("starting the learner" + (f" from step-{resume_from[0]}"
                                                      if resume_from else ""))
                learners.start(fleet, resume_from[0] if resume_from else None)
                if resume_from is None:
                    self._warm_start(store, fleet)
                learners.start_training()
                done = max(store.steps()[-1][0], last_recorded_step(run),
                           resume_from[1]["loop"]["step"] if resume_from else 0)
                if resume_from and resume_from[0] == done and \
                        done not in snapshot_steps(run):  # a crash came between the two
                    take_snapshot(run, store, done)
                summary = RunSummary(run.path, done + 1, done)
                if cfg.run.eval_every:
                    summary.heldout_start, _, solved_at_start = self._heldout_eval(
                        store, fleet, done, "start")
                self._steps(store, fleet, summary)
            except KeyboardInterrupt:
                summary.interrupted = True
                self._phase("interrupted: stopping cleanly")
            except LearnerFailed as exc:
                learners.kill()
                raise LearnerFailed(learners.failure(str(exc))) from None
            except Exception as exc:
                summary.stopped = stop_reason(exc)
                if summary.stopped is None:
                    learners.kill()
                    raise
                self._phase(f"stopping: {summary.stopped}")
            except BaseException:
                learners.kill()
                raise
            finally:
                self._write_provenance(store)
            try:
                summary.checkpoint = self._final_checkpoint(summary, store)
                if cfg.run.eval_every and summary.heldout_start and not summary.interrupted \
                        and summary.stopped is None:
                    summary.heldout_end, _, solved = self._heldout_eval(
                        store, fleet, summary.last_step, "end")
                    summary.heldout_change = heldout_change(solved_at_start, solved)
            except Exception as exc:
                if summary.stopped is None or stop_reason(exc) is None:
                    raise
            finally:
                learners.kill()
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

    def _warm_start(self, store, fleet) -> None:
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
        report: WarmStartReport = self.learners.warm_start(tasks, lc.warm_start_steps, heldout)
        record_warm_start(store, report, tasks)
        nll = (f"; held-out NLL {report.heldout_nll[0][1]:.2f} -> {report.heldout_nll[-1][1]:.2f}"
               if report.heldout_nll else "")
        proposer = (f"; proposer phase of {report.proposer_steps} steps, loss "
                    f"{report.proposer_loss[0]:.2f} -> {report.proposer_loss[1]:.2f}"
                    if report.proposer_loss else "")
        self._phase(f"warm start done: loss {report.first_loss:.2f} -> "
                    f"{report.last_loss:.2f}{nll}{proposer}")

    def _steps(self, store, fleet, summary: RunSummary) -> None:
        from zeroplay.selfplay import selfplay_step

        cfg, learners = self.cfg, self.learners
        log_index = 0
        solve_rate = None  # the solver's rate on the last step's training tasks
        for step in range(summary.first_step, cfg.run.steps + 1):
            start = time.monotonic()
            rng = random.Random(cfg.run.seed * 7919 + step)
            proposing = proposer_on(cfg, solve_rate, store)
            fleet.rollouts.take_record()  # what evaluation asked for is not the round's
            result = selfplay_step(store, fleet.rollouts, fleet.sandboxes, cfg, step=step,
                                   rng=rng, run_id=self.run_dir.path.name, proposing=proposing,
                                   record=False)
            rollout = fleet.rollouts.take_record()
            try:
                status, result.seconds["learn_wait"] = learners.train_round(
                    result.groups(), log_index, result.invented)
            except LearnerDied as exc:
                learners.restart(str(exc))
                status, log_index = learners.status(0), 0
            log_index = status.log_index
            heldout = heldout_by = None
            if cfg.run.eval_every and step % cfg.run.eval_every == 0 and step < cfg.run.steps:
                evaluated = time.monotonic()
                heldout, heldout_by, _ = self._heldout_eval(store, fleet, step, "step")
                result.seconds["heldout_eval"] = time.monotonic() - evaluated
            # the step's tasks and its metrics row, in one commit
            result.record(row=partial(self._row, store, step, result, status, start,
                                      proposing, rollout, heldout, heldout_by))
            row = result.summary["row"]
            crash_point("metrics-write")
            solve_rate = row.get("solve_rate", solve_rate)
            self._record(row, result.seconds)
            summary.last_step = step
            summary.rows.append(row)
            if step % cfg.learner.checkpoint_every == 0 and step < cfg.run.steps:
                try:
                    learners.checkpoint(step)
                except LearnerDied as exc:
                    learners.restart(str(exc))
                else:
                    take_snapshot(self.run_dir, store, step)

    @staticmethod
    def _row(store, step: int, result, status, started: float, proposing: bool,
             rollout: dict[str, Any], heldout: dict[str, float] | None,
             heldout_by: dict[str, dict] | None, summary: dict[str, Any]) -> dict[str, Any]:
        result.summary = summary
        row = step_row(step, result, status, time.monotonic() - started,
                       store.count("status = 'valid' AND heldout = 0"))
        row["proposing"] = proposing
        row["rollout"] = rollout  # prompts per rollout actor, and those out of service
        if heldout is not None:
            row["heldout_pass@1"] = heldout
        if heldout_by:
            row["heldout_pass@1_by"] = {group: g["pass@1"] for group, g in heldout_by.items()}
        return row

    def _heldout_eval(self, store, fleet, step: int, when: str
                      ) -> tuple[dict[str, float], dict[str, dict], dict[str, dict]]:
        """Greedy pass@1 on the held-out subsets (`heldout_pass_at_1`), by split and by
        family, API and edge kind, appended to the run's heldout curve; measures only."""
        self._phase(f"evaluating greedy pass@1 on the held-out splits ({when})")
        scores, by_tag, solved = heldout_pass_at_1(store, fleet, self.cfg)
        self.run_dir.eval_dir.mkdir(exist_ok=True)
        append_jsonl(self.run_dir.heldout_curve_path, {"step": step, "when": when,
                                                       "time": time.time(), **scores,
                                                       "by": by_tag, "solved": solved})
        if when != "step":  # a step's scores go with its row
            self.trackers.log(step, {"heldout_pass@1": scores})
        self.events("heldout", {"step": step, "when": when, "scores": scores})
        return scores, by_tag, solved

    def _record(self, row: dict[str, Any], stages: dict[str, float]) -> None:
        append_jsonl(self.run_dir.metrics_path, row)
        self.trackers.log(row["step"], row)
        record_dashboard(row, stages)
        self.events("step", {"row": row})

    def _final_checkpoint(self, summary: RunSummary, store) -> Path | None:
        learners = self.learners
        if learners.rank0 is None or summary.last_step < summary.first_step:  # no step here
            return latest_checkpoint(self.run_dir.checkpoints_dir)
        try:
            if not summary.interrupted and summary.stopped is None:
                self._phase("training on the last round")
                learners.drain()
            self._phase(f"writing checkpoint step-{summary.last_step}")
            path = learners.checkpoint(summary.last_step)
            self._write_provenance(store)  # the snapshot's copy is current
            take_snapshot(self.run_dir, store, summary.last_step)
            return path
        except LearnerFailed as exc:
            raise LearnerFailed(learners.failure(str(exc))) from None

    def _write_provenance(self, store) -> None:
        from zeroplay.eval.provenance import provenance_report, write_provenance

        try:
            write_provenance(provenance_report(store), self.run_dir.provenance_path)
        except OSError as exc:  # e.g. a full disk: the previous file stays whole
            log.warning("provenance.json not updated: %s", exc)


def proposer_on(cfg, solve_rate: float | None, store) -> bool:
    """Whether this step proposes: always with a threshold of 0; else once the solver's
    solve rate on the last step's training tasks reached it (and from then on: a run that
    proposed before a resume keeps proposing). Held-out scores choose nothing here."""
    threshold = cfg.rollout.proposer_after_solve_rate
    if threshold <= 0 or (solve_rate is not None and solve_rate >= threshold):
        return True
    return any(s.get("proposals") for _, _, s in store.steps()[1:])
