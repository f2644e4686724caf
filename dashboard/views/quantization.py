"""Quantization: how binarisation behaves while training (analysis runs), and its track_ benchmarks over commits."""

from __future__ import annotations

import streamlit as st

from bncvl.analysis.runtables import accuracy_curves, accuracy_table, histogram, histogram_steps, layer_curves
from bncvl.track.comparisons import distinct, filled_columns
from bncvl.track.tables import select, tracks_by_commit
from dashboard import data, figures, widgets
from dashboard.loads import QUANTIZATION_PREFIX

CURVES = {
    "flip_ratio": "Flip ratio",
    "oscillating_fraction": "Oscillating fraction",
    "oscillation_frequency_mean": "Mean oscillation frequency",
    "ones_fraction": "Fraction of ones",
    "threshold_drift": "Threshold drift",
    "dead_filters": "Dead filters",
}
CURVES_HELP = (
    "Flip ratio: fraction of binary weights changed since the previous step (missing at the first). "
    "Oscillation: EMA of A→B→A reversals (Nagel et al. 2022). Threshold drift: the mean of the latent "
    "weights minus its initial value. Dead filters: all-zero filters (each outputs a constant)."
)

HISTOGRAM_AXES = {
    "latent_weight": "latent weight",
    "margin": "margin: |w − mean| / std of the latent weights",
}

st.title("Quantization")
runs = data.runs()
dirs = data.data_dirs()
if not runs:
    st.info(f"No analysis runs in `{dirs.runs_dir}`. To produce one:")
    st.code(widgets.RUNS_HOWTO, language="bash")
else:
    names = [run.name for run in runs]
    chosen = st.multiselect("Runs", names, default=names[-3:], key="quantization_runs")
    selected = [run for run in runs if run.name in chosen]
    widgets.show_warnings([line for run in selected for line in run.warnings], what="runs")

    st.subheader("Accuracy against the float baseline")
    st.dataframe(accuracy_table(selected), hide_index=True)
    curves = accuracy_curves(selected)
    if not curves.empty:
        st.plotly_chart(
            figures.line_figure(
                curves,
                "step",
                "test_accuracy",
                "curve",
                title="test accuracy, BNCVL vs float",
                x_title="optimizer step",
                y_title="test accuracy",
                y_format=".0%",
            ),
            key="quantization_accuracy",
        )

    layers_table = layer_curves(selected)
    if layers_table.empty:
        st.info("The selected runs have no per-layer metrics yet.")
    else:
        layers = distinct(layers_table, "layer")
        layer = st.selectbox("Layer", layers, key="quantization_layer")
        of_layer = select(layers_table, {"layer": [layer]})
        st.subheader(f"Training curves of {layer}")
        shown = [(metric, CURVES[metric]) for metric in filled_columns(of_layer, CURVES)]
        st.plotly_chart(
            figures.small_multiples(
                of_layer, "step", shown, "run", title=f"{layer}: binarisation while training", x_title="optimizer step"
            ),
            key="quantization_curves",
        )
        st.caption(CURVES_HELP)

        st.subheader("Latent-weight histograms")
        with_histograms = [run for run in selected if not run.histograms.empty]
        if not with_histograms:
            st.info("The selected runs recorded no histograms.")
        else:
            left, middle = st.columns(2)
            run_name = left.selectbox("Run", [run.name for run in with_histograms], key="quantization_hist_run")
            run = next(run for run in with_histograms if run.name == run_name)
            kinds = distinct(run.histograms, "kind")
            kind = middle.selectbox("Kind", kinds, key="quantization_hist_kind")
            steps = histogram_steps(run, kind, layer)
            if not steps:
                st.info(f"No {kind} histogram for {layer} in {run_name}.")
            else:
                step = st.select_slider("Step", steps, value=steps[-1], key="quantization_hist_step")
                shape = histogram(run, kind, layer, step)
                st.plotly_chart(
                    figures.histogram_figure(
                        shape.edges,
                        shape.counts,
                        shape.threshold,
                        title=f"{run_name} {layer} {kind} at step {step}",
                        x_title=HISTOGRAM_AXES.get(kind, kind),
                        y_title="weights",
                    ),
                    key="quantization_histogram",
                )

st.subheader("Quantization benchmarks across commits")
summary = data.summary()
if widgets.require_results(summary):
    tracked = data.quantization_points(summary.benchmark_names(QUANTIZATION_PREFIX))
    if tracked.empty:
        st.info("No bench_quantization.* results. They run with the asv suite: `asv run HEAD~2..HEAD`.")
    else:
        labels, commits = figures.commit_axis(tracked)
        wide, units = tracks_by_commit(tracked, labels)
        panels = [(metric, f"{metric} ({unit})" if unit else metric) for metric, unit in units.items()]
        st.plotly_chart(
            figures.small_multiples(
                wide,
                "commit",
                panels,
                "series",
                title="by commit (oldest first)",
                x_title="commit",
                x_categories=commits,
            ),
            key="quantization_tracks",
        )
        st.caption(
            "From the asv suite's own seeded training (benchmarks/bench_quantization.py, shorter than "
            "`bncvl analyze`'s default), not the runs above: its test error and accuracy gap differ from theirs."
        )
