"""The exact one-sided Mann-Whitney U test that :mod:`bncvl.track.decision` runs on per-process values.

Exact for any sample sizes, in pure Python: a check compares a few values per commit, and the null
distribution of U for m + n values has only m·n + 1 entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["mann_whitney_greater"]


def mann_whitney_greater(before: Sequence[float], after: Sequence[float]) -> float:
    """Exact one-sided p-value that ``after`` tends to be greater than ``before`` (Mann-Whitney U).

    U counts the pairs (b, a) with a > b, ties as one half. The p-value is
    P(U >= observed) under the null hypothesis that both samples come from
    one distribution, counted over every split of the pooled ranks
    (exact for any sizes; ties are handled by their half-counts in the
    observed U and by the untied distribution, a slightly conservative
    choice).

    Example:
        >>> mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])  # 1/252
        0.003968253968253968
    """
    m, n = len(before), len(after)
    if m == 0 or n == 0:
        raise ValueError(f"both samples need at least one value; got {m} and {n}")
    observed = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in after for b in before)
    # counts[u]: arrangements of n "after" and m "before" ranks with U == u (U grows when an
    # "after" value outranks a "before" one): the classic recurrence over the largest value.
    counts = _u_distribution(m, n)
    total = math.comb(m + n, n)
    return sum(c for u, c in enumerate(counts) if u >= observed - 1e-9) / total


def _u_distribution(m: int, n: int) -> list[int]:
    """Number of rank arrangements giving each U = 0..m*n (no ties)."""
    # table[i][j] is the distribution for i "before" and j "after" values.
    table: dict[tuple[int, int], list[int]] = {}
    for i in range(m + 1):
        for j in range(n + 1):
            if i == 0 or j == 0:
                table[i, j] = [1]
                continue
            # The largest value is an "after" one (it outranks all i "before": U += i) or a "before" one.
            with_after = [0] * i + table[i, j - 1]
            with_before = table[i - 1, j]
            size = max(len(with_after), len(with_before))
            table[i, j] = [
                (with_after[k] if k < len(with_after) else 0) + (with_before[k] if k < len(with_before) else 0)
                for k in range(size)
            ]
    return table[m, n]
