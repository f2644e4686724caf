"""Analysis runs (:class:`bncvl.analysis.rundir.Run`) side by side, as the Quantization page shows them.

Plain functions of the runs as read: no Streamlit and no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bncvl._extras import needs_extra
from bncvl.analysis.rundir import Run

with needs_extra("dashboard", "bncvl.analysis.runtables"):
    import pandas as pd

__all__ = ["Histogram", "accuracy_curves", "accuracy_table", "histogram", "histogram_steps", "layer_curves"]


def accuracy_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: whether it finished, both networks' final test accuracy and their gap (``summary.json``),
    dataset and seed (``config.json``); missing where the run does not say."""
    return pd.DataFrame(
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
            for run in runs
        ]
    )


def accuracy_curves(runs: Sequence[Run]) -> pd.DataFrame:
    """Every step at which a run evaluated its networks (``test_accuracy`` set), with the ``run`` and a ``curve``
    label (run and model, e.g. ``"seed0 bncvl"``); empty when no run evaluated any."""
    rows = [run.model_metrics.assign(run=run.name) for run in runs if not run.model_metrics.empty]
    models = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if "test_accuracy" not in models:
        return pd.DataFrame()
    evaluated = models[models["test_accuracy"].notna()]
    return evaluated.assign(curve=evaluated["run"] + " " + evaluated["model"].astype(str))


def layer_curves(runs: Sequence[Run]) -> pd.DataFrame:
    """Every run's per-layer rows with the ``run``, and ``dead_filters`` where the runs count ``all_zero_filters``
    (such a filter outputs a constant; an all-one filter still sums its inputs); empty when no run has any."""
    rows = [run.layer_metrics.assign(run=run.name) for run in runs if not run.layer_metrics.empty]
    if not rows:
        return pd.DataFrame()
    table = pd.concat(rows, ignore_index=True)
    if "all_zero_filters" in table.columns:
        table["dead_filters"] = table["all_zero_filters"]
    return table


def _histograms_of(run: Run, kind: str, layer: str) -> pd.DataFrame:
    table = run.histograms
    if table.empty:
        return pd.DataFrame(columns=["step", "edges", "counts", "threshold"])
    return table[(table["kind"].astype(str) == kind) & (table["layer"].astype(str) == layer)]


def histogram_steps(run: Run, kind: str, layer: str) -> list[int]:
    """The steps at which ``run`` recorded a ``kind`` histogram (e.g. ``latent_weight``) of ``layer``, in order."""
    return sorted(int(step) for step in _histograms_of(run, kind, layer)["step"].unique())


@dataclass(frozen=True)
class Histogram:
    """One recorded histogram: its bin ``edges`` and ``counts``, and the binarisation ``threshold`` (None for a
    kind without one, e.g. ``margin``)."""

    edges: list[float]
    counts: list[int]
    threshold: float | None


def histogram(run: Run, kind: str, layer: str, step: int) -> Histogram:
    """``run``'s ``kind`` histogram of ``layer`` at ``step``.

    Raises:
        KeyError: the run recorded no such histogram; the message names run, kind, layer and step.
    """
    found = _histograms_of(run, kind, layer)
    found = found[found["step"] == step]
    if found.empty:
        raise KeyError(f"run {run.name!r} recorded no {kind} histogram of {layer} at step {step}")
    row = found.iloc[0]
    threshold = row.get("threshold")
    return Histogram(list(row["edges"]), list(row["counts"]), None if pd.isna(threshold) else float(threshold))
