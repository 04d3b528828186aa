"""Validate a task draft: static checks on the host, then the reference run twice in the sandbox.

    v = validate_draft(pool, "f", reference_source, "st.integers(0, 9)", cfg, seed=0)
    v.valid, v.reason, v.tests        # True, "", [TestCase(args=[["i", 0]], expected=...), ...]

A draft is rejected, with a machine-readable `reason` and a human `detail`, when its
reference is longer than `max_reference_chars`, does not parse, lacks the entry point,
imports or calls something the config bans, reaches for dunder attributes, has a strategy
outside the DSL or of the wrong arity, hits a sandbox limit, raises on too many inputs,
returns something that is not a plain value, answers differently in a second interpreter
with another hash seed (nondeterministic), or returns the same value for every input
(trivial). A valid draft's inputs and outputs become frozen test cases, in draw order; up
to `num_public_tests` of them are public (shown to the solver), chosen by
`public.choose_public` to be informative rather than Hypothesis' minimal first draws, and
the rest hidden (used for reward).
Static checks are a filter against wasted work, not a security boundary: the sandbox is.
"""

from __future__ import annotations

import ast

from zeroplay.config import SandboxConfig
from zeroplay.handoff import REJECT_REASONS, TestCase, Validation
from zeroplay.pysource import PARSE_ERRORS, parse_python
from zeroplay.sandbox.codec import canonical, is_tagged, to_tagged
from zeroplay.sandbox.pool import Job, JobResult, SandboxPool, exc_text, triage
from zeroplay.sandbox.public import choose_public
from zeroplay.sandbox.strategies import StrategyError, StrategySpec, draw_inputs, parse_strategy

ALLOWED_DUNDERS = {"__init__", "__name__", "__len__", "__eq__", "__lt__", "__hash__", "__repr__"}


class DraftRejected(Exception):
    """Raised by the host-side checks; carries the rejecting Validation."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.validation = Validation.reject(reason, detail)


def validate_draft(pool: SandboxPool, entry_point: str, reference: str, strategy: str,
                   cfg: SandboxConfig, seed: int = 0) -> Validation:
    """Validate one draft; never raises for anything the draft contains."""
    try:
        spec, inputs = prepare(entry_point, reference, strategy, cfg, seed)
    except DraftRejected as rejected:
        return rejected.validation
    first, second = (result for _, result in
                     sorted(pool.map(reference_jobs(reference, entry_point, inputs))))
    return freeze(inputs, first, second, cfg)


def reference_jobs(reference: str, entry_point: str, inputs: list[list]) -> list[Job]:
    """The two runs of a reference that validation compares: one in each of the
    container's two warm interpreters, whose hash seeds differ, so a result that depends
    on the interpreter (`hash()` of a string, the order of a set of strings, `id()`)
    disagrees between them."""
    return [Job(reference, entry_point, inputs),
            Job(reference, entry_point, inputs, other_interpreter=True)]


def prepare(entry_point: str, reference: str, strategy: str, cfg: SandboxConfig,
            seed: int) -> tuple[StrategySpec, list[list]]:
    """Static checks and input drawing; raises DraftRejected. Returns tagged inputs."""
    if len(reference) > cfg.max_reference_chars:
        raise DraftRejected("reference_too_long", f"the reference has {len(reference)} "
                            f"characters, over sandbox.max_reference_chars="
                            f"{cfg.max_reference_chars}")
    function = check_source(entry_point, reference, cfg)
    try:
        spec = parse_strategy(strategy, cfg.max_collection_size)
    except StrategyError as exc:
        raise DraftRejected("strategy", str(exc)) from None
    low, high = _arity_range(function)
    if not low <= spec.arity <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise DraftRejected("arity", f"{entry_point} takes {want} arguments, the strategy gives "
                                 f"{spec.arity}")
    try:
        drawn = draw_inputs(spec, cfg.num_tests, seed)
    except StrategyError as exc:
        raise DraftRejected("strategy", str(exc)) from None
    if len(drawn) < 2:
        raise DraftRejected("too_few_inputs",
                            f"the strategy yields only {len(drawn)} distinct input")
    return spec, [[to_tagged(arg) for arg in args] for args in drawn]


def check_source(entry_point: str, reference: str, cfg: SandboxConfig) -> ast.FunctionDef:
    """Parse the reference and apply the config's bans; return the entry point's def."""
    try:
        tree = parse_python(reference)
    except PARSE_ERRORS as exc:
        raise DraftRejected("syntax", f"the reference does not parse: {exc}") from None
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point]
    if not functions:
        raise DraftRejected("no_entry_point", f"no top-level function named {entry_point!r}")
    banned_imports, banned_calls = set(cfg.banned_imports), set(cfg.banned_calls)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                "." * node.level + (node.module or "")]
            for name in names:
                if name.startswith(".") or name.split(".")[0] in banned_imports:
                    raise DraftRejected("banned_import", f"imports {name}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in banned_calls:
                raise DraftRejected("banned_call", f"calls {node.func.id}()")
        elif isinstance(node, ast.Attribute) and _is_dunder(node.attr):
            raise DraftRejected("banned_name", f"uses the attribute {node.attr}")
        elif isinstance(node, ast.Name) and (_is_dunder(node.id) or node.id in banned_calls):
            raise DraftRejected("banned_name", f"uses the name {node.id}")
    return functions[-1]


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS


def _arity_range(fn: ast.FunctionDef) -> tuple[int, int]:
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return required, (1 << 30) if args.vararg else positional


def freeze(inputs: list[list], first: JobResult, second: JobResult,
           cfg: SandboxConfig, edge: str = "") -> Validation:
    """Judge the two reference runs and freeze their agreed outputs into test cases (the
    public ones show an input of the `edge` case where one was drawn)."""
    for run in (first, second):
        failure = triage(run)
        if failure is not None:
            reason = failure.kind if failure.kind in REJECT_REASONS else "sandbox_error"
            return Validation.reject(reason, failure.detail)
    assert first.results is not None and second.results is not None
    kept: list[tuple[list, list]] = []
    errors = 0
    for args, a, b in zip(inputs, first.results, second.results, strict=True):
        if "ok" not in a or "ok" not in b:
            kinds = _exc_kind(a), _exc_kind(b)
            if "MemoryError" in kinds:
                return Validation.reject("memory", "the reference ran out of memory")
            if "Unserializable" in kinds:
                run = a if kinds[0] == "Unserializable" else b
                return Validation.reject("unserializable_output", exc_text(run["exc"]))
            if ("ok" in a) != ("ok" in b) or kinds[0] != kinds[1]:
                return Validation.reject("nondeterministic",
                                         f"the two runs disagree on input {args}")
            errors += 1
            continue
        if not is_tagged(a["ok"]) or not is_tagged(b["ok"]):
            return Validation.reject("unserializable_output", "a result is not a tagged value")
        if canonical(a["ok"]) != canonical(b["ok"]):
            return Validation.reject("nondeterministic", f"the two runs disagree on input {args}")
        kept.append((args, a["ok"]))
    if errors / len(inputs) > cfg.max_reference_error_rate:
        return Validation.reject(
            "crash_rate", f"the reference raised on {errors} of {len(inputs)} inputs "
            f"(limit {cfg.max_reference_error_rate:.0%})")
    if len(kept) < 2:
        return Validation.reject("too_few_inputs", f"only {len(kept)} inputs without an error")
    if len({canonical(expected) for _, expected in kept}) == 1:
        return Validation.reject("trivial", "the reference returns the same value for every input")
    public = choose_public(kept, cfg.num_public_tests, edge)  # hidden ones stay in draw order
    tests = [TestCase(args, expected, public=i in public)
             for i, (args, expected) in enumerate(kept)]
    return Validation(True, tests=tests)


def _exc_kind(result: dict) -> str:
    """The exception type of one input's result, "" when it returned a value or the job
    forged something that is not [type, message]."""
    exc = result.get("exc")
    if "ok" in result or not isinstance(exc, list) or not exc or type(exc[0]) is not str:
        return ""
    return exc[0]
