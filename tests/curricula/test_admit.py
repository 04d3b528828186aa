"""Admission and the held-out splits: seeded before training, and no training stream
(the seed curriculum, the warm start's fresh tasks, the policy's proposals) ever holds a
held-out program."""

import dataclasses

import pytest

from zeroplay.config import Config
from zeroplay.curricula.admit import fresh_tasks, pool_validator, seed_curriculum, vet
from zeroplay.curricula.programs import normalized_hash
from zeroplay.curricula.store import CurriculumStore
from zeroplay.curricula.synth import reserved_for_unseen
from zeroplay.curricula.task import Provenance, TaskDraft, ops_of

pytestmark = pytest.mark.docker
CFG = Config()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, pool):
    path = tmp_path_factory.mktemp("admit") / "curriculum.sqlite"
    with CurriculumStore.open(path, create=True, run_id="adm") as store:
        by_split = seed_curriculum(store, pool_validator(pool, CFG), CFG, n=60, heldout=40,
                                   seed=2, run_id="adm")
        yield store, by_split


def _hashes(tasks):
    return {normalized_hash(t.reference) for t in tasks}


def test_each_split_is_seeded_and_stored_with_its_name(seeded):
    store, by_split = seeded
    assert list(by_split) == ["train", "heldout-seen", "heldout-unseen"]
    for split, vetted in by_split.items():
        stored = store.tasks(status="valid", split=split)
        assert len(stored) == vetted.valid > 0.9 * (60 if split == "train" else 40)
        assert all(t.heldout == (split != "train") for t in stored)
    assert store.steps()[0][2] == {"seeded": by_split["train"].valid,
                                   "heldout-seen": by_split["heldout-seen"].valid,
                                   "heldout-unseen": by_split["heldout-unseen"].valid}


def test_heldout_seen_reuses_training_combinations_and_unseen_never_does(seeded):
    store, _ = seeded
    train = store.tasks(status="valid", split="train")
    seen = store.tasks(status="valid", split="heldout-seen")
    unseen = store.tasks(status="valid", split="heldout-unseen")
    assert {ops_of(t.tags) for t in seen} <= {ops_of(t.tags) for t in train}
    assert all(reserved_for_unseen(ops_of(t.tags)) for t in unseen)
    assert not any(reserved_for_unseen(ops_of(t.tags)) for t in train)


def test_no_training_task_shares_a_program_with_a_heldout_task(seeded, pool):
    store, _ = seeded
    heldout = _hashes(store.tasks(heldout=True))
    assert not _hashes(store.tasks(split="train")) & heldout  # the seed curriculum
    fresh = fresh_tasks(store, pool_validator(pool, CFG), CFG, n=80, seed=2, run_id="adm")
    assert len(fresh) > 70 and all(t.split == "train" for t in fresh)
    assert not _hashes(fresh) & heldout  # the warm start's stream
    assert not _hashes(fresh) & _hashes(store.tasks(split="train"))  # and nothing stored


def test_a_proposal_of_a_heldout_program_is_filtered(seeded, pool):
    store, _ = seeded
    held = store.tasks(status="valid", split="heldout-unseen")[0]
    renamed = held.reference.replace("def f(", "def g(")  # the same program, renamed
    draft = TaskDraft("copied", "g", held.signature.replace("def f(", "def g("),
                      renamed, held.strategy, Provenance.policy("adm", 3, ()))
    vetted = vet(store, pool_validator(pool, CFG), [draft, dataclasses.replace(draft)], CFG,
                 seed=0, step=1)
    assert vetted.tasks == [] and sum(vetted.filtered.values()) == 2
