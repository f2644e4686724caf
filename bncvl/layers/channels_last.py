"""BNCVL with its convolution in channels_last (NHWC) memory format."""

from __future__ import annotations

import torch
from torch import Tensor

from bncvl.layers.cached import CachedBNCVL
from bncvl.layers.functional import check_input, conv2d_same, to_channels_last

__all__ = ["ChannelsLastBNCVL"]


class ChannelsLastBNCVL(CachedBNCVL):
    """The reference layer with its input and binary weights converted to channels_last.

    oneDNN's (and cuDNN's) fastest convolutions are NHWC-native. The layer
    still takes the user's NCHW input and converts it on every call, which
    costs a full copy of the input; the output keeps channels_last strides
    (same shape and values as the reference's; ``.contiguous()`` gives NCHW).
    Eval weights are cached as in :class:`~bncvl.layers.cached.CachedBNCVL`;
    normalisation and activation are the reference's.
    """

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        w_q, b_q = self.binary_weights_as(x.dtype, torch.channels_last)
        z = conv2d_same(to_channels_last(x), w_q, b_q)
        return self.activation(self.normalize(z))
