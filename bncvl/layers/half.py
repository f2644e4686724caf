"""BNCVL computing its convolution in half precision on CUDA, statistics in float32."""

from __future__ import annotations

import torch
from torch import Tensor

from bncvl.layers.functional import (
    EPS,
    check_input,
    conv2d_same,
    is_relu,
    normalize_per_sample,
    to_channels_last,
)
from bncvl.layers.fused import FusedBNCVL, fused_normalize_relu

__all__ = ["HALF_TOLERANCES", "HalfBNCVL", "half_forward"]

HALF_TOLERANCES: dict[torch.dtype, float] = {
    # Absolute tolerance on the normalised output (values O(1)) against the
    # float32 reference. The {0, 1} weights are exact; the error is the input's
    # rounding (2^-11 relative in float16, 2^-8 in bfloat16) summed over the
    # C*k*k products of each output, then divided by the per-sample std, plus
    # the output's own rounding when it is returned in half. Measured maximum
    # errors (3 seeds; 8, 16 and 64 input channels): float16 2.1e-3, bfloat16
    # 1.7e-2; forgetting the bias moves outputs by 0.03-0.15. Tested in
    # tests/test_variants.py.
    torch.float16: 5e-3,
    torch.bfloat16: 3e-2,
}
"""Tolerances of :func:`half_forward` (and :class:`HalfBNCVL`) against the float32 reference."""


def half_forward(
    x: Tensor,
    w_q: Tensor,
    b_q: Tensor,
    compute_dtype: torch.dtype,
    relu: bool = True,
    activation: object = None,
) -> Tensor:
    """BNCVL's forward with the convolution in ``compute_dtype`` and float32 statistics.

    Args:
        x: (N, C, H, W) input of any floating dtype.
        w_q, b_q: the {0, 1} weight and bias (exact in every dtype).
        compute_dtype: ``torch.float16`` or ``torch.bfloat16``.
        relu: use the fused normalise + ReLU; else ``activation`` after the
            reference normalisation.
        activation: the activation when ``relu`` is False.

    Returns:
        The layer output in ``x``'s dtype, channels_last strides.
    """
    weight = to_channels_last(w_q.to(compute_dtype))
    z = conv2d_same(to_channels_last(x.to(compute_dtype)), weight, b_q.to(compute_dtype))
    y = fused_normalize_relu(z, EPS) if relu else activation(normalize_per_sample(z))  # type: ignore[operator]
    return y.to(x.dtype)


class HalfBNCVL(FusedBNCVL):
    """Half-precision compute on CUDA: float16 channels_last convolution, float32 statistics.

    {0, 1} weights are exact in float16, so the only error is the input's
    rounding to float16 (see :data:`HALF_TOLERANCES`). Parameters stay
    float32 (same ``state_dict`` as the reference); the output has the
    input's dtype. CUDA only: the CPU has no fast float16 convolution.

    It can be built and loaded anywhere (same ``state_dict`` as the
    reference); ``make_workload`` refuses other devices up front
    (``supported_device_types``) so benchmarks skip cleanly.

    Raises:
        NotImplementedError: in ``forward``, for an input that is not on a CUDA device.
    """

    compute_dtype: torch.dtype = torch.float16
    variant_name = "half"
    compiled = False  # the eager kernels run in float32 already; compile is unmeasured on a GPU
    supported_device_types: tuple[str, ...] = ("cuda",)

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        if x.device.type != "cuda":
            raise NotImplementedError(f"the 'half' variant runs on CUDA only; got an input on {x.device}")
        w_q, b_q = self.binary_weights_as(self.compute_dtype, torch.channels_last)
        return half_forward(x, w_q, b_q, self.compute_dtype, is_relu(self.activation), self.activation)
