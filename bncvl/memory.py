"""Memory of the layer's own tensors, measured inside the process (never RSS)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

__all__ = ["saved_tensor_bytes"]


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
