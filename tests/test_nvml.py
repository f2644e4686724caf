"""NVML sampling without a GPU: a stand-in ``pynvml`` module scripted with known readings."""

from __future__ import annotations

import sys
import threading
import time
from types import SimpleNamespace

import pytest

from bncvl.measure.nvml import (
    ENERGY_COUNTER_MODULUS,
    NvmlReading,
    NvmlSample,
    NvmlSampler,
    NvmlUnavailableError,
    energy_delta_mj,
    load_nvml,
)


class FakeNvml:
    """The slice of ``pynvml`` the sampler uses, replaying scripted readings.

    ``polls`` are (gpu %, memory %, power mW, SM clock MHz) returned in turn,
    the last one repeated; ``energy_mj`` are the total-energy counter's
    readings at start and end.
    """

    NVML_CLOCK_SM = 1

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    def __init__(self, polls: list[tuple[int, int, int, int]], energy_mj: list[int] | None) -> None:
        self.polls = polls
        self.energy_mj = energy_mj
        self.calls = 0
        self.initialised = False
        self.shutdowns = 0
        self.polled = threading.Event()

    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: str) -> int:
        if self.energy_mj is None:
            raise self.NVMLError_NotSupported("Not Supported")
        return self.energy_mj.pop(0)

    def _current(self) -> tuple[int, int, int, int]:
        return self.polls[min(self.calls, len(self.polls) - 1)]

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> SimpleNamespace:
        gpu, memory, _, _ = self._current()
        return SimpleNamespace(gpu=gpu, memory=memory)

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return self._current()[2]

    def nvmlDeviceGetClockInfo(self, handle: str, clock: int) -> int:
        assert clock == self.NVML_CLOCK_SM
        value = self._current()[3]
        self.calls += 1
        if self.calls >= len(self.polls):
            self.polled.set()
        return value


def sample_until_scripted_polls_done(fake: FakeNvml) -> NvmlReading:
    with NvmlSampler(device_index=0, period_s=0.001, nvml=fake) as sampler:
        assert fake.polled.wait(5), "the sampler thread never polled"
    assert sampler.reading is not None
    return sampler.reading


def test_means_are_over_every_poll() -> None:
    polls = [(100, 40, 300_000, 1980), (50, 20, 200_000, 1500)]
    fake = FakeNvml(polls, energy_mj=[10_000, 16_000])
    reading = sample_until_scripted_polls_done(fake)
    samples = reading.samples
    assert len(samples) >= 2
    # the first poll is the scripted first reading, every later one the second
    assert samples[0] == NvmlSample(samples[0].time_s, 100.0, 40.0, 300.0, 1980.0)
    assert all(s.gpu_utilization_pct == 50.0 for s in samples[1:])
    n = len(samples)
    assert reading.gpu_utilization_pct == pytest.approx((100 + 50 * (n - 1)) / n)
    assert reading.memory_utilization_pct == pytest.approx((40 + 20 * (n - 1)) / n)
    assert reading.power_w == pytest.approx((300 + 200 * (n - 1)) / n)
    assert reading.sm_clock_mhz == pytest.approx((1980 + 1500 * (n - 1)) / n)
    assert reading.energy_j == pytest.approx(6.0)
    assert fake.initialised
    assert fake.shutdowns == 1


def test_statistics_of_a_fixed_reading() -> None:
    reading = NvmlReading(
        (NvmlSample(0.0, 90.0, 30.0, 250.0, 1800.0), NvmlSample(0.5, 70.0, 10.0, 150.0, 1600.0)), 1.0, 2.5
    )
    assert reading.gpu_utilization_pct == 80.0
    assert reading.memory_utilization_pct == 20.0
    assert reading.power_w == 200.0
    assert reading.sm_clock_mhz == 1700.0


def test_energy_counter_wrap() -> None:
    assert energy_delta_mj(1_000, 4_500) == 3_500
    assert energy_delta_mj(ENERGY_COUNTER_MODULUS - 500, 1_500) == 2_000
    assert energy_delta_mj(7, 7) == 0
    fake = FakeNvml([(10, 10, 100_000, 1000)], energy_mj=[ENERGY_COUNTER_MODULUS - 250, 750])
    assert sample_until_scripted_polls_done(fake).energy_j == pytest.approx(1.0)


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, ENERGY_COUNTER_MODULUS)])
def test_energy_readings_out_of_counter_range_are_rejected(start: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"must be in \[0, 2\*\*64\)"):
        energy_delta_mj(start, end)


def test_gpu_without_energy_counter_reports_none() -> None:
    reading = sample_until_scripted_polls_done(FakeNvml([(10, 10, 100_000, 1000)], energy_mj=None))
    assert reading.energy_j is None
    assert reading.power_w == 100.0


def test_missing_pynvml_names_the_gpu_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    with pytest.raises(NvmlUnavailableError, match=r"pip install 'bncvl\[gpu\]'"):
        load_nvml()
    with pytest.raises(NvmlUnavailableError, match="nvidia-ml-py"), NvmlSampler():
        pass


def test_gpu_benchmarks_skip_when_pynvml_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_gpu

    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setattr(bench_gpu, "check_applicable", lambda *args: None)  # as on a GPU host
    cache = bench_gpu.GPU().setup_cache()
    with pytest.raises(NotImplementedError, match=r"bncvl\[gpu\]"):
        bench_gpu.GPU().setup(cache, "reference", "small", "cuda", "float32")


def test_nvml_that_fails_to_start_is_unavailable() -> None:
    fake = FakeNvml([(1, 1, 1, 1)], energy_mj=[0, 0])

    def broken_init() -> None:
        raise fake.NVMLError("Driver Not Loaded")

    fake.nvmlInit = broken_init
    with pytest.raises(NvmlUnavailableError, match="Driver Not Loaded"), NvmlSampler(nvml=fake):
        pass


def test_polling_error_surfaces_in_the_caller() -> None:
    fake = FakeNvml([(1, 1, 1, 1)], energy_mj=[0, 0])

    def broken_power(handle: str) -> int:
        raise fake.NVMLError("GPU is lost")

    fake.nvmlDeviceGetPowerUsage = broken_power
    with pytest.raises(NvmlUnavailableError, match="GPU is lost"), NvmlSampler(period_s=0.001, nvml=fake):
        time.sleep(0.05)
    assert fake.shutdowns == 1


def test_a_reading_needs_samples() -> None:
    with pytest.raises(ValueError, match="no NVML sample"):
        NvmlReading((), 0.1, None)


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="period_s must be > 0; got 0"):
        NvmlSampler(period_s=0)
