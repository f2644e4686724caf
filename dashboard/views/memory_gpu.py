"""Memory & GPU: peak and saved-activation bytes, weight storage, and GPU utilisation, energy and power."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bncvl.track.comparisons import unit_of
from bncvl.track.tables import metric_group, metric_name, weight_storage
from dashboard import data, figures, widgets
from dashboard.loads import GPU, MEMORY, MEMORY_WINDOW, STORAGE


def over_commits_and_devices(rows: pd.DataFrame, names: tuple[str, ...], key: str) -> None:
    """The latest value of every benchmark in ``names``; then, for the one picked, its values over commits
    (reference variant, per machine and device) and across variants and devices at each machine's newest commit."""
    group = metric_group(rows, names)
    if not group.names:
        st.info("No measured value for this preset and dtype: every one was skipped, failed or invalid.")
        return
    st.dataframe(group.table(), hide_index=True, key=f"{key}_latest")
    name = st.radio("Metric", group.names, format_func=metric_name, horizontal=True, key=f"{key}_metric")
    over_time = group.over_commits(name)
    unit = unit_of(over_time)
    left, right = st.columns(2)
    left.plotly_chart(
        figures.trend_figure(over_time, unit=unit, title=f"{metric_name(name)} over commits"), key=f"{key}_trend"
    )
    newest, x = group.across_settings(name)
    right.plotly_chart(
        figures.bar_figure(newest, x, "value", color="setting", title=f"{metric_name(name)} across devices", unit=unit),
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
    storage = weight_storage(points[points["benchmark"].isin(STORAGE)])
    if storage.bars.empty:
        st.info("No weight-storage benchmarks (bench_memory.WeightStorage.*) in these results.")
    else:
        st.plotly_chart(
            figures.bar_figure(
                storage.bars, storage.x, "value", color="kind", title="bytes at rest", log_y=True, unit="bytes"
            ),
            key="storage_bars",
        )
        st.dataframe(storage.table(), hide_index=True)

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
