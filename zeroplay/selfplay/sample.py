"""Stage 1, sample: what this step shows the proposer and gives the solver.

    batch = sample(store, cfg, rng)
    batch.references   # one tuple of example tasks per proposer prompt
    batch.solver_tasks # curriculum tasks the solver attempts this step

Both come from the training curriculum only (valid, not held out), weighted toward
learnable tasks (`zeroplay.curricula.sampling`). The same store and rng give the same batch.
"""

from __future__ import annotations

import random
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
