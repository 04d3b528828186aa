"""The statistics evaluations and benchmarks report: pass@k, intervals, paired differences.

    pass_at_k(n=10, c=3, k=1)                         # 0.3
    wilson(successes=7, n=20)                         # 95% interval of a proportion
    paired_bootstrap(arm_by_seed, base_by_seed)       # mean difference and its 95% interval

pass@k is the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models
Trained on Code"): with n samples of which c pass, the chance that at least one of k drawn
without replacement passes. It is exact (a product, no large binomials), so it holds for
any n; k > n is an error rather than a silent clamp, since the estimate would not be
pass@k. The paired bootstrap resamples seeds and tasks together, so one lucky seed does
not make an effect; it assumes the arms share their tasks and are paired by seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BOOTSTRAP_RESAMPLES = 2000


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n - c, k) / C(n, k), computed as a product.

    >>> round(pass_at_k(10, 3, 1), 4)
    0.3
    >>> pass_at_k(2, 1, 2)
    1.0
    >>> round(pass_at_k(5, 2, 2), 4)
    0.7
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    fail = 1.0
    for i in range(n - c + 1, n + 1):
        fail *= 1.0 - k / i
    return 1.0 - fail


def mean_pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """Mean pass@k over problems given (n, c) per problem (0.0 for no problems)."""
    if not counts:
        return 0.0
    return sum(pass_at_k(n, c, k) for n, c in counts) / len(counts)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ((0, 1) for no trials).

    >>> [round(x, 3) for x in wilson(0, 10)]
    [0.0, 0.278]
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_bootstrap(arm: Sequence[Sequence[float]], base: Sequence[Sequence[float]],
                     seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
                     ) -> tuple[float, float, float]:
    """Mean of arm - base over [seed][task] and its 95% interval, resampling seeds and
    tasks with replacement together (seeds pair the arms; tasks are shared).

    >>> paired_bootstrap([[1, 1, 0, 1]] * 3, [[0, 1, 0, 0]] * 3)[0]
    0.5
    """
    import numpy as np

    diff = np.asarray(arm, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    seeds, tasks = diff.shape
    means = [diff[np.ix_(rng.integers(0, seeds, seeds), rng.integers(0, tasks, tasks))].mean()
             for _ in range(resamples)]
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def bootstrap_per_seed(diffs: Sequence[Sequence[float]], seed: int = 0,
                       resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float, float]:
    """Mean of paired differences given per seed, over tasks that may differ in number and
    identity from seed to seed (a family's tasks, say), and its 95% interval: seeds
    resampled with replacement, then each chosen seed's tasks. Every task weighs the same.

    >>> bootstrap_per_seed([[1, 0, 1], [1], [0, 1]])[0]
    0.6666666666666666
    """
    import numpy as np

    groups = [np.asarray(d, dtype=float) for d in diffs if len(d)]
    if not groups:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(resamples):
        picked = [groups[i] for i in rng.integers(0, len(groups), len(groups))]
        total = sum(g[rng.integers(0, len(g), len(g))].sum() for g in picked)
        means.append(total / sum(len(g) for g in picked))
    low, high = np.percentile(means, [2.5, 97.5])
    return float(np.concatenate(groups).mean()), float(low), float(high)
