"""The training loop and the run directory it writes (the dashboard's contract)."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from bncvl.analysis import RunWriter, TrainConfig, load_dataset, load_snapshot, read_json, read_jsonl, run_training
from bncvl.analysis.model import AnalysisNet, ObservedBNCVL
from bncvl.analysis.rundir import snapshot_name, to_json_value
from bncvl.analysis.train import checkpoint_steps
from bncvl.layers.reference import BNCVL

SMALL = TrainConfig(epochs=2, batch_size=128, channels=(4, 4), checkpoints=3, histogram_bins=8)
LAYER_KEYS = {
    "step", "model", "layer", "flip_ratio", "bias_flip_ratio", "cumulative_flips", "hamming_to_initial",
    "oscillation_frequency_mean", "oscillating_fraction", "ones_fraction", "ones_fraction_per_channel",
    "all_zero_filters", "all_one_filters", "threshold", "threshold_drift", "latent_norm", "flip_prone_fraction",
    "dead_unit_fraction", "prenorm_std_min", "prenorm_std_median", "prenorm_std_max", "epsilon_regime_samples",
    "nonfinite_count", "ste_grad_norm",
}  # fmt: skip


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def small_run(digits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "small"
    with RunWriter(run_dir) as writer:
        result = run_training(SMALL, digits, writer)
    return run_dir, result


def test_run_directory_holds_every_file(small_run):
    run_dir, result = small_run
    names = {p.name for p in run_dir.iterdir()}
    assert names == {
        "config.json",
        "metrics.jsonl",
        "histograms.jsonl",
        "snapshots",
        "model_summary.json",
        "summary.json",
    }
    config = read_json(run_dir / "config.json")
    assert config["channels"] == [4, 4]
    assert config["steps"] == result.steps == 2 * math.ceil(1437 / 128)
    assert config["torch_version"] == torch.__version__
    assert {"dataset", "seed", "epochs", "batch_size", "lr", "optimizer", "kernel_size", "bncvl_version"} <= set(config)
    assert [r["name"] for r in read_json(run_dir / "model_summary.json")["layers"]] == ["conv1", "conv2", "head"]


def test_metrics_rows_follow_the_contract(small_run):
    run_dir, result = small_run
    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert rows == json.loads(json.dumps(to_json_value(list(result.metrics))))
    steps = result.steps
    layer_rows = [r for r in rows if r["layer"] is not None]
    assert {(r["step"], r["layer"]) for r in layer_rows} == {
        (s, n) for s in range(steps + 1) for n in ("conv1", "conv2")
    }
    for row in layer_rows:
        assert set(row) == LAYER_KEYS
        assert row["model"] == "bncvl"
        assert len(row["ones_fraction_per_channel"]) == 4
        assert (row["flip_ratio"] is None) == (row["step"] == 0)  # undefined at the first step, never 0
        assert row["cumulative_flips"] >= row["hamming_to_initial"]
        assert row["nonfinite_count"] == 0
        assert row["ste_grad_norm"] > 0
    model_rows = [r for r in rows if r["layer"] is None]
    assert {(r["step"], r["model"]) for r in model_rows} == {
        (s, m) for s in range(steps + 1) for m in ("bncvl", "float")
    }
    evaluated = sorted({r["step"] for r in model_rows if "test_accuracy" in r})
    assert evaluated == [0, result.steps_per_epoch, steps]


def test_flip_counts_add_up_across_rows(small_run):
    _, result = small_run
    conv2 = [r for r in result.metrics if r["layer"] == "conv2"]
    numel = 4 * 4 * 3 * 3
    for previous, current in itertools.pairwise(conv2):
        flips = current["cumulative_flips"] - previous["cumulative_flips"]
        assert current["flip_ratio"] == pytest.approx(flips / numel)
    assert conv2[-1]["cumulative_flips"] > 0  # lr 1e-2 on 144 weights flips some within 24 steps


def test_histograms_and_snapshots_at_checkpoints(small_run):
    run_dir, result = small_run
    checkpoints = checkpoint_steps(result.steps, 3)
    histograms = read_jsonl(run_dir / "histograms.jsonl")
    assert {(h["step"], h["layer"], h["kind"]) for h in histograms} == {
        (s, layer, kind) for s in checkpoints for layer in ("conv1", "conv2") for kind in ("latent_weight", "margin")
    }
    for h in histograms:
        assert len(h["edges"]) == len(h["counts"]) + 1 == 9
        assert (h["threshold"] is None) == (h["kind"] == "margin")
    assert sum(histograms[0]["counts"]) == 4 * 1 * 9  # conv1's latent weights
    assert sorted(p.name for p in (run_dir / "snapshots").iterdir()) == [snapshot_name(s) for s in checkpoints]
    rows = {(r["step"], r["layer"]): r for r in result.metrics if r["layer"]}
    for step in checkpoints:
        path = run_dir / "snapshots" / snapshot_name(step)
        with np.load(path, allow_pickle=False) as raw:
            assert raw["conv2.weight"].dtype == np.uint8
            assert raw["conv2.weight"].size == math.ceil(144 / 8)
            assert raw["conv2.weight.shape"].tolist() == [4, 4, 3, 3]
            assert int(raw["step"]) == step
        bits = load_snapshot(path)["conv2.weight"]
        assert bits.reshape(4, -1).mean(dim=1).tolist() == pytest.approx(
            rows[step, "conv2"]["ones_fraction_per_channel"]
        )


def test_summary_is_complete_and_matches_rows(small_run):
    run_dir, result = small_run
    summary = read_json(run_dir / "summary.json")
    assert summary["complete"] is True
    final = [r for r in result.metrics if r["layer"] is None and r["step"] == result.steps]
    accuracy = {r["model"]: r["test_accuracy"] for r in final}
    assert summary["bncvl_test_accuracy"] == accuracy["bncvl"]
    assert summary["accuracy_gap"] == pytest.approx(accuracy["float"] - accuracy["bncvl"])
    last_epoch = [
        r["flip_ratio"]
        for r in result.metrics
        if r["layer"] == "conv1" and r["step"] > result.steps - result.steps_per_epoch
    ]
    assert summary["final_flip_ratio"]["conv1"] == pytest.approx(sum(last_epoch) / len(last_epoch))
    assert summary["steps"] == result.steps
    assert summary["dead_filters_total"] == sum(summary["dead_filters"].values())


def test_same_config_gives_the_same_numbers(digits, small_run):
    _, first = small_run
    again = run_training(SMALL, digits)
    assert again.metrics == first.metrics
    other = run_training(TrainConfig(**{**SMALL.to_dict(), "channels": (4, 4), "seed": 1}), digits)
    assert other.metrics != first.metrics


def test_interrupted_run_stays_readable(digits, tmp_path):
    def interrupt(step: int) -> None:
        if step == 5:
            raise KeyboardInterrupt

    run_dir = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt), RunWriter(run_dir) as writer:
        run_training(SMALL, digits, writer, on_step=interrupt)
    rows = read_jsonl(run_dir / "metrics.jsonl")
    assert max(r["step"] for r in rows) == 5
    assert len(rows) == 6 * 4  # two model rows and two layer rows per step
    assert not (run_dir / "summary.json").exists()
    assert (run_dir / "snapshots" / snapshot_name(0)).exists()


def test_read_jsonl_skips_a_truncated_last_line_only(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"step": 0}\n{"step": 1}\n{"step": 2, "flip')
    assert read_jsonl(path) == [{"step": 0}, {"step": 1}]
    path.write_text('{"step": 0}\n{"ste\n{"step": 2}\n')
    with pytest.raises(ValueError, match=r"m\.jsonl:2: invalid JSON"):
        read_jsonl(path)


def test_json_values_never_hold_nan():
    value = to_json_value({"a": float("nan"), "b": [1.0, float("inf")], "c": torch.tensor([0.5]), "d": np.float32(2)})
    assert value == {"a": None, "b": [1.0, None], "c": [0.5], "d": 2.0}


def test_run_writer_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "metrics.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError, match="already exists and is not empty"):
        RunWriter(tmp_path / "taken")


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="epochs must be a positive int; got 0"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="lamb").validate()
    with pytest.raises(ValueError, match="lr_min must be in"):
        TrainConfig(lr=1e-3, lr_min=1e-2).validate()


def test_checkpoint_steps_include_both_ends():
    assert checkpoint_steps(100, 5) == [0, 25, 50, 75, 100]
    assert checkpoint_steps(2, 5) == [0, 1, 2]


def test_observed_layer_computes_what_bncvl_computes():
    torch.manual_seed(0)
    reference = BNCVL(3, 5, 3)
    observed = ObservedBNCVL(3, 5, 3)
    observed.load_state_dict(reference.state_dict())
    x = torch.randn(2, 3, 6, 6)
    y_ref, y_obs = reference(x), observed(x)
    assert torch.equal(y_ref, y_obs)
    y_ref.sum().backward()
    y_obs.sum().backward()
    assert torch.equal(reference.weight.grad, observed.weight.grad)
    assert observed.last_prenorm.shape == (2, 5, 6, 6)
    assert torch.equal(observed.last_output, y_obs.detach())


def test_analysis_net_names_and_shapes():
    net = AnalysisNet((1, 8, 8), 10, channels=(6, 7))
    assert list(net.layers) == ["conv1", "conv2"]
    assert all(isinstance(layer, BNCVL) for layer in net.layers.values())
    assert net(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    twin = AnalysisNet((1, 8, 8), 10, channels=(6, 7), binary=False)
    assert not any(isinstance(module, BNCVL) for module in twin.modules())
    with pytest.raises(ValueError, match="positive channels"):
        AnalysisNet((1, 8, 8), 10, channels=())


@pytest.mark.slow
def test_default_run_reaches_the_accuracy_goals(digits):
    result = run_training(TrainConfig(), digits)
    summary = result.summary()
    assert summary["bncvl_test_accuracy"] >= 0.90
    assert summary["float_test_accuracy"] >= 0.95
