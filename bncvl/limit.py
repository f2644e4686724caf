"""The "limit" baseline: the bare convolution with BNCVL's binary weights, nothing else.

Any time a variant spends above this baseline is the layer's own overhead
(binarisation, normalisation, activation, layout conversion of the user's
NCHW input). It is a baseline, not a variant: it does not compute BNCVL's
function (no normalisation, no activation), so it is registered in
:data:`bncvl.variants.BASELINES`, not in :data:`bncvl.VARIANTS`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from bncvl.layer import BNCVL, conv2d_same
from bncvl.quantize import mean_threshold

__all__ = ["PREFERRED_MEMORY_FORMAT", "ConvLimit", "preferred_memory_format"]

PREFERRED_MEMORY_FORMAT: dict[str, torch.memory_format] = {
    # Measured on the 2-core CPU box, 1 thread, medium preset (thread CPU time,
    # interleaved rounds): forward 19.7 ms channels_last vs 31.6 ms NCHW;
    # conv backward 62.0 vs 60.7 ms (a tie), so channels_last wins the step.
    "cpu": torch.channels_last,
    # cuDNN's tensor-core kernels are NHWC-native; not measured here (no GPU).
    "cuda": torch.channels_last,
}
"""The memory format in which the bare convolution is fastest, per device type."""


def preferred_memory_format(device: torch.device | str) -> torch.memory_format:
    """The entry of :data:`PREFERRED_MEMORY_FORMAT` for ``device``'s type (NCHW for unknown types)."""
    return PREFERRED_MEMORY_FORMAT.get(torch.device(device).type, torch.contiguous_format)


class ConvLimit(BNCVL):
    """``F.conv2d`` with precomputed {0, 1} weights in the device's faster layout.

    Built like :class:`~bncvl.BNCVL` (same constructor and ``weight``/``bias``
    parameters, so :func:`bncvl.workload.make_workload` seeds it the same
    way). On the first call after the parameters change it binarises them
    once into leaf tensors in :attr:`memory_format`; every call then runs only
    the convolution. In training mode those leaves require grad, so a
    backward pass is the bare convolution's backward (gradients land on the
    leaves, not on ``weight``/``bias``). The input is expected already in
    :attr:`memory_format` (``make_workload`` converts it); other layouts
    work but pay the conversion inside the convolution.

    The activation argument is accepted for the shared constructor and ignored.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: Callable[[Tensor], Tensor] = nn.ReLU(),  # noqa: B008 - the reference's signature
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, activation)
        self._binary: tuple[Tensor, Tensor] | None = None
        self._binary_key: tuple[object, ...] | None = None

    @property
    def memory_format(self) -> torch.memory_format:
        """The layout the convolution runs in: :func:`preferred_memory_format` of the weight's device."""
        return preferred_memory_format(self.weight.device)

    def _binary_weights(self) -> tuple[Tensor, Tensor]:
        key = (self.weight._version, self.bias._version, self.weight.data_ptr(), self.training, self.weight.dtype)
        if self._binary is None or key != self._binary_key:
            with torch.inference_mode(False), torch.no_grad():
                w_b = mean_threshold(self.weight).contiguous(memory_format=self.memory_format)
                b_b = mean_threshold(self.bias)
            self._binary = (w_b.requires_grad_(self.training), b_b.requires_grad_(self.training))
            self._binary_key = key
        return self._binary

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        if self._binary is not None:
            for leaf in self._binary:
                leaf.grad = None

    def forward(self, x: Tensor) -> Tensor:
        w_b, b_b = self._binary_weights()
        return conv2d_same(x, w_b.to(x.dtype), b_b.to(x.dtype))
