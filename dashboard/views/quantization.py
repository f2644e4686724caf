"""Quantization: how binarisation behaves while training (analysis runs), and its track_ benchmarks over commits."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, figures, widgets
from dashboard.loads import QUANTIZATION_PREFIX

CURVES = (
    ("flip_ratio", "Flip ratio"),
    ("oscillating_fraction", "Oscillating fraction"),
    ("oscillation_frequency_mean", "Mean oscillation frequency"),
    ("ones_fraction", "Fraction of ones"),
    ("threshold_drift", "Threshold drift"),
    ("dead_filters", "Dead filters"),
)
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
    summary = pd.DataFrame(
        [
            {
                "run": run.name,
                "complete": run.complete,
                "bncvl_test_accuracy": run.summary.get("bncvl_test_accuracy"),
                "float_test_accuracy": run.summary.get("float_test_accuracy"),
                "accuracy_gap": run.summary.get("accuracy_gap"),
                "dataset": run.config.get("dataset"),
                "seed": run.config.get("seed"),
            }
            for run in selected
        ]
    )
    st.dataframe(summary, hide_index=True)
    model_rows = [run.model_metrics.assign(run=run.name) for run in selected if not run.model_metrics.empty]
    models = pd.concat(model_rows, ignore_index=True) if model_rows else pd.DataFrame()
    if "test_accuracy" in models and models["test_accuracy"].notna().any():
        evaluated = models[models["test_accuracy"].notna()]
        evaluated = evaluated.assign(curve=evaluated["run"] + " " + evaluated["model"].astype(str))
        st.plotly_chart(
            figures.line_figure(
                evaluated,
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

    layer_rows = [run.layer_metrics.assign(run=run.name) for run in selected if not run.layer_metrics.empty]
    if not layer_rows:
        st.info("The selected runs have no per-layer metrics yet.")
    else:
        layers_table = pd.concat(layer_rows, ignore_index=True)
        if "all_zero_filters" in layers_table.columns:
            # Dead = all-zero: such a filter outputs a constant. An all-one filter still sums its inputs.
            layers_table["dead_filters"] = layers_table["all_zero_filters"]
        layers = sorted(layers_table["layer"].astype(str).unique())
        layer = st.selectbox("Layer", layers, key="quantization_layer")
        of_layer = layers_table[layers_table["layer"].astype(str) == layer]
        st.subheader(f"Training curves of {layer}")
        shown = [(metric, title) for metric, title in CURVES if metric in of_layer and of_layer[metric].notna().any()]
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
            kinds = sorted(run.histograms["kind"].astype(str).unique())
            kind = middle.selectbox("Kind", kinds, key="quantization_hist_kind")
            of_kind = run.histograms[(run.histograms["kind"] == kind) & (run.histograms["layer"].astype(str) == layer)]
            steps = sorted(int(s) for s in of_kind["step"].unique())
            if not steps:
                st.info(f"No {kind} histogram for {layer} in {run_name}.")
            else:
                step = st.select_slider("Step", steps, value=steps[-1], key="quantization_hist_step")
                row = of_kind[of_kind["step"] == step].iloc[0]
                threshold = row.get("threshold")
                st.plotly_chart(
                    figures.histogram_figure(
                        row["edges"],
                        row["counts"],
                        None if pd.isna(threshold) else float(threshold),
                        title=f"{run_name} {layer} {kind} at step {step}",
                        x_title=HISTOGRAM_AXES.get(kind, kind),
                        y_title="weights",
                    ),
                    key="quantization_histogram",
                )

st.subheader("Quantization benchmarks across commits")
summary = data.summary()
tracked = data.quantization_points(summary.benchmark_names(QUANTIZATION_PREFIX)) if not summary.error else None
if tracked is None:
    st.error(summary.error)
else:
    widgets.show_warnings(summary.problems, what="results when they were published")
if tracked is not None and tracked.empty:
    st.info("No bench_quantization.* results. They run with the asv suite: `asv run HEAD~2..HEAD`.")
elif tracked is not None:
    labels, commits = figures.commit_axis(tracked)
    tracked = tracked.assign(
        metric=tracked["benchmark"].astype(str).str.rsplit(".", n=1).str[-1],
        commit=labels,
        series=tracked["machine"].astype(str),
    )
    units = tracked.drop_duplicates("metric").set_index("metric")["unit"]
    wide = tracked.pivot_table(index=["series", "commit"], columns="metric", values="value", observed=True)
    panels = [(metric, f"{metric} ({units[metric]})" if pd.notna(units[metric]) else metric) for metric in wide.columns]
    st.plotly_chart(
        figures.small_multiples(
            wide.reset_index(),
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
        "From the asv suite's own seeded training (benchmarks/bench_quantization.py, shorter than `bncvl analyze`'s "
        "default), not the runs above: its test error and accuracy gap differ from theirs."
    )
