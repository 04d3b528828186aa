"""Greedy pass@1 on fixed held-out subsets while a run trains: it measures, never trains.

    scores, by_tag, solved = heldout_pass_at_1(store, fleet, cfg)  # {"heldout-seen": 0.56}
    heldout_change(solved_at_start, solved)  # {"heldout-seen": (-0.05, -0.11, 0.01), ...}

The first `run.eval_tasks` tasks (by id, so the same ones every time) of each held-out
split, decoded greedily by the rollout actors' current weights and judged in the sandbox
as `zeroplay eval` judges them; each score, and pass@1 by family, API and edge kind,
is also set on the dashboard. Which tasks were solved is kept, so the change between two
evaluations has a paired interval. Nothing chooses what trains from these numbers.
"""

from __future__ import annotations

from zeroplay import metrics
from zeroplay.config import Config


def heldout_pass_at_1(store, fleet, cfg: Config
                      ) -> tuple[dict[str, float], dict[str, dict], dict[str, dict[str, int]]]:
    """Scores by split; by family, API and edge kind over both subsets together
    ({"family:strings": {"pass@1": 0.4, "n": 12}, ...}; small groups are noisy); and
    by split, each task's outcome ({"heldout-seen": {task_id: 1 if solved else 0}})."""
    from zeroplay.curricula.synth import corpus_tags_of
    from zeroplay.curricula.task import HELDOUT_SPLITS
    from zeroplay.eval.problems import task_problem
    from zeroplay.eval.run import EvalReport, evaluate

    scores: dict[str, float] = {}
    solved: dict[str, dict[str, int]] = {}
    results, tags_of = [], {}
    for split in HELDOUT_SPLITS:
        tasks = sorted(store.tasks(status="valid", split=split),
                       key=lambda t: t.id)[:cfg.run.eval_tasks]
        if tasks:
            report = evaluate([task_problem(t) for t in tasks], fleet, 1,
                              cfg.rollout.max_prompt_tokens, batch_problems=64, greedy=True)
            scores[split] = report.pass_at(1)
            solved[split] = {r.id: int(r.correct > 0) for r in report.results}
            metrics.record("heldout_pass_at_1", scores[split], split=split)
            results += report.results
            tags_of.update({t.id: corpus_tags_of(t.tags) for t in tasks})
    by_tag = {f"{kind}:{name}": {"pass@1": g["pass@1"], "n": g["n"]}
              for kind, groups in EvalReport(results, 1, 0.0).by_corpus_tags(tags_of).items()
              for name, g in groups.items()}
    for group, g in by_tag.items():
        metrics.record("heldout_pass_at_1_by", g["pass@1"], group=group)
    return scores, by_tag, solved


def heldout_change(start: dict[str, dict[str, int]], end: dict[str, dict[str, int]]
                   ) -> dict[str, tuple[float, float, float]]:
    """Per split, the change in greedy pass@1 from `start` to `end` over the tasks both
    judged, with its paired bootstrap 95% interval over those tasks: (change, low, high).
    One run's tasks only; another seed or subset would move it more.

    >>> heldout_change({"s": {"a": 1, "b": 0}}, {"s": {"a": 1, "b": 1}})["s"][0]
    0.5
    """
    from zeroplay.eval.stats import paired_bootstrap

    change = {}
    for split in start.keys() & end.keys():
        tasks = sorted(start[split].keys() & end[split].keys())
        if tasks:
            change[split] = paired_bootstrap([[end[split][t] for t in tasks]],
                                             [[start[split][t] for t in tasks]])
    return change
