"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models
Trained on Code"): with n samples of which c pass, the chance that at least one of k
drawn without replacement passes.

    pass_at_k(n=10, c=3, k=1)   # 0.3

It is exact (a product, no large binomials), so it holds for any n; k > n is an error
rather than a silent clamp, since the estimate would not be pass@k.
"""

from __future__ import annotations

from collections.abc import Sequence


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
