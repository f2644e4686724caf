"""Memory of the layer's own tensors (never process RSS, of which torch's import alone is ~760 MB).

What is measured, and how, is in :mod:`benchmarks.figures`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from torch import Tensor

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    Workload,
    build_workload,
    cached_entry,
    measure_each,
    packed_storage_bytes,
    values_from_cache,
)
from benchmarks.figures import LAYER_PRESETS, layer_figures_cache, memory_figures

__all__ = [
    "Memory",
    "WeightStorage",
    "measure_selected",
]


class Memory:
    """Peak and saved-activation bytes of each variant, preset, device and dtype.

    Byte counts are exact, not sampled, so they are measured once per
    combination in the ``setup_cache`` shared with ``Efficiency``
    (:func:`benchmarks.figures.layer_figures_cache`): in one process each
    compiled variant compiles once per shape, instead of once in each of
    asv's per-benchmark processes (3 minutes of a 10-minute run before).

    Clock: none; byte counts (the shared ``setup_cache`` also times the
    eval forward, for ``Efficiency``).
    """

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, LAYER_PRESETS, GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    timeout = 900  # setup_cache measures every combination
    setup_cache = layer_figures_cache

    def setup(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> None:
        self.figures = cached_entry(cache, variant, preset, device, dtype)

    def track_peak_forward_bytes(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> int:
        return self.figures["peak_forward"]

    track_peak_forward_bytes.unit = "bytes"

    def track_peak_train_step_bytes(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> int:
        return self.figures["peak_train_step"]

    track_peak_train_step_bytes.unit = "bytes"

    def track_saved_activation_bytes(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> int:
        return self.figures["saved_activation"]

    track_saved_activation_bytes.unit = "bytes"


def measure_selected(params: Sequence[str], methods: Iterable[str]) -> dict[str, int | str]:
    """The byte counts ``methods`` (``track_peak_forward_bytes``...) of the one combination ``params``.

    What ``Memory`` gives, measured for this combination alone: its
    ``setup_cache`` measures every combination, and their speed too, which
    ``bncvl check`` does not need. Byte counts are exact, so the value does
    not depend on what else the process measured.

    Returns:
        ``{method: bytes}``, or the skip reason (a ``str``) where the combination cannot run here.
    """
    cache = measure_each([[param] for param in params], memory_figures)
    return values_from_cache(Memory(), cache, params, methods)


def float_weight_bytes(work: Workload) -> int:
    """Bytes of every tensor the layer holds at rest (parameters and buffers, each storage once)."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in _layer_tensors(work)}
    return sum(storages.values())


def packed_weight_bytes(work: Workload) -> int:
    """Bytes of the layer's binary weight and bias packed at 1 bit per entry (``bncvl.packed_storage_bytes``)."""
    return sum(packed_storage_bytes(p.numel()) for p in work.layer.parameters())


def _layer_tensors(work: Workload) -> Iterator[Tensor]:
    return itertools.chain(work.layer.parameters(), work.layer.buffers())


class WeightStorage:
    """Weight storage at rest: the float parameters a variant holds vs the same weights packed at 1 bit.

    Sizes do not depend on the device, so only the CPU is listed; float32 is
    the training dtype (float16 halves the float figure, packing does not change).
    Clock: none; byte counts.
    """

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny", "medium", "large"], ["cpu"], ["float32"]]
    param_names: ClassVar[list[str]] = PARAM_NAMES

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        # Sizes only: the CPU preset rule is about run time, so not applied here.
        self.work = build_workload(variant, preset, "eval", device, dtype)

    def track_float_weight_bytes(self, variant: str, preset: str, device: str, dtype: str) -> int:
        return float_weight_bytes(self.work)

    track_float_weight_bytes.unit = "bytes"

    def track_packed_weight_bytes(self, variant: str, preset: str, device: str, dtype: str) -> int:
        return packed_weight_bytes(self.work)

    track_packed_weight_bytes.unit = "bytes"
