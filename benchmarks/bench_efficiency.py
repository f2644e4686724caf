"""How close each variant's eval forward runs to the hardware: achieved FLOP/s and bytes/s.

Work is counted from the convolution alone (``Shape.macs``,
2 FLOP per multiply-accumulate) and traffic as the least the layer must move
(input read, output written, binary weights read once), so the figures are
lower bounds on what the hardware did and compare directly with its peak
FLOP/s and memory bandwidth. The ``setup_cache`` (shared with ``Memory``,
:func:`benchmarks.figures.layer_figures_cache`) times every combination once
(:func:`benchmarks.figures.forward_figures`); both tracks divide by that one time.
"""

from __future__ import annotations

from typing import ClassVar

from benchmarks.common import GRID_DEVICES, GRID_DTYPES, PARAM_NAMES, VARIANT_NAMES, cached_entry
from benchmarks.figures import layer_figures_cache

__all__ = ["Efficiency"]


class Efficiency:
    """Achieved FLOP/s and bytes/s of each variant's eval forward.

    Clock: the wall clock (``time.perf_counter``), the median seconds per call
    of 10 samples of at least 1 ms each, the device synchronised around each
    sample (:func:`benchmarks.timing.seconds_per_call`).
    """

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
