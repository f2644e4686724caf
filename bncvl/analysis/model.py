"""The analysis network: a few BNCVL layers, flatten, a linear head; and its float twin.

The float baseline has the same body with float ``nn.Conv2d`` ("same"
padding) in place of BNCVL's binary convolution, followed by the same
per-sample normalisation and activation, so the accuracy gap between the
two is the price of binarisation alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from bncvl.layers.functional import normalize_per_sample
from bncvl.layers.reference import BNCVL

__all__ = ["AnalysisNet", "FloatConv", "ObservedBNCVL"]


class ObservedBNCVL(BNCVL):
    """The reference :class:`~bncvl.BNCVL`, keeping what its last forward pass saw.

    After each forward, ``last_prenorm`` is the convolution output before
    normalisation and ``last_output`` the activation, both detached. It
    computes exactly what :class:`~bncvl.BNCVL` computes.
    """

    last_prenorm: Tensor | None = None
    last_output: Tensor | None = None

    def normalize(self, z: Tensor) -> Tensor:
        self.last_prenorm = z.detach()
        return super().normalize(z)

    def forward(self, x: Tensor) -> Tensor:
        y = super().forward(x)
        self.last_output = y.detach()
        return y


class FloatConv(nn.Module):
    """Float convolution ("same" padding), per-sample normalisation and activation: BNCVL without binarisation."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding="same")
        self.activation = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.activation(normalize_per_sample(self.conv(x)))


class AnalysisNet(nn.Module):
    """``conv1 … convK`` (BNCVL or float), flatten, linear head.

    Args:
        image_shape: (C, H, W) of one input image.
        num_classes: outputs of the linear head.
        channels: output channels of each conv layer, in order.
        kernel_size: of every conv layer.
        binary: BNCVL layers if True, else :class:`FloatConv`.

    Raises:
        ValueError: on an empty ``channels`` or a non-positive size.

    Example:
        >>> import torch
        >>> net = AnalysisNet((1, 8, 8), 10, channels=(32, 32))
        >>> net(torch.rand(4, 1, 8, 8)).shape
        torch.Size([4, 10])
        >>> list(net.layers)
        ['conv1', 'conv2']
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        num_classes: int,
        channels: Sequence[int] = (32, 32),
        kernel_size: int = 3,
        binary: bool = True,
    ) -> None:
        super().__init__()
        if not channels or any(c < 1 for c in channels) or min(image_shape) < 1 or num_classes < 1:
            raise ValueError(
                f"AnalysisNet expects positive channels, image shape and class count; "
                f"got channels={tuple(channels)}, image_shape={tuple(image_shape)}, num_classes={num_classes}"
            )
        in_channels, height, width = image_shape
        self.layer_names = tuple(f"conv{index}" for index in range(1, len(channels) + 1))
        for name, out_channels in zip(self.layer_names, channels, strict=True):
            # Attributes, not a ModuleDict, so state_dict and summary names are plain "conv1", "conv2", ...
            self.add_module(name, (ObservedBNCVL if binary else FloatConv)(in_channels, out_channels, kernel_size))
            in_channels = out_channels
        self.head = nn.Linear(channels[-1] * height * width, num_classes)
        self.binary = binary

    @property
    def layers(self) -> dict[str, nn.Module]:
        """The conv layers by name, in order."""
        return {name: getattr(self, name) for name in self.layer_names}

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers.values():
            x = layer(x)
        return self.head(x.flatten(start_dim=1))
