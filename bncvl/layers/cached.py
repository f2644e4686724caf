"""BNCVL with its binary weights cached in eval mode: binarise once, not on every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from bncvl.layers.functional import check_input, conv2d_same, mean_threshold
from bncvl.layers.reference import BNCVL

__all__ = ["BinaryWeightCache", "CachedBNCVL"]


class BinaryWeightCache:
    """The {0, 1} weight and bias of one layer, kept until the latent parameters change.

    An entry is keyed on everything that can change the binarised result
    without going through this object: the parameters' autograd version
    counters (bumped by every in-place update, which covers optimizer steps,
    ``with torch.no_grad(): w.mul_(-1)`` and ``load_state_dict``'s
    ``copy_``), their storages, devices and dtypes (``.to()`` replaces them),
    plus the requested dtype and memory format. The owning module also clears
    it explicitly on ``train()``/``eval()``, ``_apply`` and ``load_state_dict``.

    Edits through ``param.data`` bypass the version counter (PyTorch gives
    ``.data`` a fresh one), so they cannot be seen; call :meth:`clear` after
    such an edit.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[Tensor, Tensor]] = {}

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        weight: Tensor,
        bias: Tensor,
        dtype: torch.dtype,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> tuple[Tensor, Tensor]:
        """``(mean_threshold(weight), mean_threshold(bias))`` in ``dtype``/``memory_format``, cached.

        The tensors are built outside inference mode and without a graph, so
        they can be saved for backward by a later call that needs ``x``'s
        gradient. Only the latest parameter state is kept: a change of the
        parameters drops every older entry.
        """
        state = (weight._version, bias._version, weight.data_ptr(), bias.data_ptr(), weight.device, weight.dtype)
        key = (*state, dtype, memory_format)
        hit = self._entries.get(key)
        if hit is not None:
            return hit
        if any(k[: len(state)] != state for k in self._entries):
            self._entries.clear()
        with torch.inference_mode(False), torch.no_grad():
            w_b = mean_threshold(weight).to(dtype).contiguous(memory_format=memory_format)
            b_b = mean_threshold(bias).to(dtype)
        self._entries[key] = (w_b, b_b)
        return w_b, b_b


class CachedBNCVL(BNCVL):
    """:class:`~bncvl.BNCVL` that binarises its weights once in eval mode.

    The forward function and gradients are the reference's. In training mode
    nothing is cached (the straight-through graph must see every step's
    weights). In eval mode the binarised weight and bias come from a
    :class:`BinaryWeightCache`, invalidated by any change of the parameters:
    an optimizer step or other in-place edit, ``load_state_dict``,
    ``.to(device/dtype)`` and ``train()``/``eval()``.

    Args:
        in_channels, out_channels, kernel_size, activation: as :class:`~bncvl.BNCVL`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: Callable[[Tensor], Tensor] = nn.ReLU(),  # noqa: B008 - the reference's signature
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, activation)
        self._binary_cache = BinaryWeightCache()
        self._register_load_state_dict_pre_hook(self._clear_on_load)

    def _clear_on_load(self, *args: object, **kwargs: object) -> None:
        self.invalidate_cache()

    def invalidate_cache(self) -> None:
        """Drop the cached binary weights (needed only after edits through ``param.data``)."""
        self._binary_cache.clear()

    def train(self, mode: bool = True) -> CachedBNCVL:
        self.invalidate_cache()
        return super().train(mode)

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> CachedBNCVL:  # type: ignore[override]
        self.invalidate_cache()
        return super()._apply(fn, recurse)

    def cached_binary_weights(
        self, dtype: torch.dtype, memory_format: torch.memory_format = torch.contiguous_format
    ) -> tuple[Tensor, Tensor]:
        """The eval-mode binary weight and bias in ``dtype`` and ``memory_format``, from the cache."""
        return self._binary_cache.get(self.weight, self.bias, dtype, memory_format)

    def binary_weights_as(
        self, dtype: torch.dtype, memory_format: torch.memory_format = torch.contiguous_format
    ) -> tuple[Tensor, Tensor]:
        """The binary weight and bias in ``dtype``/``memory_format``: with the STE graph in training, cached in eval."""
        if self.training:
            w_q, b_q = self.binary_weights()
            return w_q.to(dtype).contiguous(memory_format=memory_format), b_q.to(dtype)
        return self.cached_binary_weights(dtype, memory_format)

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return super().forward(x)
        check_input(x, self.in_channels)
        w_b, b_b = self.cached_binary_weights(x.dtype)
        return self.activation(self.normalize(conv2d_same(x, w_b, b_b)))
