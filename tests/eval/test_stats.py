import math

import pytest

from zeroplay.eval.stats import mean_pass_at_k, paired_bootstrap, pass_at_k, wilson


def brute_force(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k) with exact binomials."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (1, 0, 1, 0.0), (1, 1, 1, 1.0), (10, 3, 1, 0.3), (10, 0, 5, 0.0), (10, 10, 5, 1.0),
    (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    (3, 1, 3, 1.0), (20, 1, 10, 0.5),
])
def test_known_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize("n", [1, 7, 50, 200])
def test_matches_exact_binomials(n):
    for c in range(0, n + 1, max(1, n // 7)):
        for k in sorted({1, min(2, n), max(1, n // 2), n}):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, 1, 6), (5, 1, 0), (5, -1, 1)])
def test_impossible_counts_raise(n, c, k):
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(n, c, k)


def test_mean_over_problems():
    assert mean_pass_at_k([(2, 2), (2, 0), (2, 1)], 1) == pytest.approx(0.5)
    assert mean_pass_at_k([], 1) == 0.0


def test_identical_arms_give_a_zero_interval():
    same = [[1, 0, 1, 1, 0]] * 3
    assert paired_bootstrap(same, same) == (0.0, 0.0, 0.0)


def test_an_arm_better_on_every_task_has_an_interval_above_zero():
    base = [[0, 1, 0, 0, 1, 0, 0, 1] for _ in range(3)]
    better = [[1, 1, 1, 0, 1, 1, 0, 1] for _ in range(3)]
    mean, low, high = paired_bootstrap(better, base)
    assert mean == pytest.approx(3 / 8)
    assert 0 < low <= mean <= high


def test_a_difference_on_one_seed_only_is_not_significant():
    """Seeds are resampled too: one lucky seed out of three does not make an effect."""
    base = [[0] * 20 for _ in range(3)]
    arm = [[1] * 20, [0] * 20, [0] * 20]
    mean, low, high = paired_bootstrap(arm, base)
    assert mean == pytest.approx(1 / 3)
    assert low == 0.0 and high == 1.0


def test_wilson_interval_holds_the_proportion_and_narrows_with_trials():
    low, high = wilson(7, 20)
    assert low < 0.35 < high
    assert (high - low) > (lambda lh: lh[1] - lh[0])(wilson(70, 200))
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(20, 20)[1] == 1.0 and wilson(20, 20)[0] > 0.8
