"""Infer an input strategy (zeroplay's Hypothesis DSL) for a benchmark function.

    inferred = infer_strategy(prompt, "add")   # Inferred("st.integers(...), ...", "hints")

Per argument, the type comes from the signature's annotation where there is one (`int`,
`List[int]`, `Tuple[str, int]`, `Dict[str, int]`, `Optional[...]`), else from the literal
example calls in the docstring (`>>> add(2, 3)`, `add(2, 3) == 5`, `add(2, 3) ➞ 5`),
whose arguments are read with `ast.literal_eval` (parsing, never running). The examples
also shape the ranges: non-negative examples give non-negative integers, strings draw from
the characters the examples use, and each argument mixes its example values in
(`st.one_of(st.sampled_from([...]), ...)`), so that functions with narrow preconditions
still see valid inputs; an argument whose examples mix types is drawn from the examples
alone. Inputs a function rejects are dropped by validation. Returns a
strategy of None with a reason when some argument has neither a usable hint nor examples.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

DEFAULT_ALPHABET = "abcdefghij ABC"
MAX_EXAMPLES = 6
MAX_EXAMPLE_CHARS = 120


@dataclass(frozen=True)
class Inferred:
    strategy: str | None
    source: str  # "hints", "examples", "hints+examples", or "none"
    reason: str = ""


def infer_strategy(prompt: str, entry_point: str) -> Inferred:
    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return Inferred(None, "none", "the prompt does not parse")
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point]
    if not fns:
        return Inferred(None, "none", f"no function {entry_point!r} in the prompt")
    fn = fns[-1]
    params = fn.args.args[:len(fn.args.args) - len(fn.args.defaults)]
    if not params:
        return Inferred(None, "none", "the function takes no arguments")
    examples = [e for e in docstring_examples(ast.get_docstring(fn) or "", entry_point)
                if len(e) == len(params)]
    parts, sources = [], set()
    for i, param in enumerate(params):
        values = [e[i] for e in examples]
        shape = _annotation_shape(param.annotation)
        source = "hints"
        if shape is None:
            shape, source = _merge_all([_value_shape(v) for v in values]), "examples"
        if shape is None:
            mixed = _with_examples("", values)  # mixed types: the examples themselves
            if not mixed:
                why = "no type hint and no example" if not values else "unusable examples"
                return Inferred(None, "none", f"argument {param.arg}: {why}")
            sources.add(source)
            parts.append(mixed)
            continue
        sources.add(source)
        parts.append(_with_examples(_render(shape, values), values))
    source = "+".join(sorted(sources)) if len(sources) > 1 else sources.pop()
    return Inferred(", ".join(parts), source)


def docstring_examples(doc: str, entry_point: str) -> list[tuple]:
    """Literal argument tuples of the calls to `entry_point` written in `doc`."""
    found, start = [], 0
    needle = entry_point + "("
    while (at := doc.find(needle, start)) != -1:
        start = at + 1
        if at > 0 and (doc[at - 1].isalnum() or doc[at - 1] == "_"):
            continue  # part of a longer name
        call = _first_call(doc[at:at + 2000], len(needle))
        if call is None:
            continue
        try:
            args = tuple(ast.literal_eval(a) for a in call.args)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if not call.keywords and args not in found:
            found.append(args)
    return found


def _first_call(text: str, open_at: int) -> ast.Call | None:
    """The call at the start of `text`: the shortest prefix ending at `)` that parses."""
    for end in range(open_at, len(text)):
        if text[end] != ")":
            continue
        try:
            node = ast.parse(text[:end + 1], mode="eval").body
        except SyntaxError:
            continue
        return node if isinstance(node, ast.Call) else None
    return None


# --- shapes: "int" | "float" | "bool" | "str" | ("list", s) | ("tuple", [s...]) | ("dict", k, v)
# | ("optional", s) | None (unknown)

_SCALARS = {"int": "int", "float": "float", "bool": "bool", "str": "str"}


def _annotation_shape(node: ast.expr | None) -> Any:
    if node is None:
        return None
    if isinstance(node, ast.Name):
        return _SCALARS.get(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        name = node.value.id.lower()
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        inner = [_annotation_shape(a) for a in args]
        if name == "list" and len(inner) == 1 and inner[0] is not None:
            return ("list", inner[0])
        if name == "tuple" and inner and all(s is not None for s in inner):
            return ("tuple", inner)
        if name == "dict" and len(inner) == 2 and None not in inner:
            return ("dict", inner[0], inner[1])
        if name == "optional" and inner[0] is not None:
            return ("optional", inner[0])
    return None


def _value_shape(value: Any) -> Any:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return ("list", _merge_all([_value_shape(v) for v in value]) or "unknown")
    if isinstance(value, tuple):
        return ("tuple", [_value_shape(v) for v in value])
    if isinstance(value, dict):
        return ("dict", _merge_all([_value_shape(k) for k in value]) or "str",
                _merge_all([_value_shape(v) for v in value.values()]) or "int")
    return None


def _merge_all(shapes: list[Any]) -> Any:
    out = "unknown" if shapes else None
    for s in shapes:
        out = _merge(out, s)
        if out is None:
            return None
    return None if out == "unknown" else out


def _merge(a: Any, b: Any) -> Any:
    if a == "unknown":
        return b
    if b == "unknown" or a == b:
        return a
    if {a, b} == {"int", "float"}:
        return "float"
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0] == "list":
        inner = _merge(a[1], b[1])
        return None if inner is None else ("list", inner)
    return None


# --- rendering into the DSL -------------------------------------------------------------


def _render(shape: Any, values: list) -> str:
    if shape in ("unknown", None):
        shape = "int"
    if shape == "bool":
        return "st.booleans()"
    if shape == "int":
        ints = [v for v in values if type(v) is int]
        return f"st.integers({_low(ints)}, {_high(ints)})"
    if shape == "float":
        nums = [float(v) for v in values if type(v) in (int, float)]
        low = 0.0 if nums and min(nums) >= 0 else float(min(-10, _low([int(x) for x in nums])))
        high = float(max(10, _high([int(x) for x in nums])))
        return f"st.floats({low}, {high}, allow_nan=False, allow_infinity=False)"
    if shape == "str":
        chars = sorted({c for v in values if isinstance(v, str) for c in v})
        alphabet = "".join(chars) if chars else DEFAULT_ALPHABET
        return f"st.text({alphabet!r}, max_size=12)"
    kind = shape[0]
    if kind == "optional":
        return f"st.one_of(st.none(), {_render(shape[1], values)})"
    if kind == "list":
        inner = [x for v in values if isinstance(v, list) for x in v]
        return f"st.lists({_render(shape[1], inner)}, max_size=10)"
    if kind == "tuple":
        parts = [_render(s, [v[i] for v in values if isinstance(v, tuple) and len(v) > i])
                 for i, s in enumerate(shape[1])]
        return f"st.tuples({', '.join(parts)})"
    keys = [k for v in values if isinstance(v, dict) for k in v]
    vals = [x for v in values if isinstance(v, dict) for x in v.values()]
    return f"st.dictionaries({_render(shape[1], keys)}, {_render(shape[2], vals)}, max_size=6)"


def _low(ints: list[int]) -> int:
    if not ints:
        return -20
    lo = min(ints)
    return 1 if lo >= 1 else 0 if lo >= 0 else max(2 * lo, lo - 100)


def _high(ints: list[int]) -> int:
    if not ints:
        return 20
    return max(10, min(2 * max(ints), max(ints) + 100))


def _with_examples(strategy: str, values: list) -> str:
    """Mix the example values in, so narrow preconditions still meet valid inputs."""
    usable = []
    for v in values:
        if _literal_ok(v) and len(repr(v)) <= MAX_EXAMPLE_CHARS and v not in usable:
            usable.append(v)
    if not usable:
        return strategy
    if not strategy:
        return f"st.sampled_from({usable[:MAX_EXAMPLES]!r})"
    return f"st.one_of(st.sampled_from({usable[:MAX_EXAMPLES]!r}), {strategy})"


def _literal_ok(value: Any) -> bool:
    """The DSL's sampled_from takes literals without dicts or sets."""
    if isinstance(value, list | tuple):
        return all(_literal_ok(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str)
