"""The metrics.jsonl row of a self-play step, and totals over a run's rows.

    row = step_row(step, result, learner_status, seconds, curriculum_tasks)
    record_dashboard(row, stages)              # the zeroplay_* metrics of the step
    proposer_totals(rows)["valid_share"]       # over the steps that proposed

One row per step: what the round did (proposals by outcome and reason, the policy's new,
novel and learnable tasks, solve rate, rewards by role, dropped groups, stage seconds)
and what the learner reported, with a record of each weight publish since the last row
(`learner.published`: version, how it went, the learner's digest and each rollout
actor's digest of what it received); `record_dashboard` sets the dashboard's metrics
from it. The loop adds the prompts each rollout actor answered and those out of service
(`rollout`).
Light on imports: the CLI and the report read rows too.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from zeroplay import metrics
from zeroplay.handoff import LearnerStatus


def step_row(step: int, result, status: LearnerStatus, seconds: float,
             curriculum_tasks: int) -> dict[str, Any]:
    """One metrics.jsonl line: what the round did and what the learner reported. Rewards
    count every scored completion, solver groups that dynamic sampling dropped included."""
    by_role: dict[str, list[float]] = {"proposer": [], "solver": []}
    for sample in result.samples + result.dropped:
        by_role[sample.role].append(sample.reward)
    s = result.summary
    proposals = s.get("proposals", {})
    n_proposals = sum(proposals.values())
    solutions = s.get("solutions", {})
    n_solutions = sum(solutions.values())
    logs = status.logs
    learner: dict[str, Any] = {
        "optimizer_step": status.step, "version": status.version,
        "dropped_stale": status.dropped_stale, "pending": status.pending,
        "staleness": status.staleness, "updates": len(logs), "published": status.published}
    for key, name in (("loss", "loss"), ("kl", "kl"), ("entropy", "entropy"),
                      ("clip_ratio/region_mean", "clip_ratio"), ("reward", "reward"),
                      ("frac_reward_zero_std", "frac_reward_zero_std")):
        values = [h[key] for h in logs if h.get(key) is not None]  # TRL logs None for NaN
        learner[name] = statistics.fmean(values) if values else None
    return {
        "step": step, "time": time.time(), "seconds": seconds,
        "policy_version": min((x.policy_version for x in result.samples + result.dropped),
                              default=None),
        "samples": len(result.samples), "samples_per_s": len(result.samples) / seconds,
        "proposals": proposals, "format_reasons": s.get("format_reasons", {}),
        "rejected": s.get("rejected", {}), "new_valid_tasks": s.get("new_valid_tasks", 0),
        "proposal_validity": proposals.get("valid", 0) / n_proposals if n_proposals else 0.0,
        **{key: s.get(key, 0) for key in ("new_policy_tasks", "novel_policy_tasks",
                                          "judged_policy_tasks", "learnable_policy_tasks")},
        "proposal_novelty": _share(s.get("novel_policy_tasks", 0), s.get("new_policy_tasks", 0)),
        "policy_tasks_learnable": _share(s.get("learnable_policy_tasks", 0),
                                         s.get("judged_policy_tasks", 0)),
        "solve_rate": solutions.get("pass", 0) / n_solutions if n_solutions else 0.0,
        "reward": {role: {"mean": statistics.fmean(v) if v else 0.0,
                          "std": statistics.pstdev(v) if v else 0.0, "n": len(v)}
                   for role, v in by_role.items()},
        "frac_reward_zero_std": s.get("frac_reward_zero_std", {"proposer": 0.0, "solver": 0.0}),
        "dropped_groups": s.get("dropped", {}), "sampling_rounds": s.get("sampling_rounds", 0),
        "curriculum_tasks": curriculum_tasks, "stages": dict(result.seconds),
        "learner": learner,
    }


def proposer_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Self-play over a run's proposing steps, from its metrics rows: proposals, valid
    ones and their share, the policy's new valid tasks and those of a new program shape,
    and the learnable share of the policy tasks judged (a task judged in two steps counts
    twice).

    >>> row = {"proposing": True, "proposals": {"valid": 3, "format": 1},
    ...        "new_policy_tasks": 3, "novel_policy_tasks": 2, "judged_policy_tasks": 4,
    ...        "learnable_policy_tasks": 1}
    >>> proposer_totals([row, {**row, "proposing": False}])["valid_share"]
    0.75
    """
    steps = [r for r in rows if r.get("proposing")]
    total = {key: sum(r.get(key, 0) for r in steps) for key in (
        "new_policy_tasks", "novel_policy_tasks", "judged_policy_tasks",
        "learnable_policy_tasks")}
    proposals = sum(sum(r.get("proposals", {}).values()) for r in steps)
    valid = sum(r.get("proposals", {}).get("valid", 0) for r in steps)
    return {"proposing_steps": len(steps), "proposals": proposals, "valid": valid,
            "valid_share": _share(valid, proposals), **total,
            "novel_share": _share(total["novel_policy_tasks"], total["new_policy_tasks"]),
            "learnable_share": _share(total["learnable_policy_tasks"],
                                      total["judged_policy_tasks"])}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def record_dashboard(row: dict[str, Any], stages: dict[str, float]) -> None:
    """A step's row as the Ray dashboard's `zeroplay_*` metrics (metric_names.METRICS)."""
    metrics.record("step", row["step"])
    metrics.record("curriculum_tasks", row["curriculum_tasks"])
    metrics.record("solve_rate", row["solve_rate"])
    metrics.record("samples_per_second", row["samples_per_s"])
    for role, r in row["reward"].items():
        metrics.record("reward_mean", r["mean"], role=role)
        metrics.record("reward_std", r["std"], role=role)
    for status in ("valid", "duplicate"):
        metrics.record("proposals_total", row["proposals"].get(status, 0), status=status,
                       reason="")
    for status, key in (("format", "format_reasons"), ("rejected", "rejected")):
        for reason, n in row[key].items():
            metrics.record("proposals_total", n, status=status, reason=reason)
    if row["proposing"]:
        for share, key in (("valid", "proposal_validity"), ("novel", "proposal_novelty"),
                           ("learnable", "policy_tasks_learnable")):
            if row[key] is not None:
                metrics.record("proposer_share", row[key], share=share)
    for role, frac in row["frac_reward_zero_std"].items():
        metrics.record("frac_reward_zero_std", frac, role=role)
    for cause, n in row["dropped_groups"].items():
        metrics.record("dropped_groups_total", n, cause=cause)
    metrics.record("sampling_rounds", row["sampling_rounds"])
    for stage, seconds in stages.items():
        metrics.record("stage_seconds", seconds, stage=stage)
