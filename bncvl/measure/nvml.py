"""GPU utilisation, memory-bandwidth utilisation, power, clock and energy from NVML.

A :class:`NvmlSampler` polls NVML from a background thread while the code
under measurement runs, and reads the device's total-energy counter at the
start and the end. NVML refreshes utilisation every 1/6 s to 1 s depending
on the GPU, so a measured loop should last at least
:data:`MIN_SAMPLED_SECONDS`.

``pynvml`` comes from the ``gpu`` extra (``pip install 'bncvl[gpu]'``); it is
imported only when a sampler starts.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from types import ModuleType, TracebackType

__all__ = [
    "ENERGY_COUNTER_MODULUS",
    "MIN_SAMPLED_SECONDS",
    "NvmlReading",
    "NvmlSample",
    "NvmlSampler",
    "NvmlUnavailableError",
    "energy_delta_mj",
    "load_nvml",
]

MIN_SAMPLED_SECONDS = 2.0
"""Shortest loop worth sampling: several NVML refresh periods (1/6 s to 1 s)."""

DEFAULT_PERIOD_S = 0.05
"""Polling period of the sampler thread; shorter than NVML's own refresh."""

ENERGY_COUNTER_MODULUS = 2**64
"""``nvmlDeviceGetTotalEnergyConsumption`` is an unsigned 64-bit count of millijoules."""


class NvmlUnavailableError(RuntimeError):
    """NVML cannot be used here: the package, the library or the device is missing."""


def load_nvml() -> ModuleType:
    """Import ``pynvml``; :class:`NvmlUnavailableError` naming the ``gpu`` extra if it is absent."""
    try:
        import pynvml
    except ImportError as error:
        raise NvmlUnavailableError("NVML sampling needs the nvidia-ml-py package: pip install 'bncvl[gpu]'") from error
    return pynvml


def energy_delta_mj(start_mj: int, end_mj: int) -> int:
    """Millijoules between two readings of the total-energy counter, across at most one wrap.

    Example:
        >>> energy_delta_mj(1_000, 4_500)
        3500
        >>> energy_delta_mj(2**64 - 500, 1_500)  # the counter wrapped
        2000
    """
    if not (0 <= start_mj < ENERGY_COUNTER_MODULUS and 0 <= end_mj < ENERGY_COUNTER_MODULUS):
        raise ValueError(f"energy counter readings must be in [0, 2**64); got {start_mj} and {end_mj}")
    return (end_mj - start_mj) % ENERGY_COUNTER_MODULUS


@dataclass(frozen=True)
class NvmlSample:
    """One poll of the device."""

    time_s: float
    gpu_utilization_pct: float
    memory_utilization_pct: float
    power_w: float
    sm_clock_mhz: float


@dataclass(frozen=True)
class NvmlReading:
    """What a sampler saw over one measured interval; statistics are derived from the raw samples.

    ``energy_j`` is ``None`` where the GPU has no total-energy counter (before Volta).
    """

    samples: tuple[NvmlSample, ...]
    duration_s: float
    energy_j: float | None

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError(f"no NVML sample in {self.duration_s:.3f} s; measure for at least {MIN_SAMPLED_SECONDS} s")

    @property
    def gpu_utilization_pct(self) -> float:
        """Mean % of time a kernel was running."""
        return statistics.fmean(s.gpu_utilization_pct for s in self.samples)

    @property
    def memory_utilization_pct(self) -> float:
        """Mean % of time device memory was being read or written."""
        return statistics.fmean(s.memory_utilization_pct for s in self.samples)

    @property
    def power_w(self) -> float:
        """Mean board power in watts."""
        return statistics.fmean(s.power_w for s in self.samples)

    @property
    def sm_clock_mhz(self) -> float:
        """Mean SM clock in MHz."""
        return statistics.fmean(s.sm_clock_mhz for s in self.samples)


class NvmlSampler:
    """Poll one GPU's NVML counters from a background thread while a block runs.

    Example (on a GPU host)::

        with NvmlSampler(device_index=0) as sampler:
            run_for_two_seconds()
        reading = sampler.reading
        reading.gpu_utilization_pct, reading.energy_j

    Args:
        device_index: NVML index of the GPU (the CUDA index when
            ``CUDA_VISIBLE_DEVICES`` is unset).
        period_s: seconds between polls.
        nvml: the ``pynvml`` module; tests pass a stand-in.

    Raises:
        NvmlUnavailableError: on entering, if ``pynvml`` is missing or NVML fails to start.
        ValueError: if ``period_s`` is not positive.
    """

    def __init__(self, device_index: int = 0, period_s: float = DEFAULT_PERIOD_S, nvml: ModuleType | None = None):
        if period_s <= 0:
            raise ValueError(f"period_s must be > 0; got {period_s}")
        self.device_index = device_index
        self.period_s = period_s
        self._nvml = nvml
        self._samples: list[NvmlSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.reading: NvmlReading | None = None

    def __enter__(self) -> NvmlSampler:
        nvml = self._nvml = self._nvml or load_nvml()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as error:
            raise NvmlUnavailableError(f"NVML failed to start: {error}") from error
        try:
            self._handle = nvml.nvmlDeviceGetHandleByIndex(self.device_index)
            self._energy_start = self._energy_mj()
        except nvml.NVMLError as error:
            nvml.nvmlShutdown()
            raise NvmlUnavailableError(f"NVML has no usable GPU at index {self.device_index}: {error}") from error
        self._start = time.perf_counter()
        self._thread = threading.Thread(target=self._poll, name="bncvl-nvml", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        duration = time.perf_counter() - self._start
        energy_end = self._energy_mj()
        self._nvml.nvmlShutdown()
        if exc_type is not None:
            return
        if self._error is not None:
            raise NvmlUnavailableError(f"NVML polling failed: {self._error}") from self._error
        energy = None
        if self._energy_start is not None and energy_end is not None:
            energy = energy_delta_mj(self._energy_start, energy_end) / 1000.0
        self.reading = NvmlReading(tuple(self._samples), duration, energy)

    def _energy_mj(self) -> int | None:
        try:
            return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))
        except self._nvml.NVMLError_NotSupported:
            return None

    def _poll(self) -> None:
        nvml = self._nvml
        try:
            # Poll at least once, so that even a short block has a sample.
            while True:
                rates = nvml.nvmlDeviceGetUtilizationRates(self._handle)
                self._samples.append(
                    NvmlSample(
                        time_s=time.perf_counter() - self._start,
                        gpu_utilization_pct=float(rates.gpu),
                        memory_utilization_pct=float(rates.memory),
                        power_w=nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0,
                        sm_clock_mhz=float(nvml.nvmlDeviceGetClockInfo(self._handle, nvml.NVML_CLOCK_SM)),
                    )
                )
                if self._stop.wait(self.period_s):
                    return
        except Exception as error:  # re-raised in the caller's thread by __exit__
            self._error = error
