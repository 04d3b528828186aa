"""An AST mutator: small, plausible bugs in a function, for measuring how well tests catch them.

    mutants = mutate(program, "f", limit=10, seed=0)   # [Mutant(code, operator, line), ...]

Operators, applied one at a time inside the entry point only (its docstring, and helper
functions given alongside it, are left alone): arithmetic operator swaps (+ -, * /, // %,
...), comparison swaps and boundary shifts (< <=, == !=, in / not in), off-by-one integer
constants, dropped branches (an `if` or conditional expression forced one way), and `and`
/ `or` swaps. Every mutant parses and compiles (checked with `compile`, which does not run
anything) and differs from the original as source; whether it behaves differently is for
the sandbox to find out. Mutants are chosen deterministically for a seed, round-robin
over the operators.
"""

from __future__ import annotations

import ast
import copy
import random
from dataclasses import dataclass

BINOPS: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mod, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}
COMPARES: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,),
    ast.In: (ast.NotIn,), ast.NotIn: (ast.In,), ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
OPERATORS = ("binop", "compare", "constant", "branch", "boolop")


@dataclass(frozen=True)
class Mutant:
    code: str
    operator: str  # one of OPERATORS
    description: str  # e.g. "line 7: < -> <="
    line: int


@dataclass(frozen=True)
class _Site:
    index: int  # position of the node in ast.walk order of the entry point
    operator: str
    choice: int  # which variant at that node


def mutate(program: str, entry_point: str, limit: int | None = None, seed: int = 0
           ) -> list[Mutant]:
    """Up to `limit` distinct mutants of `entry_point` in `program` (all if None)."""
    tree = ast.parse(program)
    sites = _balanced(_sites(_entry(tree, entry_point)), random.Random(seed))
    original = ast.unparse(tree)
    seen = {original}
    mutants: list[Mutant] = []
    for site in sites:
        if limit is not None and len(mutants) >= limit:
            break
        mutated = copy.deepcopy(tree)
        node = list(ast.walk(_entry(mutated, entry_point)))[site.index]
        description = _apply(node, site)
        code = ast.unparse(ast.fix_missing_locations(mutated))
        if code in seen:
            continue
        try:
            compile(code, "<mutant>", "exec")  # compiles only: nothing runs on the host
        except (SyntaxError, ValueError):
            continue
        seen.add(code)
        line = getattr(node, "lineno", 0)
        mutants.append(Mutant(code + "\n", site.operator, f"line {line}: {description}", line))
    return mutants


def _balanced(sites: list[_Site], rng: random.Random) -> list[_Site]:
    """Shuffled, then round-robin over operators, so that a function full of constants
    does not get only off-by-one mutants."""
    groups = {op: [s for s in sites if s.operator == op] for op in OPERATORS}
    for group in groups.values():
        rng.shuffle(group)
    out: list[_Site] = []
    while any(groups.values()):
        for group in groups.values():
            if group:
                out.append(group.pop())
    return out


def _entry(tree: ast.Module, entry_point: str) -> ast.FunctionDef:
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point]
    if not found:
        raise ValueError(f"no top-level function named {entry_point!r}")
    return found[-1]


def _sites(fn: ast.FunctionDef) -> list[_Site]:
    docstring = fn.body[0] if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(
        getattr(fn.body[0], "value", None), ast.Constant) else None
    skip = set(map(id, ast.walk(docstring))) if docstring is not None else set()
    sites: list[_Site] = []
    for index, node in enumerate(ast.walk(fn)):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in BINOPS:
            sites.append(_Site(index, "binop", 0))
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for choice in range(len(COMPARES.get(type(op), ()))):
                    sites.append(_Site(index, "compare", i * 4 + choice))
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            sites += [_Site(index, "constant", 0), _Site(index, "constant", 1)]
        elif isinstance(node, ast.If | ast.IfExp):
            sites.append(_Site(index, "branch", 0))
            if not isinstance(node, ast.If) or node.orelse:
                sites.append(_Site(index, "branch", 1))
        elif isinstance(node, ast.BoolOp):
            sites.append(_Site(index, "boolop", 0))
    return sites


def _apply(node: ast.AST, site: _Site) -> str:
    """Mutate `node` in place; return what changed."""
    if site.operator == "binop":
        assert isinstance(node, ast.BinOp | ast.AugAssign)
        old = type(node.op)
        node.op = BINOPS[old]()
        return f"{_sym(old)} -> {_sym(type(node.op))}"
    if site.operator == "compare":
        assert isinstance(node, ast.Compare)
        i, choice = divmod(site.choice, 4)
        old = type(node.ops[i])
        node.ops[i] = COMPARES[old][choice]()
        return f"{_sym(old)} -> {_sym(type(node.ops[i]))}"
    if site.operator == "constant":
        assert isinstance(node, ast.Constant)
        old_value = node.value
        node.value = old_value + (1 if site.choice == 0 else -1)
        return f"{old_value} -> {node.value}"
    if site.operator == "branch":
        assert isinstance(node, ast.If | ast.IfExp)
        forced = site.choice == 1
        node.test = ast.Constant(forced)
        kept = "the if branch" if forced else "the else branch"
        return f"condition forced to {forced} (only {kept} runs)"
    assert isinstance(node, ast.BoolOp)
    old_bool = type(node.op)
    node.op = ast.Or() if old_bool is ast.And else ast.And()
    return f"{_sym(old_bool)} -> {_sym(type(node.op))}"


def _sym(op: type) -> str:
    names = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
             ast.Mod: "%", ast.Pow: "**", ast.BitAnd: "&", ast.BitOr: "|", ast.LShift: "<<",
             ast.RShift: ">>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
             ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
             ast.IsNot: "is not", ast.And: "and", ast.Or: "or"}
    return names.get(op, op.__name__)
