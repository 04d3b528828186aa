import dataclasses

import pytest

from zeroplay.config import Config, load_config
from zeroplay.curricula.filters import DraftFilter
from zeroplay.curricula.programs import normalized_hash, shape_hash
from zeroplay.curricula.task import Provenance, TaskDraft


def draft(reference="def f(x):\n    return x + 1\n", statement="Add one.", strategy="st.integers()"):
    return TaskDraft(statement, "f", "def f(x: int) -> int", reference, strategy,
                     Provenance("policy", "r", policy_version=1))


def test_normalized_hash_ignores_names_and_docstrings_not_constants():
    a = normalized_hash("def f(a):\n    '''doc'''\n    b = a * 2\n    return b + 1\n")
    assert a == normalized_hash("def g(x):\n    y = x * 2\n    return y + 1\n")
    assert a != normalized_hash("def g(x):\n    y = x * 3\n    return y + 1\n")
    assert normalized_hash("def (") is None


@pytest.mark.parametrize(
    ("overrides", "candidate", "reason"),
    [
        (["curriculum.max_statement_chars=5"], draft(), "statement_too_long"),
        (["curriculum.max_reference_chars=10"], draft(), "reference_too_long"),
        ([], draft("import os\ndef f(x):\n    return x\n"), "banned_import"),
        ([], draft("def f(x):\n    return eval('x')\n"), "banned_call"),
        ([], draft("def g(x):\n    return x\n"), "no_entry_point"),
        (["curriculum.content_filters=['(?i)humaneval', 'secret']"], draft(statement="From HumanEval"), "content_filter"),
    ],
)
def test_each_filter_has_a_reason(overrides, candidate, reason):
    cfg = load_config(None, overrides)
    assert DraftFilter(cfg).check(candidate, set(), set()) == reason


def test_duplicates_and_near_duplicates():
    f = DraftFilter(Config())
    d = draft()
    assert f.check(d, {d.id}, set()) == "duplicate"
    renamed = draft("def f(y):\n    return y + 1\n", strategy="st.integers(0, 3)")
    assert f.check(renamed, set(), {normalized_hash(d.reference)}) == "near_duplicate"
    assert f.check(d, set(), set()) is None


def test_shape_hash_abstracts_constants_and_only_constants():
    a = shape_hash("def f(xs):\n    return [x + 3 for x in xs if x > -2]\n")
    assert a == shape_hash("def g(v):\n    return [y + 70 for y in v if y > 5]\n")
    assert a != shape_hash("def g(v):\n    return [y * 70 for y in v if y > 5]\n")
    assert a != shape_hash("def g(v, k):\n    return [y + k for y in v if y > 5]\n")
    assert shape_hash("def f(s):\n    return s.count('a')\n") == \
        shape_hash("def f(s):\n    return s.count('xyz')\n")
    assert shape_hash("def (") is None


def test_a_policy_draft_shaped_like_a_heldout_unseen_task_is_filtered():
    f = DraftFilter(Config())
    held = {shape_hash("def f(x):\n    return x + 5\n")}
    assert f.check(draft(), set(), set(), held) == "heldout_shape"  # x + 1: same shape
    synthesized = dataclasses.replace(draft(), provenance=Provenance.seed_synth("r", "g", 1))
    assert f.check(synthesized, set(), set(), held) is None  # the synthesizer's own rule
    assert f.check(draft("def f(x):\n    return x * 5\n"), set(), set(), held) is None


def test_a_copy_of_a_program_trained_on_outside_the_curriculum_is_filtered():
    f = DraftFilter(Config())
    trained = {normalized_hash("def g(y):\n    return y + 1\n")}
    assert f.check(draft(), set(), set(), (), trained) == "trained_copy"
    assert f.check(draft("def f(x):\n    return x + 2\n"), set(), set(), (), trained) is None


def test_content_hook():
    f = DraftFilter(Config(), extra=lambda d: "no" if "forbidden" in d.statement else None)
    assert f.check(draft(statement="forbidden words"), set(), set()) == "content_hook"
    assert f.check(draft(), set(), set()) is None
