"""The tables the dashboard's pages show, shaped from the store's values, steps and failures as plain functions.

The pages only render what these return; the comparisons between variants and devices, and what the pickers
offer, are :mod:`bncvl.track.comparisons`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from bncvl.track.comparisons import BASELINE_VARIANT, filled_columns, latest_values

__all__ = ["MetricGroup", "WeightStorage", "metric_group", "metric_name", "setting_labels", "weight_storage"]


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
