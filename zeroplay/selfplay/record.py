"""Stage 8, record: everything the step learned, written to the store in one transaction.

    summary = record_step(store, step, vetted, proposals, solutions, samples, run_id="demo")

New tasks and rejected drafts with their reasons, parse-failure counts, one attempt per
solution, and one provenance record per sample handed to the learner, together with the
step's summary (counts by role, status and reason). A crash loses the step, never half
of it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from zeroplay.curricula.admit import Vetted, record
from zeroplay.curricula.store import Attempt, CurriculumStore, Sample
from zeroplay.curricula.task import Provenance
from zeroplay.handoff import RolloutSample
from zeroplay.selfplay.propose import Proposal
from zeroplay.selfplay.solve import Solution


def summarize(vetted: Vetted, proposals: list[Proposal], samples: list[RolloutSample]
              ) -> dict[str, Any]:
    """Counts by role, status and reason (the part of a step that metrics report)."""
    solver = [s for s in samples if s.role == "solver"]
    return {
        "proposals": dict(Counter(s.status.split(":")[0] for s in samples
                                  if s.role == "proposer")),
        "format_reasons": dict(Counter(p.reason for p in proposals if p.draft is None)),
        "filtered": dict(vetted.filtered),
        "rejected": dict(vetted.rejected),
        "new_valid_tasks": vetted.valid,
        "solutions": dict(Counter(s.status.split(":")[0] for s in solver)),
        "solver_reward_mean": (sum(s.reward for s in solver) / len(solver)) if solver else 0.0,
    }


def record_step(store: CurriculumStore, step: int, vetted: Vetted, proposals: list[Proposal],
                solutions: list[Solution], samples: list[RolloutSample], run_id: str
                ) -> dict[str, Any]:
    """Write the step (`samples`: one per solution, then one per proposal, in order);
    returns its summary as stored."""
    summary = summarize(vetted, proposals, samples)
    origins = [(s.task.id,) for s in solutions] + [p.parents for p in proposals]
    with store.transaction(step=step, summary=summary):
        record(store, vetted)
        for reason, n in summary["format_reasons"].items():
            store.count_filtered("format", reason, n)
        for i, (solution, sample) in enumerate(zip(solutions, samples, strict=False)):
            code_hash = hashlib.sha256(solution.completion.text.encode()).hexdigest()[:16]
            store.add_attempt(Attempt(f"{step}:{solution.task.id}:{i}", solution.task.id,
                                      code_hash, sample.reward, sample.status,
                                      sample.policy_version, step))
        for i, (sample, origin) in enumerate(zip(samples, origins, strict=True)):
            store.add_sample(Sample(f"{sample.group}:{i}", step, sample.role, sample.task_id,
                                    Provenance.policy(run_id, sample.policy_version, origin)))
    return store.steps()[-1][2]
