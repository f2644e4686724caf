"""Regressions: every step asv's step detection found when the results were published, the right way round for
each metric."""

from __future__ import annotations

import streamlit as st

from bncvl.track.changes import UNCONFIRMED, WITHIN_NOISE
from bncvl.track.tables import select, step_rows
from dashboard import data, export, widgets

st.title("Regressions")
st.caption(
    "Steps found by `asv.step_detect` per machine, benchmark and parameter set when the results were published "
    "(over the commits before them, `bncvl publish --steps-window`). Time, bytes, energy, error, "
    "instruction counts and relative timings are lower-is-better; accuracy and throughput higher-is-better; "
    "utilisation, clocks and power are informative only. A step is a regression or an improvement only when "
    "the instruction counts or the per-process relative timings at the same commits confirm it (bytes are exact); "
    "otherwise it is *within noise* (they contradict it) or *unconfirmed* (nothing to test it with)."
)
if widgets.require_results(data.summary()):
    changes = data.changes()
    columns = st.columns(4)
    with columns[0]:
        machines = widgets.filter_multiselect("Machine", changes, "machine", "regressions_machine")
    with columns[1]:
        benchmarks = widgets.filter_multiselect("Benchmark", changes, "benchmark", "regressions_benchmark")
    with columns[2]:
        variants = widgets.filter_multiselect("Variant", changes, "variant", "regressions_variant")
    with columns[3]:
        devices = widgets.filter_multiselect("Device", changes, "device", "regressions_device")
    kinds = st.multiselect(
        "Show",
        ["regression", "improvement", WITHIN_NOISE, UNCONFIRMED, "change"],
        default=["regression"],
        key="regressions_kind",
        help="change: a step in an informative metric (utilisation, clock, power); within noise: contradicted by "
        "instruction counts or relative timings; unconfirmed: nothing measured at those commits can test it",
    )
    chosen = {"machine": machines, "benchmark": benchmarks, "variant": variants, "device": devices}
    base_url = data.show_commit_url()
    shown = step_rows(select(changes[changes["kind"].isin(kinds)], chosen), base_url)
    st.write(f"{len(shown)} step(s) shown of {len(changes)} found.")
    ordered = ["machine", "benchmark", "params", "direction", "kind", "commits", "date", "value_before"]
    ordered += ["value_after", "factor", "unit", "evidence"] + (["link"] if base_url else [])
    st.dataframe(
        shown[ordered],
        hide_index=True,
        column_config={
            "factor": st.column_config.NumberColumn("factor", format="%.3f", help="how many times worse (or better)"),
            "value_before": st.column_config.NumberColumn("before", format="%.4g"),
            "value_after": st.column_config.NumberColumn("after", format="%.4g"),
            "link": st.column_config.LinkColumn("commits link", display_text="compare"),
        },
    )
    st.download_button(
        "Download CSV",
        export.csv_bytes(shown.drop(columns="commits")),
        file_name="bncvl-regressions.csv",
        mime="text/csv",
        key="regressions_csv",
    )
