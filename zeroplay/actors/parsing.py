"""Strict, total parsers for model output: any text gives a value or a reason, never an error.

    p = parse_proposal(text, provenance)      # p.draft (TaskDraft) or p.reason
    s = parse_solution(text, "f")             # s.code or s.reason

Proposal reasons: empty, too_long, no_format, missing_statement, missing_function,
missing_inputs, repeated_tag, syntax_error, syntax_warning, no_function, several_functions,
extra_code. Solution reasons: empty, too_long, no_format, repeated_tag, syntax_error,
syntax_warning, no_entry_point. `syntax_warning` is code that parses but that the compiler
warns about (e.g. `1if x else 2`); the warning is never printed (zeroplay/pysource.py).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from zeroplay.curricula.task import Provenance, TaskDraft
from zeroplay.pysource import PARSE_ERRORS, SyntaxWarningError, parse_python

MAX_CHARS = 8000
_TAG = {name: re.compile(rf"<{name}>\n?(.*?)\n?</{name}>", re.DOTALL)
        for name in ("statement", "function", "inputs")}


@dataclass(frozen=True)
class ParsedProposal:
    draft: TaskDraft | None
    reason: str = ""


@dataclass(frozen=True)
class ParsedSolution:
    code: str | None
    reason: str = ""


def parse_proposal(text: str, provenance: Provenance, max_chars: int = MAX_CHARS
                   ) -> ParsedProposal:
    try:
        return _parse_proposal(text, provenance, max_chars)
    except Exception:  # total: whatever the text, a reason and never a crash
        return ParsedProposal(None, "parse_error")


def _parse_proposal(text: str, provenance: Provenance, max_chars: int) -> ParsedProposal:
    if not text or not text.strip():
        return ParsedProposal(None, "empty")
    if len(text) > max_chars:
        return ParsedProposal(None, "too_long")
    parts: dict[str, str] = {}
    for name, pattern in _TAG.items():
        found = pattern.findall(text)
        if len(found) > 1:
            return ParsedProposal(None, "repeated_tag")
        if found and found[0].strip():
            parts[name] = found[0]
    if not parts:
        return ParsedProposal(None, "no_format")
    for name in ("statement", "function", "inputs"):
        if name not in parts:
            return ParsedProposal(None, f"missing_{name}")
    code = parts["function"].strip("\n") + "\n"
    try:
        tree = parse_python(code)
    except SyntaxWarningError:
        return ParsedProposal(None, "syntax_warning")
    except PARSE_ERRORS:
        return ParsedProposal(None, "syntax_error")
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not functions:
        return ParsedProposal(None, "no_function")
    if len(functions) > 1:
        return ParsedProposal(None, "several_functions")
    allowed = (ast.FunctionDef, ast.Import, ast.ImportFrom)
    if any(not isinstance(n, allowed) and not _is_docstring(n) for n in tree.body):
        return ParsedProposal(None, "extra_code")
    fn = functions[0]
    signature = f"def {fn.name}({ast.unparse(fn.args)})"
    if fn.returns is not None:
        signature += f" -> {ast.unparse(fn.returns)}"
    draft = TaskDraft(statement=parts["statement"].strip(), entry_point=fn.name,
                      signature=signature, reference=code, strategy=parts["inputs"].strip(),
                      provenance=provenance, kind=_kind(fn), tags=_api_tags(tree))
    return ParsedProposal(draft)


def _api_tags(tree: ast.Module) -> tuple[str, ...]:
    """`api:<module>` of each top-level module the reference imports, sorted ("api:builtin"
    when it imports none), as the synthesizer tags its tasks."""
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    return tuple(f"api:{name}" for name in sorted(names or {"builtin"}))


def parse_solution(text: str, entry_point: str, max_chars: int = MAX_CHARS) -> ParsedSolution:
    try:
        return _parse_solution(text, entry_point, max_chars)
    except Exception:
        return ParsedSolution(None, "parse_error")


def _parse_solution(text: str, entry_point: str, max_chars: int) -> ParsedSolution:
    if not text or not text.strip():
        return ParsedSolution(None, "empty")
    if len(text) > max_chars:
        return ParsedSolution(None, "too_long")
    found = _TAG["function"].findall(text)
    if not found:
        return ParsedSolution(None, "no_format")
    if len(found) > 1:
        return ParsedSolution(None, "repeated_tag")
    code = found[0].strip("\n") + "\n"
    try:
        tree = parse_python(code)
    except SyntaxWarningError:
        return ParsedSolution(None, "syntax_warning")
    except PARSE_ERRORS:
        return ParsedSolution(None, "syntax_error")
    if not any(isinstance(n, ast.FunctionDef) and n.name == entry_point for n in tree.body):
        return ParsedSolution(None, "no_entry_point")
    return ParsedSolution(code)


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and \
        isinstance(node.value.value, str)


def _kind(fn: ast.FunctionDef) -> str:
    """A coarse family from the annotations, e.g. "list[int]->int"; "?" where missing."""
    args = [ast.unparse(a.annotation) if a.annotation else "?" for a in fn.args.args]
    ret = ast.unparse(fn.returns) if fn.returns else "?"
    return f"{', '.join(args) or '()'}->{ret}"
