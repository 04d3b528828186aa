"""Generation-time filters: what a draft must pass before the sandbox spends time on it.

    f = DraftFilter(cfg, extra=my_callable)        # my_callable(draft) -> reason or None
    reason = f.check(draft, seen_norm_hashes)      # None, or e.g. "near_duplicate"

In order: length limits, the config's banned constructs (the same static checks that
validation applies), the content filter (regexes from `curriculum.content_filters`,
then an optional callable a deployment provides), exact duplicates (same task id) and
near-duplicates (same normalized AST: identifiers, docstrings and the function name do
not count). Every rejection has a reason; callers count them per reason in the store.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Container

from zeroplay.config import Config
from zeroplay.curricula.task import TaskDraft
from zeroplay.pysource import PARSE_ERRORS, parse_python
from zeroplay.sandbox.validate import DraftRejected, check_source

ContentHook = Callable[[TaskDraft], str | None]


def normalized_hash(source: str) -> str | None:
    """Hash of the AST with names and docstrings erased (None if it does not parse, or
    parses only with a compiler warning).

    >>> normalized_hash("def f(a):\\n    return a + 1") == normalized_hash("def g(x):  return x+1")
    True
    """
    try:
        tree = parse_python(source)
    except PARSE_ERRORS:
        return None
    names: dict[str, str] = {}

    def canon(name: str) -> str:
        return names.setdefault(name, f"_{len(names)}")

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            body.pop(0)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            node.name = canon(node.name)
            node.returns = None
        elif isinstance(node, ast.arg):
            node.arg = canon(node.arg)
            node.annotation = None
        elif isinstance(node, ast.Name):
            node.id = canon(node.id)
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
        isinstance(stmt.value.value, str)


class DraftFilter:
    """Cheap host-side checks, in order; `check` returns the first failing reason."""

    def __init__(self, cfg: Config, extra: ContentHook | None = None):
        self.cfg = cfg
        self.patterns = [re.compile(p) for p in cfg.curriculum.content_filters]
        self.extra = extra

    def check(self, draft: TaskDraft, seen_ids: Container[str],
              seen_norm_hashes: Container[str]) -> str | None:
        cur = self.cfg.curriculum
        if len(draft.statement) > cur.max_statement_chars:
            return "statement_too_long"
        if len(draft.reference) > cur.max_reference_chars:
            return "reference_too_long"
        try:
            check_source(draft.entry_point, draft.reference, self.cfg.sandbox)
        except DraftRejected as rejected:
            return rejected.validation.reason
        text = "\n".join((draft.statement, draft.signature, draft.reference, draft.strategy))
        if any(p.search(text) for p in self.patterns):
            return "content_filter"
        if self.extra is not None and self.extra(draft):
            return "content_hook"
        if draft.id in seen_ids:
            return "duplicate"
        if normalized_hash(draft.reference) in seen_norm_hashes:
            return "near_duplicate"
        return None
