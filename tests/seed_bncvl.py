"""The seed notebook's BNCVL, transcribed verbatim: the oracle for the reference layer.

Source: ../shared/seed/bncvl_seed_notebook.txt, cell In [7]. Do not "fix" it.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class SeedBNCVL(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, activation: Callable = nn.ReLU()):  # noqa: B008
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size

        # 32-bit float convolution weights and bias
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))

        self.activation = activation

    def no_grad(self, x):
        """Stops gradient flow (Straight-Through Estimator)."""
        return x.detach()

    def quantize(self, x):
        """
        Binary quantization based on the mean of x.
        1 if x > mean(x), else 0.
        """
        threshold = x.mean()
        return (x > threshold).float()

    def normalize(self, z):
        """Normalize each feature map in a sample."""
        mean = z.mean(dim=(1, 2, 3), keepdim=True)
        std = z.std(dim=(1, 2, 3), keepdim=True) + 1e-8
        return (z - mean) / std

    def forward(self, x):
        if self.training:
            # Quantization during training (STE approximation)
            w_q = self.weight + self.no_grad(self.quantize(self.weight) - self.weight)
            b_q = self.bias + self.no_grad(self.quantize(self.bias) - self.bias)
        else:
            # Quantization during inference
            w_q = self.quantize(self.weight)
            b_q = self.quantize(self.bias)

        # Perform convolution with quantized weights
        z = F.conv2d(x, w_q, b_q, stride=1, padding=self.kernel_size // 2)

        # Normalize and activate
        z = self.normalize(z)
        return self.activation(z)
