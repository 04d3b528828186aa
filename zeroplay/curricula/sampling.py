"""Sampling from the curriculum: examples for the proposer, tasks for the solver.

    refs = proposer_references(store, k=6, window=4, rng=rng)
    batch = solver_tasks(store, n=8, new_fraction=0.5, window=4, rng=rng)
    more = solver_tasks(store, n=4, new_fraction=0.5, window=4, rng=rng,
                        exclude={t.id for t in batch})

Only valid, non-held-out tasks are ever sampled: the held-out split is for evaluation.
Solve rates count the attempts of the last `window` policy versions. Proposer examples
are weighted toward learnable tasks (`1 - solve_rate` when 0 < solve_rate < 1, else 0,
as in Absolute Zero) and spread over kinds (one per kind before any kind repeats).
Solver batches keep a `new_fraction` share for never-attempted tasks and fill the rest
with tasks of high p(1 - p), p = the solver's own solve rate: a GRPO group of such a task
is the likeliest to hold both a pass and a fail, so its advantages are not all zero.
Tasks the solver always or never solves come last. Nothing guarantees that a sampled
task is still learnable: a solve rate over a few attempts is a rough estimate.
"""

from __future__ import annotations

import random
from collections.abc import Collection

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
            pick = _weighted_pick(pool, [BASE_WEIGHT + t.stats.learnability for t in pool], rng)
            chosen.append(pool.pop(pick))
            if not pool:
                del by_kind[kind]
    return chosen


def solve_variance(solve_rate: float | None) -> float:
    """p(1 - p) of a solve rate p: highest at 0.5, 0 for tasks always or never solved
    (and for unattempted ones, which have no rate).

    >>> solve_variance(0.5), solve_variance(0.25), solve_variance(1.0), solve_variance(None)
    (0.25, 0.1875, 0.0, 0.0)
    """
    return 0.0 if solve_rate is None else solve_rate * (1 - solve_rate)


def solver_tasks(store: CurriculumStore, n: int, new_fraction: float, window: int,
                 rng: random.Random, exclude: Collection[str] = ()) -> list[Task]:
    """`n` distinct tasks (fewer if the curriculum has fewer), none of `exclude`: a
    `new_fraction` share never attempted, the rest weighted by p(1 - p)."""
    tasks = [t for t in trainable(store, window) if t.id not in exclude]
    fresh = [t for t in tasks if t.stats.attempts == 0]
    want_new = min(len(fresh), round(n * new_fraction))
    chosen = rng.sample(fresh, want_new)
    picked = {t.id for t in chosen}
    variance = {t.id: solve_variance(t.stats.solve_rate) for t in tasks}
    learnable = [t for t in tasks if variance[t.id] > 0]
    others = [t for t in tasks if t.id not in picked and variance[t.id] == 0]
    for source in (learnable, others):
        while len(chosen) < n and source:
            weights = [variance[t.id] or BASE_WEIGHT for t in source]
            chosen.append(source.pop(_weighted_pick(source, weights, rng)))
    return chosen


def _weighted_pick(tasks: list[Task], weights: list[float], rng: random.Random) -> int:
    return rng.choices(range(len(tasks)), weights=weights)[0]
