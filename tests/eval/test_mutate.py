"""The AST mutator: mutants compile, differ from the original, and change behaviour
(checked by running both in the real sandbox on the same inputs)."""

import ast

import pytest

from zeroplay.eval.humaneval import canonical_program, load_problems
from zeroplay.eval.mutate import OPERATORS, mutate
from zeroplay.sandbox.codec import to_tagged
from zeroplay.sandbox.pool import Job

SOURCE = '''def f(xs, k):
    """Docstring 1 + 1 stays."""
    total = 0
    for x in xs:
        if x > k and x % 2 == 0:
            total += x * 2
        else:
            total -= 1
    return total
'''


def test_every_operator_appears_and_mutants_compile():
    mutants = mutate(SOURCE, "f")
    assert {m.operator for m in mutants} == set(OPERATORS)
    assert len({m.code for m in mutants}) == len(mutants)
    for m in mutants:
        compile(m.code, "<mutant>", "exec")
        assert ast.unparse(ast.parse(m.code)) != ast.unparse(ast.parse(SOURCE))
        assert '"""Docstring 1 + 1 stays."""' in m.code or "'Docstring 1 + 1 stays.'" in m.code


@pytest.mark.parametrize(("change", "present"), [
    ("> -> >=", "x >= k"), ("and -> or", "x > k or"), ("* -> /", "x / 2"),
    ("+ -> -", "total -= x * 2"), ("0 -> 1", "total = 1"),
])
def test_named_mutations_are_produced(change, present):
    matching = [m for m in mutate(SOURCE, "f") if m.description.endswith(change)]
    assert any(present in m.code for m in matching), [m.description for m in matching]


def test_only_the_entry_point_is_mutated_and_the_limit_and_seed_hold():
    helper = "def helper(a):\n    return a + 1\n\n"
    mutants = mutate(helper + SOURCE, "f", limit=5, seed=3)
    assert len(mutants) == 5
    assert all("return a + 1" in m.code for m in mutants)
    assert mutants == mutate(helper + SOURCE, "f", limit=5, seed=3)
    with pytest.raises(ValueError, match="no top-level function"):
        mutate(SOURCE, "g")


def test_humaneval_mutants_change_behaviour_in_the_sandbox(pool):
    p = load_problems()[3]  # below_zero(operations: List[int]) -> bool
    inputs = [[to_tagged(ops)] for ops in ([], [1, 2, -3], [1, 2, -4, 5], [-1], [5, -5, 0])]
    mutants = mutate(canonical_program(p), p.entry_point, limit=6)
    assert len(mutants) == 6
    jobs = [Job(canonical_program(p), p.entry_point, inputs)] + [
        Job(m.code, p.entry_point, inputs) for m in mutants]
    results = [r for _, r in sorted(pool.map(jobs), key=lambda pair: pair[0])]
    assert all(r.status == "ok" and r.load_error is None for r in results)
    original = results[0].results
    changed = [r.results != original for r in results[1:]]
    assert sum(changed) >= 5, [m.description for m in mutants]
