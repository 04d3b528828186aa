"""The synthesizer's catalogue: its size, its declarations, and every reference and edge
example checked in the real sandbox."""

import ast
import re

import pytest

from zeroplay.config import Config
from zeroplay.corpus.catalogue import APIS, EDGES, FAMILIES, OPS, OPS_BY_NAME, imports_of
from zeroplay.curricula.synth import synthesize_one, task_seed
from zeroplay.curricula.task import edge_of, ops_of
from zeroplay.sandbox.batch import Draft, validate_many
from zeroplay.sandbox.codec import canonical, to_tagged
from zeroplay.sandbox.pool import Job


def test_catalogue_has_120_operations_over_8_standard_library_modules():
    assert len(OPS) >= 120 and len(OPS_BY_NAME) == len(OPS)
    assert len(set(APIS) - {"builtin"}) >= 8
    assert {"lists", "strings", "dicts", "arithmetic"} <= set(FAMILIES)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.name)
def test_each_operation_declares_what_its_code_uses(op):
    modules = set(re.findall(r"\b([a-z]+)\.[A-Za-z_]+", op.code)) & set(APIS)
    assert modules == ({op.api} if op.api != "builtin" else set()), op.code
    assert (op.edge == "") == (op.example is None), "an edge op shows its edge, only it"
    assert op.edge in ("", *EDGES)
    if "{c}" in op.code:
        assert op.const is not None and "{c}" in op.phrase


def test_a_reference_imports_the_modules_it_uses():
    draft, combo = synthesize_one(task_seed(0, 0), 3, combo=("median_low", "gcd_with"))
    tree = ast.parse(draft.reference)
    imported = {alias.name for node in tree.body if isinstance(node, ast.Import)
                for alias in node.names}
    assert imported == {"statistics", "math"}
    assert imports_of(OPS_BY_NAME[name] for name in combo) == ["import math", "import statistics"]
    assert {"family:statistics", "family:numbers", "api:statistics", "api:math",
            "edge:empty", "edge:negative"} <= set(draft.tags)
    assert ops_of(draft.tags) == combo


@pytest.mark.docker
def test_every_operation_alone_is_a_valid_task(pool):
    """Each operation as a one-step task passes validation (runs, deterministic, not
    constant) on the input strategy the synthesizer gives it."""
    drafts = [synthesize_one(task_seed(0, i, "catalogue"), 1, combo=(op.name,))[0]
              for i, op in enumerate(OPS)]
    results = validate_many(pool, [Draft(d.entry_point, d.reference, d.strategy)
                                   for d in drafts], Config().sandbox)
    invalid = {ops_of(d.tags)[0]: (v.reason, v.detail[:80])
               for d, v in zip(drafts, results, strict=True) if not v.valid}
    assert not invalid


@pytest.mark.docker
def test_every_edge_example_is_what_the_reference_returns(pool):
    """The statement's rule for the edge (its example) is the reference's behaviour there,
    for the smallest and largest constant."""
    jobs, expected, names = [], [], []
    for op in (op for op in OPS if op.example):
        for c in sorted({*(op.const or (0, 0))}):
            arg, value = (text.replace("{c}", str(c)) for text in op.example)
            code = "\n".join(imports_of([op])) + f"\ndef f(v):\n    return {op.code.format(c=c)}\n"
            jobs.append(Job(code, "f", [[to_tagged(ast.literal_eval(arg))]]))
            expected.append(canonical(to_tagged(ast.literal_eval(value))))
            names.append(f"{op.name} c={c} on {arg}")
    wrong = []
    for index, result in pool.map(jobs):
        got = (result.results or [{}])[0]
        if "ok" not in got or canonical(got["ok"]) != expected[index]:
            wrong.append((names[index], got, result.status, result.load_error))
    assert not wrong


@pytest.mark.docker
def test_an_edge_task_shows_its_edge_in_a_public_example(pool):
    drafts = [synthesize_one(task_seed(1, i, "edge"), 1, combo=(name,))[0]
              for i, name in enumerate(("max_or", "median_low", "pair_div", "digit_sum"))]
    results = validate_many(pool, [Draft(d.entry_point, d.reference, d.strategy,
                                         edge_of(d.tags)) for d in drafts], Config().sandbox)
    shown = [[t.args[0] for t in v.tests if t.public] for v in results]
    assert ["l", []] in shown[0] and ["l", []] in shown[1]
    assert any(arg[0] == "t" and arg[1][1] == ["i", 0] for arg in shown[2])
    assert any(arg[0] == "i" and arg[1] < 0 for arg in shown[3])
