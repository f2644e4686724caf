"""Overview: machines and their devices, commits covered, the latest regressions, and the results' health."""

from __future__ import annotations

import streamlit as st

from bncvl.track.changes import UNCONFIRMED, WITHIN_NOISE
from bncvl.track.decision import MIN_PROCESSES
from bncvl.track.tables import broken_by_series, latest_regressions, machine_table, status_counts, step_counts
from dashboard import data, widgets

MIN_HISTORY = 2
"""Commits per machine below which no step can be found."""

st.title("BNCVL performance")
dirs = data.data_dirs()
summary = data.summary()
st.caption(f"Results store: `{summary.where}` · Runs: `{dirs.runs_dir}`")
if widgets.require_results(summary):
    coverage = summary.coverage
    left, middle, right = st.columns(3)
    left.metric("Machines", len(summary.machines))
    middle.metric("Commits covered", coverage["commits"])
    right.metric("Benchmarks", len(summary.benchmark_names()))
    st.caption(
        f"Commits from {coverage['first']:%Y-%m-%d} to {coverage['newest']:%Y-%m-%d}; "
        f"newest {coverage['newest_hash'][:8]}."
    )

    st.subheader("Machines and devices")
    st.dataframe(machine_table(summary.machines), hide_index=True)

    st.subheader("Health")
    counts = status_counts(summary.health)
    failed, invalid = counts["failed"], counts["invalid"]
    health = (
        f"{counts['ok']} values measured, {counts['skipped']} skipped (device or variant absent), {failed} failed, "
        f"{invalid} invalid." + (" Each is listed below with its result file." if failed or invalid else "")
    )
    if failed or invalid:
        st.error(health)
        st.dataframe(broken_by_series(data.broken()), hide_index=True)
    else:
        st.success(health)

    st.subheader("Latest regressions")
    changes = data.changes()
    most_commits = summary.machines["commits"].max()
    regressions = latest_regressions(changes)
    kinds = step_counts(changes)
    noise, unconfirmed = kinds.get(WITHIN_NOISE, 0), kinds.get(UNCONFIRMED, 0)
    if most_commits < MIN_HISTORY:
        st.info(
            f"Too little history to call anything: at most {most_commits} commit(s) per machine, and a step "
            f"needs a commit on each side of it. Benchmark more commits (`bncvl pipeline --commits {MIN_HISTORY + 1}`)."
        )
    elif regressions.empty:
        st.success("No regression: no step that instruction counts or relative timings confirm.")
    else:
        st.dataframe(
            regressions[["machine", "benchmark", "params", "commits", "date", "factor", "evidence"]],
            hide_index=True,
            column_config={
                "factor": st.column_config.NumberColumn("× worse", format="%.2f"),
                "evidence": st.column_config.TextColumn("confirmed by"),
            },
        )
    st.caption(
        f"{noise} step(s) within noise (instruction counts and relative timings contradict them) and "
        f"{unconfirmed} unconfirmed (low confidence: no count or timing to test, or fewer than "
        f"{MIN_PROCESSES} processes per commit) are not called regressions."
    )
    st.page_link("views/regressions.py", label="All steps →")

runs = data.runs()
st.subheader("Quantization runs")
if runs:
    st.write(f"{len(runs)} analysis run(s) in `{dirs.runs_dir}`: " + ", ".join(run.name for run in runs))
else:
    st.info(f"No analysis runs in `{dirs.runs_dir}`. To produce one:")
    st.code(widgets.RUNS_HOWTO, language="bash")
