"""GPU behaviour of the eval forward pass: utilisation, memory bandwidth, energy, power, SM clock.

For each combination, ``setup_cache`` runs the forward pass back to back for
at least ``MIN_SAMPLED_SECONDS`` while ``NvmlSampler`` (:mod:`bncvl.measure.nvml`)
polls NVML, once; the five ``track_`` methods report that one loop.
"""

from __future__ import annotations

import time
from typing import ClassVar

from asv_runner.benchmarks.mark import SkipNotImplemented

from benchmarks.common import (
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    build_workload,
    cached_entry,
    check_applicable,
    free_device_memory,
    measure_each,
    require,
    resolve_device,
    synchronize,
)

__all__ = ["GPU", "sustained_forward"]

PRESETS = ["small", "large"]


def sustained_forward(variant: str, preset: str, device: str, dtype: str) -> dict[str, float | None]:
    """Run eval forward for at least ``MIN_SAMPLED_SECONDS`` under NVML sampling; the five figures."""
    sampler_class = require("nvml", "NvmlSampler")
    min_seconds = require("nvml", "MIN_SAMPLED_SECONDS")
    cuda = resolve_device(device)
    work = build_workload(variant, preset, "eval", device, dtype)
    for _ in range(3):  # warm-up: cuDNN autotuning, lazy caches
        work.eval_forward()
    synchronize(cuda)
    calls = 0
    with sampler_class(device_index=cuda.index or 0) as sampler:
        start = time.perf_counter()
        while time.perf_counter() - start < min_seconds:
            for _ in range(10):
                work.eval_forward()
            calls += 10
            synchronize(cuda)
    reading = sampler.reading
    assert reading is not None
    del work
    free_device_memory(device)
    return {
        "gpu_utilization": reading.gpu_utilization_pct,
        "memory_bandwidth_utilization": reading.memory_utilization_pct,
        "energy_per_forward": None if reading.energy_j is None else reading.energy_j / calls,
        "power": reading.power_w,
        "sm_clock": reading.sm_clock_mhz,
    }


class GPU:
    """NVML figures of each variant's eval forward on CUDA, per preset and dtype."""

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, PRESETS, ["cuda"], GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    timeout = 900  # setup_cache runs every combination: ~3 s each, 48 in all

    def setup_cache(self) -> dict:
        try:
            check_applicable("small", "cuda", "float32")
            unavailable = require("nvml", "NvmlUnavailableError")
            try:
                require("nvml", "load_nvml")()
            except unavailable as missing:
                raise NotImplementedError(str(missing)) from None
        except NotImplementedError as reason:
            return {"unavailable": str(reason)}
        return {"figures": measure_each(self.params, sustained_forward)}

    def setup(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> None:
        if "unavailable" in cache:
            raise NotImplementedError(cache["unavailable"])
        self.figures = cached_entry(cache["figures"], variant, preset, device, dtype)

    def track_gpu_utilization(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return self.figures["gpu_utilization"]

    track_gpu_utilization.unit = "%"

    def track_memory_bandwidth_utilization(
        self, cache: dict, variant: str, preset: str, device: str, dtype: str
    ) -> float:
        return self.figures["memory_bandwidth_utilization"]

    track_memory_bandwidth_utilization.unit = "%"

    def track_energy_per_forward(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        if self.figures["energy_per_forward"] is None:
            raise SkipNotImplemented("this GPU has no NVML total-energy counter (it needs Volta or newer)")
        return self.figures["energy_per_forward"]

    track_energy_per_forward.unit = "J"

    def track_power(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return self.figures["power"]

    track_power.unit = "W"

    def track_sm_clock(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return self.figures["sm_clock"]

    track_sm_clock.unit = "MHz"
