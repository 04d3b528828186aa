"""Public tests: informative cases chosen by a deterministic rule; the reward stays hidden."""

import pytest

from zeroplay.config import Config
from zeroplay.curricula.synth import synthesize
from zeroplay.sandbox.batch import Draft, validate_many
from zeroplay.sandbox.codec import canonical, from_tagged
from zeroplay.sandbox.drafts import freeze
from zeroplay.sandbox.pool import JobResult
from zeroplay.sandbox.public import choose_public, is_minimal
from zeroplay.sandbox.verdicts import judge

CFG = Config().sandbox


def ints(pairs):
    """Cases f(x) == y from (x, y) pairs, in draw order."""
    return [([["i", x]], ["i", y]) for x, y in pairs]


@pytest.mark.parametrize(("value", "minimal"), [
    (["i", 0], True), (["f", 0.0], True), (["s", ""], True), (["l", []], True),
    (["l", [["i", 0], ["i", 0]]], True), (["t", [["s", ""]]], True), (["d", []], True),
    (["d", [[["s", ""], ["i", 0]]]], True), (["S", []], True),
    (["i", -1], False), (["f", "nan"], False), (["s", "0"], False), (["l", [["i", 3]]], False),
    (["d", [[["s", "a"], ["i", 0]]]], False), (["b", False], False), (["N"], False),
])
def test_minimal_values(value, minimal):
    assert is_minimal(value) is minimal


def test_hypothesis_first_draws_are_not_chosen():
    cases = ints([(0, 0), (1, 1), (-1, 1), (7, 49), (12, 144), (-5, 25), (3, 9), (1000, 10**6)])
    chosen = choose_public(cases, 3)
    assert len(chosen) == 3 and 0 not in chosen  # the minimal draw
    assert 7 not in chosen  # the outsized one


def test_distinct_outputs_come_before_repeated_ones():
    cases = ints([(5, 1), (6, 0), (7, 1), (8, 0), (9, 1), (2, 0), (4, 2)])
    chosen = choose_public(cases, 3)
    assert len({cases[i][1][1] for i in chosen}) == 3


def test_repeated_outputs_fill_up_when_too_few_are_distinct():
    cases = ints([(5, 1), (6, 0), (7, 1), (8, 0), (9, 1), (2, 0)])
    chosen = choose_public(cases, 3)
    assert len(chosen) == 3 and {cases[i][1][1] for i in chosen} == {0, 1}


def test_the_hidden_cases_never_become_constant():
    # True on one input only: showing it would let `return False` pass every hidden test.
    cases = [([["i", x]], ["b", x == 4]) for x in range(1, 9)]
    chosen = choose_public(cases, 3)
    assert len(chosen) == 3 and 3 not in chosen
    assert choose_public(ints([(1, 1), (2, 2)]), 3) == set()  # nothing can be shown
    assert len(choose_public(ints([(1, 1), (2, 2), (3, 2)]), 3)) == 1


def test_the_choice_is_a_function_of_the_cases():
    cases = ints([(x, x * x % 7) for x in range(-6, 20)])
    assert choose_public(cases, 3) == choose_public(list(cases), 3)
    assert choose_public(cases, 0) == set()


def test_freeze_marks_the_chosen_cases_and_keeps_draw_order():
    xs = [0, 1, 2, -3, 40, 5]
    inputs = [[["i", x]] for x in xs]
    run = JobResult("ok", results=[{"ok": ["i", x * 2]} for x in xs])
    v = freeze(inputs, run, run, CFG)
    assert [t.args for t in v.tests] == inputs
    public = [t.args[0][1] for t in v.tests if t.public]
    assert len(public) == CFG.num_public_tests and 0 not in public


@pytest.fixture(scope="module")
def synth_tasks(pool):
    drafts = synthesize(8, seed=11, max_ops=Config().curriculum.max_ops)
    validations = validate_many(pool, [Draft(d.entry_point, d.reference, d.strategy)
                                       for d in drafts], pool.cfg, seed=11)
    assert all(v.valid for v in validations), [v.detail for v in validations]
    return list(zip(drafts, validations, strict=True))


def test_synthesized_tasks_show_no_minimal_inputs(synth_tasks, pool):
    k = pool.cfg.num_public_tests
    for draft, v in synth_tasks:
        public = [t for t in v.tests if t.public]
        assert len(public) == k and any(not t.public for t in v.tests)
        if sum(not any(map(is_minimal, t.args)) for t in v.tests) >= k:  # larger values exist
            assert not any(is_minimal(a) for t in public for a in t.args), draft.strategy


def test_synthesized_tasks_show_different_outputs(synth_tasks, pool):
    k = pool.cfg.num_public_tests
    for draft, v in synth_tasks:
        outputs = [canonical(t.expected) for t in v.tests]
        if len(set(outputs)) >= k + 2:  # enough that two stay hidden whatever is shown
            public = {canonical(t.expected) for t in v.tests if t.public}
            assert len(public) == k, draft.reference


def test_reward_counts_hidden_tests_only(synth_tasks, pool):
    draft, v = synth_tasks[0]
    public = {repr(tuple(from_tagged(a) for a in t.args)): from_tagged(t.expected)
              for t in v.tests if t.public}
    memorizer = f"def f(*args):\n    return {public!r}.get(repr(args))\n"
    verdict = judge(pool, memorizer, "f", v.tests, pool.cfg)
    assert verdict.passed == len(public) and verdict.reward == 0.0
    wrong_on_public = (draft.reference.replace("def f(", "def _ref(", 1)
                       + f"\ndef f(*args):\n    if repr(args) in {set(public)!r}:\n"
                       "        return None\n    return _ref(*args)\n")
    verdict = judge(pool, wrong_on_public, "f", v.tests, pool.cfg)
    assert verdict.status == "fail" and verdict.reward == 1.0
    assert verdict.passed == len(v.tests) - len(public)


def test_an_edge_task_shows_an_input_of_its_edge_first():
    """Ranked last by the usual rule (it is minimal), the empty list is still shown when
    the statement rules on the empty input."""
    cases = [([["l", [["i", i], ["i", i + 1], ["i", 3]]]], ["i", i + 1]) for i in range(6)]
    cases.append(([["l", []]], ["i", -1]))
    assert 6 not in choose_public(cases, 3)
    assert 6 in choose_public(cases, 3, edge="empty")
    assert len(choose_public(cases, 3, edge="empty")) == 3
    ties = [([["s", "abc"]], ["s", "abc"]), ([["s", "abca"]], ["s", "abc"]),
            ([["s", "xyz"]], ["s", "xyz"]), ([["s", "q"]], ["s", "q"])]
    assert 1 in choose_public(ties, 1, edge="ties")
    assert choose_public(cases, 3, edge="negative") == choose_public(cases, 3)  # none drawn
