import random
from collections import Counter

from zeroplay.curricula.sampling import proposer_references, solver_tasks

from .conftest import attempt, make_task


def _fill(store):
    tasks = {
        "learnable": make_task(1, kind="a"),
        "solved": make_task(2, kind="a"),
        "unsolved": make_task(3, kind="b"),
        "fresh": make_task(4, kind="c"),
        "heldout": make_task(5, kind="d", heldout=True),
        "rejected": make_task(6, kind="e", valid=False),
    }
    with store.transaction():
        for t in tasks.values():
            store.add_task(t)
        for n in range(4):
            store.add_attempt(attempt(tasks["learnable"].id, n, n % 2 == 0))
            store.add_attempt(attempt(tasks["solved"].id, n, True))
            store.add_attempt(attempt(tasks["unsolved"].id, n, False))
            store.add_attempt(attempt(tasks["heldout"].id, n, n % 2 == 0))
    return {k: t.id for k, t in tasks.items()}


def test_heldout_and_rejected_are_never_sampled(store):
    ids = _fill(store)
    rng = random.Random(0)
    for _ in range(200):
        picked = {t.id for t in proposer_references(store, 6, 4, rng)}
        picked |= {t.id for t in solver_tasks(store, 6, 0.5, 4, rng)}
        assert ids["heldout"] not in picked and ids["rejected"] not in picked


def test_proposer_examples_prefer_learnable_tasks(store):
    ids = _fill(store)
    rng = random.Random(1)
    counts = Counter(proposer_references(store, 1, 4, rng)[0].id for _ in range(3000))
    # kind "a" holds the learnable and the solved task: within it the learnable one wins
    assert counts[ids["learnable"]] > 5 * counts[ids["solved"]]


def test_proposer_examples_spread_over_kinds(store):
    _fill(store)
    refs = proposer_references(store, 3, 4, random.Random(2))
    assert len({t.kind for t in refs}) == 3


def test_solver_batch_mixes_new_and_learnable(store):
    ids = _fill(store)
    batch = solver_tasks(store, 2, 0.5, 4, random.Random(3))
    chosen = {t.id for t in batch}
    assert ids["fresh"] in chosen and ids["learnable"] in chosen
    everything = solver_tasks(store, 10, 0.5, 4, random.Random(3))
    assert len(everything) == 4  # all trainable tasks, no repeats


def test_solver_tasks_prefer_high_p_times_one_minus_p(store):
    rates = {"half": (2, 4), "quarter": (1, 4), "never": (0, 4), "always": (4, 4)}
    tasks = {name: make_task(10 + i) for i, name in enumerate(rates)}
    with store.transaction():
        for name, task in tasks.items():
            store.add_task(task)
            solves, attempts = rates[name]
            for n in range(attempts):
                store.add_attempt(attempt(task.id, n, n < solves))
    rng = random.Random(4)
    counts = Counter(solver_tasks(store, 1, 0.0, 4, rng)[0].id for _ in range(4000))
    half, quarter = counts[tasks["half"].id], counts[tasks["quarter"].id]
    # weights 0.25 : 0.1875, so the p = 0.5 task is drawn 4/7 of the time
    assert abs(half / 4000 - 4 / 7) < 0.03 and half + quarter == 4000
    # always or never solved: only once nothing with 0 < p < 1 is left
    assert {t.id for t in solver_tasks(store, 3, 0.0, 4, rng)} >= {tasks["half"].id,
                                                                  tasks["quarter"].id}


def test_unattempted_tasks_keep_their_share_and_refills_exclude(store):
    ids = _fill(store)
    fresh = [make_task(20 + i) for i in range(3)]
    with store.transaction():
        for t in fresh:
            store.add_task(t)
    rng = random.Random(5)
    for _ in range(50):
        batch = solver_tasks(store, 4, 0.5, 4, rng)
        assert sum(t.stats.attempts == 0 for t in batch) >= 2  # the rest: p(1 - p) first
        assert ids["learnable"] in {t.id for t in batch}
    batch = solver_tasks(store, 10, 0.5, 4, rng, exclude={ids["learnable"], fresh[0].id})
    assert {t.id for t in batch}.isdisjoint({ids["learnable"], fresh[0].id}) and len(batch) == 5
