import ast
import sys

import pytest

from zeroplay.curricula.programs import normalized_hash
from zeroplay.eval.humaneval import function_hashes
from zeroplay.pysource import PARSE_ERRORS, SyntaxWarningError, parse_python


def test_clean_code_parses():
    assert isinstance(parse_python("def f(x):\n    return x\n"), ast.Module)


@pytest.mark.parametrize("code", ["x = 1if y else 2", "x = 0x1for y in z", "x = [0x1for x in y]"])
def test_a_syntax_warning_is_an_error_of_its_own(code, recwarn):
    with pytest.raises(SyntaxWarningError):
        parse_python(code)
    assert len(recwarn) == 0


@pytest.mark.parametrize("code", ["def f(x) return x", "x = 1\x00", "(" * 300])
def test_unparsable_code_raises_one_of_the_parse_errors(code):
    with pytest.raises(PARSE_ERRORS):
        parse_python(code)


def test_other_warnings_are_dropped(recwarn):
    invalid_escape = 'x = "\\d"'  # a DeprecationWarning on 3.11, a SyntaxWarning from 3.12
    if sys.version_info < (3, 12):
        parse_python(invalid_escape)
    else:
        with pytest.raises(SyntaxWarningError):
            parse_python(invalid_escape)
    assert len(recwarn) == 0


def test_hashes_of_model_text_go_through_it(recwarn):
    assert normalized_hash("def f(x):\n    return 1if x else 2\n") is None
    assert function_hashes("def f(x):\n    return 1if x else 2\n") == set()
    assert len(recwarn) == 0
