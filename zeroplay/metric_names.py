"""The names of the metrics zeroplay exports through `ray.util.metrics`, in one place.

    from zeroplay.metric_names import METRICS
    Counter(name, description=METRICS[name].doc, tag_keys=METRICS[name].tags)

The emitting side (`metrics.py`) and the Grafana dashboard
(`configs/grafana/zeroplay-dashboard.json`, checked by a test) both use this table, so a
renamed metric cannot silently leave a panel empty. Ray exports each name with a `ray_`
prefix on every node's metrics export port, and tags become Prometheus labels. Names are
given exactly as Prometheus shows them: a counter is created with its `_total` name (Ray
2.60 exports a Counter named `x_total` as `ray_x_total`, and one named `x` as
`ray_x_total` too); a histogram adds `_bucket`, `_sum` and `_count`. This module only
names things; it imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["gauge", "counter", "histogram"]

PROMETHEUS_PREFIX = "ray_"


@dataclass(frozen=True)
class Metric:
    kind: Kind
    doc: str
    tags: tuple[str, ...] = ()


METRICS: dict[str, Metric] = {
    # self-play
    "zeroplay_step": Metric("gauge", "Last finished self-play step."),
    "zeroplay_curriculum_tasks": Metric("gauge", "Valid tasks in the curriculum."),
    "zeroplay_solve_rate": Metric("gauge", "Share of the step's solutions that earned reward."),
    "zeroplay_reward_mean": Metric("gauge", "Mean reward of the step, per role.", ("role",)),
    "zeroplay_reward_std": Metric("gauge", "Reward standard deviation, per role.", ("role",)),
    "zeroplay_proposals_total": Metric(
        "counter", "Proposals by outcome (valid or rejected) and reason.", ("status", "reason")),
    "zeroplay_samples_per_second": Metric("gauge", "Training samples produced per second."),
    "zeroplay_frac_reward_zero_std": Metric(
        "gauge", "Share of the step's GRPO groups whose rewards are all equal (no advantage), "
        "before dynamic sampling drops them, per role.", ("role",)),
    "zeroplay_dropped_groups_total": Metric(
        "counter", "Groups dropped by dynamic sampling: solver groups by cause "
        "(all_pass|all_fail|all_equal), proposer groups of equal rewards (proposer).",
        ("cause",)),
    "zeroplay_sampling_rounds": Metric(
        "gauge", "Solver rounds of the last step (1 + dynamic sampling refills)."),
    "zeroplay_proposer_share": Metric(
        "gauge", "Per step: proposals that became valid tasks (valid), valid ones of a program "
        "shape new to the curriculum (novel), policy tasks judged in the step that were "
        "solved sometimes but not always (learnable).", ("share",)),
    "zeroplay_heldout_pass_at_1": Metric(
        "gauge", "Greedy pass@1 on a fixed subset of a held-out split (run.eval_every).",
        ("split",)),
    "zeroplay_heldout_pass_at_1_by": Metric(
        "gauge", "Greedy pass@1 on the held-out subsets by family, API or edge kind of the "
        "tasks (group: family:<name>, api:<module>, edge:<kind>).", ("group",)),
    # sandbox
    "zeroplay_sandbox_jobs_total": Metric(
        "counter", "Sandbox jobs by kind (validate|judge) and status.", ("kind", "status")),
    "zeroplay_sandbox_job_seconds": Metric("histogram", "Wall time of one sandbox job."),
    "zeroplay_sandbox_recycles_total": Metric("counter", "Sandbox containers replaced."),
    # generation
    "zeroplay_generation_tokens_total": Metric(
        "counter", "Tokens generated, per rollout actor and role.", ("actor", "role")),
    "zeroplay_policy_version": Metric(
        "gauge", "Policy version an actor (rollout-<i> or learner) holds.", ("actor",)),
    # learner
    "zeroplay_learner_step_seconds": Metric("histogram", "Wall time of one optimizer step."),
    "zeroplay_learner_loss": Metric("gauge", "GRPO loss of the last optimizer step."),
    "zeroplay_learner_kl": Metric("gauge", "KL to the reference policy (beta > 0)."),
    "zeroplay_learner_entropy": Metric("gauge", "Mean token entropy of the trained batch."),
    "zeroplay_learner_clip_ratio": Metric("gauge", "Share of tokens whose ratio was clipped."),
    "zeroplay_staleness": Metric(
        "gauge", "Learner version minus the version that generated the trained samples."),
    "zeroplay_dropped_stale_total": Metric("counter", "Groups dropped as too stale."),
    "zeroplay_queue_depth": Metric("gauge", "Items waiting in a pipeline queue.", ("queue",)),
    "zeroplay_stage_seconds": Metric(
        "histogram",
        "Wall time of a step stage (propose|validate|solve|judge|record|learn_wait).",
        ("stage",)),
}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def prometheus_series(name: str) -> tuple[str, ...]:
    """The Prometheus series names one metric shows up as (histograms have three)."""
    base = PROMETHEUS_PREFIX + name
    if METRICS[name].kind == "histogram":
        return (f"{base}_bucket", f"{base}_sum", f"{base}_count")
    return (base,)
