"""GPU behaviour of the eval forward pass: utilisation, memory bandwidth, energy, power, SM clock.

For each combination, ``setup_cache`` runs the forward pass back to back for
at least ``MIN_SAMPLED_SECONDS`` while ``NvmlSampler`` (:mod:`bncvl.measure.nvml`)
polls NVML, once; the five ``track_`` methods report that one loop.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
)
from benchmarks.timing import run_for, warm_up

__all__ = ["GPU", "nvml_index", "sustained_forward"]

PRESETS = ["small", "large"]


def nvml_index(cuda_index: int, device_count: int, environ: Mapping[str, str] = os.environ) -> int:
    """NVML's index of the GPU that torch calls ``cuda:<cuda_index>``.

    NVML numbers all of the host's GPUs by PCI bus id and ignores ``CUDA_VISIBLE_DEVICES``; CUDA numbers
    the visible ones, fastest first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (``benchmarks/__init__.py``
    sets it unless you do). Sampling another GPU than the one at work would give figures of the wrong device.

    Raises:
        NotImplementedError: (asv: skipped, with this reason) the two numberings cannot be matched: several
            GPUs in CUDA's fastest-first order, or ``CUDA_VISIBLE_DEVICES`` naming GPUs by UUID or MIG instance.
    """
    order = environ.get("CUDA_DEVICE_ORDER", "FASTEST_FIRST")
    if order != "PCI_BUS_ID" and device_count > 1:
        raise NotImplementedError(
            f"NVML figures on a host with {device_count} GPUs need CUDA_DEVICE_ORDER=PCI_BUS_ID, so that CUDA "
            f"and NVML number the GPUs alike; got CUDA_DEVICE_ORDER={order!r}"
        )
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return cuda_index
    entries = [entry.strip() for entry in visible.split(",")]
    if not all(entry.isdigit() for entry in entries) or cuda_index >= len(entries):
        raise NotImplementedError(
            f"NVML figures need CUDA_VISIBLE_DEVICES as GPU indices (e.g. '1,0') naming cuda:{cuda_index}; "
            f"got {visible!r}"
        )
    return int(entries[cuda_index])


def sustained_forward(variant: str, preset: str, device: str, dtype: str) -> dict[str, float | None]:
    """Run eval forward for at least ``MIN_SAMPLED_SECONDS`` under NVML sampling; the five figures."""
    import torch

    sampler_class = require("nvml", "NvmlSampler")
    min_seconds = require("nvml", "MIN_SAMPLED_SECONDS")
    cuda = resolve_device(device)
    work = build_workload(variant, preset, "eval", device, dtype)
    warm_up([work.eval_forward], cuda)
    index = cuda.index if cuda.index is not None else torch.cuda.current_device()
    with sampler_class(device_index=nvml_index(index, torch.cuda.device_count())) as sampler:
        calls = run_for(work.eval_forward, cuda, min_seconds)
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
    """NVML figures of each variant's eval forward on CUDA, per preset and dtype.

    Clock: none of its figures is a time. The wall clock (``time.perf_counter``)
    only ends the sampled loop (:func:`benchmarks.timing.run_for`); NVML
    times its own samples and energy counter.
    """

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
