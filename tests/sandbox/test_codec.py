"""The type-tagged value codec shared by host and container, and strict comparison."""

import ast
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zeroplay.sandbox import codec
from zeroplay.sandbox.codec import (
    MAX_DEPTH,
    Unserializable,
    canonical,
    from_tagged,
    is_tagged,
    to_tagged,
    values_equal,
)

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.frozensets(st.integers() | st.text(), max_size=4)
    | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(plain)
def test_round_trip(value):
    tagged = to_tagged(value)
    assert is_tagged(tagged)
    back = from_tagged(tagged)
    assert back == value
    assert to_tagged(back) == tagged


@pytest.mark.parametrize(
    ("value", "tagged"),
    [
        (None, ["N"]),
        (True, ["b", True]),
        (1, ["i", 1]),
        (1.5, ["f", 1.5]),
        (math.inf, ["f", "inf"]),
        ("x", ["s", "x"]),
        ([1], ["l", [["i", 1]]]),
        ((1,), ["t", [["i", 1]]]),
        ({2, 1}, ["S", [["i", 1], ["i", 2]]]),
        (frozenset({1}), ["F", [["i", 1]]]),
        ({"b": 1, "a": 2}, ["d", [[["s", "a"], ["i", 2]], [["s", "b"], ["i", 1]]]]),
    ],
)
def test_tags_keep_the_exact_type(value, tagged):
    assert to_tagged(value) == tagged


class SneakyInt(int):
    def __eq__(self, other):
        return True


class Anything:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [SneakyInt(3), Anything(), b"bytes", 1j, object(), [Anything()]])
def test_non_plain_values_are_refused(value):
    with pytest.raises(Unserializable):
        to_tagged(value)


def test_too_deep_or_too_big_is_refused():
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(Unserializable, match="deeply"):
        to_tagged(deep)
    with pytest.raises(Unserializable, match="too large"):
        to_tagged(list(range(300_000)))


@pytest.mark.parametrize(
    ("a", "b", "tol", "equal"),
    [
        (["i", 1], ["b", True], 0, False),
        (["i", 0], ["b", False], 0, False),
        (["l", [["i", 1]]], ["t", [["i", 1]]], 0, False),
        (["S", [["i", 1], ["i", 2]]], ["S", [["i", 2], ["i", 1]]], 0, True),
        (["d", [[["s", "a"], ["i", 1]], [["s", "b"], ["i", 2]]]],
         ["d", [[["s", "b"], ["i", 2]], [["s", "a"], ["i", 1]]]], 0, True),
        (["f", "nan"], ["f", "nan"], 0, True),
        (["f", "nan"], ["f", 1.0], 1e-6, False),
        (["f", 0.1 + 0.2], ["f", 0.3], 1e-9, True),
        (["f", 0.1 + 0.2], ["f", 0.3], 0, False),
        (["f", 1.0], ["f", 1.001], 1e-6, False),
        (["f", 1e-12], ["f", 0.0], 1e-6, True),
        (["f", "inf"], ["f", "-inf"], 1e-6, False),
        (["i", 1], ["f", 1.0], 1e-6, False),
        (["l", [["i", 1]]], ["l", [["i", 1], ["i", 2]]], 0, False),
        (["s", "a"], ["s", "a"], 0, True),
        (["N"], ["N"], 0, True),
    ],
)
def test_values_equal_is_strict(a, b, tol, equal):
    assert values_equal(a, b, tol) is equal
    assert values_equal(b, a, tol) is equal


@pytest.mark.parametrize(
    "bad",
    [[], ["i"], ["i", True], ["i", "3"], ["b", 1], ["x", 1], ["l", "abc"], ["d", [[["i", 1]]]],
     "i", None, ["N", 1], ["f", "huge"]],
)
def test_malformed_tagged_values_are_detected(bad):
    assert not is_tagged(bad)
    assert not values_equal(bad, ["i", 1])


@pytest.mark.parametrize(
    "forged",
    [[["i"], 1], [{}, 1], [[], []], [None], ["f", 10**400], ["f", -(10**400)], ["f", "1e400"],
     ["l", [[["s"], "x"]]], ["d", [[["i", 1], [{"i": 1}, 2]]]], ["S", [["f", 10**400]]]],
)
def test_forged_values_are_malformed_not_raised(forged):
    # A job controls what it returns: unhashable tags and floats no float can hold
    # are malformed values, never an exception on the host.
    assert not is_tagged(forged)
    assert not values_equal(forged, forged)
    assert not values_equal(forged, ["f", "inf"], tol=1e-6)
    assert not values_equal(["f", "inf"], forged, tol=1e-6)


def test_an_int_payload_of_a_float_is_still_a_float():
    assert is_tagged(["f", 3]) and values_equal(["f", 3], ["f", 3.0])
    assert is_tagged(["f", 10**300]) and values_equal(["f", 10**300], ["f", 1e300], tol=1e-9)


def test_canonical_orders_mixed_values():
    items = [to_tagged(x) for x in (3, "a", None, 1.5, (1, 2))]
    assert sorted(items, key=canonical) == sorted(reversed(items), key=canonical)


def test_values_deeper_than_the_limit_are_malformed():
    deep = ["N"]
    for _ in range(MAX_DEPTH + 1):
        deep = ["l", [deep]]
    assert not is_tagged(deep)
    assert is_tagged(deep[1][0])


def test_codec_imports_only_the_standard_library():
    # The supervisor imports codec.py inside the container, where zeroplay is not installed.
    tree = ast.parse(Path(codec.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names)
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
