"""Greedy pass@1 on fixed held-out subsets while a run trains: it measures, never trains.

    scores, by_tag = heldout_pass_at_1(store, fleet, cfg)   # {"heldout-seen": 0.56, ...}

The first `run.eval_tasks` tasks (by id, so the same ones every time) of each held-out
split, decoded greedily by the rollout actors' current weights and judged in the sandbox
as `zeroplay eval` judges them; each score, and pass@1 by family, API and edge kind,
is also set on the dashboard. Nothing chooses
what trains from these numbers.
"""

from __future__ import annotations

from zeroplay import metrics
from zeroplay.config import Config


def heldout_pass_at_1(store, fleet, cfg: Config) -> tuple[dict[str, float], dict[str, dict]]:
    """Scores by split, and by family, API and edge kind over both subsets together
    ({"family:strings": {"pass@1": 0.4, "n": 12}, ...}; small groups are noisy)."""
    from zeroplay.curricula.synth import corpus_tags_of
    from zeroplay.curricula.task import HELDOUT_SPLITS
    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import EvalReport, evaluate

    scores: dict[str, float] = {}
    results, tags_of = [], {}
    for split in HELDOUT_SPLITS:
        tasks = sorted(store.tasks(status="valid", split=split),
                       key=lambda t: t.id)[:cfg.run.eval_tasks]
        if tasks:
            report = evaluate([task_problem(t) for t in tasks], fleet, 1,
                              cfg.rollout.max_prompt_tokens, batch_problems=64, greedy=True)
            scores[split] = report.pass_at(1)
            metrics.record("heldout_pass_at_1", scores[split], split=split)
            results += report.results
            tags_of.update({t.id: corpus_tags_of(t.tags) for t in tasks})
    by_tag = {f"{kind}:{name}": {"pass@1": g["pass@1"], "n": g["n"]}
              for kind, groups in EvalReport(results, 1, 0.0).by_corpus_tags(tags_of).items()
              for name, g in groups.items()}
    for group, g in by_tag.items():
        metrics.record("heldout_pass_at_1_by", g["pass@1"], group=group)
    return scores, by_tag
