import pytest

from zeroplay.actors.parsing import parse_proposal, parse_solution
from zeroplay.actors.prompts import render_proposal, render_solution
from zeroplay.curricula.task import Provenance

PROV = Provenance.policy("r", 1, ("p",))
GOOD = render_proposal("Sum the even numbers.", "def f(xs: list[int]) -> int:\n    return sum(x for x in xs if x % 2 == 0)\n",
                       "st.lists(st.integers(-9, 9))")


def test_good_proposal():
    p = parse_proposal("Sure! Here is a task:\n" + GOOD + "\nthanks", PROV)
    assert p.reason == "" and p.draft is not None
    d = p.draft
    assert d.entry_point == "f" and d.signature == "def f(xs: list[int]) -> int"
    assert d.strategy == "st.lists(st.integers(-9, 9))" and d.statement == "Sum the even numbers."
    assert d.kind == "list[int]->int" and d.provenance == PROV
    assert d.tags == ("api:builtin",)


def test_a_proposal_is_tagged_with_the_modules_its_reference_imports():
    code = ("import heapq\nfrom collections import Counter\nimport os.path\n\n"
            "def f(xs: list[int]) -> list[int]:\n    return heapq.nlargest(2, xs)\n")
    draft = parse_proposal(render_proposal("Top two.", code, "st.lists(st.integers())"),
                           PROV).draft
    assert draft.tags == ("api:collections", "api:heapq", "api:os")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("just some words", "no_format"),
        ("x" * 9000, "too_long"),
        ("<function>\ndef f(x):\n    return x\n</function>\n<inputs>\nst.integers()\n</inputs>", "missing_statement"),
        ("<statement>\ns\n</statement>\n<inputs>\nst.integers()\n</inputs>", "missing_function"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x):\n    return x\n</function>", "missing_inputs"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x):\n    return x\n</function>\n<inputs>\n \n</inputs>", "missing_inputs"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x) return x\n</function>\n<inputs>\nst.integers()\n</inputs>", "syntax_error"),
        ("<statement>\ns\n</statement>\n<function>\nx = 1\n</function>\n<inputs>\nst.integers()\n</inputs>", "no_function"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x):\n    return x\ndef g(x):\n    return x\n</function>\n<inputs>\nst.integers()\n</inputs>", "several_functions"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x):\n    return x\nprint(f(1))\n</function>\n<inputs>\nst.integers()\n</inputs>", "extra_code"),
        (GOOD + "\n" + GOOD, "repeated_tag"),
        ("<statement>\ns\n</statement>\n<function>\ndef f(x):\n    return x\n", "missing_function"),  # truncated
        ("<statement>\n\x00\n</statement>\n<function>\ndef f(x):\n    return x\x00\n</function>\n<inputs>\nst.integers()\n</inputs>", "syntax_error"),
        ("<statement>s</statement><function>" + "(" * 300 + "</function><inputs>st.integers()</inputs>", "syntax_error"),
    ],
)
def test_malformed_proposals_give_a_reason(text, reason):
    p = parse_proposal(text, PROV)
    assert (p.draft, p.reason) == (None, reason)


def test_good_solution_allows_helpers():
    code = "def helper(x):\n    return x * 2\n\ndef f(x):\n    return helper(x)\n"
    s = parse_solution("ok\n" + render_solution(code), "f")
    assert s.code == code and s.reason == ""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("def f(x): return x", "no_format"),
        ("```python\ndef f(x):\n    return x\n```", "no_format"),
        (render_solution("def g(x):\n    return x"), "no_entry_point"),
        (render_solution("def f(x) return x"), "syntax_error"),
        (render_solution("def f(x):\n    return x") * 2, "repeated_tag"),
        ("<function>" + "a" * 9000 + "</function>", "too_long"),
    ],
)
def test_malformed_solutions(text, reason):
    s = parse_solution(text, "f")
    assert (s.code, s.reason) == (None, reason)


def test_parsers_never_raise_on_adversarial_text():
    import random

    rng = random.Random(0)
    alphabet = list("<>/\n ():=deffunctionstatementinputs\x00\t'\"st.") + ["<function>", "</function>"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        assert isinstance(parse_proposal(text, PROV).reason, str)
        assert isinstance(parse_solution(text, "f").reason, str)


WARNS = "def f(x):\n    return 1if x else 2\n"  # SyntaxWarning: invalid decimal literal


def test_code_the_compiler_warns_about_is_its_own_reason_and_prints_nothing(capsys, recwarn):
    import warnings

    filters = list(warnings.filters)
    s = parse_solution(render_solution(WARNS), "f")
    p = parse_proposal(render_proposal("s", WARNS, "st.integers()"), PROV)
    assert (s.code, s.reason) == (None, "syntax_warning")
    assert (p.draft, p.reason) == (None, "syntax_warning")
    assert len(recwarn) == 0  # captured by the parser, not raised to the caller
    assert capsys.readouterr().err == ""
    assert warnings.filters == filters  # the process's filters are left as they were


def test_syntax_warning_prints_nothing_in_a_fresh_process():
    import subprocess
    import sys

    code = ("from zeroplay.actors.parsing import parse_solution\n"
            f"print(parse_solution('<function>\\n' + {WARNS!r} + '</function>', 'f').reason)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (out.stdout, out.stderr) == ("syntax_warning\n", "")
