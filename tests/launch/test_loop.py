"""The loop's metrics.jsonl line: dropped solver groups count as rewards and attempts but
not as samples, a round without groups still makes a row, and the learner's entropy,
clip ratio and zero-std share come from TRL's logs."""

from zeroplay.handoff import LearnerStatus, RolloutSample
from zeroplay.launch.loop import step_row
from zeroplay.selfplay import StepResult


def _samples(role, rewards, group):
    return [RolloutSample(role, group, [1], [2], [-0.1], r, 3, 1, "t", "stop",
                          "pass" if r == 1 else "fail") for r in rewards]


SUMMARY = {"proposals": {}, "solutions": {"pass": 2, "fail": 4},
           "frac_reward_zero_std": {"proposer": 0.0, "solver": 1.0},
           "dropped": {"all_pass": 1, "all_fail": 1, "all_equal": 0}, "sampling_rounds": 2}


def test_a_round_whose_groups_were_all_dropped_still_makes_a_row():
    result = StepResult(samples=[], summary=SUMMARY, seconds={"solve": 1.0},
                        dropped=_samples("solver", [1, 1, 1], "1:solver:0")
                        + _samples("solver", [0, 0, 0], "1:solver:1"))
    row = step_row(1, result, LearnerStatus(0, 0, 0, 0, None, None), 2.0, 10)
    assert row["samples"] == 0 and row["policy_version"] is None
    assert row["reward"]["solver"] == {"mean": 0.5, "std": 0.5, "n": 6}
    assert row["solve_rate"] == 2 / 6
    assert row["frac_reward_zero_std"] == {"proposer": 0.0, "solver": 1.0}
    assert row["dropped_groups"] == SUMMARY["dropped"] and row["sampling_rounds"] == 2


def test_learner_entropy_clip_ratio_and_zero_std_share_reach_the_row():
    logs = [{"loss": 0.1, "entropy": 2.0, "clip_ratio/region_mean": 0.1,
             "frac_reward_zero_std": 0.5},
            {"loss": 0.3, "entropy": 4.0, "clip_ratio/region_mean": 0.3,
             "frac_reward_zero_std": None}]  # TRL logs None when a metric was all NaN
    result = StepResult(samples=_samples("proposer", [-1, -1], "1:proposer:0"),
                        summary=SUMMARY)
    row = step_row(1, result, LearnerStatus(2, 2, 0, 0, 1, None, logs, 2), 1.0, 10)
    learner = row["learner"]
    assert (learner["entropy"], learner["clip_ratio"]) == (3.0, 0.2)
    assert learner["frac_reward_zero_std"] == 0.5 and learner["updates"] == 2
