"""Sampling from the curriculum: examples for the proposer, tasks for the solver.

    refs = proposer_references(store, k=6, window=4, rng=rng)
    batch = solver_tasks(store, n=8, new_fraction=0.5, window=4, rng=rng)

Only valid, non-held-out tasks are ever sampled: the held-out split is for evaluation.
Learnability (`1 - solve_rate` when 0 < solve_rate < 1, else 0) counts the attempts of
the last `window` policy versions. Proposer examples are weighted toward learnable
tasks and spread over kinds (one per kind before any kind repeats); solver batches mix
never-attempted tasks with learnable ones.
"""

from __future__ import annotations

import random

from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.task import Task

BASE_WEIGHT = 0.05  # so that unattempted or solved-everywhere tasks still appear sometimes


def trainable(store: CurriculumStore, window: int) -> list[Task]:
    """Every task that may be shown during training: valid and not held out."""
    return store.tasks(status="valid", heldout=False, window=window)


def proposer_references(store: CurriculumStore, k: int, window: int,
                        rng: random.Random) -> list[Task]:
    tasks = trainable(store, window)
    by_kind: dict[str, list[Task]] = {}
    for task in tasks:
        by_kind.setdefault(task.kind, []).append(task)
    chosen: list[Task] = []
    while len(chosen) < k and by_kind:
        for kind in rng.sample(sorted(by_kind), len(by_kind)):
            if len(chosen) >= k:
                break
            pool = by_kind[kind]
            pick = _weighted_pick(pool, rng)
            chosen.append(pool.pop(pick))
            if not pool:
                del by_kind[kind]
    return chosen


def solver_tasks(store: CurriculumStore, n: int, new_fraction: float, window: int,
                 rng: random.Random) -> list[Task]:
    tasks = trainable(store, window)
    fresh = [t for t in tasks if t.stats.attempts == 0]
    seen = [t for t in tasks if t.stats.attempts > 0]
    want_new = min(len(fresh), round(n * new_fraction))
    chosen = rng.sample(fresh, want_new)
    picked = {t.id for t in chosen}
    learnable = [t for t in seen if t.stats.learnability > 0]
    others = [t for t in tasks if t.id not in picked and t.stats.learnability == 0]
    for source in (learnable, others):
        while len(chosen) < n and source:
            chosen.append(source.pop(_weighted_pick(source, rng)))
    return chosen


def _weighted_pick(tasks: list[Task], rng: random.Random) -> int:
    weights = [BASE_WEIGHT + t.stats.learnability for t in tasks]
    return rng.choices(range(len(tasks)), weights=weights)[0]
