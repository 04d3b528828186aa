"""Type-tagged values: how inputs and results cross the sandbox boundary, and how they compare.

    tagged = to_tagged((1, [2.5, None]))   # ["t", [["i", 1], ["l", [["f", 2.5], ["N"]]]]]
    from_tagged(tagged)                    # (1, [2.5, None])
    is_tagged(reply_value)                 # well-formed? (anything from a sandbox is untrusted)
    values_equal(got, expected, tol=1e-9)  # the strict comparison that judges a solution

A value is a JSON list [tag, payload]: ["N"], ["b", true], ["i", 3], ["f", 1.5 | "nan" |
"inf" | "-inf"], ["s", "x"], ["l", [...]], ["t", [...]], ["S", [...]] (set),
["F", [...]] (frozenset), ["d", [[k, v], ...]]. Set items and dict pairs are sorted by
`canonical`, a total order on tagged values. Tagging takes exact types only: a subclass
of int or an object with a custom __eq__ is not a value (Unserializable), so it cannot
pass a comparison. Comparison is strict: bool is not int, tuple is not list, a set is not
a list; floats agree within a tolerance (relative and absolute) and NaN equals NaN.

Used on both sides: the host tags the inputs it draws and judges the results; the
supervisor inside every container (which imports this file from beside itself) untags
inputs and tags what a job returns. It therefore imports only the standard library.
What it does not guarantee: that a tagged value came from the code it claims to; a job
can forge its own results, so the host checks them with `is_tagged` and judges them only
as values. `is_tagged` and `values_equal` never raise, whatever they are given;
`from_tagged` and `canonical` expect a well-formed value (check with `is_tagged` first).
"""

from __future__ import annotations

import json
import math

MAX_DEPTH = 32
MAX_NODES = 200_000

_SCALARS = {"b": bool, "i": int, "s": str}
_SEQUENCES = ("l", "t", "S", "F")


class Unserializable(ValueError):
    """A result that is not a plain value (or is too big or too deep to be one)."""


# --- tagging -----------------------------------------------------------------------------


def to_tagged(value: object) -> list:
    """The tagged form of a plain value; raises Unserializable for anything else.

    >>> to_tagged([1, True, None])
    ['l', [['i', 1], ['b', True], ['N']]]
    >>> to_tagged({"b": 1.5, "a": float("nan")})
    ['d', [[['s', 'a'], ['f', 'nan']], [['s', 'b'], ['f', 1.5]]]]
    >>> to_tagged(b"bytes")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    Unserializable: not a plain value: bytes
    """
    budget = [MAX_NODES]
    return _tag(value, 0, budget)


def _tag(v: object, depth: int, budget: list[int]) -> list:
    budget[0] -= 1
    if budget[0] < 0:
        raise Unserializable("value too large")
    if depth > MAX_DEPTH:
        raise Unserializable("value nested too deeply")
    t = type(v)
    if v is None:
        return ["N"]
    if t is bool:
        return ["b", v]
    if t is int:
        return ["i", v]
    if t is float:
        if math.isnan(v):
            return ["f", "nan"]
        if math.isinf(v):
            return ["f", "inf" if v > 0 else "-inf"]
        return ["f", v]
    if t is str:
        return ["s", v]
    if t is list or t is tuple:
        return ["l" if t is list else "t", [_tag(x, depth + 1, budget) for x in v]]
    if t is set or t is frozenset:
        items = sorted((_tag(x, depth + 1, budget) for x in v), key=canonical)
        return ["S" if t is set else "F", items]
    if t is dict:
        pairs = [[_tag(k, depth + 1, budget), _tag(x, depth + 1, budget)] for k, x in v.items()]
        return ["d", sorted(pairs, key=lambda p: canonical(p[0]))]
    raise Unserializable(f"not a plain value: {t.__name__}")


def canonical(tagged: object) -> str:
    """A total order for tagged values (sets and dict keys are sorted by it).

    >>> canonical(["t", [["i", 1], ["s", "x"]]])
    '["t",[["i",1],["s","x"]]]'
    """
    return json.dumps(tagged, sort_keys=True, separators=(",", ":"))


# --- untagging ---------------------------------------------------------------------------


def from_tagged(t: list) -> object:
    """The plain value of a well-formed tagged value.

    >>> from_tagged(["t", [["i", 1], ["F", [["s", "a"]]]]])
    (1, frozenset({'a'}))
    >>> from_tagged(["f", "-inf"])
    -inf
    """
    tag = t[0]
    if tag == "N":
        return None
    if tag in ("b", "i", "s"):
        return t[1]
    if tag == "f":
        return float(t[1])
    if tag == "l":
        return [from_tagged(x) for x in t[1]]
    if tag == "t":
        return tuple(from_tagged(x) for x in t[1])
    if tag == "S":
        return {from_tagged(x) for x in t[1]}
    if tag == "F":
        return frozenset(from_tagged(x) for x in t[1])
    if tag == "d":
        return {from_tagged(k): from_tagged(v) for k, v in t[1]}
    raise ValueError(f"unknown value tag {tag!r}")


# --- well-formedness ---------------------------------------------------------------------


def is_tagged(value: object, depth: int = 0) -> bool:
    """True if `value` is a well-formed tagged value (results from a sandbox are untrusted).

    >>> is_tagged(["l", [["i", 1], ["s", "x"]]])
    True
    >>> is_tagged(["i", True]), is_tagged(["i", "3"]), is_tagged(["x", 1])
    (False, False, False)
    """
    if depth > MAX_DEPTH or not isinstance(value, list) or not value:
        return False
    tag = value[0]
    if type(tag) is not str:
        return False
    if tag == "N":
        return len(value) == 1
    if len(value) != 2:
        return False
    payload = value[1]
    if tag in _SCALARS:
        return type(payload) is _SCALARS[tag]
    if tag == "f":
        return type(payload) is float or payload in ("nan", "inf", "-inf") or (
            type(payload) is int and _fits_float(payload))
    if tag in _SEQUENCES:
        return isinstance(payload, list) and all(is_tagged(x, depth + 1) for x in payload)
    if tag == "d":
        return isinstance(payload, list) and all(
            isinstance(p, list) and len(p) == 2 and is_tagged(p[0], depth + 1)
            and is_tagged(p[1], depth + 1) for p in payload
        )
    return False


def _fits_float(n: int) -> bool:
    """Whether an int payload of a float converts to one (a forged 10**400 does not)."""
    try:
        float(n)
    except OverflowError:
        return False
    return True


# --- comparison --------------------------------------------------------------------------


def values_equal(a: list, b: list, tol: float = 0.0) -> bool:
    """Strict equality of two tagged values; False when either is malformed (`is_tagged`).

    >>> values_equal(["i", 1], ["b", True])
    False
    >>> values_equal(["l", [["i", 1]]], ["t", [["i", 1]]])
    False
    >>> values_equal(["f", 0.1 + 0.2], ["f", 0.3], tol=1e-9)
    True
    >>> values_equal(["f", "nan"], ["f", "nan"])
    True
    >>> values_equal(["S", [["i", 2], ["i", 1]]], ["S", [["i", 1], ["i", 2]]])
    True
    """
    if not (is_tagged(a) and is_tagged(b)):
        return False
    try:
        return _equal(a, b, tol)
    except (RecursionError, TypeError, ValueError, IndexError, ArithmeticError):
        return False


def _equal(a: list, b: list, tol: float) -> bool:
    if a[0] != b[0]:
        return False
    tag = a[0]
    if tag == "N":
        return True
    if tag == "f":
        x, y = float(a[1]), float(b[1])
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return x == y or math.isclose(x, y, rel_tol=tol, abs_tol=tol)
    if tag in _SEQUENCES or tag == "d":
        xs, ys = a[1], b[1]
        if len(xs) != len(ys):
            return False
        if tag in ("S", "F", "d"):  # unordered: compare in canonical order
            key = (lambda p: canonical(p[0])) if tag == "d" else canonical
            xs, ys = sorted(xs, key=key), sorted(ys, key=key)
        if tag == "d":
            return all(_equal(p[0], q[0], tol) and _equal(p[1], q[1], tol)
                       for p, q in zip(xs, ys, strict=True))
        return all(_equal(x, y, tol) for x, y in zip(xs, ys, strict=True))
    return type(a[1]) is type(b[1]) and a[1] == b[1]
