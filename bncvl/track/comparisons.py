"""Comparisons and defaults the dashboard shows, as plain functions of :attr:`bncvl.track.results.ResultsSet.points`:
speed-ups across variants and devices, the commits machines are compared at, and what the pages' pickers offer and
open on. The tables the pages show are :mod:`bncvl.track.tables`; the Trends page's choices, :mod:`bncvl.track.trends`.

Speed-ups are oriented by :func:`bncvl.track.directions.direction`, so a speed-up
above 1 always means better: ``baseline / value`` for lower-is-better
metrics such as time, ``value / baseline`` for higher-is-better ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from bncvl.measure.presets import PRESETS
from bncvl.track.directions import Direction, direction

__all__ = [
    "BASELINE_VARIANT",
    "LIMIT_VARIANT",
    "PREFERRED_SETTING",
    "ComparedCommits",
    "compared_commits",
    "device_comparison",
    "distinct",
    "filled_columns",
    "latest_common_commit",
    "latest_values",
    "measured_machines",
    "measured_options",
    "unit_of",
    "variant_speedups",
]

BASELINE_VARIANT = "reference"
LIMIT_VARIANT = "conv_limit"
"""The bare ``F.conv2d`` with the same binary weights: the limit a variant can approach."""
PREFERRED_SETTING = {"preset": "medium", "dtype": "float32"}
"""The setting the Devices and Memory & GPU pages open on when it was measured (:func:`measured_options`): the
CLI's default preset, in float32."""


def _speedup(value: pd.Series, baseline: pd.Series, verdict: Direction) -> pd.Series:
    if verdict is Direction.HIGHER_IS_BETTER:
        return value / baseline
    return baseline / value


def _labels(column: pd.Series) -> pd.Series:
    """A parameter column as text, a missing value as "" (an all-missing column would otherwise stay floats)."""
    return column.astype("string").fillna("")


def unit_of(rows: pd.DataFrame, known: str | None = None) -> str | None:
    """The asv unit of ``rows`` (of one benchmark): ``known`` (its ``benchmarks.json`` entry's) when given, else the
    first unit a row carries; None when neither says.

    >>> unit_of(pd.DataFrame({"unit": [None, "seconds"]})), unit_of(pd.DataFrame({"unit": [None]}), known="bytes")
    ('seconds', 'bytes')
    """
    if known:
        return known
    units = rows["unit"].dropna()
    return None if units.empty else str(units.iloc[0])


def distinct(rows: pd.DataFrame, column: str) -> list[str]:
    """The values of ``column`` in ``rows`` as text, each once, sorted (what a picker offers); missing ones left out.

    >>> distinct(pd.DataFrame({"machine": ["b", "a", "b", None]}), "machine")
    ['a', 'b']
    """
    return sorted({str(value) for value in rows[column].dropna().unique()})


def filled_columns(rows: pd.DataFrame, columns: Iterable[str]) -> list[str]:
    """Those of ``columns`` that ``rows`` has with at least one value, in the order given.

    >>> filled_columns(pd.DataFrame({"device": [None], "preset": ["tiny"]}), ("device", "preset", "dtype"))
    ['preset']
    """
    return [column for column in columns if column in rows and rows[column].notna().any()]


def latest_common_commit(points: pd.DataFrame, machines: list[str]) -> str | None:
    """The newest commit with at least one successful value on every machine in ``machines``, or None.

    Args:
        points: rows of one benchmark (any parameters).
        machines: the machines that must all have the commit.
    """
    ok = points[(points["status"] == "ok") & points["machine"].isin(machines)]
    if ok.empty:
        return None
    per_commit = ok.groupby("commit_hash", observed=True).agg(machines=("machine", "nunique"), order=("order", "max"))
    common = per_commit[per_commit["machines"] == len(set(machines))]
    if common.empty:
        return None
    return str(common["order"].idxmax())


def measured_machines(points: pd.DataFrame) -> list[str]:
    """The machines with a successful value in ``points``, sorted."""
    return sorted(points.loc[points["status"] == "ok", "machine"].astype(str).unique())


@dataclass(frozen=True)
class ComparedCommits:
    """The values a comparison across machines reads, and the commits they are from.

    Attributes:
        rows: the successful rows of the chosen machines at :attr:`commit`, or each at its own newest commit.
        commit: the newest commit measured on every chosen machine; None when none was.
        commits: each machine's commit in :attr:`rows`, in their order.
    """

    rows: pd.DataFrame
    commit: str | None
    commits: dict[str, str]


def compared_commits(points: pd.DataFrame, machines: list[str]) -> ComparedCommits:
    """The rows to compare ``machines`` by: at their :func:`latest_common_commit`, else each machine's newest.

    Args:
        points: rows of one benchmark (any parameters).
        machines: the machines to compare.
    """
    measured = points[(points["status"] == "ok") & points["machine"].astype(str).isin(machines)]
    commit = latest_common_commit(points, machines)
    if commit is not None:
        rows = measured[measured["commit_hash"] == commit]
    else:
        newest = measured.groupby("machine", observed=True)["order"].transform("max")
        rows = measured[measured["order"] == newest]
    used = rows.drop_duplicates("machine")
    commits = {str(m): str(c) for m, c in zip(used["machine"], used["commit_hash"], strict=True)}
    return ComparedCommits(rows, commit, commits)


def measured_options(rows: pd.DataFrame, column: str, preferred: str | None = None) -> tuple[list[str], int]:
    """The values of parameter ``column`` worth offering in a picker, and the index of the one to show first.

    A page should open on data: after ``make run`` only the tiny preset is
    measured, so ``preferred`` is first only when it was measured.

    Args:
        rows: rows of :attr:`bncvl.track.results.ResultsSet.points` (any benchmarks).
        column: a parameter column, e.g. ``"preset"``.
        preferred: the value to show first when it has a measured value.

    Returns:
        The values with at least one successful row (every value when none
        has one), presets in :data:`bncvl.measure.presets.PRESETS` order, others
        sorted; and the index of ``preferred`` if measured, else of the value
        with the most successful rows. ``([], 0)`` when the column is absent
        or empty.

    >>> rows = pd.DataFrame({"preset": ["tiny", "medium"], "status": ["ok", "skipped"]})
    >>> measured_options(rows, "preset", preferred="medium")
    (['tiny'], 0)
    """
    if column not in rows:
        return [], 0
    values = rows[column].astype("string")
    counts = values[(rows["status"] == "ok").to_numpy()].value_counts()
    options = [str(v) for v in counts.index] or [str(v) for v in values.dropna().unique()]
    if not options:
        return [], 0
    rank = {name: index for index, name in enumerate(PRESETS)} if column == "preset" else {}
    options.sort(key=lambda value: (rank.get(value, len(rank)), value))
    if preferred in counts.index:
        return options, options.index(preferred)
    if counts.empty:
        return options, 0
    most = max(options, key=lambda value: (counts.get(value, 0), -options.index(value)))
    return options, options.index(most)


def latest_values(points: pd.DataFrame) -> pd.DataFrame:
    """Each machine's newest successful value of each series (machine, benchmark, params)."""
    ok = points[points["status"] == "ok"]
    if ok.empty:
        return ok
    newest = ok.sort_values("order").groupby(["machine", "benchmark", "params"], observed=True).tail(1)
    return newest.reset_index(drop=True)


def variant_speedups(rows: pd.DataFrame, benchmark: str, unit: str | None = None) -> pd.DataFrame:
    """Speed-up of each variant over the reference and over the bare-conv limit, per machine and setting.

    Args:
        rows: successful rows of ``benchmark`` at one commit per machine, with
            a ``variant`` column; rows are matched on every other parameter
            (machine, device, preset, dtype, ...).
        benchmark: the asv benchmark name (for its better direction).
        unit: its unit, if known.

    Returns:
        ``rows``' machine, parameters, variant and value, plus
        ``speedup_vs_reference`` and ``speedup_vs_limit`` (NaN where that
        baseline was not measured in the same setting).
    """
    verdict = direction(benchmark, unit)
    if rows.empty or "variant" not in rows:
        return rows.assign(speedup_vs_reference=pd.Series(dtype=float), speedup_vs_limit=pd.Series(dtype=float))
    keys = ["machine", *filled_columns(rows, ("device", "preset", "dtype"))]
    table = rows[[*keys, "variant", "value"]].copy()
    for column in [*keys, "variant"]:
        table[column] = _labels(table[column])
    for baseline, column in ((BASELINE_VARIANT, "speedup_vs_reference"), (LIMIT_VARIANT, "speedup_vs_limit")):
        base = table[table["variant"] == baseline][[*keys, "value"]].rename(columns={"value": "_base"})
        table = table.merge(base.drop_duplicates(keys), on=keys, how="left")
        table[column] = _speedup(table["value"], table["_base"], verdict)
        table = table.drop(columns="_base")
    return table.sort_values([*keys, "variant"], ignore_index=True)


def device_comparison(rows: pd.DataFrame, benchmark: str, unit: str | None = None) -> pd.DataFrame:
    """GPU against CPU per variant: the best value on any machine for each device, and the GPU's speed-up.

    Args:
        rows: successful rows of ``benchmark`` with ``variant`` and ``device`` columns.
        benchmark: the asv benchmark name (for its better direction).
        unit: its unit, if known.

    Returns:
        One row per variant (and preset/dtype where present) with columns
        ``cpu``, ``cuda``, ``cpu_machine``, ``cuda_machine`` and
        ``gpu_speedup`` (NaN unless both devices ran).
    """
    verdict = direction(benchmark, unit)
    columns = ["variant", "cpu", "cuda", "cpu_machine", "cuda_machine", "gpu_speedup"]
    if rows.empty or not {"variant", "device"} <= set(rows.columns):
        return pd.DataFrame(columns=columns)
    keys = ["variant", *filled_columns(rows, ("preset", "dtype"))]
    table = rows[[*keys, "device", "machine", "value"]].copy()
    for column in [*keys, "device", "machine"]:
        table[column] = _labels(table[column])
    table["device"] = table["device"].str.split(":").str[0]
    ascending = verdict is not Direction.HIGHER_IS_BETTER
    best = table.sort_values("value", ascending=ascending).drop_duplicates([*keys, "device"])
    out = best[best["device"] == "cpu"][[*keys, "value", "machine"]].rename(
        columns={"value": "cpu", "machine": "cpu_machine"}
    )
    gpu = best[best["device"] == "cuda"][[*keys, "value", "machine"]].rename(
        columns={"value": "cuda", "machine": "cuda_machine"}
    )
    out = out.merge(gpu, on=keys, how="outer")
    out["gpu_speedup"] = _speedup(out["cuda"], out["cpu"], verdict)
    return out.sort_values(keys, ignore_index=True)
