"""Relative timing: the references and the asv benchmarks through asv's runner.

The paired-block loop itself (``benchmarks.timing.paired_ratios``) is tested on a fake clock in test_suite_timing.py.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest
import torch
from asv_runner.discovery import disc_benchmarks

from benchmarks.bench_relative import RelativeCpuTime, RelativeWallTime, bare_conv
from bncvl.track.decision import RELATIVE_UNIT

SUITE = Path(__file__).resolve().parents[1] / "benchmarks"
TINY_CPU = ("tiny", "cpu", "float32")


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
