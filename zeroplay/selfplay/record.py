"""Stage 8, record: everything the step learned, written to the store in one transaction.

    summary = record_step(store, step, vetted, proposals, solver, samples, run_id="demo")

New tasks and rejected drafts with their reasons, parse-failure counts, one attempt per
solution of every solver round (groups that dynamic sampling dropped included: they are
real attempts and feed solve rates) and the texts of a few per task (for reports), one
provenance record per sample handed to the learner, together with the step's summary
(counts by role, status and reason; solver groups dropped by cause, and proposer
groups dropped; the share of zero-std groups per role). A crash loses the step,
never half of it. The summary also counts the policy's new valid tasks, those of a
program shape new to the store, and the policy tasks judged this step with the learnable
ones among them (solved by some but not all of the step's solutions).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from zeroplay.curricula.admit import Vetted, record
from zeroplay.curricula.store import Attempt, CurriculumStore, Sample, Solution
from zeroplay.curricula.task import Provenance
from zeroplay.failpoints import crash_point
from zeroplay.handoff import RolloutSample
from zeroplay.rewards import learnability
from zeroplay.selfplay.dynamic import SolverRounds, frac_zero_std
from zeroplay.selfplay.groups import as_groups
from zeroplay.selfplay.propose import Proposal
from zeroplay.selfplay.score import solve_rates


def summarize(vetted: Vetted, proposals: list[Proposal], solver: SolverRounds,
              samples: list[RolloutSample]) -> dict[str, Any]:
    """Counts by role, status and reason (the part of a step that metrics report)."""
    proposer = [s for s in samples if s.role == "proposer"]
    scores = solver.scores
    invented = [t for t in vetted.tasks if t.valid and t.provenance.origin == "policy"]
    rates = solve_rates([score for score, solution in zip(scores, solver.solutions, strict=True)
                         if solution.task.provenance.origin == "policy"])
    return {
        "proposals": dict(Counter(s.status.split(":")[0] for s in proposer)),
        "format_reasons": dict(Counter(p.reason for p in proposals if p.draft is None)),
        "filtered": dict(vetted.filtered),
        "rejected": dict(vetted.rejected),
        "new_valid_tasks": vetted.valid,
        "new_policy_tasks": len(invented),
        "novel_policy_tasks": sum(t.id in vetted.novel for t in invented),
        "judged_policy_tasks": len(rates),
        "learnable_policy_tasks": sum(learnability(rate) > 0 for rate in rates.values()),
        "solutions": dict(Counter(s.status.split(":")[0] for s in scores)),
        "solver_reward_mean": (sum(s.reward for s in scores) / len(scores)) if scores else 0.0,
        "frac_reward_zero_std": {
            "proposer": frac_zero_std([[s.reward for s in g] for g in as_groups(proposer)]),
            "solver": solver.frac_zero_std()},
        "dropped": dict(solver.dropped),
        "sampling_rounds": solver.rounds,
    }


def record_step(store: CurriculumStore, step: int, vetted: Vetted, proposals: list[Proposal],
                solver: SolverRounds, samples: list[RolloutSample], run_id: str,
                untrained: Collection[str] = (),
                row: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write the step (`samples`: the learner's solver ones, then one per proposal, the
    proposer groups named in `untrained` among them, which dynamic sampling dropped);
    returns its summary as stored. `row(summary)`, called inside the step's transaction
    (store counts then include the step), makes the step's metrics row, stored with the
    summary under "row": a crash between this commit and the row's append to
    metrics.jsonl loses no row (a resume appends it from here)."""
    summary = summarize(vetted, proposals, solver, samples)
    summary["dropped"]["proposer"] = len(set(untrained))
    parents = iter([p.parents for p in proposals])
    origins = [(s.task_id,) if s.role == "solver" else next(parents) for s in samples]
    with store.transaction(step=step, summary=summary):
        record(store, vetted)
        for reason, n in summary["format_reasons"].items():
            store.count_filtered("format", reason, n)
        for i, (solution, score) in enumerate(zip(solver.solutions, solver.scores,
                                                  strict=True)):
            code_hash = hashlib.sha256(solution.completion.text.encode()).hexdigest()[:16]
            store.add_attempt(Attempt(f"{step}:{solution.task.id}:{i}", solution.task.id,
                                      code_hash, score.reward, score.status,
                                      solution.completion.policy_version, step))
            store.add_solution(Solution(solution.task.id, code_hash, score.status,
                                        score.reward, step, solution.completion.text))
        for i, (sample, origin) in enumerate(zip(samples, origins, strict=True)):
            if sample.group in untrained:
                continue
            store.add_sample(Sample(f"{sample.group}:{i}", step, sample.role, sample.task_id,
                                    Provenance.policy(run_id, sample.policy_version, origin)))
        if row is not None:
            summary["row"] = row(summary)
        crash_point("store-write")
    return store.steps()[-1][2]
