"""Trends: one benchmark over commits, per machine and parameter set, with IQR band, step fit and regressions."""

from __future__ import annotations

import streamlit as st

from bncvl.track.comparisons import distinct, unit_of
from bncvl.track.decision import ABSOLUTE_TIME_FACTOR, MIN_PROCESSES
from bncvl.track.tables import select
from bncvl.track.trends import fewest_processes, first_series, trend_choices, trend_parameter_options
from dashboard import data, figures, widgets

MAX_SERIES = 12
NOISE_NOTE = (
    f"Dotted band: ÷{ABSOLUTE_TIME_FACTOR:g} to ×{ABSOLUTE_TIME_FACTOR:g} around the series' level (its step fit, "
    f"steps inside the band merged). Two processes of the same code differ in absolute time by up to "
    f"{ABSOLUTE_TIME_FACTOR:g}× on this project's shared 2-core VM (measured 2026-11-27, docs/ci-check.md), so "
    "a step inside the band is a change only where instruction counts or relative timings confirm it."
)

st.title("Trends")
summary = data.summary()
if widgets.require_results(summary):
    choices = trend_choices(summary.catalogue)
    measures = list(choices.benchmarks)
    measure = st.radio(
        "Measure",
        measures,
        index=measures.index(choices.measure),
        horizontal=True,
        key="trends_measure",
        help="Relative timings and instruction counts can confirm a change; an absolute time alone cannot.",
    )
    benchmarks = choices.benchmarks[measure]
    benchmark = st.selectbox(
        "Benchmark",
        benchmarks,
        index=benchmarks.index(choices.opening[measure]),
        key=f"trends_benchmark_{measure.replace(' ', '_')}",
    )
    rows = data.points(benchmarks=[benchmark], last=widgets.commit_window("trends_window"))
    machines = distinct(rows, "machine")
    chosen_machines = st.multiselect("Machines", machines, default=machines, key="trends_machines")
    rows = rows[rows["machine"].astype(str).isin(chosen_machines)]
    meta = summary.benchmarks.get(benchmark, {})
    param_names = [name for name in meta.get("param_names", []) if name in rows]
    if param_names:
        columns = st.columns(len(param_names))
        for column, name in zip(columns, param_names, strict=True):
            options, first = trend_parameter_options(rows, name)
            picked = column.multiselect(name, options, default=first, key=f"trends_param_{name}")
            rows = select(rows, {name: picked})
    left, middle, right = st.columns(3)
    x_axis = left.radio("x axis", ["commit order", "date"], horizontal=True, key="trends_x")
    log_y = middle.toggle("Log scale", key="trends_log")
    show_changes = right.toggle("Mark detected steps", value=True, key="trends_changes")
    if rows.empty or not (rows["status"] == "ok").any():
        st.info("No measured value for this selection (every point skipped, failed or invalid).")
    else:
        rows, series = first_series(rows, MAX_SERIES)
        if series > MAX_SERIES:
            st.warning(f"{series} series selected; showing the first {MAX_SERIES}. Narrow the parameters.")
        changes = data.changes()
        marked = changes[(changes["benchmark"] == benchmark)] if show_changes else None
        unit = unit_of(rows, known=meta.get("unit"))
        noise = ABSOLUTE_TIME_FACTOR if measure == "absolute time" else None
        st.plotly_chart(
            figures.trend_figure(
                rows,
                marked,
                x_axis="date" if x_axis == "date" else "order",
                log_y=log_y,
                unit=unit,
                title=benchmark,
                noise_factor=noise,
            ),
            key="trends_chart",
        )
        st.caption(
            "Band: interquartile range (stats_q_25 to stats_q_75). Dashed: asv's piecewise-constant step fit. "
            "Crosses: detected regressions (red), improvements (green), steps within noise or unconfirmed (grey)."
        )
        if noise is not None:
            st.caption(NOISE_NOTE)
        processes = fewest_processes(rows)
        if measure == "relative timing" and processes < MIN_PROCESSES:
            st.caption(
                f"Relative timings from {processes} {'process' if processes == 1 else 'processes'} per commit (a "
                f"plain or `--quick` asv run gives 1) confirm nothing: the per-process test needs {MIN_PROCESSES} or "
                f"more per commit (`asv run -a rounds={MIN_PROCESSES} -b bench_relative`, as `bncvl check` runs it)."
            )
