"""Memory & GPU: peak and saved-activation bytes, weight storage, and GPU utilisation, energy and power."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bncvl.track.comparisons import latest_values, unit_of
from dashboard import data, figures, widgets
from dashboard.loads import GPU, MEMORY, MEMORY_WINDOW, STORAGE


def short(benchmark: str) -> str:
    return benchmark.rsplit(".", 1)[-1].removeprefix("track_")


def over_commits_and_devices(rows: pd.DataFrame, names: tuple[str, ...], key: str) -> None:
    """The latest value of every benchmark in ``names``; then, for the one picked, its values over commits
    (reference variant, per machine and device) and across variants and devices at each machine's newest commit."""
    measured = rows[rows["benchmark"].isin(names) & (rows["status"] == "ok")]
    if measured.empty:
        st.info("No measured value for this preset and dtype: every one was skipped, failed or invalid.")
        return
    latest = latest_values(measured)
    latest = latest.assign(metric=latest["benchmark"].astype(str).map(short))
    index = [c for c in ("machine", "device", "variant") if latest[c].notna().any()]
    table = latest.pivot_table(index=index, columns="metric", values="value", observed=True)
    st.dataframe(table.reset_index(), hide_index=True, key=f"{key}_latest")
    present = [name for name in names if name in set(measured["benchmark"].astype(str))]
    name = st.radio("Metric", present, format_func=short, horizontal=True, key=f"{key}_metric")
    series = measured[measured["benchmark"] == name]
    unit = unit_of(series)
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
        figures.bar_figure(newest, x, "value", color="setting", title=f"{short(name)} across devices", unit=unit),
        key=f"{key}_bars",
    )


st.title("Memory & GPU")
if widgets.require_results(data.summary()):
    points = data.memory_points()
    st.caption(f"The newest {MEMORY_WINDOW} commits of the store.")

    st.header("Memory")
    memory_rows = points[points["benchmark"].isin(MEMORY)]
    if memory_rows.empty:
        st.info("No memory benchmarks (bench_memory.Memory.*) in these results.")
    else:
        over_commits_and_devices(widgets.pick_setting(memory_rows, "memory"), MEMORY, "memory")

    st.subheader("Weight storage: float vs packed")
    storage = latest_values(points[points["benchmark"].isin(STORAGE)])
    if storage.empty:
        st.info("No weight-storage benchmarks (bench_memory.WeightStorage.*) in these results.")
    else:
        storage = storage.assign(kind=storage["benchmark"].astype(str).map(short))
        x = "preset" if storage["preset"].notna().any() else "machine"  # no preset without benchmarks.json
        st.plotly_chart(
            figures.bar_figure(storage, x, "value", color="kind", title="bytes at rest", log_y=True, unit="bytes"),
            key="storage_bars",
        )
        wide = storage.pivot_table(
            index=list(dict.fromkeys(["machine", x])), columns="kind", values="value", observed=True
        )
        if {"float_weight_bytes", "packed_weight_bytes"} <= set(wide.columns):
            wide["compression"] = wide["float_weight_bytes"] / wide["packed_weight_bytes"]
        st.dataframe(wide.reset_index(), hide_index=True)

    st.header("GPU")
    gpu_rows = points[points["benchmark"].isin(GPU)]
    if not (gpu_rows["status"] == "ok").any():
        st.info(
            "No GPU measurements (all bench_gpu.* skipped or absent). On a GPU host: "
            "`bncvl machine && bncvl history HEAD~3..HEAD --existing`, then `bncvl publish --store URL` into "
            "the store this dashboard reads."
        )
    else:
        over_commits_and_devices(widgets.pick_setting(gpu_rows, "gpu"), GPU, "gpu")
