"""The verdict of benchmarks/selfplay_vs_seed.py: which seed arm is the baseline, the
intervals against it, and the share of the oracle's gap that self-play closes."""

import pytest
import selfplay_vs_seed as bench


class Task:
    def __init__(self, n):
        self.tags = ("op",) * n


TASKS = {"heldout-unseen": [Task(1), Task(2), Task(1), Task(3)] * 2}


def _run(arm, seed, correct, selfplay=()):
    return {"arm": arm, "seed": seed, "optimizer_steps": 10, "greedy": {"heldout-unseen": correct},
            "selfplay": list(selfplay)}


def _step(valid, proposals, learnable, judged, curriculum=200):
    return {"seconds": 1.0, "curriculum": curriculum, "proposals": proposals, "valid": valid,
            "new_policy_tasks": valid, "novel_policy_tasks": valid,
            "judged_policy_tasks": judged, "learnable_policy_tasks": learnable}


def test_the_better_seed_arm_is_the_baseline_and_the_gap_closed_is_measured_against_it():
    runs = []
    for seed in (0, 1, 2):
        runs += [_run("seed-sft", seed, [0] * 8), _run("seed-grpo", seed, [1] + [0] * 7),
                 _run("selfplay", seed, [1, 1, 1, 1, 1, 0, 0, 0], [_step(3, 4, 1, 2)]),
                 _run("oracle", seed, [1] * 8)]
    start = {"heldout-unseen": [0] * 8}
    summary = bench.summarize(runs, start, TASKS)
    assert summary["baseline"] == "seed-grpo"
    gain = summary["intervals"]["selfplay - seed-grpo, heldout-unseen"]
    assert gain["mean"] == pytest.approx(0.5) and gain["low"] > 0
    assert summary["intervals"]["oracle - seed-grpo, heldout-unseen"]["mean"] == \
        pytest.approx(7 / 8)
    assert summary["gap_closed"]["selfplay, heldout-unseen"] == pytest.approx(4 / 7)
    totals = summary["table"]["selfplay"]["selfplay"]
    assert totals["valid_share"] == 0.75 and totals["learnable_share"] == 0.5
    assert summary["table"]["selfplay"]["heldout-unseen"]["by ops"] == {
        "1 ops": 0.75, "2 ops": 0.5, "3 ops": 0.5}


def test_step_values_for_the_curves():
    step = _step(3, 4, 0, 0)
    assert bench.step_value(step, "curriculum") == 200
    assert bench.step_value(step, "valid") == 0.75
    assert bench.step_value(step, "learnable") is None  # nothing judged: no point
