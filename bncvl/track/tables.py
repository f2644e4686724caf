"""The tables the dashboard's pages show, shaped from the store's values, steps and failures as plain functions.

The pages only render what these return; the comparisons between variants and devices, and what the pickers
offer, are :mod:`bncvl.track.comparisons`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from bncvl.measure.facts import COMPARED_FACTS
from bncvl.track.changes import REGRESSION, commit_url
from bncvl.track.comparisons import BASELINE_VARIANT, filled_columns, latest_values, unit_of
from bncvl.track.results import STATUSES

__all__ = [
    "MetricGroup",
    "WeightStorage",
    "broken_by_series",
    "latest_regressions",
    "machine_table",
    "metric_group",
    "metric_name",
    "select",
    "setting_labels",
    "status_counts",
    "step_counts",
    "step_rows",
    "tracks_by_commit",
    "weight_storage",
]


def select(rows: pd.DataFrame, choices: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """The rows whose value in each column of ``choices`` is one of those chosen there (compared as text); a column
    with nothing chosen keeps every row.

    >>> rows = pd.DataFrame({"machine": ["a", "b"], "device": ["cpu", "cuda"]})
    >>> list(select(rows, {"machine": ["b"], "device": []})["machine"])
    ['b']
    """
    for column, chosen in choices.items():
        if chosen:
            rows = rows[rows[column].astype(str).isin(chosen)]
    return rows


def setting_labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's machine and device, e.g. ``"lab-h100 cuda"`` (one colour per setting in a chart); the machine
    alone where the row has no device.

    >>> list(setting_labels(pd.DataFrame({"machine": ["box", "lab"], "device": [None, "cuda"]})))
    ['box', 'lab cuda']
    """
    machine = rows["machine"].astype("string")
    if "device" not in rows:
        return machine
    return (machine + " " + rows["device"].astype("string").fillna("")).str.strip()


def metric_name(benchmark: str) -> str:
    """What a ``track_`` benchmark measures: its method's name without ``track_``.

    >>> metric_name("bench_memory.Memory.track_peak_forward_bytes")
    'peak_forward_bytes'
    """
    return benchmark.rsplit(".", 1)[-1].removeprefix("track_")


@dataclass(frozen=True)
class MetricGroup:
    """The successful values of a group of benchmarks (e.g. ``bench_memory.Memory``'s metrics).

    Attributes:
        measured: the group's successful rows.
        latest: each machine's newest value of each series (:func:`bncvl.track.comparisons.latest_values`).
        names: the group's benchmarks that have a value, in the group's order.
    """

    measured: pd.DataFrame
    latest: pd.DataFrame
    names: list[str]

    def table(self) -> pd.DataFrame:
        """The newest values, one column per metric (:func:`metric_name`), one row per machine, device and variant
        (those the rows have)."""
        latest = self.latest.assign(metric=self.latest["benchmark"].astype(str).map(metric_name))
        index = filled_columns(latest, ("machine", "device", "variant"))
        return latest.pivot_table(index=index, columns="metric", values="value", observed=True).reset_index()

    def over_commits(self, name: str) -> pd.DataFrame:
        """Benchmark ``name``'s values over commits: the reference variant's, or every row where it has none."""
        series = self.measured[self.measured["benchmark"] == name]
        reference = series[series["variant"].astype(str) == BASELINE_VARIANT]
        return reference if not reference.empty else series

    def across_settings(self, name: str) -> tuple[pd.DataFrame, str]:
        """Benchmark ``name``'s newest values with a ``setting`` label (:func:`setting_labels`), and the column to
        draw them along: ``variant`` where the benchmark has one, else ``preset``."""
        newest = self.latest[self.latest["benchmark"] == name]
        newest = newest.assign(setting=setting_labels(newest))
        return newest, "variant" if filled_columns(newest, ("variant",)) else "preset"


def metric_group(points: pd.DataFrame, names: Sequence[str]) -> MetricGroup:
    """The :class:`MetricGroup` of benchmarks ``names`` in ``points``."""
    measured = points[points["benchmark"].isin(names) & (points["status"] == "ok")]
    present = set(measured["benchmark"].astype(str))
    return MetricGroup(measured, latest_values(measured), [name for name in names if name in present])


@dataclass(frozen=True)
class WeightStorage:
    """The weight-storage benchmarks' newest values (bytes of the float and the packed weights).

    Attributes:
        bars: each machine's newest value of each series, with ``kind`` (:func:`metric_name`).
        x: the column to draw them along: ``preset``, or ``machine`` where the rows have no preset (results
            read without ``benchmarks.json``).
    """

    bars: pd.DataFrame
    x: str

    def table(self) -> pd.DataFrame:
        """One row per machine and :attr:`x`, one column per kind, and ``compression`` (float bytes over packed
        bytes) where both were measured."""
        wide = self.bars.pivot_table(
            index=list(dict.fromkeys(["machine", self.x])), columns="kind", values="value", observed=True
        )
        if {"float_weight_bytes", "packed_weight_bytes"} <= set(wide.columns):
            wide["compression"] = wide["float_weight_bytes"] / wide["packed_weight_bytes"]
        return wide.reset_index()


def weight_storage(points: pd.DataFrame) -> WeightStorage:
    """The :class:`WeightStorage` of ``points`` (rows of the weight-storage benchmarks)."""
    latest = latest_values(points)
    latest = latest.assign(kind=latest["benchmark"].astype(str).map(metric_name))
    return WeightStorage(latest, "preset" if filled_columns(latest, ("preset",)) else "machine")


def machine_table(machines: pd.DataFrame) -> pd.DataFrame:
    """Each machine (:func:`bncvl.store.query.load_machines`) with the facts machines are compared by
    (:data:`bncvl.measure.facts.COMPARED_FACTS`) and how many ``commits`` it measured: those its records hold."""
    return machines[[column for column in ("machine", *COMPARED_FACTS, "commits") if column in machines]]


def status_counts(health: pd.DataFrame) -> dict[str, int]:
    """How many values of each status (:data:`bncvl.track.results.STATUSES`) the per-machine ``health`` table
    counts (:func:`bncvl.store.query.load_health`)."""
    return {status: int(health[status].sum()) for status in STATUSES}


def broken_by_series(broken: pd.DataFrame) -> pd.DataFrame:
    """One row per machine, benchmark and status of the failed or invalid values ``broken``
    (:func:`bncvl.store.query.load_broken`): on how many ``commits``, and the ``first_file`` that holds one."""
    table = broken.groupby(["machine", "benchmark", "status"], observed=True).agg(
        commits=("commit_hash", "nunique"), first_file=("path", "first")
    )
    return table.reset_index()


def step_rows(changes: pd.DataFrame, show_commit_url: str | None = None) -> pd.DataFrame:
    """``changes`` (steps) with ``commits``, the range of short hashes ``before..after``; and, given asv.conf.json's
    ``show_commit_url``, a ``link`` to the range (:func:`bncvl.track.changes.commit_url`)."""
    rows = changes.assign(commits=changes["commit_before"].str[:8] + ".." + changes["commit_after"].str[:8])
    if show_commit_url:
        pairs = zip(rows["commit_before"], rows["commit_after"], strict=True)
        rows = rows.assign(link=[commit_url(show_commit_url, before, after) for before, after in pairs])
    return rows


def latest_regressions(changes: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The first ``count`` regressions of ``changes`` (newest first, as the store returns them), as
    :func:`step_rows`."""
    return step_rows(changes[changes["kind"] == REGRESSION].head(count))


def step_counts(changes: pd.DataFrame) -> dict[str, int]:
    """How many of ``changes`` (steps) are of each kind; a kind without a step is absent."""
    return {str(kind): int(count) for kind, count in changes["kind"].value_counts().items()}


def tracks_by_commit(points: pd.DataFrame, commits: pd.Series) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Track benchmarks' values side by side: one row per machine (``series``) and commit, one column per benchmark
    method (e.g. ``track_test_error``); and each such column's unit.

    Args:
        points: rows of the track benchmarks.
        commits: each row's commit label (:func:`dashboard.figures.commit_axis` gives short hashes).
    """
    tracked = points.assign(
        metric=points["benchmark"].astype(str).str.rsplit(".", n=1).str[-1],
        commit=commits,
        series=points["machine"].astype(str),
    )
    wide = tracked.pivot_table(index=["series", "commit"], columns="metric", values="value", observed=True)
    units = {str(metric): unit_of(tracked[tracked["metric"] == metric]) for metric in wide.columns}
    return wide.reset_index(), units
