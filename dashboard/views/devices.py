"""Devices & variants: one benchmark across machines at a common commit (of the store's newest
:data:`dashboard.loads.WINDOW`); speed-ups over the reference and the limit."""

from __future__ import annotations

import streamlit as st

from bncvl.track.comparisons import (
    compared_commits,
    device_comparison,
    measured_machines,
    unit_of,
    variant_speedups,
)
from bncvl.track.decision import ABSOLUTE_TIME_FACTOR
from bncvl.track.tables import setting_labels
from dashboard import data, figures, widgets
from dashboard.loads import DEFAULT_BENCHMARK, WINDOW

st.title("Devices & variants")
summary = data.summary()
if widgets.require_results(summary):
    benchmarks = summary.benchmark_names(layered=True)
    if not benchmarks:
        st.info("No benchmark with a `variant` parameter in these results.")
        st.stop()
    benchmark = st.selectbox(
        "Benchmark",
        benchmarks,
        index=benchmarks.index(DEFAULT_BENCHMARK) if DEFAULT_BENCHMARK in benchmarks else 0,
        key="devices_benchmark",
    )
    rows = data.points(benchmarks=[benchmark], last=WINDOW)
    rows = rows[rows["variant"].notna()]
    unit = unit_of(rows)
    rows = widgets.pick_setting(rows, "devices")
    measured = measured_machines(rows)
    if not measured:
        st.info(
            f"No measured value of `{benchmark}` in the newest {WINDOW} commits: every one was skipped, failed or "
            "invalid."
        )
        st.stop()
    machines = st.multiselect("Machines", measured, default=measured, key="devices_machines")
    if not machines:
        st.info("Pick at least one machine.")
        st.stop()
    compared = compared_commits(rows, machines)
    if compared.commit is not None:
        st.write(f"Common commit: `{compared.commit[:8]}` (the newest measured on {', '.join(machines)}).")
    else:
        listed = ", ".join(f"{machine} at `{commit[:8]}`" for machine, commit in compared.commits.items())
        st.warning(f"No commit was measured on every chosen machine; each machine's newest is used: {listed}.")

    st.subheader("Variants against the reference and the bare-conv limit")
    speedups = variant_speedups(compared.rows, benchmark, unit)
    speedups = speedups.assign(setting=setting_labels(speedups))
    st.plotly_chart(
        figures.bar_figure(
            speedups,
            "variant",
            "speedup_vs_reference",
            color="setting",
            title="Speed-up over reference",
            y_title="speed-up over reference (×, higher is better)",
        ),
        key="devices_speedup_chart",
    )
    shown = figures.reader_unit(unit, speedups["value"])
    st.dataframe(
        speedups.drop(columns="setting").assign(value=shown.apply(speedups["value"])),
        hide_index=True,
        column_config={
            "value": st.column_config.NumberColumn(shown.title, format="%.4g"),
            "speedup_vs_reference": st.column_config.NumberColumn("× vs reference", format="%.2f"),
            "speedup_vs_limit": st.column_config.NumberColumn("× vs conv_limit", format="%.2f"),
        },
    )
    st.caption("A speed-up above 1 is better than the baseline; vs conv_limit, 1.0 means at the bare F.conv2d.")
    if unit == "seconds":
        st.caption(
            f"Absolute times: each variant was timed in its own process, and two processes of the same code differ "
            f"by up to {ABSOLUTE_TIME_FACTOR:g}× on this project's shared 2-core VM (docs/ci-check.md), so a speed-up "
            f"between {1 / ABSOLUTE_TIME_FACTOR:.2f} and {ABSOLUTE_TIME_FACTOR:g} is not a measured difference. "
            "bench_relative's timings against the bare conv in one process tell smaller ones."
        )

    st.subheader("GPU vs CPU")
    comparison = device_comparison(compared.rows, benchmark, unit)
    both = comparison["cuda"].notna().any() and comparison["cpu"].notna().any()
    if not both:
        st.info("Both devices are needed: run the suite on a GPU host too (`bncvl history RANGE --existing`).")
        st.stop()
    st.dataframe(
        comparison.assign(cpu=shown.apply(comparison["cpu"]), cuda=shown.apply(comparison["cuda"])),
        hide_index=True,
        column_config={
            "cpu": st.column_config.NumberColumn(f"cpu ({shown.symbol})", format="%.4g"),
            "cuda": st.column_config.NumberColumn(f"cuda ({shown.symbol})", format="%.4g"),
            "gpu_speedup": st.column_config.NumberColumn("GPU speed-up", format="%.1f"),
        },
    )
