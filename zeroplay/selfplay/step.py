"""One self-play step, stage by stage, top to bottom (the data flow of DESIGN.md).

    result = selfplay_step(store, rollouts, sandboxes, cfg, step=3, rng=random.Random(3))
    result.samples      # RolloutSamples for the learner; result.groups() as GRPO groups
    result.summary      # counts by role, status and reason, as recorded
    result.seconds      # wall time per stage

`rollouts` generates (a `zeroplay.actors.fleet.Rollouts`, on Ray or in process) and
`sandboxes` validates and judges (`Sandboxes`). The solver attempts the sampled
curriculum tasks plus the step's new valid tasks, whose solve rates score their
proposals. Nothing is written before the record stage, so a step that fails midway
leaves the store as it was and can simply be run again.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from zeroplay.config import Config
from zeroplay.curricula.store import CurriculumStore
from zeroplay.handoff import RolloutSample
from zeroplay.selfplay import learn
from zeroplay.selfplay.judge import judge
from zeroplay.selfplay.propose import propose
from zeroplay.selfplay.record import record_step
from zeroplay.selfplay.sample import sample
from zeroplay.selfplay.score import score_proposals, score_solutions
from zeroplay.selfplay.solve import solve
from zeroplay.selfplay.validate import validate


@dataclass
class StepResult:
    samples: list[RolloutSample] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def groups(self) -> list[list[RolloutSample]]:
        return learn.groups(self.samples)


def selfplay_step(store: CurriculumStore, rollouts, sandboxes, cfg: Config, *, step: int,
                  rng: random.Random, run_id: str = "") -> StepResult:
    result = StepResult()
    lap = _Laps(result.seconds)

    batch = sample(store, cfg, rng)
    proposals = propose(rollouts, batch.references, cfg, run_id)
    lap("propose")
    vetted = validate(store, sandboxes, proposals, cfg, step)
    lap("validate")
    known = {t.id for t in batch.solver_tasks}
    tasks = batch.solver_tasks + [t for t in vetted.tasks if t.valid and t.id not in known]
    solutions = solve(rollouts, tasks, cfg)
    lap("solve")
    verdicts = judge(sandboxes, solutions)
    lap("judge")
    solver_scores = score_solutions(solutions, verdicts)
    proposer_scores = score_proposals(proposals, vetted, solver_scores, cfg)
    result.samples = (
        learn.to_samples("solver", zip([s.completion for s in solutions], solver_scores,
                                       strict=True), step)
        + learn.to_samples("proposer", zip([p.completion for p in proposals], proposer_scores,
                                           strict=True), step))
    result.summary = record_step(store, step, vetted, proposals, solutions, result.samples,
                                 run_id)
    lap("record")
    return result


class _Laps:
    """Wall time since the previous lap, stored under each stage's name."""

    def __init__(self, into: dict[str, float]):
        self.into, self.last = into, time.monotonic()

    def __call__(self, stage: str) -> None:
        now = time.monotonic()
        self.into[stage] = now - self.last
        self.last = now
