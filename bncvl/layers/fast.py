"""The "fast" BNCVL: the best combination of the variants on each device, chosen by measurement.

What it does, per device type (the measurements that chose it are in
:class:`FastBNCVL`'s docstring and docs/measurements/2026-11-27-variants-cpu.md):

- eval: binary weights cached in the layout of :data:`~bncvl.layers.functional.INPUT_MEMORY_FORMAT`
  (NCHW on the CPU: the user's input as is), the convolution, then the
  compiled single-pass normalise + ReLU;
- training (odd kernels, ReLU): one autograd function for the whole layer
  (:class:`FastTrainStep`) whose forward runs the convolution in that
  layout and the compiled normalise + ReLU, and saves only the
  input (the caller's tensor), the binary weight, ``zhat`` and ``std``; its
  backward runs the normalise + ReLU backward and one
  ``convolution_backward`` in :attr:`FastBNCVL.backward_memory_format`.
  Other kernels and activations take the :class:`~bncvl.layers.fused.FusedBNCVL` path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from bncvl.layers.functional import EPS, check_input, conv2d_same, is_relu, mean_threshold, memory_format_for
from bncvl.layers.fused import FusedBNCVL, Kernels

__all__ = ["FastBNCVL", "FastTrainStep"]


class FastTrainStep(torch.autograd.Function):
    r"""The whole BNCVL layer (odd kernel, ReLU) as one autograd function.

    Forward is the reference's: :math:`W_b = \mathbb{1}[W > \bar W]`, the
    same for :math:`b`, ``z = conv2d(x, W_b, b_b)``, then the fused
    normalise + ReLU. Backward applies the straight-through estimator
    (:math:`\partial L/\partial W = \partial L/\partial W_b`, same for ``b``)
    after the fused normalise + ReLU backward and the convolution's backward.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx,
        x: Tensor,
        weight: Tensor,
        bias: Tensor,
        kernels: Kernels,
        forward_format: torch.memory_format,
        backward_format: torch.memory_format,
    ) -> Tensor:
        w_b = mean_threshold(weight).to(x.dtype)
        b_b = mean_threshold(bias).to(x.dtype)
        padding = weight.shape[-1] // 2
        z = F.conv2d(
            x.contiguous(memory_format=forward_format), w_b.contiguous(memory_format=forward_format), b_b, 1, padding
        )
        # y and zhat in NCHW: the gradient a user passes back is NCHW, and the
        # backward kernel runs 5x slower on mixed layouts (10.8 vs 2.1 ms, medium).
        y, zhat, std = kernels.train_forward(z, EPS, backward_format == torch.contiguous_format)
        ctx.save_for_backward(x, w_b, zhat, std)
        ctx.kernels, ctx.backward_format, ctx.padding = kernels, backward_format, padding  # type: ignore[attr-defined]
        ctx.weight_dtype, ctx.bias_dtype = weight.dtype, bias.dtype  # type: ignore[attr-defined]
        return y

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_y: Tensor
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None, None, None, None]:
        x, w_b, zhat, std = ctx.saved_tensors  # type: ignore[attr-defined]
        fmt = ctx.backward_format  # type: ignore[attr-defined]
        needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]  # type: ignore[attr-defined]
        grad_z = ctx.kernels.backward(grad_y, zhat, std, EPS).to(x.dtype)  # type: ignore[attr-defined]
        padding = ctx.padding  # type: ignore[attr-defined]
        grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_z.contiguous(memory_format=fmt),
            x.contiguous(memory_format=fmt),
            w_b.contiguous(memory_format=fmt),
            [w_b.shape[0]],
            [1, 1],
            [padding, padding],
            [1, 1],
            False,
            [0, 0],
            1,
            [needs_x, needs_w, needs_b],
        )
        return (
            grad_x if needs_x else None,
            grad_w.to(ctx.weight_dtype) if needs_w else None,  # type: ignore[attr-defined]
            grad_b.to(ctx.bias_dtype) if needs_b else None,  # type: ignore[attr-defined]
            None,
            None,
            None,
        )


class FastBNCVL(FusedBNCVL):
    """Drop-in BNCVL (same constructor, ``state_dict``, function and gradients), fastest per device.

    It takes the same NCHW input as the reference and returns the same values.

    Its choices on the CPU (the measurements behind them, with dates and
    commands, are in docs/measurements/2026-11-26-fast-choices.md):

    - convolution layout (:data:`~bncvl.layers.functional.INPUT_MEMORY_FORMAT`):
      NCHW. The bare convolution is faster in channels_last, but the user's
      input is NCHW and converting it costs more than that saves, end to end;
    - normalise + ReLU kernels: compiled (they tie with eager in eval and win
      in training);
    - backward convolution (``backward_memory_format``): NCHW, which needs
      neither the upstream gradient nor the input converted; the backward
      kernel is several times slower on mixed layouts.

    On CUDA it converts to channels_last (cuDNN's tensor-core kernels are
    NHWC-native); that choice has no measurement on a GPU yet (docs/variants.md).
    """

    backward_memory_format: torch.memory_format = torch.contiguous_format
    variant_name = "fast"

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        fmt = memory_format_for(x.device)
        relu = is_relu(self.activation)
        if self.training and torch.is_grad_enabled() and relu and self.kernel_size % 2:
            return FastTrainStep.apply(  # type: ignore[no-any-return]
                x, self.weight, self.bias, self.kernels(), fmt, self.backward_memory_format
            )
        w_q, b_q = self.binary_weights_as(x.dtype, fmt)
        return self.normalize_activation(conv2d_same(x.contiguous(memory_format=fmt), w_q, b_q))
