"""Step detection over the history: every step asv finds in a series, and which of them are real.

:func:`find_changes` runs asv's own step detection (``asv.step_detect``'s
``detect_steps`` and ``detect_regressions``, so the dashboard agrees with asv)
on every series of :attr:`bncvl.track.results.ResultsSet.points`, turned so
that each benchmark's better direction (:func:`bncvl.track.directions.direction`)
counts. This is the history's side of :mod:`bncvl.track.decision`.

asv's step detection finds a step wherever a series moves by more than its
threshold, and absolute times on a shared runner move by tens of percent
between two runs of the same code. :func:`confirm_changes` keeps a step as a
:data:`REGRESSION` (or :data:`IMPROVEMENT`) only when the evidence at the same
two commits, same machine and same parameters supports it: the instruction
counts or relative timings of the step's own series, or of the same pass
(either clock), that :func:`bncvl.track.decision.decide` finds ``worsened``
(or ``improved``). Bytes are exact counts: a step in them needs no other
support.

A step the evidence contradicts (decided ``unchanged``, or the other way) is
:data:`WITHIN_NOISE`. A step with no evidence at those commits, or too few
processes to test (``undecided``), is :data:`UNCONFIRMED` (low confidence):
shown, never called a regression. These step kinds are the history's words
for a step and the decision of its evidence; the results store keeps them.

asv's step detection has a bounded cost only on bounded input: one NaN among
its costs (from an infinite value, or a sum that overflows) leaves its
partition unset, and its segmentation loop then appends to a list forever.
So every series goes in through :func:`_detect_steps`, which refuses values
outside :mod:`bncvl.track.validity`'s bounds (:func:`bncvl.track.results.load_results`
has already marked those ``invalid``) and clips weights to within
:data:`WEIGHT_SPAN` of their median. Then every cost stays below about 1e160
for any series shorter than a billion points, and the fit takes time and
memory that grow a little faster than linearly with the series' length.

Nothing here imports Streamlit.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bncvl._extras import needs_extra
from bncvl.track import validity
from bncvl.track.decision import Decision, Evidence, Outcome, decide, evidence_kind, pass_of
from bncvl.track.directions import Direction, direction
from bncvl.track.results import PARAM_COLUMNS

with needs_extra("dashboard", "bncvl.track.changes"):
    import numpy as np
    import pandas as pd
    from asv import step_detect

__all__ = [
    "CHANGE",
    "CONFIRMED_KINDS",
    "DEFAULT_THRESHOLD",
    "IMPROVEMENT",
    "REGRESSION",
    "UNCONFIRMED",
    "WEIGHT_SPAN",
    "WITHIN_NOISE",
    "Step",
    "commit_url",
    "confirm_changes",
    "find_changes",
    "fit_steps",
    "noise_levels",
    "within_threshold",
]

REGRESSION = "regression"
"""A step in the worse direction that its evidence decides :attr:`~bncvl.track.decision.Decision.WORSENED`."""
IMPROVEMENT = "improvement"
"""A step in the better direction that its evidence decides :attr:`~bncvl.track.decision.Decision.IMPROVED`."""
WITHIN_NOISE = "within noise"
"""A step that evidence at both commits contradicts."""
UNCONFIRMED = "unconfirmed"
"""A step that nothing at its commits can decide (no evidence, or too few processes)."""
CHANGE = "change"
"""A step in an informative benchmark, which is never better or worse."""
CONFIRMED_KINDS = (REGRESSION, IMPROVEMENT)
_CONFIRMED_BY = {REGRESSION: Decision.WORSENED, IMPROVEMENT: Decision.IMPROVED}
"""The decision of the evidence that confirms a step of each kind."""
_EXACT_UNITS = frozenset({"bytes"})
_SERIES_KEYS = ["machine", "env_name", "variant", "preset", "device", "dtype"]

DEFAULT_THRESHOLD = 0.05
"""Relative size below which a step is not reported: asv's own default ``regressions_thresholds``."""

WEIGHT_SPAN = 2.0**64
"""The most a point's weight may differ from the median weight of its series, as a factor; weights beyond it
are clipped to it. A weight is 2 / (99% confidence interval width); no measurement is 1.8e19 times surer than
its neighbours, but a corrupt interval can be, and asv divides every weight by the median."""


@dataclass(frozen=True)
class Step:
    """One piece of asv's piecewise-constant fit: positions ``start`` (inclusive) to ``stop`` (exclusive)."""

    start: int
    stop: int
    value: float


def fit_steps(values: Iterable[float], weights: Iterable[float] | None = None) -> list[Step]:
    """asv's piecewise-constant fit of one series (``asv.step_detect.detect_steps``).

    Args:
        values: the series in commit order; NaN marks a missing point.
        weights: per-point weights (NaN for none), as asv gives them.

    Returns:
        The steps, positions indexing ``values``; empty for an all-missing series.

    Raises:
        ValueError: a value is infinite or absurd (:mod:`bncvl.track.validity`); ``load_results`` never
            gives one, it marks such a point ``invalid`` and its value NaN.
    """
    y = [None if v is None or v != v else float(v) for v in values]
    if all(v is None for v in y):
        return []
    w = None if weights is None else [None if v is None or v != v else float(v) for v in weights]
    return [Step(int(start), int(stop), float(value)) for start, stop, value, _min, _err in _detect_steps(y, w)]


def noise_levels(values: Iterable[float], steps: Sequence[Step], factor: float) -> list[Step]:
    """The levels of a step fit as far as a noise of ``factor`` can tell them apart.

    Adjacent steps whose levels all lie within ``factor`` of one another
    (largest / smallest <= ``factor``) become one step, at the median of
    their values; a step beyond that starts a new one. Levels that are not
    positive are never merged.

    Args:
        values: the series the steps were fitted to (NaN for a missing point).
        steps: :func:`fit_steps` of ``values``.
        factor: the noise, as a factor (> 1): e.g.
            :data:`bncvl.track.decision.ABSOLUTE_TIME_FACTOR`.

    Returns:
        The merged steps, covering the same positions.

    >>> values = [5.0, 8.0, 20.0]
    >>> noise_levels(values, fit_steps(values), 2.0)
    [Step(start=0, stop=2, value=6.5), Step(start=2, stop=3, value=20.0)]
    """
    if factor <= 1:
        raise ValueError(f"factor must be > 1, got {factor}")
    y = [float(v) for v in values]
    groups: list[list[Step]] = []
    for step in steps:
        levels = [s.value for s in groups[-1]] + [step.value] if groups else []
        if levels and min(levels) > 0 and max(levels) <= min(levels) * factor:
            groups[-1].append(step)
        else:
            groups.append([step])
    merged = []
    for group in groups:
        start, stop = group[0].start, group[-1].stop
        known = [v for v in y[start:stop] if v == v]
        merged.append(Step(start, stop, statistics.median(known) if known else group[0].value))
    return merged


def _check_values(values: Sequence[float | None]) -> None:
    """Refuse a value outside :mod:`bncvl.track.validity`'s bounds (None and NaN are missing points).

    Raises:
        ValueError: naming the first such value and its position.
    """
    array = np.array([math.nan if v is None else v for v in values], dtype=float)
    bad = np.flatnonzero(validity.invalid(array))
    if bad.size:
        raise ValueError(
            f"step detection takes finite values of magnitude {validity.MIN_MAGNITUDE:g} to "
            f"{validity.MAX_MAGNITUDE:g}, or zero; got {values[bad[0]]!r} at position {bad[0]} "
            "(load_results marks such values invalid)"
        )


def _bounded_weights(weights: Sequence[float | None]) -> tuple[list[float | None], float]:
    """Weights clipped to within :data:`WEIGHT_SPAN` of the median of the positive finite ones, and that median.

    None and NaN stay missing (asv gives them the median); a weight of zero or less becomes 0 (asv leaves
    its point out); an infinite one becomes the upper bound.
    """
    usable = [w for w in weights if w is not None and 0 < w < math.inf]
    middle = statistics.median(usable) if usable else 1.0
    low, high = middle / WEIGHT_SPAN, min(middle * WEIGHT_SPAN, sys.float_info.max)
    bounded = [None if w is None or w != w else 0.0 if w <= 0 else min(max(w, low), high) for w in weights]
    return bounded, middle


def _detect_steps(values: list[float | None], weights: list[float | None] | None) -> list[tuple]:
    """``asv.step_detect.detect_steps`` with a bounded cost (see the module): values checked, weights clipped.

    Raises:
        ValueError: a value outside :mod:`bncvl.track.validity`'s bounds.
    """
    _check_values(values)
    return step_detect.detect_steps(values, None if weights is None else _bounded_weights(weights)[0])


def within_threshold(values: Sequence[float | None], threshold: float) -> bool:
    """Whether no step of ``values`` can exceed ``threshold``: all positive, the largest at most ``1 + threshold``
    times the smallest.

    asv reports a jump between two levels of its fit only when the higher exceeds the lower by more than
    ``threshold`` times the lower (``detect_regressions``), and each level is a median of some of the values,
    so within the values' range. Such a series needs no step detection: its outcome is known. (Exact values,
    bytes and instruction counts, are most series; asv's fit costs milliseconds per series.)
    """
    present = [v for v in values if v is not None]
    if not present or min(present) <= 0:
        return False
    lowest = min(present)
    # asv's own arithmetic (level + threshold * level): (1 + threshold) * level can round one ulp higher
    return max(present) <= lowest + threshold * lowest


def _worsening(values: list[float | None], weights: list[float | None], lower_is_better: bool, threshold: float):
    """asv's ``detect_regressions`` on the series oriented so that up is worse.

    Higher-is-better values are inverted (1/v; a throughput is the inverse of
    a time), so asv's relative threshold keeps its meaning; their weights,
    divided by their median first so that the product stays finite, become
    w·v², the weight of 1/v.
    """
    _check_values(values)
    if lower_is_better:
        y, w = values, weights
    else:
        bounded, middle = _bounded_weights(weights)
        y = [None if v is None or v <= 0 else 1.0 / v for v in values]
        w = [
            None if wt is None or v is None or v <= 0 else wt / middle * v * v
            for v, wt in zip(values, bounded, strict=True)
        ]
    if all(v is None for v in y) or within_threshold(y, threshold):
        return []
    steps = _detect_steps(y, w)
    _last, _best, jumps = step_detect.detect_regressions(steps, threshold)
    out = []
    for before, after, value_before, value_after in jumps or ():
        if not lower_is_better:
            value_before, value_after = 1.0 / value_before, 1.0 / value_after
        out.append((before, after, value_before, value_after))
    return out


def find_changes(
    points: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD, include_informative: bool = True
) -> pd.DataFrame:
    """Every step asv's step detection finds, per machine, environment, benchmark and parameter set.

    The better direction comes from :func:`bncvl.track.directions.direction`. A
    step that makes the value worse is a ``regression``, one that makes it
    better an ``improvement``, but only where instruction counts or relative
    timings at the same commits support it (:func:`confirm_changes`);
    otherwise it is ``within noise`` or ``unconfirmed``. For informative
    benchmarks (utilisation, clocks, power) a step is only a ``change``.

    Args:
        points: :attr:`bncvl.track.results.ResultsSet.points` (or any subset of its rows).
        threshold: relative step size below which asv reports nothing.
        include_informative: also report steps of informative benchmarks.

    Returns:
        One row per step: machine, env_name, benchmark, params, the layer
        parameters, unit, direction, kind, commit_before (last commit at the
        old level), commit_after (first at the new), date, value_before,
        value_after, factor (how many times worse, or better, ≥ 1) and
        evidence (what confirmed or contradicted the step).
    """
    rows = []
    keys = ["machine", "env_name", "benchmark", "params"]
    ordered = points.sort_values([*keys, "order"], ignore_index=True)
    value_array = ordered["value"].to_numpy(dtype=float)
    weight_array = ordered["weight"].to_numpy(dtype=float)
    commit_array = ordered["commit_hash"].astype(str).to_numpy()
    date_array = ordered["date"].to_numpy()
    # per-row lookups in plain arrays: a DataFrame row per series cost a third of the time
    unit_array = ordered["unit"].astype(object).to_numpy()
    param_arrays = {key: ordered[key].astype(object).to_numpy() for key in PARAM_COLUMNS if key in ordered}
    groups = ordered.groupby(keys, observed=True, sort=False).indices
    for (machine, env_name, benchmark, params), index in groups.items():
        values = [None if v != v else float(v) for v in value_array[index]]
        if all(v is None for v in values):
            continue
        first = index[0]
        unit = None if pd.isna(unit_array[first]) else str(unit_array[first])
        verdict = direction(str(benchmark), unit)
        if verdict is Direction.INFORMATIVE and not include_informative:
            continue
        weights = [None if w != w else float(w) for w in weight_array[index]]
        for worse_when_up in (True, False):
            for before, after, value_before, value_after in _worsening(values, weights, worse_when_up, threshold):
                if verdict is Direction.INFORMATIVE:
                    kind = CHANGE
                elif (verdict is Direction.LOWER_IS_BETTER) == worse_when_up:
                    kind = REGRESSION
                else:
                    kind = IMPROVEMENT
                ratio = value_after / value_before if value_before else math.inf
                rows.append(
                    {
                        "machine": machine,
                        "env_name": env_name,
                        "benchmark": benchmark,
                        "params": params,
                        **{key: param_arrays[key][first] if key in param_arrays else None for key in PARAM_COLUMNS},
                        "unit": unit,
                        "direction": verdict.value,
                        "kind": kind,
                        "commit_before": commit_array[index[before]],
                        "commit_after": commit_array[index[after]],
                        "date": date_array[index[after]],
                        "value_before": value_before,
                        "value_after": value_after,
                        "factor": max(ratio, 1 / ratio) if ratio else math.inf,
                    }
                )
    columns = [
        *keys,
        *PARAM_COLUMNS,
        "unit",
        "direction",
        "kind",
        "commit_before",
        "commit_after",
        "date",
        "value_before",
        "value_after",
        "factor",
    ]
    table = confirm_changes(pd.DataFrame(rows, columns=columns), points)
    return table.sort_values(["date", "factor"], ascending=[False, False], ignore_index=True)


def commit_url(show_commit_url: str | None, commit_before: str | None, commit_after: str) -> str | None:
    """The link asv's regressions page gives a commit range: a GitHub compare view, else the later commit."""
    if not show_commit_url:
        return None
    if commit_before and "github.com" in show_commit_url:
        return f"{show_commit_url}../compare/{commit_before}...{commit_after}"
    return f"{show_commit_url}{commit_after}"


# --- which steps are real ---------------------------------------------------------------------


def _evidence_table(points: pd.DataFrame) -> pd.DataFrame:
    """The successful points of instruction-count and relative-timing benchmarks, with their pass and kind."""
    units = points["unit"].astype(object)
    kinds = units.map(lambda unit: evidence_kind(None if pd.isna(unit) else str(unit)))
    table = points[(kinds != Evidence.NONE) & (points["status"] == "ok")].copy()
    table["evidence"] = kinds[table.index]
    table["pass"] = table["benchmark"].astype(str).map(pass_of)
    return table


def _verdict(rows: pd.DataFrame, before: str, after: str, confirming: Decision) -> tuple[bool | None, str]:
    """Whether one evidence series decides the step ``before`` -> ``after`` ``confirming`` (None: it cannot
    decide), and why."""
    at = {commit: rows[rows["commit_hash"] == commit] for commit in (before, after)}
    if at[before].empty or at[after].empty:
        return None, ""
    first, last = at[before].iloc[0], at[after].iloc[0]
    benchmark, unit = str(first["benchmark"]), str(first["unit"])
    judgement = decide(benchmark, unit, _outcome(first), _outcome(last))
    name = benchmark.split(".", 1)[-1]
    if judgement.decision in (Decision.UNDECIDED, Decision.INVALID):
        return None, f"{name}: {judgement.how}"
    ratio = "n/a" if judgement.ratio is None else f"{judgement.ratio:.3f}"
    test = f", {judgement.how}" if judgement.evidence is Evidence.RELATIVE else ""  # a count's test is its factor
    return judgement.decision is confirming, f"{name} x{ratio}{test}"


def _outcome(point: pd.Series) -> Outcome:
    """A point of the evidence table as :func:`bncvl.track.decision.decide` takes it: value and per-process
    values (the history keeps no statistics, so asv's test never applies)."""
    return Outcome(float(point["value"]), samples=point["samples"])


def confirm_changes(changes: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``changes`` (from :func:`find_changes`) with each step's ``kind`` checked against evidence.

    Args:
        changes: one row per step, ``kind`` as asv's step detection sees it.
        points: the points the steps were found in (:attr:`bncvl.track.results.ResultsSet.points`).

    Returns:
        A copy with ``kind`` kept for a supported step, else :data:`WITHIN_NOISE`
        or :data:`UNCONFIRMED`, and an ``evidence`` column saying why.
    """
    out = changes.copy()
    out["evidence"] = pd.Series([""] * len(out), index=out.index, dtype=object)
    if out.empty:
        return out
    evidence = _evidence_table(points)
    groups = {key: rows for key, rows in evidence.groupby([*_SERIES_KEYS, "pass"], observed=True, dropna=False)}
    for index, step in out.iterrows():
        if step["kind"] not in CONFIRMED_KINDS:
            continue
        if step["unit"] in _EXACT_UNITS:
            out.at[index, "evidence"] = "exact count"
            continue
        layer_pass = pass_of(str(step["benchmark"]))
        rows = None if layer_pass is None else groups.get((*(step.get(k) for k in _SERIES_KEYS), layer_pass))
        own_kind = evidence_kind(None if pd.isna(step["unit"]) else str(step["unit"]))
        if own_kind is not Evidence.NONE and rows is not None:
            rows = rows[rows["benchmark"] == step["benchmark"]]  # a measurement of evidence is its own evidence
        verdicts = []
        if rows is not None:
            for _, series in rows.groupby("benchmark", observed=True):
                verdicts.append(
                    _verdict(series, step["commit_before"], step["commit_after"], _CONFIRMED_BY[step["kind"]])
                )
        reasons = "; ".join(reason for _, reason in verdicts if reason)
        if any(supported for supported, _ in verdicts):
            out.at[index, "evidence"] = "; ".join(reason for supported, reason in verdicts if supported)
        elif any(supported is False for supported, _ in verdicts):
            out.at[index, "kind"] = WITHIN_NOISE
            out.at[index, "evidence"] = reasons
        else:
            out.at[index, "kind"] = UNCONFIRMED
            out.at[index, "evidence"] = reasons or "no instruction count or relative timing at these commits"
    return out
