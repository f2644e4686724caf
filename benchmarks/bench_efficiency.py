"""How close each variant's eval forward runs to the hardware: achieved FLOP/s and bytes/s.

Work is counted from the convolution alone (``bncvl.presets.Shape.macs``,
2 FLOP per multiply-accumulate) and traffic as the least the layer must move
(input read, output written, binary weights read once), so the figures are
lower bounds on what the hardware did and compare directly with its peak
FLOP/s and memory bandwidth. The ``setup_cache`` (shared with ``Memory``,
:func:`benchmarks.common.layer_figures_cache`) times every combination once
with ``bncvl.timing.Timer``; both tracks divide by that one time.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    build_workload,
    cached_entry,
    free_device_memory,
    layer_figures_cache,
)
from bncvl.presets import Shape, get_preset
from bncvl.timing import Timer, resolve_device
from bncvl.workload import parse_dtype

__all__ = ["Efficiency", "forward_figures", "minimal_forward_bytes"]

REPEATS = 10


def minimal_forward_bytes(shape: Shape, dtype: torch.dtype) -> int:
    """Bytes an eval forward must move at least: input, output and weights, each once."""
    element = torch.empty((), dtype=dtype).element_size()
    activations = shape.batch * (shape.in_channels + shape.out_channels) * shape.size**2
    weights = shape.out_channels * (shape.in_channels * shape.kernel_size**2 + 1)
    return element * (activations + weights)


def forward_figures(variant: str, preset: str | Shape, device: str, dtype: str) -> dict[str, float]:
    """Median eval-forward time of one combination and the FLOP/s and bytes/s it achieves."""
    shape = get_preset(preset) if isinstance(preset, str) else preset
    work = build_workload(variant, shape, "eval", device, dtype)
    seconds = Timer(work.eval_forward, resolve_device(device), label=f"{variant}/{device}").repeat(REPEATS).median
    del work
    free_device_memory(device)
    return {
        "seconds": seconds,
        "flops": 2 * shape.macs / seconds,
        "bytes_per_s": minimal_forward_bytes(shape, parse_dtype(dtype)) / seconds,
    }


class Efficiency:
    """Achieved FLOP/s and bytes/s of each variant's eval forward."""

    # Not "tiny": it is latency-bound, so its FLOP/s say nothing about the hardware limit.
    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["small", "medium", "large"], GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    timeout = 900  # setup_cache measures every combination
    setup_cache = layer_figures_cache  # shared with Memory: one process compiles each variant once per shape

    def setup(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> None:
        self.figures = cached_entry(cache, variant, preset, device, dtype)

    def track_forward_flops(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return self.figures["flops"]

    track_forward_flops.unit = "FLOP/s"

    def track_forward_bytes_per_s(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return self.figures["bytes_per_s"]

    track_forward_bytes_per_s.unit = "bytes/s"
