"""Validate and judge many records at once, with the pool running jobs in parallel.

    results = validate_many(pool, drafts, cfg)          # one Validation per Draft, in order
    verdicts = judge_many(pool, [(code, "f", tests), ...], cfg)

This is the batch API the rest of zeroplay (and `zeroplay sandbox validate|judge`) uses:
host-side preparation for every record first, then all sandbox jobs through
`SandboxPool.map` (concurrency = pool size), then host-side judging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zeroplay.config import SandboxConfig
from zeroplay.handoff import TestCase, Validation, Verdict
from zeroplay.sandbox.drafts import DraftRejected, freeze, prepare, reference_jobs
from zeroplay.sandbox.pool import Job, JobResult, SandboxPool
from zeroplay.sandbox.verdicts import job_for, refusal, verdict_for

Tick = Callable[[], None]


@dataclass(frozen=True)
class Draft:
    entry_point: str
    reference: str
    strategy: str
    edge: str = ""  # the edge case its statement rules on, which a public example shows


def validate_many(pool: SandboxPool, drafts: Sequence[Draft], cfg: SandboxConfig,
                  seed: int = 0, tick: Tick | None = None,
                  deadline_s: float | None = None) -> list[Validation]:
    """Validate every draft (each reference runs twice); results in input order."""
    outcomes: list[Validation | None] = [None] * len(drafts)
    jobs: list[Job] = []
    owners: list[int] = []
    inputs: dict[int, list] = {}
    for i, draft in enumerate(drafts):
        try:
            _, drawn = prepare(draft.entry_point, draft.reference, draft.strategy, cfg, seed)
        except DraftRejected as rejected:
            outcomes[i] = rejected.validation
            if tick:
                tick()
            continue
        inputs[i] = drawn
        jobs += reference_jobs(draft.reference, draft.entry_point, drawn)
        owners += [i, i]
    runs: dict[int, list[JobResult]] = {}
    for index, result in pool.map(jobs, deadline_s):
        owner = owners[index]
        runs.setdefault(owner, []).append(result)
        if len(runs[owner]) == 2:
            outcomes[owner] = freeze(inputs[owner], *runs[owner], cfg, drafts[owner].edge)
            if tick:
                tick()
    assert all(v is not None for v in outcomes)
    return outcomes  # type: ignore[return-value]


def judge_many(pool: SandboxPool, candidates: Sequence[tuple[str, str, Sequence[TestCase]]],
               cfg: SandboxConfig, tick: Tick | None = None,
               deadline_s: float | None = None) -> list[Verdict]:
    """Judge (code, entry_point, tests) candidates; verdicts in input order."""
    verdicts = [refusal(code, tests, cfg) for code, _, tests in candidates]
    owners = [i for i, verdict in enumerate(verdicts) if verdict is None]
    if tick:
        for _ in range(len(candidates) - len(owners)):
            tick()
    jobs = [job_for(*candidates[i]) for i in owners]
    for index, result in pool.map(jobs, deadline_s):
        owner = owners[index]
        verdicts[owner] = verdict_for(result, candidates[owner][2], cfg)
        if tick:
            tick()
    assert all(v is not None for v in verdicts)
    return verdicts  # type: ignore[return-value]


# --- JSONL records (`zeroplay sandbox validate|judge`) -------------------------------------

TASK_FIELDS = {"id": str, "entry_point": str, "reference": str, "strategy": str}
SOLUTION_FIELDS = {"task_id": str, "solution_id": str, "code": str}


def validate_records(pool: SandboxPool, tasks: Sequence[dict], cfg: SandboxConfig,
                     seed: int = 0, tick: Tick | None = None) -> list[Validation]:
    drafts = [Draft(t["entry_point"], t["reference"], t["strategy"]) for t in tasks]
    return validate_many(pool, drafts, cfg, seed, tick)


def validation_row(task: dict, validation: Validation) -> dict:
    return {"id": task["id"], "valid": validation.valid, "reason": validation.reason,
            "tests": len(validation.tests)}


def judge_records(pool: SandboxPool, tasks: Sequence[dict], validations: Sequence[Validation],
                  solutions: Sequence[dict], cfg: SandboxConfig,
                  tick: Tick | None = None) -> list[dict]:
    """One verdict row per solution, in input order; `invalid` for an invalid or unknown task."""
    by_id = {t["id"]: (t, v) for t, v in zip(tasks, validations, strict=True)}
    rows: list[dict | None] = [None] * len(solutions)
    runnable, positions = [], []
    for i, sol in enumerate(solutions):
        task, validation = by_id.get(sol["task_id"], (None, None))
        if task is None or not validation.valid:
            why = "unknown task id" if task is None else f"task invalid: {validation.reason}"
            rows[i] = _verdict_row(sol, Verdict(0.0, "invalid", 0, 0, {"error": why}))
            if tick:
                tick()
            continue
        runnable.append((sol["code"], task["entry_point"], validation.tests))
        positions.append(i)
    for i, verdict in zip(positions, judge_many(pool, runnable, cfg, tick), strict=True):
        rows[i] = _verdict_row(solutions[i], verdict)
    return rows  # type: ignore[return-value]


def _verdict_row(solution: dict, verdict: Verdict) -> dict:
    return {"task_id": solution["task_id"], "solution_id": solution["solution_id"],
            **verdict.to_json()}
