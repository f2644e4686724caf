"""The byte counts and eval-forward speed of every layer combination, measured once for ``Memory`` and ``Efficiency``.

Peaks (``peak_tensor_bytes`` of :mod:`bncvl.measure.memory`): CPU, the
allocator's events under ``torch.profiler``, which also sees compiled code;
CUDA, ``max_memory_allocated`` after a reset. Saved activations: what
autograd keeps for backward. Work is counted from the convolution alone
(``Shape.macs``, 2 FLOP per multiply-accumulate) and traffic as the least
the layer must move (input read, output written, binary weights read once),
so the FLOP/s and bytes/s are lower bounds on what the hardware did.

This module holds no benchmark; ``bench_memory`` and ``bench_efficiency``
assign :func:`layer_figures_cache` as their ``setup_cache``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    VARIANT_NAMES,
    Shape,
    Workload,
    build_workload,
    free_device_memory,
    get_preset,
    measure_each,
    parse_dtype,
    require,
    resolve_device,
)
from benchmarks.timing import seconds_per_call, warm_up

__all__ = [
    "LAYER_PRESETS",
    "forward_figures",
    "layer_figures_cache",
    "memory_figures",
    "minimal_forward_bytes",
    "peak_forward_bytes",
    "peak_train_step_bytes",
    "saved_activation_bytes",
]


def _resident(work: Workload) -> list[Tensor]:
    """Tensors alive before a pass: not the pass's own memory."""
    return [work.x, work.grad_output, *work.layer.parameters(), *work.layer.buffers()]


def peak_forward_bytes(work: Workload) -> int:
    """Peak bytes of one eval forward, after one untimed call (lazy caches, allocator warm-up)."""
    peak_tensor_bytes = require("memory", "peak_tensor_bytes")
    work.eval_forward()
    return peak_tensor_bytes(work.eval_forward, work.x.device)


def peak_train_step_bytes(work: Workload) -> int:
    """Peak bytes of one training step (forward and backward), gradients included."""
    peak_tensor_bytes = require("memory", "peak_tensor_bytes")
    work.train_step()
    work.zero_grad()
    return peak_tensor_bytes(work.train_step, work.x.device)


def saved_activation_bytes(work: Workload) -> int:
    """Bytes autograd saves for backward in one training forward, input and parameters excluded."""
    saved_tensor_bytes = require("memory", "saved_tensor_bytes")
    return saved_tensor_bytes(work.train_forward, exclude=_resident(work))


def memory_figures(variant: str, preset: str, device: str, dtype: str) -> dict[str, float]:
    """The three byte counts of one combination (see :class:`Memory`)."""
    train = build_workload(variant, preset, "train", device, dtype)
    figures = {
        "peak_forward": peak_forward_bytes(build_workload(variant, preset, "eval", device, dtype)),
        "peak_train_step": peak_train_step_bytes(train),
        "saved_activation": saved_activation_bytes(train),
    }
    free_device_memory(device)
    return figures


REPEATS = 10


def minimal_forward_bytes(shape: Shape, dtype: torch.dtype) -> int:
    """Bytes an eval forward must move at least: input, output and weights, each once."""
    element = torch.empty((), dtype=dtype).element_size()
    activations = shape.batch * (shape.in_channels + shape.out_channels) * shape.size**2
    weights = shape.out_channels * (shape.in_channels * shape.kernel_size**2 + 1)
    return element * (activations + weights)


def forward_figures(variant: str, preset: str | Shape, device: str, dtype: str) -> dict[str, float]:
    """Median eval-forward time of one combination and the FLOP/s and bytes/s it achieves.

    The time is on the wall clock, after the warm-up: the median of :data:`REPEATS` samples of
    :func:`benchmarks.timing.seconds_per_call`, each at least 1 ms of calls with the device synchronised.
    """
    shape = get_preset(preset) if isinstance(preset, str) else preset
    work = build_workload(variant, shape, "eval", device, dtype)
    resolved = resolve_device(device)
    warm_up([work.eval_forward], resolved)
    seconds = seconds_per_call(work.eval_forward, resolved, REPEATS)
    del work
    free_device_memory(device)
    return {
        "seconds": seconds,
        "flops": 2 * shape.macs / seconds,
        "bytes_per_s": minimal_forward_bytes(shape, parse_dtype(dtype)) / seconds,
    }


LAYER_PRESETS = ["tiny", "small", "medium", "large"]
"""Presets of the classes that share :func:`layer_figures_cache` (``Memory``, ``Efficiency``)."""


def layer_figures_cache(self: object) -> dict:
    """The ``setup_cache`` of ``Memory`` and ``Efficiency``: bytes and eval-forward speed of every combination.

    asv keys a ``setup_cache`` by its source location, so the two classes
    assigning this one function share one run of it: one process in which
    each compiled variant compiles once per shape, instead of once per class.
    """

    def figures(variant: str, preset: str, device: str, dtype: str) -> dict[str, float]:
        return {**memory_figures(variant, preset, device, dtype), **forward_figures(variant, preset, device, dtype)}

    return measure_each([VARIANT_NAMES, LAYER_PRESETS, GRID_DEVICES, GRID_DTYPES], figures)
