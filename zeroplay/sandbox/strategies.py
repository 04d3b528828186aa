"""The input-strategy DSL: Hypothesis strategy expressions parsed with `ast`, never eval'd.

    spec = parse_strategy("st.lists(st.integers(-100, 100), max_size=20), st.integers(0, 5)")
    inputs = draw_inputs(spec, n=30, seed=0)   # [(list, int), ...], same for the same seed

A strategy text is one expression per positional argument of the task's function,
separated by commas. Only whitelisted `st.*` constructors are allowed, and their
arguments must be literals (numbers, strings, booleans, None, lists/tuples of those) or,
where the constructor takes one, a nested strategy. Collection and text sizes are capped
by `max_collection_size`. Anything else is rejected with a StrategyError whose message
says why. Inputs are drawn here, on the host, seeded and reproducible; the sandbox only
executes code on them.
"""

from __future__ import annotations

import ast
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zeroplay.pysource import PARSE_ERRORS, parse_python

MAX_STRATEGY_CHARS = 2000
BOUNDARY_VARIANTS = ("long", "short", "high", "low")  # see _to_edge
BOUNDARY_DRAWS = 2  # inputs drawn from each boundary variant, before the random ones
MAX_DEPTH = 8


class StrategyError(ValueError):
    """A strategy text that is not in the DSL (the message says why)."""


@dataclass(frozen=True)
class _Sig:
    positional: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    strategy_params: tuple[str, ...] = ()  # parameters that take a nested strategy
    varargs: bool = False  # any number of nested strategies (tuples, one_of)
    sized: bool = False  # has min_size/max_size, capped by config


_SIZED = ("min_size", "max_size")
WHITELIST: dict[str, _Sig] = {
    "integers": _Sig(("min_value", "max_value")),
    "floats": _Sig(("min_value", "max_value"), ("allow_nan", "allow_infinity",
                   "allow_subnormal", "width", "exclude_min", "exclude_max")),
    "booleans": _Sig(),
    "none": _Sig(),
    "just": _Sig(("value",)),
    "sampled_from": _Sig(("elements",)),
    "characters": _Sig((), ("codec", "min_codepoint", "max_codepoint", "categories",
                            "exclude_categories", "include_characters", "exclude_characters")),
    "text": _Sig(("alphabet",), _SIZED, ("alphabet",), sized=True),
    "lists": _Sig(("elements",), (*_SIZED, "unique"), ("elements",), sized=True),
    "sets": _Sig(("elements",), _SIZED, ("elements",), sized=True),
    "frozensets": _Sig(("elements",), _SIZED, ("elements",), sized=True),
    "dictionaries": _Sig(("keys", "values"), _SIZED, ("keys", "values"), sized=True),
    "tuples": _Sig(varargs=True),
    "one_of": _Sig(varargs=True),
}


@dataclass(frozen=True)
class StrategySpec:
    """A parsed strategy text: one Hypothesis strategy per positional argument, and the
    same strategies pushed to the edges of their ranges (`BOUNDARY_VARIANTS`)."""

    text: str
    strategies: tuple[Any, ...]
    boundaries: tuple[tuple[Any, ...], ...] = ()

    @property
    def arity(self) -> int:
        return len(self.strategies)


def parse_strategy(text: str, max_collection_size: int = 20) -> StrategySpec:
    """Parse and build the strategies of `text`. Raises StrategyError with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise StrategyError("empty strategy: give one st.* expression per argument")
    if len(text) > MAX_STRATEGY_CHARS:
        raise StrategyError(f"strategy longer than {MAX_STRATEGY_CHARS} characters")
    try:
        tree = parse_python(text.strip(), mode="eval").body
    except PARSE_ERRORS as exc:
        raise StrategyError(f"not a Python expression: {getattr(exc, 'msg', exc)}") from None
    nodes = tree.elts if isinstance(tree, ast.Tuple) else [tree]
    if not nodes:
        raise StrategyError("empty strategy: give one st.* expression per argument")
    strategies = tuple(_build(node, max_collection_size, 0) for node in nodes)
    boundaries = []
    for variant in BOUNDARY_VARIANTS:
        try:  # a variant the constructors refuse (e.g. exclude_max at the bound) is skipped
            edge = tuple(_build(node, max_collection_size, 0, variant) for node in nodes)
        except StrategyError:
            continue
        if repr(edge) != repr(strategies):  # and so is one that changed nothing
            boundaries.append(edge)
    return StrategySpec(text, strategies, tuple(boundaries))


def _build(node: ast.AST, cap: int, depth: int, variant: str | None = None) -> Any:
    import hypothesis.strategies as st
    from hypothesis.errors import InvalidArgument

    if depth > MAX_DEPTH:
        raise StrategyError(f"strategies nested deeper than {MAX_DEPTH}")
    name = _constructor_name(node)
    sig = WHITELIST[name]
    assert isinstance(node, ast.Call)
    if sig.varargs:
        if node.keywords:
            raise StrategyError(f"st.{name} takes only strategies, no keyword arguments")
        if not node.args:
            raise StrategyError(f"st.{name} needs at least one strategy")
        args = [_build(arg, cap, depth + 1, variant) for arg in node.args]
        return getattr(st, name)(*args)
    if len(node.args) > len(sig.positional):
        raise StrategyError(
            f"st.{name} takes at most {len(sig.positional)} positional arguments, "
            f"got {len(node.args)}"
        )
    kwargs: dict[str, Any] = {}
    for param, arg in zip(sig.positional, node.args, strict=False):
        kwargs[param] = _argument(name, param, arg, sig, cap, depth, variant)
    for kw in node.keywords:
        if kw.arg is None:
            raise StrategyError(f"st.{name}: ** arguments are not allowed")
        if kw.arg not in sig.positional + sig.keywords:
            allowed = ", ".join(sig.positional + sig.keywords) or "none"
            raise StrategyError(
                f"st.{name} has no argument {kw.arg!r} here (allowed: {allowed})"
            )
        if kw.arg in kwargs:
            raise StrategyError(f"st.{name}: {kw.arg!r} given twice")
        kwargs[kw.arg] = _argument(name, kw.arg, kw.value, sig, cap, depth, variant)
    if sig.sized:
        _cap_sizes(name, kwargs, cap)
    if variant is not None:
        _to_edge(name, kwargs, variant)
    if name == "sampled_from" and not (
        isinstance(kwargs.get("elements"), list | tuple) and kwargs["elements"]
    ):
        raise StrategyError("st.sampled_from needs a non-empty list or tuple of literals")
    try:
        strategy = getattr(st, name)(**kwargs)
        strategy.validate()
    except (InvalidArgument, TypeError, ValueError, OverflowError) as exc:
        # OverflowError: st.floats given an int bound that no float can hold (401 digits)
        raise StrategyError(f"st.{name}: {exc}") from None
    return strategy


def _constructor_name(node: ast.AST) -> str:
    if not isinstance(node, ast.Call):
        raise StrategyError(f"expected an st.* call, got {_describe(node)}")
    func = node.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and func.value.id == "st"):
        raise StrategyError(f"only st.<name>(...) calls are allowed, got {_describe(func)}")
    if func.attr not in WHITELIST:
        raise StrategyError(
            f"st.{func.attr} is not allowed (allowed: {', '.join(sorted(WHITELIST))})"
        )
    return func.attr


def _argument(name: str, param: str, node: ast.AST, sig: _Sig, cap: int, depth: int,
              variant: str | None = None) -> Any:
    if param in sig.strategy_params and isinstance(node, ast.Call):
        return _build(node, cap, depth + 1, variant)
    if param in sig.strategy_params and name != "text":
        raise StrategyError(f"st.{name}: {param} must be a strategy, got {_describe(node)}")
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise StrategyError(
            f"st.{name}: {param} must be a literal, got {_describe(node)}"
        ) from None
    if isinstance(value, complex | bytes | dict | set):
        raise StrategyError(f"st.{name}: {param} cannot be a {type(value).__name__}")
    return value


def _cap_sizes(name: str, kwargs: dict[str, Any], cap: int) -> None:
    for key in _SIZED:
        value = kwargs.get(key)
        if value is not None and (type(value) is not int or value < 0):
            raise StrategyError(f"st.{name}: {key} must be a non-negative int, got {value!r}")
    min_size = kwargs.get("min_size", 0)
    if min_size > cap:
        raise StrategyError(
            f"st.{name}: min_size={min_size} is above the size cap {cap} "
            "(sandbox.max_collection_size)"
        )
    max_size = kwargs.get("max_size")
    kwargs["max_size"] = cap if max_size is None else min(max_size, cap)


def _to_edge(name: str, kwargs: dict[str, Any], variant: str) -> None:
    """Push one constructor's arguments to an edge of its range: collections and texts at
    their largest (`long`) or smallest (`short`) size; numbers at their `high` or `low`
    bound, in collections that are not empty. Unbounded numbers stay random."""
    if variant == "long" and "max_size" in kwargs:
        kwargs["min_size"] = kwargs["max_size"]
    if variant == "short" and "max_size" in kwargs:
        kwargs["max_size"] = kwargs.get("min_size", 0)
    if variant in ("high", "low") and kwargs.get("max_size"):  # not empty: show the bound
        kwargs["min_size"] = max(kwargs.get("min_size", 0), 1)
    if variant in ("high", "low") and name in ("integers", "floats"):
        bound = kwargs.get("max_value" if variant == "high" else "min_value")
        if bound is not None:
            kwargs["min_value"] = kwargs["max_value"] = bound


def _describe(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:
        text = type(node).__name__
    return repr(text if len(text) <= 60 else text[:57] + "...")


# --- drawing -------------------------------------------------------------------------------

_draw_lock = threading.Lock()  # Hypothesis' engine is not shared between threads


def draw_inputs(spec: StrategySpec, n: int, seed: int) -> list[tuple]:
    """Up to `n` distinct argument tuples, the same ones for the same spec and seed: first
    up to BOUNDARY_DRAWS from each of the spec's boundary variants, at most a quarter of
    `n` (Hypothesis' own draws
    rarely reach the largest sizes or the bounds, so a solution wrong only there would
    pass), then random draws. A boundary variant Hypothesis cannot satisfy is skipped.

    Raises StrategyError when a strategy that parsed cannot be drawn from: Hypothesis
    refuses it, or drawing fails on what it builds (a set of lists, or a dict keyed by
    lists, raises TypeError). A failure that only some draws reach may show up for one
    seed and not another, so every caller must expect it, not only validation."""
    _quiet_hypothesis_storage()
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fixed_seed
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    from zeroplay.sandbox.codec import Unserializable, canonical, to_tagged

    drawn: list[tuple] = []
    seen: set[str] = set()

    def collect(strategies: tuple, limit: int, examples: int, joint: bool = False) -> None:
        @fixed_seed(seed)
        @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate],
                  print_blob=False, report_multiple_bugs=False)
        @given(st.tuples(*strategies))
        def run(drawn_args: tuple) -> None:
            for args in drawn_args if joint else (drawn_args,):  # joint: one per variant
                try:
                    key = canonical(to_tagged(args))
                except Unserializable:
                    continue
                if key not in seen and len(drawn) < limit:
                    seen.add(key)
                    drawn.append(args)

        run()

    with _draw_lock:
        try:
            edges = min(len(spec.boundaries) * BOUNDARY_DRAWS, n // 4)  # random stay most
            if edges:
                try:  # every variant at once: each Hypothesis run has a fixed cost
                    collect(tuple(st.tuples(*b) for b in spec.boundaries), edges,
                            BOUNDARY_DRAWS, joint=True)
                except HypothesisException:  # a variant it cannot satisfy: one at a time
                    for strategies in spec.boundaries:
                        try:
                            collect(strategies, min(edges, len(drawn) + BOUNDARY_DRAWS),
                                    4 * BOUNDARY_DRAWS)
                        except HypothesisException:
                            continue
            collect(spec.strategies, n, n)
        except HypothesisException as exc:
            raise StrategyError(f"cannot draw inputs: {exc}") from None
        except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise StrategyError(f"cannot draw inputs: {type(exc).__name__}: {exc}") from None
    return drawn


def _quiet_hypothesis_storage() -> None:
    """Hypothesis writes caches even with database=None: keep them out of the cwd."""
    if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "zeroplay-hypothesis")
