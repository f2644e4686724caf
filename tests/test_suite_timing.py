"""The asv suite's timing module (``benchmarks/timing.py``): its clocks and loops, on fake clocks where they time.

The CLI's timer has its own tests (``test_timing.py``).
"""

from __future__ import annotations

import ast
import importlib
import itertools
import pkgutil
import time
from pathlib import Path

import pytest
import torch

from benchmarks import timing
from benchmarks.timing import DeviceClock, PairedRatios, clock_for, paired_ratios, run_for, seconds_per_call

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks"


class FakeTime:
    """A wall clock and a CPU clock that move only when the fake work says so."""

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
def fake_time() -> FakeTime:
    return FakeTime()


def _paired(fake: FakeTime, run, reference, **options) -> PairedRatios:
    return paired_ratios(run, reference, wall=fake.perf_counter, cpu=fake.process_time, **options)


# --- which clock ------------------------------------------------------------------------------------


def test_the_cpu_is_timed_on_cpu_time_and_cuda_on_wall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clock_for("cpu") is time.process_time
    assert clock_for(torch.device("cpu")) is time.process_time
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert clock_for("cuda") is time.perf_counter
    assert clock_for("cuda:1") is time.perf_counter


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_a_clock_for_cuda_without_a_gpu_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"no clock for device 'cuda': torch.cuda.is_available\(\) is False"):
        clock_for("cuda")


@pytest.mark.parametrize("device", ["mps", "gpu", ""])
def test_a_clock_for_an_unknown_device_is_an_error(device: str) -> None:
    with pytest.raises(ValueError, match=rf"no clock for device {device!r}; expected 'cpu' or 'cuda\[:N\]'"):
        clock_for(device)


def test_a_device_clock_reads_the_clock_of_the_device_selected() -> None:
    clock = DeviceClock()
    assert clock.read is time.perf_counter  # before any setup: asv's own default, the wall clock
    clock.select("cpu")
    assert clock.read is time.process_time
    start_cpu, start_wall = clock(), time.perf_counter()
    time.sleep(0.05)  # sleeping uses no CPU: the CPU clock barely moves
    assert clock() - start_cpu < 0.02
    assert time.perf_counter() - start_wall >= 0.05
    with pytest.raises(ValueError, match="no clock for device 'tpu'"):
        clock.select("tpu")
    assert clock.read is time.process_time  # a refused selection leaves the clock as it was


# --- the paired-block loop of the relative timings ----------------------------------------------------


def test_a_wait_shows_on_the_wall_clock_only(fake_time: FakeTime) -> None:
    ratios = _paired(fake_time, lambda: fake_time.work(1e-4, wait=2e-4), lambda: fake_time.work(1e-4))
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

    ratios = _paired(fake_time, run, reference, measure_seconds=0.01, warmup_seconds=0.0, min_pairs=6)
    assert ratios.median("cpu") == pytest.approx(2.0)
    groups = [(label, len(list(same))) for label, same in itertools.groupby(calls)]
    # Warm-up alternates single calls; then one block of each to size the blocks; then the pairs:
    # run, ref | ref, run | run, ref | ... so that, merged, the blocks of one kind come two at a time.
    run_block, ref_block = next(size for label, size in groups if label == "run" and size > 1), 0
    ref_block = next(size for label, size in groups[groups.index(("run", run_block)) :] if label == "ref")
    tail = groups[-6:-1]
    assert all(size == 2 * (run_block if label == "run" else ref_block) for label, size in tail), (groups, tail)


def test_the_ratio_is_the_median_of_the_pairs_each_of_its_own_blocks(fake_time: FakeTime) -> None:
    # Binary fractions, so that the fake clock's sums are exact: a block of 2**-10 s holds 4 calls of the layer
    # (2**-12 s) and 8 of the reference (2**-13 s). The layer's second measured block is twice as slow.
    layer = iter([2**-12] * (3 + 4) + [2**-12] * 4 + [2**-11] * 4 + [2**-12] * 4)

    def run() -> None:
        fake_time.work(next(layer))

    def reference() -> None:
        fake_time.work(2**-13)

    ratios = _paired(
        fake_time, run, reference, block_seconds=2**-10, warmup_seconds=0.0, measure_seconds=0.0, min_pairs=3
    )
    assert ratios.wall == ratios.cpu == [2.0, 4.0, 2.0]
    assert ratios.median("wall") == 2.0  # not the ratio of the totals (2.67): one slow block moves it not at all


def test_at_least_min_pairs_however_slow(fake_time: FakeTime) -> None:
    ratios = _paired(fake_time, lambda: fake_time.work(0.5), lambda: fake_time.work(0.25), min_pairs=20)
    assert len(ratios.wall) == 20 and ratios.median("wall") == pytest.approx(2.0)


def test_unknown_clock_is_an_error() -> None:
    ratios = PairedRatios([1.0], [1.0])
    with pytest.raises(ValueError, match=r"clock must be one of \('wall', 'cpu'\); got 'gpu'"):
        ratios.median("gpu")
    with pytest.raises(ValueError, match="got 2 and 1"):
        PairedRatios([1.0, 2.0], [1.0])


# --- Efficiency's calibrated samples, FirstCall's one call, GPU's sampled loop -------------------------


@pytest.mark.parametrize(
    ("seconds", "tries"),
    # Each try multiplies the calls by how far it fell short of 1 ms, by 2 to 10. A call of 2**-12 s (0.24 ms)
    # is short by 4.1x: x5, 5 calls (1.2 ms). A call of 2**-15 s: x10 (0.31 ms, short by 3.3x), x4: 40 calls.
    # A call of 2**-9 s (2 ms) is a sample alone.
    [(2**-12, [1, 5]), (2**-15, [1, 10, 40]), (2**-9, [1])],
)
def test_samples_hold_the_calls_that_pass_a_millisecond(fake_time: FakeTime, seconds: float, tries: list[int]) -> None:
    made: list[int] = []

    def run() -> None:
        made.append(1)
        fake_time.work(seconds)

    calls = tries[-1]
    assert timing.calls_per_sample(run, "cpu", wall=fake_time.perf_counter) == calls
    assert len(made) == sum(tries)
    made.clear()
    assert seconds_per_call(run, "cpu", 10, wall=fake_time.perf_counter) == pytest.approx(seconds)
    assert len(made) == sum(tries) + 10 * calls  # the calibration's tries, then 10 samples of `calls` calls each


def test_seconds_per_call_is_the_median_sample(fake_time: FakeTime) -> None:
    durations = iter([1e-3, 1e-3, 5e-3, 1e-3, 1e-3, 9e-3])  # calibration: 1 call of 1 ms; then 5 samples of 1 call

    def run() -> None:
        fake_time.work(next(durations))

    assert seconds_per_call(run, "cpu", 5, wall=fake_time.perf_counter) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="samples must be >= 1; got 0"):
        seconds_per_call(run, "cpu", 0)


def test_wall_seconds_times_the_calls_given(fake_time: FakeTime) -> None:
    assert timing.wall_seconds(lambda: fake_time.work(0.1, wait=0.2), "cpu", wall=fake_time.perf_counter) == (
        pytest.approx(0.3)
    )
    assert timing.wall_seconds(lambda: fake_time.work(0.1), "cpu", 3, wall=fake_time.perf_counter) == (
        pytest.approx(0.3)
    )


def test_run_for_calls_in_batches_until_the_time_is_up(fake_time: FakeTime) -> None:
    # A batch of 10 calls of 2**-7 s takes 0.078 s: 1 s is passed after 13 batches.
    assert run_for(lambda: fake_time.work(2**-7), "cpu", 1.0, wall=fake_time.perf_counter) == 130
    assert run_for(lambda: fake_time.work(0.5), "cpu", 1.0, wall=fake_time.perf_counter) == 10  # one whole batch
    assert run_for(lambda: fake_time.work(0.5), "cpu", 0.0, wall=fake_time.perf_counter) == 0


def test_loops_synchronise_the_device_they_are_given(monkeypatch: pytest.MonkeyPatch, fake_time: FakeTime) -> None:
    synced: list[str] = []
    monkeypatch.setattr(timing, "synchronize", lambda device: synced.append(str(device)))
    timing.wall_seconds(lambda: fake_time.work(0.1), "cuda:1", 3, wall=fake_time.perf_counter)
    assert synced == ["cuda:1", "cuda:1"]  # before and after: the time is the device's work
    synced.clear()
    run_for(lambda: fake_time.work(2**-7), "cuda:1", 1.0, wall=fake_time.perf_counter)
    assert synced == ["cuda:1"] * 13  # after each batch of 10
    synced.clear()
    timing.warm_up([lambda: None], torch.device("cuda"), calls=3)
    assert synced == ["cuda"] * 3


# --- one timing module: the suite times nothing with the bncvl under test ------------------------------


def test_the_suite_takes_no_timing_from_the_bncvl_under_test() -> None:
    """asv times every commit with the suite's loops: a timer of the commit's would change the history with it."""
    borrowed = {}
    for info in pkgutil.iter_modules([str(SUITE)]):
        if info.name in ("forkserver",):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) in ("bncvl.measure.timer", "bncvl.timing") and name in (
                "Timer",
                "Measurement",
                "synchronize",
            ):
                borrowed[f"{info.name}.{name}"] = value
    assert borrowed == {}


def test_the_timing_module_imports_no_bncvl_and_no_other_suite_module() -> None:
    tree = ast.parse((SUITE / "timing.py").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported and not {name for name in imported if name.split(".")[0] in ("bncvl", "benchmarks")}
