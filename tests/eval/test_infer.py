"""Strategy inference from type hints and docstring examples."""

import pytest

from zeroplay.eval.humaneval import load_problems
from zeroplay.eval.infer import docstring_examples, infer_strategy
from zeroplay.sandbox.strategies import draw_inputs, parse_strategy


@pytest.mark.parametrize(("doc", "expected"), [
    (">>> add(2, 3)\n5\n>>> add(5, 7)", [(2, 3), (5, 7)]),
    ("add([1, 2], 'x') == 3\nadd(n - 1, 2) is not literal", [([1, 2], "x")]),
    ("badd(1, 2) and add((1, 2), {'a': 1}) ➞ 2", [((1, 2), {"a": 1})]),
    ("add(1, 2)\nadd(1, 2)", [(1, 2)]),
    ("no calls here; add( is broken", []),
])
def test_docstring_examples(doc, expected):
    assert docstring_examples(doc, "add") == expected


def test_type_hints_give_the_types_and_examples_the_ranges():
    prompt = ('from typing import List, Tuple\n\ndef f(xs: List[int], s: str, p: Tuple[int, '
              'float]) -> int:\n    """>>> f([3, 9], "ab", (1, 2.0))\n    """\n')
    inferred = infer_strategy(prompt, "f")
    assert inferred.source == "hints"
    spec = parse_strategy(inferred.strategy)
    drawn = draw_inputs(spec, 40, seed=0)
    assert ([3, 9], "ab", (1, 2.0)) in drawn
    for xs, s, (a, b) in drawn:
        assert all(type(x) is int and x >= 1 for x in xs)
        assert set(s) <= {"a", "b"} and type(a) is int and type(b) is float


def test_untyped_arguments_take_their_type_from_examples():
    prompt = 'def g(n, words):\n    """g(4, ["a", "bc"]) == 1\n    """\n'
    inferred = infer_strategy(prompt, "g")
    assert inferred.source == "examples"
    for n, words in draw_inputs(parse_strategy(inferred.strategy), 30, seed=1):
        assert type(n) is int and n >= 1 and all(isinstance(w, str) for w in words)


@pytest.mark.parametrize(("prompt", "reason"), [
    ('def h(x):\n    """Return x."""\n', "no type hint and no example"),
    ("def h():\n    pass\n", "takes no arguments"),
    ("def h(x:\n", "does not parse"),
])
def test_no_strategy_says_why(prompt, reason):
    inferred = infer_strategy(prompt, "h")
    assert inferred.strategy is None and reason in inferred.reason


def test_most_humaneval_problems_get_a_strategy_in_the_dsl():
    inferred = [infer_strategy(p.prompt, p.entry_point) for p in load_problems()]
    with_strategy = [i for i in inferred if i.strategy]
    assert len(with_strategy) >= 140
    for i in with_strategy:
        parse_strategy(i.strategy)  # raises StrategyError if outside the DSL
