"""Judging: host-side verdicts from job results, and real candidates in the sandbox."""

import pytest

from zeroplay.config import Config
from zeroplay.handoff import TestCase
from zeroplay.sandbox.pool import JobResult
from zeroplay.sandbox.verdicts import judge, verdict_for

CFG = Config().sandbox
TESTS = [TestCase([["i", x]], ["i", 2 * x], public=x == 0) for x in range(4)]


def ok(*values):
    return JobResult("ok", results=[{"ok": v} for v in values])


@pytest.mark.parametrize(
    ("result", "status", "reward", "passed"),
    [
        (ok(["i", 0], ["i", 2], ["i", 4], ["i", 6]), "pass", 1.0, 4),
        (ok(["i", 1], ["i", 2], ["i", 4], ["i", 6]), "fail", 1.0, 3),  # only the public one wrong
        (ok(["i", 0], ["i", 2], ["i", 4], ["i", 7]), "fail", 0.0, 3),
        (ok(["i", 0], ["b", True], ["i", 4], ["i", 6]), "fail", 0.0, 3),
        (ok(["i", 0], ["f", 2.0], ["i", 4], ["i", 6]), "fail", 0.0, 3),
        (ok(["i", 0], ["i"], ["i", 4], ["i", 6]), "fail", 0.0, 3),  # malformed value
        (JobResult("ok", results=[{"exc": ["MemoryError", ""]}] * 4), "memory", 0.0, 0),
        (JobResult("ok", results=[{"exc": ["ValueError", "no"]}] * 4), "fail", 0.0, 0),
        (JobResult("ok", load_error=["SyntaxError", "bad"]), "error", 0.0, 0),
        (JobResult("timeout", detail="wall"), "timeout", 0.0, 0),
        (JobResult("output_limit"), "output_limit", 0.0, 0),
        (JobResult("crash"), "error", 0.0, 0),
        (JobResult("ok", results=ok(["i", 0], ["i", 2], ["i", 4], ["i", 6]).results,
                   anomalies=["leftover_processes:2"]), "error", 0.0, 0),
        # forged by the job: judged as values or as a failed job, never raised
        (ok(["i", 0], [["i"], 2], ["i", 4], ["i", 6]), "fail", 0.0, 3),
        (ok(["i", 0], ["f", 10**400], ["i", 4], ["i", 6]), "fail", 0.0, 3),
        (ok(["i", 0], ["i", 2], ["i", 4], ["f", "1e400"]), "fail", 0.0, 3),
        (JobResult("ok", results=[{"ok": ["i", 0], "exc": 5}, {"exc": [{}]}, {"exc": []},
                                  {"ok": ["i", 6], "exc": {"a": 1}}]), "fail", 0.0, 2),
        (JobResult("ok", load_error=[]), "error", 0.0, 0),
        (JobResult("ok", load_error=[[1], {}]), "error", 0.0, 0),
    ],
)
def test_verdicts(result, status, reward, passed):
    verdict = verdict_for(result, TESTS, CFG)
    assert (verdict.status, verdict.reward, verdict.passed, verdict.total) == \
        (status, reward, passed, 4)


def test_pass_fraction_counts_hidden_tests_only():
    cfg = CFG.model_copy(update={"reward": "pass_fraction"})
    verdict = verdict_for(ok(["i", 9], ["i", 2], ["i", 9], ["i", 6]), TESTS, cfg)
    assert verdict.reward == pytest.approx(2 / 3)


def test_first_failure_is_reported():
    verdict = verdict_for(ok(["i", 0], ["i", 2], ["i", 5], ["i", 6]), TESTS, CFG)
    assert verdict.detail == {"args": [["i", 2]], "expected": ["i", 4], "got": ["i", 5],
                              "error": None}


def test_a_malformed_result_says_so():
    verdict = verdict_for(ok(["i", 0], ["f", 10**400], ["i", 4], ["i", 6]), TESTS, CFG)
    assert verdict.detail["error"] == "the result is not a well-formed tagged value"


class NoPool:
    """Stands in for the sandbox where a host-side check must decide before any job runs."""

    def run(self, job):
        raise AssertionError("nothing should reach the sandbox")

    map = run


def test_a_solution_over_the_size_cap_is_an_error_without_running():
    code = "def f(x):\n    return 2 * x\n" + "#" * CFG.max_solution_chars
    verdict = judge(NoPool(), code, "f", TESTS, CFG)
    assert (verdict.status, verdict.reward, verdict.passed, verdict.total) == ("error", 0.0, 0, 4)
    assert "sandbox.max_solution_chars" in verdict.detail["error"]


@pytest.mark.parametrize("expected", [["f", 10**400], [["i"], 1], ["i"]])
def test_a_task_with_malformed_tests_is_invalid_without_running(expected):
    tests = [*TESTS[:3], TestCase([["i", 3]], expected)]
    verdict = judge(NoPool(), "def f(x):\n    return 2 * x\n", "f", tests, CFG)
    assert (verdict.status, verdict.reward, verdict.total) == ("invalid", 0.0, 4)
    assert "test 3" in verdict.detail["error"]


def test_differential_search_runs_nothing_it_cannot_judge():
    from zeroplay.sandbox.verdicts import find_disagreement

    code = "def f(s):\n    return len(s)\n"
    for strategy in ("st.sets(st.lists(st.integers()))", "st.integers(", f"st.floats(0, {'9' * 401})"):
        assert find_disagreement(NoPool(), "f", code, code, strategy, CFG, seed=0) is None
    big = code + "#" * CFG.max_solution_chars
    assert find_disagreement(NoPool(), "f", code, big, "st.text()", CFG, seed=0) is None
    big = code + "#" * CFG.max_reference_chars
    assert find_disagreement(NoPool(), "f", big, code, "st.text()", CFG, seed=0) is None


@pytest.mark.docker
@pytest.mark.parametrize(
    ("code", "status", "reward"),
    [
        ("def f(x):\n    return 2 * x\n", "pass", 1.0),
        ("def f(x):\n    return x + x if x else 0\n", "pass", 1.0),
        ("def f(x):\n    return 2.0 * x\n", "fail", 0.0),
        ("def f(x):\n    return x * 2 + (x == 3)\n", "fail", 0.0),
        ("def f(x):\n    return (2 * x,)\n", "fail", 0.0),
        ("def f(x)\n    return 2 * x\n", "error", 0.0),
        ("def g(x):\n    return 2 * x\n", "error", 0.0),
        ("def f(x):\n    print('ALL TESTS PASSED')\n    raise SystemExit(0)\n", "fail", 0.0),
    ],
)
def test_real_candidates(pool, fast_sandbox_cfg, code, status, reward):
    verdict = judge(pool, code, "f", TESTS, fast_sandbox_cfg)
    assert (verdict.status, verdict.reward) == (status, reward), verdict.detail


@pytest.mark.docker
def test_a_solution_wrong_only_on_long_inputs_is_not_rewarded(pool, fast_sandbox_cfg):
    from zeroplay.sandbox.drafts import validate_draft

    reference = "def f(xs):\n    return sum(xs)\n"
    strategy = "st.lists(st.integers(-50, 50), max_size=20)"
    short_only = "def f(xs):\n    return sum(xs) if len(xs) < 15 else 0\n"
    for seed in range(3):
        task = validate_draft(pool, "f", reference, strategy, fast_sandbox_cfg, seed=seed)
        assert task.valid, task.detail
        verdict = judge(pool, short_only, "f", task.tests, fast_sandbox_cfg)
        assert verdict.reward == 0.0, f"seed {seed}: {verdict.status}"


@pytest.mark.docker
def test_floats_within_tolerance_pass(pool, fast_sandbox_cfg):
    tests = [TestCase([["f", 0.1], ["f", 0.2]], ["f", 0.3])] * 2
    verdict = judge(pool, "def f(a, b):\n    return a + b\n", "f", tests, fast_sandbox_cfg)
    assert verdict.status == "pass"


@pytest.mark.docker
def test_differential_search_finds_a_new_hidden_test(pool, fast_sandbox_cfg):
    from zeroplay.sandbox.verdicts import find_disagreement

    reference = "def f(xs):\n    return sorted(xs)\n"
    sloppy = "def f(xs):\n    return xs if len(xs) > 6 else sorted(xs)\n"
    strategy = "st.lists(st.integers(-9, 9), max_size=10)"
    found = find_disagreement(pool, "f", reference, sloppy, strategy, fast_sandbox_cfg, seed=1)
    assert found is not None and not found.public
    xs = [x[1] for x in found.args[0][1]]
    assert len(xs) > 6 and xs != sorted(xs)
    assert found.expected == ["l", [["i", x] for x in sorted(xs)]]
    same = "def f(xs):\n    return list(sorted(xs))\n"
    assert find_disagreement(pool, "f", reference, same, strategy, fast_sandbox_cfg, seed=1) is None
