import pytest

from zeroplay.config import Config
from zeroplay.curricula.synth import GENERATOR, synthesize, synthesize_heldout, synthesize_one
from zeroplay.sandbox.batch import Draft, validate_many


def _content(drafts):
    return [(d.id, d.statement, d.signature, d.kind, d.tags, d.provenance.seed) for d in drafts]


def test_deterministic_for_a_seed():
    assert _content(synthesize(30, seed=4)) == _content(synthesize(30, seed=4))
    assert _content(synthesize(30, seed=4)) != _content(synthesize(30, seed=5))


def test_each_task_regenerates_from_its_recorded_seed():
    for draft in synthesize(20, seed=1, max_ops=4):
        again, _ = synthesize_one(draft.provenance.seed, 4)
        assert (again.reference, again.strategy, again.statement) == \
            (draft.reference, draft.strategy, draft.statement)
        assert draft.provenance.origin == "seed-synth"
        assert draft.provenance.generator == GENERATOR


def test_size_and_difficulty():
    drafts = synthesize(100, seed=0, max_ops=2)
    assert len(drafts) == 100 and len({d.id for d in drafts}) == 100
    assert all(1 <= len(d.tags) <= 2 for d in drafts)
    assert max(len(d.tags) for d in synthesize(100, seed=0, max_ops=5)) > 2


def test_statement_is_written_from_the_program():
    for draft in synthesize(20, seed=2):
        assert draft.signature in draft.statement
        assert draft.reference.startswith(draft.signature + ":")
        assert draft.kind.split("->")[1] in draft.signature


def test_heldout_uses_other_combinations_and_ids():
    train = synthesize(150, seed=0)
    held = synthesize_heldout(60, 0, 3, "r", train)
    assert len(held) == 60
    assert not {d.tags for d in held} & {d.tags for d in train}
    assert not {d.id for d in held} & {d.id for d in train}


@pytest.mark.docker
def test_validity_against_the_real_sandbox(pool):
    cfg = Config().sandbox
    drafts = synthesize(200, seed=11, max_ops=3)
    results = validate_many(pool, [Draft(d.entry_point, d.reference, d.strategy) for d in drafts], cfg)
    valid = sum(v.valid for v in results)
    assert valid / len(results) >= 0.98, [v.reason for v in results if not v.valid]
