"""Memory & GPU: peak and saved-activation bytes, weight storage, and GPU utilisation, energy and power."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bncvl.comparisons import latest_values
from dashboard import data, figures, widgets

MEMORY = (
    "bench_memory.Memory.track_peak_forward_bytes",
    "bench_memory.Memory.track_peak_train_step_bytes",
    "bench_memory.Memory.track_saved_activation_bytes",
)
STORAGE = (
    "bench_memory.WeightStorage.track_float_weight_bytes",
    "bench_memory.WeightStorage.track_packed_weight_bytes",
)
GPU = (
    "bench_gpu.GPU.track_gpu_utilization",
    "bench_gpu.GPU.track_memory_bandwidth_utilization",
    "bench_gpu.GPU.track_energy_per_forward",
    "bench_gpu.GPU.track_power",
    "bench_gpu.GPU.track_sm_clock",
)


def pick(rows: pd.DataFrame, name: str, preferred: str, key: str) -> pd.DataFrame:
    """Narrow ``rows`` to one value of parameter ``name`` chosen in a selectbox (no-op if the column is empty)."""
    options = sorted(rows[name].dropna().astype(str).unique()) if name in rows else []
    if not options:
        return rows
    value = st.selectbox(name, options, index=options.index(preferred) if preferred in options else 0, key=key)
    return rows[rows[name].astype(str) == value]


def short(benchmark: str) -> str:
    return benchmark.rsplit(".", 1)[-1].removeprefix("track_")


def over_commits_and_devices(rows: pd.DataFrame, names: tuple[str, ...], key: str) -> None:
    """The latest value of every benchmark in ``names``; then, for the one picked, its values over commits
    (reference variant, per machine and device) and across variants and devices at each machine's newest commit."""
    measured = rows[rows["benchmark"].isin(names) & (rows["status"] == "ok")]
    if measured.empty:
        return
    latest = latest_values(measured)
    latest = latest.assign(metric=latest["benchmark"].astype(str).map(short))
    index = [c for c in ("machine", "device", "variant") if latest[c].notna().any()]
    table = latest.pivot_table(index=index, columns="metric", values="value", observed=True)
    st.dataframe(table.reset_index(), hide_index=True, key=f"{key}_latest")
    present = [name for name in names if name in set(measured["benchmark"].astype(str))]
    name = st.radio("Metric", present, format_func=short, horizontal=True, key=f"{key}_metric")
    series = measured[measured["benchmark"] == name]
    unit = series["unit"].dropna().astype(str).iloc[0] if series["unit"].notna().any() else None
    left, right = st.columns(2)
    over_time = series[series["variant"].astype(str) == "reference"]
    left.plotly_chart(
        figures.trend_figure(
            over_time if not over_time.empty else series, unit=unit, title=f"{short(name)} over commits"
        ),
        key=f"{key}_trend",
    )
    newest = latest[latest["benchmark"] == name]
    newest = newest.assign(setting=newest["machine"].astype(str) + " " + newest["device"].astype(str))
    x = "variant" if newest["variant"].notna().any() else "preset"
    right.plotly_chart(
        figures.bar_figure(newest, x, "value", color="setting", title=f"{short(name)} across devices ({unit})"),
        key=f"{key}_bars",
    )


st.title("Memory & GPU")
results = data.results()
if widgets.require_results(results):
    points = results.points
    columns = st.columns(3)
    with columns[0]:
        rows = pick(points, "preset", "medium", "memory_preset")
    with columns[1]:
        rows = pick(rows, "dtype", "float32", "memory_dtype")

    st.header("Memory")
    if not points["benchmark"].isin(MEMORY).any():
        st.info("No memory benchmarks (bench_memory.Memory.*) in these results.")
    over_commits_and_devices(rows, MEMORY, "memory")

    st.subheader("Weight storage: float vs packed")
    storage = latest_values(points[points["benchmark"].isin(STORAGE)])
    if storage.empty:
        st.info("No weight-storage benchmarks (bench_memory.WeightStorage.*) in these results.")
    else:
        storage = storage.assign(kind=storage["benchmark"].astype(str).map(short))
        x = "preset" if storage["preset"].notna().any() else "machine"
        st.plotly_chart(
            figures.bar_figure(storage, x, "value", color="kind", title="bytes at rest", log_y=True),
            key="storage_bars",
        )
        wide = storage.pivot_table(index=["machine", x], columns="kind", values="value", observed=True)
        if {"float_weight_bytes", "packed_weight_bytes"} <= set(wide.columns):
            wide["compression"] = wide["float_weight_bytes"] / wide["packed_weight_bytes"]
        st.dataframe(wide.reset_index(), hide_index=True)

    st.header("GPU")
    gpu_rows = rows[rows["benchmark"].isin(GPU) & (rows["status"] == "ok")]
    if gpu_rows.empty:
        st.info(
            "No GPU measurements (all bench_gpu.* skipped or absent). On a GPU host: "
            "`bncvl machine && bncvl history HEAD~3..HEAD --existing`, then copy its results here."
        )
    else:
        over_commits_and_devices(rows, GPU, "gpu")
