"""Relative timing: the paired-block loop on a fake clock, and the asv benchmarks through asv's runner."""

from __future__ import annotations

import itertools
import math
import statistics
from pathlib import Path

import pytest
import torch
from asv_runner.discovery import disc_benchmarks

from benchmarks import bench_relative
from benchmarks.bench_relative import RelativeCpuTime, RelativeWallTime, bare_conv, paired_ratios
from bncvl.track.decision import RELATIVE_UNIT

SUITE = Path(__file__).resolve().parents[1] / "benchmarks"
TINY_CPU = ("tiny", "cpu", "float32")


class FakeTime:
    """Stands in for the ``time`` module: the clocks move only when the fake work says so."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def perf_counter(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu

    def work(self, cpu: float, wait: float = 0.0) -> None:
        self.cpu += cpu
        self.wall += cpu + wait


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(bench_relative, "time", fake)
    return fake


def test_a_wait_shows_on_the_wall_clock_only(fake_time: FakeTime) -> None:
    ratios = paired_ratios(lambda: fake_time.work(1e-4, wait=2e-4), lambda: fake_time.work(1e-4))
    assert ratios.median("wall") == pytest.approx(3.0)
    assert ratios.median("cpu") == pytest.approx(1.0)
    # 1 s of measuring, each pair 2 blocks of about 1 ms: several hundred pairs.
    assert 300 < len(ratios.wall) < 600


def test_the_order_alternates_within_pairs_so_a_drift_cancels(fake_time: FakeTime) -> None:
    calls: list[str] = []

    def run() -> None:
        calls.append("run")
        fake_time.work(2e-4)

    def reference() -> None:
        calls.append("ref")
        fake_time.work(1e-4)

    ratios = paired_ratios(run, reference, measure_seconds=0.01, warmup_seconds=0.0, min_pairs=6)
    assert ratios.median("cpu") == pytest.approx(2.0)
    groups = [(label, len(list(same))) for label, same in itertools.groupby(calls)]
    # Warm-up alternates single calls; then one block of each to size the blocks; then the pairs:
    # run, ref | ref, run | run, ref | ... so that, merged, the blocks of one kind come two at a time.
    run_block, ref_block = next(size for label, size in groups if label == "run" and size > 1), 0
    ref_block = next(size for label, size in groups[groups.index(("run", run_block)) :] if label == "ref")
    tail = groups[-6:-1]
    assert all(size == 2 * (run_block if label == "run" else ref_block) for label, size in tail), (groups, tail)


def test_at_least_min_pairs_however_slow(fake_time: FakeTime) -> None:
    ratios = paired_ratios(lambda: fake_time.work(0.5), lambda: fake_time.work(0.25), min_pairs=20)
    assert len(ratios.wall) == 20 and ratios.median("wall") == pytest.approx(2.0)


def test_unknown_clock_is_an_error() -> None:
    ratios = bench_relative.PairedRatios([1.0], [1.0])
    with pytest.raises(ValueError, match=r"clock must be one of \('wall', 'cpu'\); got 'gpu'"):
        ratios.median("gpu")
    with pytest.raises(ValueError, match="got 2 and 1"):
        bench_relative.PairedRatios([1.0, 2.0], [1.0])


def test_references_are_the_bare_convolution_of_the_shape() -> None:
    device, dtype = torch.device("cpu"), torch.float32
    assert bare_conv("tiny", "eval", device, dtype)().shape == (2, 8, 16, 16)
    assert bare_conv("tiny", "train", device, dtype)() is None  # forward and backward
    with pytest.raises(ValueError, match="mode must be 'eval' or 'train'; got 'infer'"):
        bare_conv("tiny", "infer", device, dtype)


def test_discovered_with_the_time_ratio_unit() -> None:
    found = {b.name: b for b in disc_benchmarks(str(SUITE))}
    for cls in ("RelativeWallTime", "RelativeCpuTime"):
        for method in ("track_eval_forward", "track_train_step"):
            assert found[f"bench_relative.{cls}.{method}"].unit == RELATIVE_UNIT


@pytest.mark.slow
def test_one_process_gives_one_sample_per_method_on_tiny_cpu() -> None:
    values = {}
    for cls in (RelativeWallTime, RelativeCpuTime):
        bench = cls()
        bench.setup("reference", *TINY_CPU)
        try:
            for method in ("track_eval_forward", "track_train_step"):
                result = getattr(bench, method)("reference", *TINY_CPU)
                assert result["number"] == 1 and len(result["samples"]) == 1
                values[cls.clock, method] = result["samples"][0]
        finally:
            bench.teardown("reference", *TINY_CPU)
    # The layer binarises, convolves, normalises and activates: more than the bare convolution.
    assert all(value > 1.0 and math.isfinite(value) for value in values.values()), values
    for method in ("track_eval_forward", "track_train_step"):
        wall, cpu = values["wall", method], values["cpu", method]
        assert abs(wall / cpu - 1) < 0.5, "nothing in the layer waits: both clocks agree roughly"
    assert statistics.median(values.values()) < 20


def test_cpu_time_skips_on_cuda_with_the_reason() -> None:
    with pytest.raises(NotImplementedError, match="CPU time does not measure work on the GPU"):
        RelativeCpuTime().setup("reference", "tiny", "cuda", "float32")
