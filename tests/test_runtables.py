"""bncvl.analysis.runtables: analysis runs side by side, as the Quantization page shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")

from bncvl.analysis.rundir import HISTOGRAMS, METRICS, load_run  # noqa: E402
from bncvl.analysis.runtables import (  # noqa: E402
    accuracy_curves,
    accuracy_table,
    histogram,
    histogram_steps,
    layer_curves,
)
from bncvl.testing.runs import write_run  # noqa: E402


def test_the_accuracy_table_has_a_row_per_run_and_says_what_a_run_lacks(tmp_path: Path) -> None:
    done = load_run(write_run(tmp_path, "done", final_bncvl_accuracy=0.91))
    stopped = load_run(write_run(tmp_path, "stopped", complete=False, seed=3))
    table = accuracy_table([done, stopped]).set_index("run")
    assert table.loc["done", "complete"] and not table.loc["stopped", "complete"]
    assert table.loc["done", "accuracy_gap"] == pytest.approx(0.97 - 0.91)
    assert pd.isna(table.loc["stopped", "accuracy_gap"]), "an unfinished run has no final figures"
    assert (table.loc["stopped", "dataset"], table.loc["stopped", "seed"]) == ("digits", 3)


def test_accuracy_curves_hold_the_evaluated_steps_of_both_networks(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path, "r", steps=30, eval_every=10))
    curves = accuracy_curves([run])
    assert set(curves["curve"]) == {"r bncvl", "r float"}
    assert sorted(curves.loc[curves["model"] == "bncvl", "step"]) == [0, 10, 20, 29]
    assert curves["test_accuracy"].notna().all()
    (tmp_path / "untested").mkdir()
    (tmp_path / "untested" / METRICS).write_text(json.dumps({"step": 0, "model": "bncvl", "train_loss": 1.0}) + "\n")
    assert accuracy_curves([load_run(tmp_path / "untested")]).empty
    assert accuracy_curves([]).empty


def test_layer_curves_count_dead_filters_as_the_all_zero_ones(tmp_path: Path) -> None:
    runs = [load_run(write_run(tmp_path, name, steps=10)) for name in ("a", "b")]
    curves = layer_curves(runs)
    assert set(curves["run"]) == {"a", "b"} and set(curves["layer"].astype(str)) == {"conv1", "conv2"}
    assert (curves["dead_filters"] == curves["all_zero_filters"]).all()
    assert curves.loc[(curves["layer"] == "conv2") & (curves["step"] == 9), "dead_filters"].tolist() == [1, 1]
    assert layer_curves([]).empty


def test_a_histogram_is_read_at_the_steps_it_was_recorded(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path, "r", steps=30, eval_every=10))
    assert histogram_steps(run, "latent_weight", "conv2") == [0, 10, 20, 29]
    weights = histogram(run, "latent_weight", "conv2", 10)
    assert len(weights.edges) == len(weights.counts) + 1 and sum(weights.counts) == 500
    assert weights.threshold == pytest.approx(0.01 + 0.002 * 10)
    assert histogram(run, "margin", "conv2", 10).threshold is None, "a margin has no threshold"
    assert histogram_steps(run, "latent_weight", "conv9") == []
    with pytest.raises(KeyError, match="'r' recorded no latent_weight histogram of conv1 at step 5"):
        histogram(run, "latent_weight", "conv1", 5)
    (run.path / HISTOGRAMS).unlink()
    assert histogram_steps(load_run(run.path), "latent_weight", "conv1") == []
