"""A deployment BNCVL that stores its binary weight and bias at 1 bit each."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from bncvl.layers.functional import (
    EPS,
    check_input,
    check_kernel_size,
    conv2d_same,
    is_relu,
    mean_threshold,
    memory_format_for,
    normalize_per_sample,
    pack_bits,
    packed_storage_bytes,
    unpack_bits,
)
from bncvl.layers.fused import FusedBNCVL, fused_normalize_relu, select_kernels

__all__ = ["PackedBNCVL"]


class PackedBNCVL(nn.Module):
    """Inference-only BNCVL whose ``state_dict`` holds packed bits, not float weights.

    Build it from a trained layer with :meth:`from_layer`. Its state is two
    ``uint8`` buffers, ``weight_bits`` and ``bias_bits``, of
    ``ceil(n / 8)`` bytes each for ``n`` weights or biases: 32× smaller than
    the float32 parameters on disk and in memory at rest. It unpacks them
    once onto its device, when it is built, loaded (``load_state_dict``) or
    moved (``.to()``), into float {0, 1} tensors in ``fast``'s convolution
    layout for the device (:func:`bncvl.layers.functional.memory_format_for`); calls
    reuse them. It computes the eval-mode output of the layer it was built from. There are no latent float weights to
    train, so gradients reach only the input.

    Args:
        in_channels, out_channels, kernel_size, activation: as :class:`~bncvl.BNCVL`;
            the constructor gives zero bits, ready for ``load_state_dict``.

    Raises:
        ValueError: on a bad ``kernel_size``; in ``forward``, on an input
            that is not (N, in_channels, H, W).
        TypeError: in ``forward``, on an input that is not a floating tensor.

    Example:
        >>> from bncvl import BNCVL
        >>> trained = BNCVL(3, 8, 3)
        >>> packed = PackedBNCVL.from_layer(trained)
        >>> packed.packed_nbytes  # ceil(216 / 8) + ceil(8 / 8)
        28
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: Callable[[Tensor], Tensor] = nn.ReLU(),  # noqa: B008 - the reference's signature
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = check_kernel_size(kernel_size)
        self.activation = activation
        self.register_buffer("weight_bits", torch.zeros(packed_storage_bytes(self._weight_numel), dtype=torch.uint8))
        self.register_buffer("bias_bits", torch.zeros(packed_storage_bytes(out_channels), dtype=torch.uint8))
        self.register_load_state_dict_post_hook(_unpack_after_load)
        self._unpacked: tuple[Tensor, Tensor] | None = None
        self.unpack()

    @property
    def _weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)

    @property
    def _weight_numel(self) -> int:
        return self.out_channels * self.in_channels * self.kernel_size**2

    @classmethod
    def from_layer(cls, layer: nn.Module) -> PackedBNCVL:
        """Pack ``layer``'s eval-mode binary weight and bias (any registered variant).

        Raises:
            TypeError: if ``layer`` lacks BNCVL's ``in_channels``,
                ``out_channels``, ``kernel_size``, ``weight`` or ``bias``.
        """
        missing = [a for a in ("in_channels", "out_channels", "kernel_size", "weight", "bias") if not hasattr(layer, a)]
        if missing:
            raise TypeError(f"PackedBNCVL.from_layer expects a BNCVL layer; {type(layer).__name__} lacks {missing}")
        packed = cls(layer.in_channels, layer.out_channels, layer.kernel_size, layer.activation)  # type: ignore[arg-type]
        with torch.no_grad():
            packed.weight_bits.copy_(pack_bits(mean_threshold(layer.weight.float())).cpu())  # type: ignore[operator]
            packed.bias_bits.copy_(pack_bits(mean_threshold(layer.bias.float())).cpu())  # type: ignore[operator]
        packed.to(layer.weight.device)  # type: ignore[arg-type]
        return packed.unpack()

    @property
    def packed_nbytes(self) -> int:
        """Bytes of the packed state: ``ceil(weights / 8) + ceil(biases / 8)``."""
        return self.weight_bits.numel() + self.bias_bits.numel()  # type: ignore[operator]

    def unpack(self) -> PackedBNCVL:
        """Unpack the bits into float32 {0, 1} tensors on the buffers' device; returns ``self``."""
        device = self.weight_bits.device  # type: ignore[union-attr]
        with torch.inference_mode(False), torch.no_grad():
            weight = unpack_bits(self.weight_bits, self._weight_shape)  # type: ignore[arg-type]
            bias = unpack_bits(self.bias_bits, (self.out_channels,))  # type: ignore[arg-type]
        self._unpacked = (weight.contiguous(memory_format=memory_format_for(device)), bias)
        return self

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> PackedBNCVL:  # type: ignore[override]
        super()._apply(fn, recurse)
        return self.unpack()

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        assert self._unpacked is not None
        weight, bias = self._unpacked
        x = x.contiguous(memory_format=memory_format_for(x.device))
        z = conv2d_same(x, weight.to(x.dtype), bias.to(x.dtype))
        if is_relu(self.activation):
            return fused_normalize_relu(z, EPS, select_kernels(FusedBNCVL.compiled, "packed"))
        return self.activation(normalize_per_sample(z))

    def extra_repr(self) -> str:
        shape = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        return f"{shape}, packed_nbytes={self.packed_nbytes}"


def _unpack_after_load(module: nn.Module, incompatible_keys: object) -> None:
    assert isinstance(module, PackedBNCVL)
    module.unpack()
