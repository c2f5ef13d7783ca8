"""The unbiased pass@k estimator (Chen et al., 2021): ``1 - C(n-c, k) / C(n, k)``, computed stably."""

from __future__ import annotations

from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of ``k`` samples drawn from ``n`` (``c`` correct) is correct.

    Uses the product form ``1 - prod_{i=n-c+1}^{n} (1 - k/i)``, which never forms huge binomials.
    """
    if n < 1 or not 0 <= c <= n or k < 1:
        raise ValueError(f"pass@k needs n >= 1, 0 <= c <= n, k >= 1 (got n={n}, c={c}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} is undefined with only n={n} samples")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def mean_pass_at_k(samples: Sequence[tuple[int, int]], k: int) -> float:
    """Average pass@k over problems given ``(n, c)`` per problem (problems with n < k are an error)."""
    if not samples:
        return 0.0
    return sum(pass_at_k(n, c, k) for n, c in samples) / len(samples)


def k_values(n: int) -> list[int]:
    """Powers of two up to ``n``, and ``n`` itself: the points of a pass@k curve."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks and ks[-1] != n:
        ks.append(n)
    return ks
