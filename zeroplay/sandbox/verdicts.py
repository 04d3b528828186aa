"""Judging on the host: compare what a candidate returned with the expected values.

    verdict = judge(pool, code, "f", tests, cfg)   # Verdict(reward=1.0, status="pass", ...)

The sandbox only reports values; this module decides. Comparison is strict by
type-tagged value (`codec.values_equal`): bool is not int, tuple is not list, a set is not
a list; floats agree within `float_tolerance` (relative and absolute), and NaN equals NaN.
A returned value that is not well-formed (`codec.is_tagged`) fails its test. Exit codes,
output and anything the candidate prints never enter a verdict. Reward counts hidden
tests only: 1.0 if all pass (or the pass fraction, by config). Some verdicts are reached
on the host without running (`refusal`): a solution over `max_solution_chars` is an
error, and a task whose tests are not well-formed is invalid (no answer could pass them).
"""

from __future__ import annotations

from collections.abc import Sequence

from zeroplay.config import SandboxConfig
from zeroplay.handoff import VERDICT_STATUSES, TestCase, Verdict
from zeroplay.rewards import solver_reward
from zeroplay.sandbox.codec import is_tagged, to_tagged, values_equal
from zeroplay.sandbox.pool import Job, JobResult, SandboxPool, exc_text, triage


def judge(pool: SandboxPool, code: str, entry_point: str, tests: Sequence[TestCase],
          cfg: SandboxConfig) -> Verdict:
    """Run a candidate on every test in the sandbox and judge it here."""
    refused = refusal(code, tests, cfg)
    if refused is not None:
        return refused
    return verdict_for(pool.run(job_for(code, entry_point, tests)), tests, cfg)


def refusal(code: str, tests: Sequence[TestCase], cfg: SandboxConfig) -> Verdict | None:
    """The verdict a candidate gets without running, or None when it must run."""
    total = len(tests)
    if len(code) > cfg.max_solution_chars:
        return Verdict(0.0, "error", 0, total, {"error": (
            f"the solution has {len(code)} characters, over sandbox.max_solution_chars="
            f"{cfg.max_solution_chars}; not run")})
    for number, test in enumerate(tests):
        if not (type(test.args) is list and all(map(is_tagged, test.args))
                and is_tagged(test.expected)):
            return Verdict(0.0, "invalid", 0, total, {"error": (
                f"test {number} of the task is not made of well-formed tagged values")})
    return None


def job_for(code: str, entry_point: str, tests: Sequence[TestCase]) -> Job:
    return Job(code, entry_point, [list(t.args) for t in tests])


def verdict_for(result: JobResult, tests: Sequence[TestCase], cfg: SandboxConfig) -> Verdict:
    """Turn one job's result into a verdict against the tests it ran."""
    total = len(tests)
    failure = triage(result)
    if failure is not None:
        status = failure.kind if failure.kind in VERDICT_STATUSES else "error"
        return Verdict(0.0, status, 0, total, {"error": failure.detail})
    assert result.results is not None
    passed, hidden, hidden_passed, first_failure, memory = 0, 0, 0, None, False
    for test, got in zip(tests, result.results, strict=True):
        ok = "ok" in got and values_equal(got["ok"], test.expected, cfg.float_tolerance)
        passed += ok
        if not test.public:
            hidden += 1
            hidden_passed += ok
        if not ok:
            exc = got.get("exc")
            memory = memory or (isinstance(exc, list) and exc[:1] == ["MemoryError"])
            if first_failure is None:
                error = exc_text(exc) if exc else None
                if "ok" in got and not is_tagged(got["ok"]):
                    error = "the result is not a well-formed tagged value"
                first_failure = {"args": test.args, "expected": test.expected,
                                 "got": got.get("ok"), "error": error}
    if memory:
        return Verdict(0.0, "memory", passed, total, first_failure or {})
    status = "pass" if passed == total else "fail"
    return Verdict(solver_reward(hidden_passed, hidden, cfg.reward), status, passed, total,
                   first_failure or {})


def find_disagreement(pool: SandboxPool, entry_point: str, reference: str, candidate: str,
                      strategy: str, cfg: SandboxConfig, seed: int, n: int = 100
                      ) -> TestCase | None:
    """Differential search: draw fresh inputs, run reference (twice) and candidate, and
    return the first input where the candidate disagrees with a deterministic reference
    answer, as a new hidden test for the task. None if they agree everywhere tried, or
    if the code is over the size caps or the strategy cannot be drawn from (nothing runs)."""
    from zeroplay.sandbox.drafts import reference_jobs
    from zeroplay.sandbox.strategies import StrategyError, draw_inputs, parse_strategy

    if len(reference) > cfg.max_reference_chars or len(candidate) > cfg.max_solution_chars:
        return None
    try:
        spec = parse_strategy(strategy, cfg.max_collection_size)
        inputs = [[to_tagged(a) for a in args] for args in draw_inputs(spec, n, seed)]
    except StrategyError:
        return None
    jobs = [*reference_jobs(reference, entry_point, inputs),
            Job(candidate, entry_point, inputs)]
    ref_a, ref_b, cand = (r for _, r in sorted(pool.map(jobs)))
    if any(triage(r) is not None or r.results is None for r in (ref_a, ref_b)):
        return None
    cand_results = cand.results if cand.status == "ok" and cand.results else [{}] * len(inputs)
    for args, a, b, c in zip(inputs, ref_a.results, ref_b.results, cand_results, strict=True):
        if "ok" not in a or "ok" not in b or not is_tagged(a["ok"]):
            continue
        if not values_equal(a["ok"], b["ok"]):
            continue  # the reference itself is not deterministic here
        got = c.get("ok")
        if not (is_tagged(got) and values_equal(got, a["ok"], cfg.float_tolerance)):
            return TestCase(args, a["ok"], public=False)
    return None
