"""Is a change real? The one decision that ``bncvl check`` and the dashboard share.

On a shared 2-core VM two processes of the same code differ in absolute time
by up to 1.6x, so an absolute time alone can never call a 5% slowdown. Two
kinds of benchmark can:

- **instruction counts** (unit ``instructions``, ``benchmarks/callgrind.py``):
  counted under callgrind, they move by a fraction of a percent between
  processes. A change of more than :data:`INSTRUCTION_FACTOR` is real work.
- **relative timing** (unit ``time ratio``, ``benchmarks/bench_relative.py``):
  each process times the pass against a fixed bare convolution in alternating
  millisecond blocks and gives one value, the median of its paired ratios.
  Processes are the sampling unit: a change is real when the ratio of the
  two commits' medians exceeds :data:`RELATIVE_FACTOR` *and* a one-sided
  Mann-Whitney U test on the per-process values gives p <
  :data:`RELATIVE_ALPHA`, with at least :data:`MIN_PROCESSES` processes per
  commit.

Any other benchmark (an absolute time, say) is *evidence-free*: a step in
it is called a regression only when the instruction counts or the relative
timing of the same pass and parameters support it
(:func:`bncvl.track.changes.find_changes`). ``bncvl check`` judges it as
``asv continuous`` does: worse beyond its factor (:data:`DEFAULT_FACTOR`,
:data:`ABSOLUTE_TIME_FACTOR` for absolute times) when asv's significance
test (:data:`P_THRESHOLD`) agrees.

Every factor and significance level is a named constant here, and only
here: the CLI's help and the check's report are written from them. Their
error rates, measured, are in ``docs/ci-check.md``.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ABSOLUTE_TIME_FACTOR",
    "DEFAULT_FACTOR",
    "DEFAULT_FACTOR_RULES",
    "INSTRUCTIONS_UNIT",
    "INSTRUCTION_FACTOR",
    "MIN_PROCESSES",
    "P_THRESHOLD",
    "RELATIVE_ALPHA",
    "RELATIVE_FACTOR",
    "RELATIVE_UNIT",
    "Evidence",
    "ProcessTest",
    "compare_processes",
    "evidence_kind",
    "mann_whitney_greater",
    "pass_of",
]

INSTRUCTIONS_UNIT = "instructions"
RELATIVE_UNIT = "time ratio"

INSTRUCTION_FACTOR = 1.015
"""Counts that grow by more than 1.5% are a regression (A/A spread measured: see docs/ci-check.md)."""

RELATIVE_FACTOR = 1.02
"""The smallest move of per-process relative timings that can be a regression: a floor of practical
significance. Whether the move is real is the test's job (:data:`RELATIVE_ALPHA`): planted "+5%" work
reads 1.036-1.09 here, and a factor of 1.05 missed some of it (docs/ci-check.md)."""

RELATIVE_ALPHA = 0.001
"""One-sided significance level of the per-process test. A check runs 8 relative timings, so this is
what keeps a whole check's false alarms near 0.5%: with 7 + 7 processes, p < 0.001 means at most one
of the 49 (base, head) pairs out of order."""

MIN_PROCESSES = 7
"""Fewer processes per commit than this and relative timing decides nothing (low confidence): with
6 + 6 the exact test cannot reach :data:`RELATIVE_ALPHA` at all (its smallest p is 1/924)."""

DEFAULT_FACTOR = 1.10
"""The factor of a benchmark that is neither an instruction count, a relative timing nor an absolute time
(bytes, say), and ``bncvl check --factor``'s default: a change smaller than 10% is never reported, however
significant; shared CI runners drift by a few percent between runs of the very same code."""

ABSOLUTE_TIME_FACTOR = 1.6
"""The factor of absolute times (asv's ``time_`` benchmarks): on a shared 2-core VM two processes of the same
code differ by up to this much, and a smaller factor flagged A/A checks (docs/ci-check.md)."""

DEFAULT_FACTOR_RULES = (f"time_={ABSOLUTE_TIME_FACTOR}",)
"""The factors ``bncvl check`` applies per benchmark name, in ``--factor-for``'s form, after the user's own
rules (so that theirs come first): :data:`ABSOLUTE_TIME_FACTOR` for absolute times. Instruction counts and
relative timings get theirs by unit (:func:`default_factor`); the rest :data:`DEFAULT_FACTOR`."""

P_THRESHOLD = 0.002
"""asv's significance level for the Mann-Whitney U test on one benchmark's samples
(``asv._stats.is_different``), which judges every benchmark other than relative timings."""


class Evidence(enum.Enum):
    """What kind of measurement a benchmark is, for the decision."""

    INSTRUCTIONS = "instruction counts"
    RELATIVE = "relative timings"
    NONE = "none"


def evidence_kind(unit: str | None) -> Evidence:
    """The kind of evidence a benchmark of ``unit`` gives."""
    if unit == INSTRUCTIONS_UNIT:
        return Evidence.INSTRUCTIONS
    if unit == RELATIVE_UNIT:
        return Evidence.RELATIVE
    return Evidence.NONE


_PASS_ALIASES = {"forward_flops": "eval_forward", "forward_bytes_per_s": "eval_forward"}
"""Throughputs derived from a pass's time (``Efficiency``) measure that pass."""


def pass_of(benchmark: str) -> str | None:
    """The layer pass a benchmark measures (``eval_forward``, ``train_step``...), from its method name.

    ``bench_latency.Latency.time_eval_forward`` and
    ``bench_relative.RelativeWallTime.track_eval_forward`` both measure
    ``eval_forward``; the evidence for one is looked up under the other.
    """
    method = benchmark.rsplit(".", 1)[-1]
    for prefix in ("time_", "track_"):
        if method.startswith(prefix):
            name = method[len(prefix) :]
            return _PASS_ALIASES.get(name, name)
    return None


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


@dataclass(frozen=True)
class ProcessTest:
    """Per-process values of two commits, compared. Lower is better."""

    before: tuple[float, ...]
    after: tuple[float, ...]
    factor: float = RELATIVE_FACTOR
    alpha: float = RELATIVE_ALPHA
    min_processes: int = MIN_PROCESSES

    @property
    def ratio(self) -> float:
        """median(after) / median(before)."""
        return statistics.median(self.after) / statistics.median(self.before)

    @property
    def enough(self) -> bool:
        """At least :data:`MIN_PROCESSES` values on each side."""
        return min(len(self.before), len(self.after)) >= self.min_processes

    @property
    def p_worse(self) -> float:
        return mann_whitney_greater(self.before, self.after)

    @property
    def p_better(self) -> float:
        return mann_whitney_greater(self.after, self.before)

    @property
    def worse(self) -> bool:
        return self.enough and self.ratio > self.factor and self.p_worse < self.alpha

    @property
    def better(self) -> bool:
        return self.enough and 1 / self.ratio > self.factor and self.p_better < self.alpha

    def describe(self) -> str:
        counts = f"{len(self.before)}+{len(self.after)} processes"
        if not self.enough:
            return f"too few processes ({counts}; {self.min_processes} each needed)"
        p = self.p_worse if self.ratio >= 1 else self.p_better
        return f"p={p:.2g} (one-sided Mann-Whitney U on per-process values, {counts})"


def compare_processes(before: Sequence[float], after: Sequence[float], factor: float = RELATIVE_FACTOR) -> ProcessTest:
    """:class:`ProcessTest` of two commits' per-process values, NaNs (skipped processes) left out.

    Raises:
        ValueError: a side has no value at all.
    """
    a = tuple(float(x) for x in before if x == x)
    b = tuple(float(x) for x in after if x == x)
    if not a or not b:
        raise ValueError(f"per-process values needed on both sides; got {len(a)} before and {len(b)} after")
    return ProcessTest(a, b, factor)
