"""The "limit" baseline: the bare convolution with BNCVL's binary weights, nothing else.

Any time a variant spends above this baseline is the layer's own overhead
(binarisation, normalisation, activation, layout conversion of the user's
NCHW input). It is a baseline, not a variant: it does not compute BNCVL's
function (no normalisation, no activation), so it is registered in
:data:`bncvl.layers.registry.BASELINES`, not in :data:`bncvl.VARIANTS`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bncvl.layers.cached import CachedBNCVL
from bncvl.layers.functional import CONV_MEMORY_FORMAT, conv2d_same, memory_format_for

__all__ = ["ConvLimit"]


class ConvLimit(CachedBNCVL):
    """``F.conv2d`` with precomputed {0, 1} weights in the device's faster layout.

    Built like :class:`~bncvl.BNCVL` (same constructor and ``weight``/``bias``
    parameters, so :func:`bncvl.measure.workload.make_workload` seeds it the same
    way). On the first call after the parameters change it binarises them
    once into leaf tensors in :attr:`memory_format`; every call then runs only
    the convolution. In training mode those leaves require grad, so a
    backward pass is the bare convolution's backward (gradients land on the
    leaves, not on ``weight``/``bias``). The input is expected already in
    :attr:`memory_format` (``make_workload`` converts it); other layouts
    work but pay the conversion inside the convolution.

    The activation argument is accepted for the shared constructor and ignored.
    """

    @property
    def memory_format(self) -> torch.memory_format:
        """The layout the convolution runs in: the weight device's entry of ``CONV_MEMORY_FORMAT``."""
        return memory_format_for(self.weight.device, CONV_MEMORY_FORMAT)

    def _binary_weights(self) -> tuple[Tensor, Tensor]:
        # The cache is cleared on train()/eval(), so its leaves never carry the other mode's requires_grad.
        w_b, b_b = self.cached_binary_weights(self.weight.dtype, self.memory_format)
        return w_b.requires_grad_(self.training), b_b.requires_grad_(self.training)

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        for leaf in self._binary_weights() if len(self._binary_cache) else ():
            leaf.grad = None

    def forward(self, x: Tensor) -> Tensor:
        w_b, b_b = self._binary_weights()
        return conv2d_same(x, w_b.to(x.dtype), b_b.to(x.dtype))
