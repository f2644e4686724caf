"""The verdict of ``bncvl check``: which benchmarks got worse between two commits.

Each benchmark measured at both commits is judged by the one rule,
:func:`bncvl.track.decision.decide`: relative timings by the per-process
test, everything else as ``asv continuous`` judges it (factor *and* asv's
significance), in each benchmark's better direction. Here only the run's own
states are added (:class:`Status`): newly failing, fixed, failing at both
commits, skipped, and not comparable when the benchmark's code changed.

Results are plain data (:class:`Outcome`, :class:`Change`, :class:`Comparison`);
asv's results files are read elsewhere (:mod:`bncvl.track.checkrun`), and the
Markdown report is :func:`bncvl.track.report.render_markdown`.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bncvl.track.decision import (
    DEFAULT_FACTOR,
    P_THRESHOLD,
    Decision,
    Evidence,
    Outcome,
    decide,
    default_factor,
    evidence_kind,
    invalid_reason,
    significance,
)
from bncvl.track.directions import Direction, direction

__all__ = [
    "DEFAULT_FACTOR",
    "P_THRESHOLD",
    "Change",
    "Comparison",
    "FactorRule",
    "Outcome",
    "Status",
    "check_factor",
    "compare",
    "default_factor",
    "factor_for",
    "judge",
    "parse_factor_rule",
    "significance",
]


class Status(enum.Enum):
    """One benchmark's verdict: a :class:`~bncvl.track.decision.Decision` (the same words), or a state of the run."""

    WORSENED = Decision.WORSENED.value
    NEWLY_FAILING = "newly failing"
    IMPROVED = Decision.IMPROVED.value
    FIXED = "fixed"
    UNCHANGED = Decision.UNCHANGED.value
    INFORMATIVE = Decision.INFORMATIVE.value
    SKIPPED = "skipped"
    FAILING = "failing at both commits"
    UNDECIDED = Decision.UNDECIDED.value
    INVALID = Decision.INVALID.value
    NOT_COMPARABLE = "not comparable"


@dataclass(frozen=True)
class FactorRule:
    """``--factor-for REGEX=FACTOR``: benchmarks whose name matches ``pattern`` use ``factor``."""

    pattern: re.Pattern[str]
    factor: float


def check_factor(factor: float, what: str = "--factor") -> float:
    """Return ``factor`` if it is a finite number >= 1, else raise ``ValueError``."""
    if not math.isfinite(factor) or factor < 1.0:
        example = f"{DEFAULT_FACTOR:.2f} means {DEFAULT_FACTOR - 1:.0%} worse"
        raise ValueError(f"{what} must be a number >= 1.0 ({example}); got {factor!r}")
    return factor


def parse_factor_rule(text: str) -> FactorRule:
    """Parse ``REGEX=FACTOR`` (split at the last ``=``), e.g. ``time_train_step=1.3``.

    Raises:
        ValueError: no ``=``, an invalid regular expression, or a factor that
            is not a number >= 1.
    """
    pattern, sep, factor_text = text.rpartition("=")
    if not sep or not pattern:
        raise ValueError(f"--factor-for expects REGEX=FACTOR, e.g. 'time_train_step=1.3'; got {text!r}")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--factor-for {text!r}: invalid regular expression {pattern!r}: {error}") from None
    try:
        factor = float(factor_text)
    except ValueError:
        raise ValueError(f"--factor-for {text!r}: factor must be a number >= 1.0; got {factor_text!r}") from None
    return FactorRule(compiled, check_factor(factor, f"--factor-for {text!r}"))


def factor_for(name: str, default: float, rules: Sequence[FactorRule] = ()) -> float:
    """The factor of benchmark ``name``: the first rule whose pattern matches it, else ``default``."""
    for rule in rules:
        if rule.pattern.search(name):
            return rule.factor
    return default


@dataclass(frozen=True)
class Change:
    """The verdict on one benchmark (with its parameters) between two commits."""

    name: str
    unit: str | None
    before: Outcome
    after: Outcome
    status: Status
    factor: float
    direction: Direction
    significance: str = ""

    @property
    def ratio(self) -> float | None:
        """after / before, or None when either is missing or before is zero."""
        if self.status is Status.INVALID:
            return None
        b, a = self.before.value, self.after.value
        if b is None or a is None or math.isnan(b) or math.isnan(a) or b == 0:
            return None
        return a / b


@dataclass(frozen=True)
class Comparison:
    """Every :class:`Change` between ``base`` and ``head``, with what the report needs around them."""

    base: str
    head: str
    changes: tuple[Change, ...]
    factor: float = DEFAULT_FACTOR
    factor_rules: tuple[FactorRule, ...] = ()
    machine: Mapping[str, object] = field(default_factory=dict)
    base_label: str = ""
    head_label: str = ""
    required: tuple[Evidence, ...] = ()
    """Evidence the check gates on: when none of a kind was measured at both commits, it cannot pass."""

    def with_status(self, status: Status) -> list[Change]:
        return [change for change in self.changes if change.status is status]

    @property
    def worsened(self) -> list[Change]:
        return self.with_status(Status.WORSENED)

    @property
    def improved(self) -> list[Change]:
        return self.with_status(Status.IMPROVED)

    @property
    def newly_failing(self) -> list[Change]:
        return self.with_status(Status.NEWLY_FAILING)

    @property
    def regressed(self) -> bool:
        """True when anything got significantly worse or started failing."""
        return bool(self.worsened or self.newly_failing)

    @property
    def unmeasured(self) -> list[Change]:
        """What the check could not decide: failed at both commits, relative timings with too few processes,
        or a value that is not a measurement (:mod:`bncvl.track.validity`)."""
        return self.with_status(Status.FAILING) + self.with_status(Status.UNDECIDED) + self.with_status(Status.INVALID)

    def measured(self, kind: Evidence) -> list[Change]:
        """The benchmarks of evidence ``kind`` measured and decided at both commits."""
        return [
            change
            for change in self.changes
            if evidence_kind(change.unit) is kind
            and change.status
            not in (Status.SKIPPED, Status.FAILING, Status.UNDECIDED, Status.INVALID, Status.NOT_COMPARABLE)
        ]

    @property
    def missing(self) -> list[Evidence]:
        """The :attr:`required` kinds of evidence of which no benchmark was measured at both commits."""
        return [kind for kind in self.required if not self.measured(kind)]

    @property
    def exit_code(self) -> int:
        """``bncvl check``'s status: 1 on a regression or a newly failing benchmark; 2 when nothing was
        compared, a benchmark failed at both commits, a relative timing had too few processes or a
        :attr:`required` kind of evidence is missing, so the check cannot say there is no regression; else 0."""
        if self.regressed:
            return 1
        return 2 if self.unmeasured or self.missing or not self.changes else 0


def judge(name: str, before: Outcome, after: Outcome, unit: str | None, factor: float) -> tuple[Status, Direction, str]:
    """Classify one benchmark: the run's own states first, then :func:`bncvl.track.decision.decide`.

    Returns:
        The status, the benchmark's better direction and how it was decided.
    """
    benchmark = name.split("(", 1)[0]
    better = direction(benchmark, unit)
    reason = invalid_reason(benchmark, unit, before, after)
    if reason:  # before the run's states: a value that is not a measurement is a data error, whatever else
        return Status.INVALID, better, reason
    if before.version is not None and after.version is not None and before.version != after.version:
        return Status.NOT_COMPARABLE, better, "benchmark code changed"
    if after.failed and not before.failed:
        return Status.NEWLY_FAILING, better, "failed at head"
    if before.failed and after.failed:
        return Status.FAILING, better, "failed at both commits: see asv's log"
    if before.failed and not after.failed:
        return (Status.SKIPPED if after.skipped else Status.FIXED), better, ""
    if before.failed or after.failed or before.skipped or after.skipped:
        return Status.SKIPPED, better, ""
    judgement = decide(benchmark, unit, before, after, factor)
    return Status(judgement.decision.value), judgement.direction, judgement.how


def compare(
    base: str,
    head: str,
    before: Mapping[str, Outcome],
    after: Mapping[str, Outcome],
    units: Mapping[str, str | None],
    factor: float = DEFAULT_FACTOR,
    factor_rules: Sequence[FactorRule] = (),
    machine: Mapping[str, object] | None = None,
    base_label: str = "",
    head_label: str = "",
    required: Sequence[Evidence] = (),
) -> Comparison:
    """Judge every benchmark present at either commit.

    Args:
        base, head: the commits' hashes.
        before, after: outcomes keyed by ``benchmark(param, ...)`` name (asv's
            ``unroll_result`` form); a name missing on one side counts as skipped
            there, and one skipped at both commits is left out.
        units: unit per benchmark name *without* parameters (``benchmarks.json``).
        factor: the default factor (>= 1).
        factor_rules: per-benchmark overrides; the first match wins.
        machine: the machine record, shown in the report.
        required: kinds of evidence the check gates on (:attr:`Comparison.required`).

    Returns:
        The :class:`Comparison`, changes sorted by name.
    """
    check_factor(factor)
    changes = []
    for name in sorted(set(before) | set(after)):
        b = before.get(name, Outcome(math.nan))
        a = after.get(name, Outcome(math.nan))
        if b.skipped and a.skipped:
            continue  # run at neither commit: not selected, or skipped by its setup
        unit = units.get(name.split("(", 1)[0])
        own_factor = factor_for(name, default_factor(unit, factor, name), factor_rules)
        status, better, how = judge(name, b, a, unit, own_factor)
        changes.append(Change(name, unit, b, a, status, own_factor, better, how))
    return Comparison(
        base,
        head,
        tuple(changes),
        factor,
        tuple(factor_rules),
        dict(machine or {}),
        base_label,
        head_label,
        tuple(required),
    )
