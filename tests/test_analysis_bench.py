"""The quantization track_* benchmarks (benchmarks/bench_quantization.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from asv_runner.discovery import disc_benchmarks, get_benchmark_from_name

from benchmarks import bench_quantization
from bncvl.track.directions import Direction, direction

SUITE = Path(__file__).resolve().parent.parent / "benchmarks"
UNITS = {
    "track_test_error": "%",
    "track_accuracy_gap": "%",
    "track_final_flip_ratio": "fraction",
    "track_ones_fraction": "fraction",
    "track_dead_filters": "filters",
}


def test_asv_discovers_every_track_with_its_unit():
    found = {b.name: b for b in disc_benchmarks(str(SUITE)) if b.name.startswith("bench_quantization.")}
    assert {name.rsplit(".", 1)[-1]: b.unit for name, b in found.items()} == UNITS


def test_tracks_are_lower_is_better_or_informative():
    # Error, gap and dead filters are regressions when they grow; flips and ones only describe the run.
    verdicts = {
        name: direction(f"bench_quantization.QuantizationTraining.{name}", unit) for name, unit in UNITS.items()
    }
    assert verdicts == {
        "track_test_error": Direction.LOWER_IS_BETTER,
        "track_accuracy_gap": Direction.LOWER_IS_BETTER,
        "track_final_flip_ratio": Direction.INFORMATIVE,
        "track_ones_fraction": Direction.INFORMATIVE,
        "track_dead_filters": Direction.LOWER_IS_BETTER,
    }


def test_tracks_read_the_seeded_training_run(monkeypatch):
    tiny = {"epochs": 1, "batch_size": 256, "channels": (4, 4), "seed": 0}
    monkeypatch.setattr(bench_quantization, "TRAINING", tiny)
    bench = bench_quantization.QuantizationTraining()
    cache = bench.setup_cache()
    bench.setup(cache)
    summary = cache["summary"]
    error = bench.track_test_error(cache)
    assert error == pytest.approx(100 * (1 - summary["bncvl_test_accuracy"]))
    assert 0 <= error < 90  # better than chance after one epoch
    assert bench.track_accuracy_gap(cache) == pytest.approx(
        100 * (summary["float_test_accuracy"] - summary["bncvl_test_accuracy"])
    )
    ratios = summary["final_flip_ratio"]
    assert bench.track_final_flip_ratio(cache) == pytest.approx((ratios["conv1"] + ratios["conv2"]) / 2)
    assert 0 < bench.track_ones_fraction(cache) < 1
    assert bench.track_dead_filters(cache) == summary["dead_filters"]["conv1"] + summary["dead_filters"]["conv2"]
    again = bench.setup_cache()["summary"]
    assert {**again, "wall_time_s": None} == {**summary, "wall_time_s": None}  # seeded: same figures every run


def test_a_commit_without_bncvl_analysis_is_skipped_by_asv(monkeypatch):
    monkeypatch.setitem(sys.modules, "bncvl.analysis", None)  # makes `import bncvl.analysis` raise ImportError
    # Through asv's own runner: a setup_cache that returned None would make asv call setup without it.
    benchmark = get_benchmark_from_name(str(SUITE), "bench_quantization.QuantizationTraining.track_test_error")
    benchmark.set_cache(benchmark.do_setup_cache())
    assert benchmark.do_setup() is True  # skipped (NotImplementedError in setup)
