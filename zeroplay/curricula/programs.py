"""Program identity: which programs count as the same task, and which share a shape.

    normalized_hash(src)   # same for programs that differ only in names, docstrings, annotations
    shape_hash(src)        # same also when only their constants differ

Both hash the AST, so formatting never matters; both give None for source that does not
parse (or parses only with a compiler warning). The store keeps both for every valid
task: the first finds copies (`near_duplicate`), the second measures novelty.
"""

from __future__ import annotations

import ast
import hashlib

from zeroplay.pysource import PARSE_ERRORS, parse_python


def normalized_hash(source: str) -> str | None:
    """Hash of the AST with names, docstrings and annotations erased (None if it does not
    parse, or parses only with a compiler warning).

    >>> normalized_hash("def f(a):\\n    return a + 1") == normalized_hash("def g(x):  return x+1")
    True
    >>> normalized_hash("def f(a: int):\\n    v: int = a\\n    return v") == normalized_hash(
    ...     "def f(a):\\n    v = a\\n    return v")
    True
    """
    return _normalized(source, constants=True)


def shape_hash(source: str) -> str | None:
    """Hash of the program's shape: its normalized AST with every constant replaced by
    its type, so two programs that differ only in their numbers or strings share it.

    >>> shape_hash("def f(a):\\n    return a + 1") == shape_hash("def g(x):  return x+7")
    True
    >>> shape_hash("def f(a):\\n    return a + 1") == shape_hash("def f(a):  return a * 1")
    False
    >>> shape_hash("def f(a):\\n    return a + 1") == shape_hash("def f(a):  return a + -2")
    True
    """
    return _normalized(source, constants=False)


def _normalized(source: str, constants: bool) -> str | None:
    try:
        tree = parse_python(source)
    except PARSE_ERRORS:
        return None
    tree = _EraseLocalAnnotations().visit(tree)
    if not constants:
        tree = _AbstractConstants().visit(tree)
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


class _EraseLocalAnnotations(ast.NodeTransformer):
    """`v: T = e` is `v = e` (Python never evaluates a local's annotation)."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        if node.value is None or not node.simple:
            return node
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


class _AbstractConstants(ast.NodeTransformer):
    """Every constant (a signed number included) becomes the name of its type."""

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        if isinstance(node.op, ast.USub | ast.UAdd) and isinstance(node.operand, ast.Constant):
            return self.visit_Constant(node.operand)
        return self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant(type(node.value).__name__)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
        isinstance(stmt.value.value, str)
