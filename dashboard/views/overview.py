"""Overview: machines and their devices, commits covered, the latest regressions, and the results' health."""

from __future__ import annotations

import streamlit as st

from bncvl.measure.facts import COMPARED_FACTS
from bncvl.track.changes import UNCONFIRMED, WITHIN_NOISE
from bncvl.track.decision import MIN_PROCESSES
from bncvl.track.results import STATUSES
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
    machines = summary.machines
    st.dataframe(machines[[c for c in ("machine", *COMPARED_FACTS, "commits") if c in machines]], hide_index=True)

    st.subheader("Health")
    ok, skipped, failed, invalid = (int(summary.health[s].sum()) for s in STATUSES)
    health = (
        f"{ok} values measured, {skipped} skipped (device or variant absent), {failed} failed, {invalid} invalid."
        + (" Each is listed below with its result file." if failed or invalid else "")
    )
    if failed or invalid:
        st.error(health)
        broken = data.broken()
        table = broken.groupby(["machine", "benchmark", "status"], observed=True).agg(
            commits=("commit_hash", "nunique"), first_file=("path", "first")
        )
        st.dataframe(table.reset_index(), hide_index=True)
    else:
        st.success(health)

    st.subheader("Latest regressions")
    changes = data.changes()
    history = summary.machines.set_index("machine")["commits"]
    regressions = changes[changes["kind"] == "regression"].head(10)
    noise = int((changes["kind"] == WITHIN_NOISE).sum())
    unconfirmed = int((changes["kind"] == UNCONFIRMED).sum())
    if history.max() < MIN_HISTORY:
        st.info(
            f"Too little history to call anything: at most {history.max()} commit(s) per machine, and a step "
            f"needs a commit on each side of it. Benchmark more commits (`bncvl pipeline --commits {MIN_HISTORY + 1}`)."
        )
    elif regressions.empty:
        st.success("No regression: no step that instruction counts or relative timings confirm.")
    else:
        shown = regressions.assign(
            commits=regressions["commit_before"].str[:8] + ".." + regressions["commit_after"].str[:8]
        )
        st.dataframe(
            shown[["machine", "benchmark", "params", "commits", "date", "factor", "evidence"]],
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
