"""Draft validation: static checks on the host, then two reference runs in the real sandbox."""

import pytest

from zeroplay.config import Config
from zeroplay.handoff import REJECT_REASONS
from zeroplay.sandbox.drafts import DraftRejected, freeze, prepare, validate_draft
from zeroplay.sandbox.pool import JobResult

CFG = Config().sandbox
INTS = "st.integers(-50, 50)"


@pytest.mark.parametrize(
    ("reference", "strategy", "reason"),
    [
        ("def f(x) return x", INTS, "syntax"),
        ("def f(x):\n    return x\x00", INTS, "syntax"),
        ("def g(x):\n    return x\n", INTS, "no_entry_point"),
        ("f = lambda x: x\n", INTS, "no_entry_point"),
        ("import os\ndef f(x):\n    return x\n", INTS, "banned_import"),
        ("from subprocess import run\ndef f(x):\n    return x\n", INTS, "banned_import"),
        ("def f(x):\n    import socket\n    return x\n", INTS, "banned_import"),
        ("from . import x\ndef f(x):\n    return x\n", INTS, "banned_import"),
        ("def f(x):\n    return eval('x')\n", INTS, "banned_call"),
        ("def f(x):\n    return open('/etc/passwd').read()\n", INTS, "banned_call"),
        ("def f(x):\n    return ().__class__.__bases__[0].__subclasses__()\n", INTS, "banned_name"),
        ("def f(x):\n    g = eval\n    return g('1')\n", INTS, "banned_name"),
        ("def f(x):\n    return __builtins__\n", INTS, "banned_name"),
        ("def f(x):\n    return x\n", "st.builds(int)", "strategy"),
        ("def f(x):\n    return x\n", "st.sets(st.lists(st.integers()))", "strategy"),
        ("def f(x):\n    return x\n", f"st.floats(max_value={'1' * 401})", "strategy"),
        ("def f(x, y):\n    return x + y\n", INTS, "arity"),
        ("def f(x):\n    return x\n", f"{INTS}, {INTS}", "arity"),
        ("def f(x):\n    return x\n", "st.just(1)", "too_few_inputs"),
        ("def f(x):\n    return x\n" + "#" * CFG.max_reference_chars, INTS, "reference_too_long"),
    ],
)
def test_static_rejections(reference, strategy, reason):
    assert reason in REJECT_REASONS
    with pytest.raises(DraftRejected) as err:
        prepare("f", reference, strategy, CFG, seed=0)
    assert err.value.validation.reason == reason
    assert not err.value.validation.valid


def test_defaults_and_varargs_widen_the_arity():
    prepare("f", "def f(x, y=1):\n    return x + y\n", INTS, CFG, 0)
    prepare("f", "def f(x, y=1):\n    return x + y\n", f"{INTS}, {INTS}", CFG, 0)
    prepare("f", "def f(*xs):\n    return sum(xs)\n", f"{INTS}, {INTS}, {INTS}", CFG, 0)


def test_banned_lists_come_from_config():
    cfg = CFG.model_copy(update={"banned_imports": ["math"], "banned_calls": []})
    with pytest.raises(DraftRejected):
        prepare("f", "import math\ndef f(x):\n    return math.floor(x)\n", INTS, cfg, 0)
    prepare("f", "import os\ndef f(x):\n    return x\n", INTS, cfg, 0)



@pytest.mark.docker
def test_valid_draft_becomes_frozen_tests(pool, fast_sandbox_cfg):
    ref = "def f(xs, k):\n    return sorted(xs)[:k]\n"
    v = validate_draft(pool, "f", ref, "st.lists(st.integers(-9, 9), max_size=8), st.integers(0, 3)",
                       fast_sandbox_cfg, seed=3)
    assert v.valid, v
    assert len(v.tests) == fast_sandbox_cfg.num_tests
    assert sum(t.public for t in v.tests) == fast_sandbox_cfg.num_public_tests
    for t in v.tests:
        (xs_tag, k_tag) = t.args
        xs = [x[1] for x in xs_tag[1]]
        assert t.expected == ["l", [["i", x] for x in sorted(xs)[: k_tag[1]]]]
    again = validate_draft(pool, "f", ref,
                           "st.lists(st.integers(-9, 9), max_size=8), st.integers(0, 3)",
                           fast_sandbox_cfg, seed=3)
    assert again.tests == v.tests  # reproducible for a seed


@pytest.mark.parametrize(
    ("run", "reason"),
    [
        (JobResult("timeout", detail="wall"), "timeout"),
        (JobResult("memory"), "memory"),
        (JobResult("output_limit"), "output_limit"),
        (JobResult("crash", anomalies=["broken_reply"]), "crash"),
        (JobResult("error", detail="no nonce"), "sandbox_error"),
        (JobResult("ok", results=[{"ok": ["i", 1]}] * 2, anomalies=["tmp_not_empty"]),
         "sandbox_error"),
        (JobResult("ok", load_error=["NameError", "x"]), "load_error"),
        (JobResult("ok", load_error=[]), "load_error"),  # forged by the job: rejected, not raised
    ],
)
def test_a_failed_reference_run_is_rejected(run, reason):
    inputs = [[["i", 1]], [["i", 2]]]
    honest = JobResult("ok", results=[{"ok": ["i", 1]}, {"ok": ["i", 2]}])
    for first, second in ((run, honest), (honest, run)):
        v = freeze(inputs, first, second, CFG)
        assert (v.valid, v.reason) == (False, reason)
        assert v.detail


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ({"ok": [["i"], 1]}, {"ok": [["i"], 1]}, "unserializable_output"),
        ({"ok": ["f", 10**400]}, {"ok": ["f", 10**400]}, "unserializable_output"),
        ({"ok": ["i", 1], "exc": 5}, {"exc": ["ValueError", "x"]}, "nondeterministic"),
        ({"ok": ["i", 1], "exc": {"k": 1}}, {"exc": ["ValueError", "x"]}, "nondeterministic"),
        ({"exc": [[1], "x"]}, {"exc": ["ValueError", "x"]}, "nondeterministic"),
        ({"exc": ["Unserializable"]}, {"exc": ["Unserializable"]}, "unserializable_output"),
        ({"exc": []}, {"exc": [{}]}, "crash_rate"),
    ],
)
def test_forged_reference_results_are_rejected_not_raised(first, second, reason):
    # Job code controls what it returns, so these are what a hostile reference can send.
    inputs = [[["i", 1]], [["i", 2]]]
    rest = {"ok": ["i", 2]}
    v = freeze(inputs, JobResult("ok", results=[first, rest]),
               JobResult("ok", results=[second, rest]), CFG)
    assert (v.valid, v.reason) == (False, reason), v.detail


@pytest.mark.docker
@pytest.mark.parametrize(
    ("reference", "strategy", "reason"),
    [
        ("import uuid\ndef f(x):\n    return uuid.uuid4().int % 1000\n", INTS, "nondeterministic"),
        # Depend on the interpreter's hash seed: equal within one interpreter, so only two
        # interpreters with different seeds tell.
        ("def f(s):\n    return hash(s) % 1000\n", "st.text('abc', min_size=2, max_size=6)",
         "nondeterministic"),
        ("def f(ws):\n    return list(set(ws))\n",
         "st.lists(st.text('abcde', min_size=2, max_size=4), min_size=4, max_size=8)",
         "nondeterministic"),
        ("def f(x):\n    return 7\n", INTS, "trivial"),
        ("def f(x):\n    return 100 // (x % 2)\n", INTS, "crash_rate"),
        ("def f(x):\n    while True:\n        pass\n", INTS, "timeout"),
        ("def f(x):\n    return len(bytearray(2**40))\n", INTS, "memory"),
        ("def f(x):\n    return {1: object()}\n", INTS, "unserializable_output"),
        ("raise ValueError('at import')\ndef f(x):\n    return x\n", INTS, "load_error"),
        ("def f(x):\n    print('y' * 10**6)\n    return x\n", INTS, "output_limit"),
        ("def f(x):\n    from os import kill\n    return x\n", INTS, "banned_import"),
    ],
)
def test_runtime_rejections(pool, fast_sandbox_cfg, reference, strategy, reason):
    v = validate_draft(pool, "f", reference, strategy, fast_sandbox_cfg)
    assert (v.valid, v.reason) == (False, reason), v.detail
    assert v.tests == []


@pytest.mark.docker
def test_a_reference_cannot_kill_the_machinery(pool, fast_sandbox_cfg):
    # Nothing banned by name: it finds os through a loaded module and kills every process
    # it may, which is only its own user's: the supervisor and pid 1 live on.
    ref = ("import json\ndef f(x):\n    m = json.decoder.scanner.re.enum.sys.modules['os']\n"
           "    m.kill(-1, 9)\n    m.kill(1, 9)\n    return x\n")
    v = validate_draft(pool, "f", ref, INTS, fast_sandbox_cfg)
    assert not v.valid and v.reason == "crash_rate", v.detail  # PermissionError on pid 1
    assert validate_draft(pool, "f", "def f(x):\n    return x\n", INTS, fast_sandbox_cfg).valid


@pytest.mark.docker
def test_reference_errors_on_a_few_inputs_drop_those_inputs(pool, fast_sandbox_cfg):
    cfg = fast_sandbox_cfg.model_copy(update={"max_reference_error_rate": 0.5})
    v = validate_draft(pool, "f", "def f(x):\n    return 12 // x\n", "st.integers(-3, 3)", cfg)
    assert v.valid
    assert all(t.args != [["i", 0]] for t in v.tests)
    assert len(v.tests) == 6
