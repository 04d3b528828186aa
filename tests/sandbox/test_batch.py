"""Batch validation and judging on the host, with the sandbox's answers scripted: what a
hostile record or a forged result comes to, record by record, without Docker."""

import pytest

from zeroplay.config import Config
from zeroplay.handoff import TestCase
from zeroplay.jsonl import read_jsonl, write_jsonl
from zeroplay.sandbox.batch import judge_many, judge_records, validate_records, validation_row
from zeroplay.sandbox.pool import JobResult

CFG = Config().sandbox
IDENTITY = "def f(x):\n    return x\n"
FORGER = "def f(x):\n    return 'forges its result frame'\n"


class ScriptedPool:
    """Answers a job as the sandbox would for IDENTITY; FORGER's job sends back a float
    no float can hold, as job code that forges its results can."""

    def __init__(self):
        self.ran: list[str] = []

    def map(self, jobs, deadline_s=None):
        for index, job in enumerate(jobs):
            self.ran.append(job.code)
            if job.code == IDENTITY:
                results = [{"ok": args[0]} for args in job.inputs]
            else:
                results = [{"ok": ["f", 10**400]} for _ in job.inputs]
            yield index, JobResult("ok", results=results)


def task(id_, reference):
    return {"id": id_, "entry_point": "f", "reference": reference,
            "strategy": "st.integers(-50, 50)"}


def test_hostile_records_get_clean_rows(tmp_path):
    pool = ScriptedPool()
    too_long = IDENTITY + "#" * CFG.max_reference_chars
    tasks = [task("forged", FORGER), task("long", too_long), task("ok\ud800", IDENTITY)]
    validations = validate_records(pool, tasks, CFG)
    assert [(v.valid, v.reason) for v in validations] == [
        (False, "unserializable_output"), (False, "reference_too_long"), (True, "")]
    assert too_long not in pool.ran
    solutions = [
        {"task_id": "forged", "solution_id": "a", "code": IDENTITY},
        {"task_id": "ok\ud800", "solution_id": "b", "code": "#" * (CFG.max_solution_chars + 1)},
        {"task_id": "ok\ud800", "solution_id": "c", "code": IDENTITY},
    ]
    rows = judge_records(pool, tasks, validations, solutions, CFG)
    assert [(r["solution_id"], r["status"], r["reward"]) for r in rows] == [
        ("a", "invalid", 0.0), ("b", "error", 0.0), ("c", "pass", 1.0)]
    assert "unserializable_output" in rows[0]["detail"]["error"]
    assert "sandbox.max_solution_chars" in rows[1]["detail"]["error"]
    assert solutions[1]["code"] not in pool.ran
    out = tmp_path / "out.jsonl"
    write_jsonl(out, rows + [validation_row(t, v) for t, v in zip(tasks, validations, strict=True)])
    assert read_jsonl(out)[2]["task_id"] == "ok\ud800"


def test_refused_candidates_keep_their_place_and_tick():
    tests = validate_records(ScriptedPool(), [task("t", IDENTITY)], CFG)[0].tests
    broken = [TestCase([["i", 1]], ["f", 10**400]), *tests[1:]]
    ticks = []
    verdicts = judge_many(ScriptedPool(), [
        ("#" * (CFG.max_solution_chars + 1), "f", tests),
        (IDENTITY, "f", tests),
        (IDENTITY, "f", broken),
    ], CFG, tick=lambda: ticks.append(1))
    assert [v.status for v in verdicts] == ["error", "pass", "invalid"]
    assert [v.total for v in verdicts] == [len(tests)] * 3
    assert len(ticks) == 3


@pytest.mark.parametrize("cap", [10, 100])
def test_the_caps_come_from_config(cap):
    cfg = CFG.model_copy(update={"max_reference_chars": cap, "max_solution_chars": cap})
    validation = validate_records(ScriptedPool(), [task("t", IDENTITY + " " * cap)], cfg)[0]
    assert validation.reason == "reference_too_long" and str(cap) in validation.detail
    tests = validate_records(ScriptedPool(), [task("t", IDENTITY)], CFG)[0].tests
    verdict = judge_many(ScriptedPool(), [(IDENTITY + " " * cap, "f", tests)], cfg)[0]
    assert verdict.status == "error" and f"max_solution_chars={cap}" in verdict.detail["error"]
