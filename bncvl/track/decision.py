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
:data:`ABSOLUTE_TIME_FACTOR` for the catalogue's absolute times and the
rates derived from them: :func:`default_factor`) when asv's significance
test (:data:`P_THRESHOLD`) agrees.

:func:`decide` applies the rule to one benchmark's (before, after) and says
which :class:`Decision` it comes to: ``worsened``, ``improved``,
``unchanged``, ``undecided`` (relative timings with too few processes),
``invalid value`` (a value that is not a measurement,
:mod:`bncvl.track.validity`) or ``informative`` (a metric that only describes
how the work ran), with the :class:`Evidence` kind it rests on. ``bncvl
check`` calls it on every benchmark (:func:`bncvl.track.verdict.judge`,
whose statuses add the run's own: failing, skipped, not comparable); the
history calls it on the instruction counts and relative timings at a step's
two commits (:func:`bncvl.track.changes.confirm_changes`), and a step whose
evidence decides ``worsened`` is what the dashboard lists as a regression.

Every factor and significance level is a named constant here, and only
here: the CLI's help and the check's report are written from them. Their
error rates, measured, are in ``docs/ci-check.md``.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bncvl._extras import needs_extra
from bncvl.track.directions import Direction, direction
from bncvl.track.mannwhitney import mann_whitney_greater
from bncvl.track.suite import Kind, lookup
from bncvl.track.validity import cannot_be_negative, problem

__all__ = [
    "ABSOLUTE_TIME_FACTOR",
    "DEFAULT_FACTOR",
    "INSTRUCTIONS_UNIT",
    "INSTRUCTION_FACTOR",
    "MIN_PROCESSES",
    "P_THRESHOLD",
    "RELATIVE_ALPHA",
    "RELATIVE_FACTOR",
    "RELATIVE_UNIT",
    "Decision",
    "Evidence",
    "Judgement",
    "Outcome",
    "ProcessTest",
    "compare_processes",
    "decide",
    "default_factor",
    "evidence_kind",
    "invalid_reason",
    "mann_whitney_greater",
    "pass_of",
    "significance",
]

INSTRUCTIONS_UNIT = "instructions"
RELATIVE_UNIT = "time ratio"

ABSOLUTE_TIME_FACTOR = 1.6
"""Two processes of the same code differ in absolute time by up to this factor on this project's shared 2-core
VM (measured 2026-11-27: docs/ci-check.md, "Why not absolute times"). ``bncvl check``'s factor for absolute
times (asv's ``time_`` benchmarks, first-call times) and the rates derived from them (a smaller factor flagged A/A
checks), and the noise band the dashboard draws around absolute times."""

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


class Decision(enum.Enum):
    """What :func:`decide` says of a benchmark's (before, after): the rule's one vocabulary.

    ``bncvl check``'s statuses (:class:`bncvl.track.verdict.Status`) carry these values; the history's step
    kinds name a step by the decision of its evidence (``regression``: the evidence decided ``worsened``).
    """

    WORSENED = "worsened"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    UNDECIDED = "undecided"
    INVALID = "invalid value"
    INFORMATIVE = "informative"


@dataclass(frozen=True)
class Outcome:
    """One benchmark (one parameter combination) measured at one commit, as asv stored it.

    ``value`` is None when the benchmark failed and NaN when it was skipped
    (asv's convention); ``stats`` and ``samples`` are None when asv kept none.
    """

    value: float | None
    stats: Mapping[str, float] | None = None
    samples: Sequence[float] | None = None
    version: str | None = None

    @property
    def failed(self) -> bool:
        return self.value is None

    @property
    def skipped(self) -> bool:
        return isinstance(self.value, float) and math.isnan(self.value)


def pass_of(benchmark: str) -> str | None:
    """The layer pass a benchmark measures (``eval_forward``, ``train_step``...), whose evidence can confirm it.

    The catalogue's (:attr:`bncvl.track.suite.Benchmark.layer_pass`) for a benchmark of the suite:
    ``bench_latency.Latency.time_eval_forward``, ``bench_relative.RelativeWallTime.track_eval_forward`` and
    ``bench_efficiency.Efficiency.track_forward_flops`` all measure ``eval_forward``, and the evidence for one
    is looked up under the others; a benchmark that no pass's evidence can confirm (bytes, a first call) has
    None. For a name the catalogue does not have: its method name after ``time_`` or ``track_``, else None.
    """
    known = lookup(benchmark)
    if known is not None:
        return known.layer_pass
    method = benchmark.rsplit(".", 1)[-1]
    for prefix in ("time_", "track_"):
        if method.startswith(prefix):
            return method[len(prefix) :]
    return None


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


def _has_statistics(outcome: Outcome) -> bool:
    # asv's _is_result_better: statistics are used unless either side is a single measurement.
    return bool(outcome.stats) and outcome.stats.get("repeat", 0) != 1


def significance(before: Outcome, after: Outcome) -> tuple[bool | None, str]:
    """Whether ``before`` and ``after`` differ significantly, by asv's test, and how that was decided.

    Returns:
        ``(None, reason)`` when there are no statistics (only the factor
        decides), else ``(different, description)``; ``different`` is exactly
        ``asv._stats.is_different`` on the same data at :data:`P_THRESHOLD`.
    """
    if not (_has_statistics(before) and _has_statistics(after)):
        return None, "single measurement (factor only)"
    with needs_extra("bench", "asv's significance test"):
        from asv import _stats
    if before.samples is not None and after.samples is not None:
        a = [x for x in before.samples if not math.isnan(x)]
        b = [x for x in after.samples if not math.isnan(x)]
        if a and b and 1 / _stats.binom(len(a) + len(b), min(len(a), len(b))) < P_THRESHOLD:
            _, p = _stats.mann_whitney_u(a, b)
            return p < P_THRESHOLD, f"p={p:.2g} (Mann-Whitney U, {len(a)}+{len(b)} samples)"
    different = _stats.is_different(None, None, before.stats, after.stats, P_THRESHOLD)
    return different, "99% CIs disjoint" if different else "99% CIs overlap"


def default_factor(unit: str | None, factor: float = DEFAULT_FACTOR, benchmark: str | None = None) -> float:
    """The factor of ``benchmark`` (its asv name, parameters ignored) of ``unit``: its evidence kind's
    (:data:`INSTRUCTION_FACTOR`, :data:`RELATIVE_FACTOR`); :data:`ABSOLUTE_TIME_FACTOR` for an absolute time or
    a rate derived from one (the catalogue's kinds; for a name the catalogue lacks, an asv ``time_`` benchmark);
    else ``factor``. ``bncvl check``'s ``--factor-for`` rules come before it.

    >>> default_factor("seconds", benchmark="bench_latency.FirstCall.track_first_eval_forward_seconds")
    1.6
    >>> default_factor("bytes", benchmark="bench_memory.Memory.track_peak_forward_bytes")
    1.1
    """
    kind = evidence_kind(unit)
    if kind is Evidence.INSTRUCTIONS:
        return INSTRUCTION_FACTOR
    if kind is Evidence.RELATIVE:
        return RELATIVE_FACTOR
    if benchmark is not None and _absolute(benchmark):
        return ABSOLUTE_TIME_FACTOR
    return factor


def _absolute(benchmark: str) -> bool:
    entry = lookup(benchmark)
    if entry is None:
        return benchmark.split("(", 1)[0].rsplit(".", 1)[-1].startswith("time_")
    return entry.kind in (Kind.ABSOLUTE_TIME, Kind.THROUGHPUT)


def invalid_reason(benchmark: str, unit: str | None, before: Outcome, after: Outcome) -> str | None:
    """Why a value or sample of ``before`` (the base) or ``after`` (the head) is not a measurement
    (:func:`bncvl.track.validity.problem`), or None."""
    nonnegative = cannot_be_negative(benchmark, unit)
    for side, outcome in (("base", before), ("head", after)):
        for entry in (outcome.value, *(outcome.samples or ())):
            reason = problem(entry, nonnegative)
            if reason:
                return f"{side} value {reason}"
    return None


@dataclass(frozen=True)
class Judgement:
    """What :func:`decide` says of one benchmark's (before, after), and on what grounds."""

    decision: Decision
    evidence: Evidence
    direction: Direction
    factor: float
    ratio: float | None
    """after / before (of the per-process medians for relative timings); None when it has no meaning."""
    how: str
    """How it was decided: the test and its p-value, why it is invalid or undecided."""


def decide(benchmark: str, unit: str | None, before: Outcome, after: Outcome, factor: float | None = None) -> Judgement:
    """Judge one benchmark between two commits: worse, better, unchanged, undecided, invalid or informative.

    The better direction comes from :func:`bncvl.track.directions.direction`.
    A value that is not a measurement makes it :attr:`Decision.INVALID`.
    Relative timings (lower is better, one value per process) get the
    per-process test (:class:`ProcessTest`); every other benchmark is judged
    as ``asv continuous`` judges it: worse when it changed by more than
    ``factor`` in its worse direction and asv's test (:func:`significance`)
    finds the change significant, or there are no statistics to test
    (a single value, as an instruction count is). Informative benchmarks
    are never worse or better.

    Args:
        benchmark: the asv name, without parameters.
        unit: its asv unit, which says its :class:`Evidence` kind.
        before, after: the base's and the head's measurements; neither failed nor skipped.
        factor: the benchmark's factor (>= 1); default :func:`default_factor` of ``unit`` and ``benchmark``.
    """
    for side, outcome in (("base", before), ("head", after)):
        if outcome.failed or outcome.skipped:
            raise ValueError(f"{benchmark}: decide needs a value at both commits; the {side}'s is {outcome.value}")
    better = direction(benchmark, unit)
    kind = evidence_kind(unit)
    factor = default_factor(unit, benchmark=benchmark) if factor is None else factor
    reason = invalid_reason(benchmark, unit, before, after)
    if reason:
        return Judgement(Decision.INVALID, kind, better, factor, None, reason)
    if kind is Evidence.RELATIVE and better is Direction.LOWER_IS_BETTER:
        test = compare_processes(before.samples or (before.value,), after.samples or (after.value,), factor)
        if not test.enough:
            return Judgement(Decision.UNDECIDED, kind, better, factor, None, test.describe())
        decision = Decision.WORSENED if test.worse else Decision.IMPROVED if test.better else Decision.UNCHANGED
        return Judgement(decision, kind, better, factor, test.ratio, test.describe())
    b, a = before.value, after.value
    ratio = a / b if b else None
    different, how = significance(before, after)
    if better is Direction.INFORMATIVE:
        return Judgement(Decision.INFORMATIVE, kind, better, factor, ratio, how)
    # asv's rule ("lower is better", asv.commands.compare._is_result_better): sides swapped when higher is.
    low, high = (b, a) if better is Direction.LOWER_IS_BETTER else (a, b)
    if different is not False and low < high / factor:
        return Judgement(Decision.WORSENED, kind, better, factor, ratio, how)
    if different is not False and high < low / factor:
        return Judgement(Decision.IMPROVED, kind, better, factor, ratio, how)
    return Judgement(Decision.UNCHANGED, kind, better, factor, ratio, how)
