"""Greedy pass@1 on fixed held-out subsets while a run trains: it measures, never trains.

    scores = heldout_pass_at_1(store, fleet, cfg)   # {"heldout-seen": 0.56, ...}

The first `run.eval_tasks` tasks (by id, so the same ones every time) of each held-out
split, decoded greedily by the rollout actors' current weights and judged in the sandbox
as `zeroplay eval` judges them; each score is also set on the dashboard. Nothing chooses
what trains from these numbers, except the proposer's start (`rollout.proposer_after_solve_rate`).
"""

from __future__ import annotations

from zeroplay import metrics
from zeroplay.config import Config


def heldout_pass_at_1(store, fleet, cfg: Config) -> dict[str, float]:
    from zeroplay.curricula.task import HELDOUT_SPLITS
    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import evaluate

    scores: dict[str, float] = {}
    for split in HELDOUT_SPLITS:
        tasks = sorted(store.tasks(status="valid", split=split),
                       key=lambda t: t.id)[:cfg.run.eval_tasks]
        if tasks:
            report = evaluate([task_problem(t) for t in tasks], fleet, 1,
                              cfg.rollout.max_prompt_tokens, batch_problems=64, greedy=True)
            scores[split] = report.pass_at(1)
            metrics.record("heldout_pass_at_1", scores[split], split=split)
    return scores
