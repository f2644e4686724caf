"""The reference BNCVL layer, faithful to the seed notebook."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from bncvl.layers.functional import check_input, check_kernel_size, conv2d_same, mean_threshold, normalize_per_sample

__all__ = ["BNCVL"]


class BNCVL(nn.Module):
    r"""Binary-weight convolution, per-sample normalisation and activation.

    This is the reference implementation: it computes exactly what the seed
    notebook's ``BNCVL`` computes (same parameters, same float32 operations),
    and every faster variant in :data:`bncvl.VARIANTS` is tested against it.

    Forward, for input :math:`x` of shape (N, C_in, H, W):

    .. math::
        W_b &= \mathbb{1}[W > \operatorname{mean}(W)], \qquad
        b_b = \mathbb{1}[b > \operatorname{mean}(b)] \\
        z &= \operatorname{conv2d}(x, W_b, \text{stride}=1, \text{same}) + b_b \\
        \hat z &= \frac{z - \mu_n}{\sigma_n + 10^{-8}}, \qquad
        \mu_n, \sigma_n = \text{mean and unbiased std of sample } n \text{ over } (C, H, W) \\
        y &= \operatorname{activation}(\hat z)

    Gradient (training mode), with the unclipped straight-through estimator
    :math:`W_b = W + \operatorname{sg}(\mathbb{1}[W > \bar W] - W)`:

    .. math::
        \frac{\partial L}{\partial W} = \frac{\partial L}{\partial W_b}, \qquad
        \frac{\partial L}{\partial b} = \frac{\partial L}{\partial b_b}, \qquad
        \frac{\partial L}{\partial z} = \frac{1}{\sigma + \epsilon}\Big(g - \bar g
        - \hat z \, \frac{\sigma + \epsilon}{\sigma} \, \frac{\sum g \hat z}{M - 1}\Big)

    where :math:`g = \partial L / \partial \hat z`, the means and sums run over
    one sample's :math:`M = C H W` entries, and :math:`\partial L/\partial x`
    is the transposed convolution of :math:`\partial L/\partial z` with
    :math:`W_b`. In eval mode the weights are binarised without a graph.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output (number of filters).
        kernel_size: side of the square kernel, a positive int. Odd sizes pad
            as the seed; even sizes use "same" padding, so the output always
            keeps the input's height and width.
        activation: applied to the normalised map (default ``nn.ReLU()``).

    Raises:
        ValueError: on a non-positive or non-int ``kernel_size``; in
            ``forward``, on an input that is not (N, in_channels, H, W).
        TypeError: in ``forward``, on an input that is not a floating tensor.

    Example:
        >>> layer = BNCVL(3, 8, 3)
        >>> layer(torch.randn(4, 3, 32, 32)).shape
        torch.Size([4, 8, 32, 32])
        >>> layer.quantize(layer.weight).unique()
        tensor([0., 1.])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: Callable[[Tensor], Tensor] = nn.ReLU(),  # noqa: B008 - the seed's signature
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = check_kernel_size(kernel_size)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.activation = activation

    def no_grad(self, x: Tensor) -> Tensor:
        """Stop gradient flow (the straight-through estimator's detach)."""
        return x.detach()

    def quantize(self, x: Tensor) -> Tensor:
        """Binary quantization: 1 where ``x > mean(x)``, else 0 (see :func:`bncvl.mean_threshold`)."""
        return mean_threshold(x)

    def normalize(self, z: Tensor) -> Tensor:
        """Normalise each sample over (C, H, W) (see :func:`bncvl.layers.reference.normalize_per_sample`)."""
        return normalize_per_sample(z)

    def binary_weights(self) -> tuple[Tensor, Tensor]:
        """The {0, 1} weight and bias the forward pass uses, with the STE graph in training."""
        if self.training:
            w_q = self.weight + self.no_grad(self.quantize(self.weight) - self.weight)
            b_q = self.bias + self.no_grad(self.quantize(self.bias) - self.bias)
        else:
            w_q = self.quantize(self.weight)
            b_q = self.quantize(self.bias)
        return w_q, b_q

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        w_q, b_q = self.binary_weights()
        # {0, 1} is exact in every float dtype, so a float32 layer can take half inputs.
        z = conv2d_same(x, w_q.to(x.dtype), b_q.to(x.dtype))
        return self.activation(self.normalize(z))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
