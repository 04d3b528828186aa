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
