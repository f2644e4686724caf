"""Memory of the layer's own tensors, measured inside the process (never RSS).

Process RSS says nothing about one layer: importing torch alone is about
760 MB of it. These functions count only the tensors a pass allocates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

__all__ = ["peak_tensor_bytes", "saved_tensor_bytes"]


def saved_tensor_bytes(fn: Callable[[], object], exclude: Iterable[Tensor] = ()) -> int:
    """Bytes of the distinct storages autograd saves for backward while ``fn()`` runs.

    Tensors that share a storage (views) are counted once. Storages of
    ``exclude`` (typically the layer's input and parameters, which the caller
    keeps alive anyway) are not counted, so the figure is the activation
    memory the layer itself adds for backward.

    Args:
        fn: runs a forward pass that builds an autograd graph; its result is
            kept alive until the count is done.
        exclude: tensors whose storages are not activations.

    Returns:
        The byte count; 0 when ``fn`` builds no graph (e.g. under ``no_grad``).
    """
    excluded = {t.untyped_storage().data_ptr() for t in exclude}
    saved: dict[int, int] = {}

    def pack(tensor: Tensor) -> Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in excluded:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = fn()
    del result
    return sum(saved.values())


def peak_tensor_bytes(fn: Callable[[], object], device: torch.device | str = "cpu") -> int:
    """Peak bytes that ``fn()`` allocates and holds at once, above what was allocated before it.

    CPU: the allocator's events under ``torch.profiler`` (``profile_memory``),
    replayed in order; the peak of their running sum. This sees every
    allocation of the pass, including temporaries inside an operator and
    compiled (``torch.compile``) code, and nothing that existed before.
    Tensors freed during ``fn`` that existed before it (e.g. gradients reset
    to ``None``) lower the running sum.

    CUDA: ``torch.cuda.max_memory_allocated`` after a reset of the peak,
    minus what was allocated before ``fn``.

    Args:
        fn: the pass to measure; its result is released before the count ends.
        device: where ``fn`` runs.

    Returns:
        The peak in bytes (0 if ``fn`` allocates nothing).

    Raises:
        ValueError: ``device`` is neither a CPU nor a CUDA device.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return _cuda_peak_bytes(fn, device)
    if device.type != "cpu":
        raise ValueError(f"peak_tensor_bytes measures 'cpu' or 'cuda' devices; got {str(device)!r}")
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
        del result
    events = [
        event
        for event in prof.profiler.kineto_results.events()
        if event.name() == "[memory]" and event.device_type() == DeviceType.CPU
    ]
    events.sort(key=lambda event: event.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def _cuda_peak_bytes(fn: Callable[[], object], device: torch.device) -> int:
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    result = fn()
    del result
    torch.cuda.synchronize(device)
    return max(0, torch.cuda.max_memory_allocated(device) - before)
