"""Memory of the layer's own tensors (never process RSS, of which torch's import alone is ~760 MB).

Peaks (``bncvl.memory.peak_tensor_bytes``): CPU, the allocator's events
under ``torch.profiler``, which also sees compiled code; CUDA,
``max_memory_allocated`` after a reset. Saved activations: what autograd
keeps for backward.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import ClassVar

from torch import Tensor

from benchmarks.common import (
    DEVICES,
    DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    Reproducible,
    build_workload,
    check_applicable,
    require,
)
from bncvl.quantize import packed_storage_bytes
from bncvl.workload import Workload

__all__ = ["Memory", "WeightStorage", "peak_forward_bytes", "peak_train_step_bytes", "saved_activation_bytes"]


def _resident(work: Workload) -> list[Tensor]:
    """Tensors alive before a pass: not the pass's own memory."""
    return [work.x, work.grad_output, *work.layer.parameters(), *work.layer.buffers()]


def peak_forward_bytes(work: Workload) -> int:
    """Peak bytes of one eval forward, after one untimed call (lazy caches, allocator warm-up)."""
    peak_tensor_bytes = require("bncvl.memory", "peak_tensor_bytes")
    work.eval_forward()
    return peak_tensor_bytes(work.eval_forward, work.x.device)


def peak_train_step_bytes(work: Workload) -> int:
    """Peak bytes of one training step (forward and backward), gradients included."""
    peak_tensor_bytes = require("bncvl.memory", "peak_tensor_bytes")
    work.train_step()
    work.zero_grad()
    return peak_tensor_bytes(work.train_step, work.x.device)


def saved_activation_bytes(work: Workload) -> int:
    """Bytes autograd saves for backward in one training forward, input and parameters excluded."""
    saved_tensor_bytes = require("bncvl.memory", "saved_tensor_bytes")
    return saved_tensor_bytes(work.train_forward, exclude=_resident(work))


class Memory:
    """Peak and saved-activation bytes of each variant, preset, device and dtype."""

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny", "small", "medium"], DEVICES, DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    timeout = 120

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        self.reproducible = Reproducible()
        self.eval = build_workload(variant, preset, "eval", device, dtype)
        self.train = build_workload(variant, preset, "train", device, dtype)

    def teardown(self, variant: str, preset: str, device: str, dtype: str) -> None:
        if hasattr(self, "reproducible"):
            self.reproducible.close()

    def track_peak_forward_bytes(self, variant: str, preset: str, device: str, dtype: str) -> int:
        return peak_forward_bytes(self.eval)

    track_peak_forward_bytes.unit = "bytes"

    def track_peak_train_step_bytes(self, variant: str, preset: str, device: str, dtype: str) -> int:
        return peak_train_step_bytes(self.train)

    track_peak_train_step_bytes.unit = "bytes"

    def track_saved_activation_bytes(self, variant: str, preset: str, device: str, dtype: str) -> int:
        return saved_activation_bytes(self.train)

    track_saved_activation_bytes.unit = "bytes"


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
