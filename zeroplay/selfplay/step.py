"""One self-play step, stage by stage, top to bottom (the data flow of docs/design.md).

    result = selfplay_step(store, rollouts, sandboxes, cfg, step=3, rng=random.Random(3))
    result.samples      # RolloutSamples for the learner; result.groups() as GRPO groups
    result.dropped      # samples of zero-std groups (dynamic sampling), not trained on
    result.invented     # the policy's new valid tasks (learner.reference_sft trains on them)
    result.summary      # counts by role, status and reason, as recorded
    result.seconds      # wall time per stage (solve and judge summed over the rounds)

    result = selfplay_step(..., record=False)   # the loop: train first, then
    result.record(row=make_row)                 # the step and its metrics row, one commit

`rollouts` generates (a `zeroplay.actors.fleet.Rollouts`, on Ray or in process) and
`sandboxes` validates and judges (`Sandboxes`). Every input of the step is here: the
store, the two actor groups, the config, the step number and its rng; the drafts
validated are the proposals' and, with `curriculum.fresh_tasks_per_step`, fresh
synthesizer drafts. The solver attempts the sampled curriculum tasks plus the step's new
valid tasks, whose solve rates score their
proposals; with `rollout.dynamic_sampling` it then solves refills until the step has
enough informative groups or the round bound is hit (`selfplay.dynamic`). Proposer
groups whose rewards are all equal (every proposal malformed, say) are dropped too when
`learner.beta` is 0: they then carry no gradient at all, and under the token-level loss
their rows would only dilute the others'. The learner may get no group at all. Nothing
is written before the record stage, so a step that fails midway leaves the store as it
was and can simply be run again.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import Task
from zeroplay.failpoints import crash_point
from zeroplay.handoff import RolloutSample
from zeroplay.selfplay.dynamic import SolverRounds, zero_std_cause
from zeroplay.selfplay.groups import as_groups, to_samples
from zeroplay.selfplay.judge import judge
from zeroplay.selfplay.propose import propose
from zeroplay.selfplay.record import record_step
from zeroplay.selfplay.sample import more_solver_tasks, sample
from zeroplay.selfplay.score import score_proposals, score_solutions
from zeroplay.selfplay.solve import solve
from zeroplay.selfplay.validate import fresh_drafts, validate


@dataclass
class StepResult:
    samples: list[RolloutSample] = field(default_factory=list)
    dropped: list[RolloutSample] = field(default_factory=list)
    invented: list[Task] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    pending: Callable[..., dict[str, Any]] | None = None  # record_step, bound to the step

    def groups(self) -> list[list[RolloutSample]]:
        return as_groups(self.samples)

    def record(self, row: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        """Write a step run with `record=False` (see `record_step` for `row`); once."""
        if self.pending is None:
            raise RuntimeError("this step is recorded already")
        pending, self.pending = self.pending, None
        started = time.monotonic()

        def timed_row(summary: dict[str, Any]) -> dict[str, Any]:  # the row shows the stage
            self.seconds["record"] = time.monotonic() - started
            return row(summary)

        self.summary = pending(row=timed_row if row else None)
        self.seconds["record"] = time.monotonic() - started


def selfplay_step(store: CurriculumStore, rollouts, sandboxes, cfg: Config, *, step: int,
                  rng: random.Random, run_id: str = "", proposing: bool = True,
                  record: bool = True) -> StepResult:
    """`proposing=False`: a solver-only step (the proposer waits until the solver can
    solve, `rollout.proposer_after_solve_rate`). `record=False`: nothing is written until
    `result.record()`."""
    result = StepResult()
    lap = _Laps(result.seconds)

    batch = sample(store, cfg, rng)
    proposals = propose(rollouts, batch.references if proposing else [], cfg, run_id)
    lap("propose")
    crash_point("generation")
    fresh = fresh_drafts(store, cfg, step, run_id)  # curriculum.fresh_tasks_per_step, 0 by default
    vetted = validate(store, sandboxes, [p.draft for p in proposals if p.draft] + fresh, cfg,
                      step)
    lap("validate")
    crash_point("validation")
    known = {t.id for t in batch.solver_tasks}
    tasks = batch.solver_tasks + [t for t in vetted.tasks if t.valid and t.id not in known]
    solver = SolverRounds.for_step(cfg)
    while tasks:  # one round, then refills while dynamic sampling wants more groups
        solutions = solve(rollouts, tasks, cfg, first_index=solver.groups)
        lap("solve")
        verdicts = judge(sandboxes, solutions)
        lap("judge")
        solver.add(solutions, score_solutions(solutions, verdicts))
        tasks = more_solver_tasks(store, cfg, rng, solver.refill_size(), solver.task_ids())
    proposer_scores = score_proposals(proposals, vetted, solver.scores, cfg)
    proposer = to_samples("proposer", zip([p.completion for p in proposals],
                                                proposer_scores, strict=True), step)
    drop = cfg.rollout.dynamic_sampling and cfg.learner.beta == 0
    flat = {g[0].group for g in as_groups(proposer)
            if drop and zero_std_cause([s.reward for s in g]) is not None}
    solver_kept = to_samples("solver", solver.pairs(kept=True), step)
    result.invented = [t for t in vetted.tasks if t.valid and t.provenance.origin == "policy"]
    result.samples = solver_kept + [s for s in proposer if s.group not in flat]
    result.dropped = (to_samples("solver", solver.pairs(kept=False), step)
                      + [s for s in proposer if s.group in flat])
    result.pending = functools.partial(record_step, store, step, vetted, proposals, solver,
                                       solver_kept + proposer, run_id, untrained=flat)
    if record:
        result.record()
    return result


class _Laps:
    """Wall time since the previous lap, added up under each stage's name."""

    def __init__(self, into: dict[str, float]):
        self.into, self.last = into, time.monotonic()

    def __call__(self, stage: str) -> None:
        now = time.monotonic()
        self.into[stage] = self.into.get(stage, 0.0) + now - self.last
        self.last = now
