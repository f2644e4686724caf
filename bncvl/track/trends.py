"""What the Trends page offers and opens on, as plain functions of :attr:`bncvl.track.results.ResultsSet.points`
(or a store's catalogue of series): the measures by kind of evidence, the benchmark and parameters it opens on,
and how many series it draws."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bncvl.track.comparisons import BASELINE_VARIANT, distinct
from bncvl.track.decision import Evidence, evidence_kind, pass_of
from bncvl.track.suite import TREND_OPENINGS

__all__ = [
    "TREND_MEASURES",
    "TrendChoices",
    "fewest_processes",
    "first_series",
    "trend_choices",
    "trend_measure",
    "trend_parameter_options",
]


TREND_MEASURES = ("relative timing", "instruction counts", "absolute time", "other")
"""What the Trends page offers, by a benchmark's unit: the kinds of evidence (:mod:`bncvl.track.decision`)
first, then absolute times (which an instruction count or relative timing must confirm), then the rest."""


def trend_measure(unit: str | None) -> str:
    """The entry of :data:`TREND_MEASURES` that a benchmark of ``unit`` belongs to.

    >>> trend_measure("time ratio"), trend_measure("seconds"), trend_measure("bytes")
    ('relative timing', 'absolute time', 'other')
    """
    kind = evidence_kind(unit)
    if kind is Evidence.RELATIVE:
        return "relative timing"
    if kind is Evidence.INSTRUCTIONS:
        return "instruction counts"
    return "absolute time" if unit == "seconds" else "other"


@dataclass(frozen=True)
class TrendChoices:
    """The Trends page's pickers: per measure its benchmarks and the one to open on, and the measure to open on."""

    benchmarks: dict[str, list[str]]
    opening: dict[str, str]
    measure: str

    @property
    def benchmark(self) -> str:
        """The benchmark the page opens on: the opening of the measure it opens on."""
        return self.opening[self.measure]


def trend_choices(points: pd.DataFrame) -> TrendChoices:
    """What the Trends page offers and opens on, so that it opens on a benchmark with evidence.

    Args:
        points: :attr:`bncvl.track.results.ResultsSet.points` (not empty), with a ``unit`` column; or a store's
            catalogue of series (:func:`bncvl.store.query.load_catalogue`, no ``status``): each series then counts
            as one value.

    Returns:
        Every measure of :data:`TREND_MEASURES` that has a benchmark, in that order, with its benchmarks sorted.
        Each opens on its entry of :data:`bncvl.track.suite.TREND_OPENINGS` if the reference variant has a
        value there, else on a benchmark with a value of the reference variant, of the eval forward, with the
        most values, in that order of preference. The page opens on the first measure with a value: relative
        timing, else instruction counts, else absolute time, else the rest.
    """
    units = points.groupby("benchmark", observed=True)["unit"].first()
    measures = {name: trend_measure(None if pd.isna(unit) else str(unit)) for name, unit in units.items()}
    ok = points[points["status"] == "ok"] if "status" in points else points
    counts = ok["benchmark"].astype(str).value_counts()
    reference = ok[ok["variant"].astype(str) == BASELINE_VARIANT] if "variant" in ok else ok.iloc[:0]
    reference_counts = reference["benchmark"].astype(str).value_counts()

    def rank(name: str) -> tuple[bool, bool, int]:
        return bool(reference_counts.get(name, 0)), pass_of(name) == "eval_forward", int(counts.get(name, 0))

    benchmarks: dict[str, list[str]] = {}
    opening: dict[str, str] = {}
    for measure in TREND_MEASURES:
        names = sorted(str(name) for name, kind in measures.items() if kind == measure)
        if not names:
            continue
        benchmarks[measure] = names
        preferred = [name for name in TREND_OPENINGS if name in names and reference_counts.get(name, 0)]
        opening[measure] = preferred[0] if preferred else max(names, key=rank)
    measured = [measure for measure, names in benchmarks.items() if any(counts.get(n, 0) for n in names)]
    return TrendChoices(benchmarks, opening, (measured or list(benchmarks))[0])


def fewest_processes(rows: pd.DataFrame) -> int:
    """The fewest processes behind any successful value of ``rows`` (0 when none): the length of its per-process
    ``samples`` (a relative timing run with ``asv run -a rounds=N`` has N), 1 where asv kept no samples.

    >>> fewest_processes(pd.DataFrame({"samples": [None, (2.0, 2.1)], "status": ["ok", "ok"]}))
    1
    """
    samples = rows.loc[rows["status"] == "ok", "samples"]
    return min((1 if kept is None else len(kept) for kept in samples), default=0)


def trend_parameter_options(rows: pd.DataFrame, name: str) -> tuple[list[str], list[str]]:
    """What the Trends page offers for parameter ``name`` of ``rows``, and what it picks first.

    Returns:
        The values with a successful row, sorted (every value when none has one); and the reference variant
        where ``name`` is ``variant`` and it is offered, else the first value ([] when there is none).

    >>> rows = pd.DataFrame({"variant": ["fast", "reference", "half"], "status": ["ok", "ok", "skipped"]})
    >>> trend_parameter_options(rows, "variant")
    (['fast', 'reference'], ['reference'])
    """
    options = distinct(rows[rows["status"] == "ok"], name) or distinct(rows, name)
    first = [BASELINE_VARIANT] if name == "variant" and BASELINE_VARIANT in options else options[:1]
    return options, first


def first_series(rows: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """The rows of the first ``limit`` series (machine and parameters) to appear in ``rows``, in their order, and
    how many series ``rows`` holds."""
    series = rows.groupby(["machine", "params"], observed=True).ngroups
    if series <= limit:
        return rows, series
    keep = rows[["machine", "params"]].drop_duplicates().head(limit)
    return rows.merge(keep, on=["machine", "params"]), series
