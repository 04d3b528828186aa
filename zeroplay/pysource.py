"""Parse model-written Python with `ast`, without the compiler printing anything.

    try:
        tree = parse_python(code)           # an ast.Module
    except SyntaxWarningError:              # parsed, but the compiler warned: own reason
        ...
    except PARSE_ERRORS:                    # does not parse at all
        ...

`ast.parse` reports dubious text such as `1if x else 2` ("invalid decimal literal") as a
SyntaxWarning printed to stderr, which in a run lands in the live display, once per
completion. Here every warning the parse raises is recorded instead of shown, and a
SyntaxWarning becomes `SyntaxWarningError` (a SyntaxError), so callers that only want a
tree treat it as unparsable and callers that count reasons can count it apart. Other
warnings (Python 3.11 gives a DeprecationWarning for an invalid escape like "\\d"; 3.12
makes it a SyntaxWarning) are dropped.

Not guaranteed: `warnings.catch_warnings` swaps the process's warning state for the
duration of one parse and restores it after. Parses here take a lock so that two threads
never interleave that swap (which would leave a filter behind), but a warning another
thread raises during a parse is recorded here and dropped.
"""

from __future__ import annotations

import ast
import threading
import warnings

# What ast.parse raises on text that is not Python: bad syntax, null bytes, too deep.
PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError)

_LOCK = threading.Lock()


class SyntaxWarningError(SyntaxError):
    """The text parses, but the compiler warns about it (e.g. `1if x else 2`)."""


def parse_python(source: str, mode: str = "exec") -> ast.AST:
    """`ast.parse(source, mode=mode)` with warnings captured; see the module docstring.

    >>> type(parse_python("def f(x):\\n    return x\\n")).__name__
    'Module'
    >>> parse_python("y = 1if x else 2")
    Traceback (most recent call last):
    ...
    zeroplay.pysource.SyntaxWarningError: invalid decimal literal
    """
    with _LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tree = ast.parse(source, mode=mode)
    for warning in caught:
        if issubclass(warning.category, SyntaxWarning):
            raise SyntaxWarningError(str(warning.message))
    return tree
