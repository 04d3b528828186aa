"""Stage 1, sample: what this step shows the proposer and gives the solver.

    batch = sample(store, cfg, rng)
    batch.references   # one tuple of example tasks per proposer prompt
    batch.solver_tasks # curriculum tasks the solver attempts this step
    more = more_solver_tasks(store, cfg, rng, n=2, exclude={"<task id>", ...})  # a refill

Both come from the training curriculum only (valid, not held out): proposer examples
weighted toward learnable tasks, solver tasks toward high p(1 - p) with a share of
unattempted ones (`zeroplay.curricula.sampling`). A refill (dynamic sampling) draws the
same way among tasks the step has not solved yet; stats are the store's as of the
step's start. The same store and rng give the same batch.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass

from zeroplay.config import Config
from zeroplay.curricula.sampling import proposer_references, solver_tasks
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import Task


@dataclass(frozen=True)
class Batch:
    references: list[tuple[Task, ...]]
    solver_tasks: list[Task]


def sample(store: CurriculumStore, cfg: Config, rng: random.Random) -> Batch:
    r, cur = cfg.rollout, cfg.curriculum
    references = [tuple(proposer_references(store, cur.reference_k, cur.learnability_window,
                                            rng))
                  for _ in range(r.proposals_per_step)]
    tasks = solver_tasks(store, r.solver_tasks_per_step, cur.solver_new_fraction,
                         cur.learnability_window, rng)
    return Batch(references, tasks)


def more_solver_tasks(store: CurriculumStore, cfg: Config, rng: random.Random, n: int,
                      exclude: Collection[str]) -> list[Task]:
    """Up to `n` more solver tasks, none of `exclude` (none at all when n is 0)."""
    cur = cfg.curriculum
    if n <= 0:
        return []
    return solver_tasks(store, n, cur.solver_new_fraction, cur.learnability_window, rng,
                        exclude=exclude)
