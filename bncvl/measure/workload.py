"""Seeded BNCVL workloads: a layer, its input and an upstream gradient.

The CLI, the asv suite and the tests build what they time here, so they all
time the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from bncvl.layers.registry import get
from bncvl.measure.presets import Shape
from bncvl.measure.timer import DEFAULT_SEED

__all__ = ["DTYPES", "Mode", "Workload", "make_workload", "parse_dtype"]

Mode = Literal["eval", "train"]

DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def parse_dtype(name: str) -> torch.dtype:
    """``torch.float32`` for ``"float32"`` etc.; ``ValueError`` naming the valid names otherwise."""
    try:
        return DTYPES[name]
    except KeyError:
        raise ValueError(f"unknown dtype {name!r}; expected one of {sorted(DTYPES)}") from None


@dataclass
class Workload:
    """A layer in ``mode`` with a matching input; methods run one pass each."""

    layer: nn.Module
    x: Tensor
    grad_output: Tensor
    mode: Mode

    def eval_forward(self) -> Tensor:
        """Inference: eval-mode forward under ``torch.inference_mode``."""
        with torch.inference_mode():
            return self.layer(self.x)

    def train_forward(self) -> Tensor:
        """Training forward, building the autograd graph."""
        return self.layer(self.x)

    def train_step(self) -> None:
        """Training forward and backward, gradients on the input, weight and bias."""
        self.zero_grad()
        self.layer(self.x).backward(self.grad_output)

    def zero_grad(self) -> None:
        self.layer.zero_grad(set_to_none=True)
        self.x.grad = None


def make_workload(
    variant: str,
    shape: Shape,
    mode: Mode,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
    seed: int = DEFAULT_SEED,
) -> Workload:
    """Build ``variant`` for ``shape`` on ``device``/``dtype``, seeded, in ``mode``.

    Every variant gets the same weights (from the reference's initialisation
    under ``seed``) and the same NCHW input a user would pass; a baseline
    with a ``memory_format`` attribute (:class:`bncvl.layers.conv_limit.ConvLimit`) gets
    the same values already in that layout.

    Raises:
        ValueError: on an unknown variant or mode.
        NotImplementedError: if the variant declares ``supported_device_types``
            and ``device`` is not among them (benchmarks turn this into a skip).
    """
    if mode not in ("eval", "train"):
        raise ValueError(f"mode must be 'eval' or 'train'; got {mode!r}")
    generator = torch.Generator().manual_seed(seed)
    cls = get(variant)
    supported = getattr(cls, "supported_device_types", None)
    if supported is not None and torch.device(device).type not in supported:
        raise NotImplementedError(f"variant {variant!r} runs on {'/'.join(supported)} only; got device {str(device)!r}")
    layer = cls(shape.in_channels, shape.out_channels, shape.kernel_size)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator))
        # A non-zero bias, so the bias path is exercised (the seed starts at zeros).
        layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator))
    layer = layer.to(device=device, dtype=dtype)
    layer.train(mode == "train")
    # A baseline may ask for its input (and upstream gradient) already in the
    # layout it runs in (the conv limit: "input already converted"); a
    # variant always gets the NCHW tensors a user would pass.
    memory_format = getattr(layer, "memory_format", torch.contiguous_format)
    x = torch.randn(shape.input_shape, generator=generator).to(device=device, dtype=dtype)
    x = x.contiguous(memory_format=memory_format).requires_grad_(mode == "train")
    grad_output = torch.randn((shape.batch, shape.out_channels, shape.size, shape.size), generator=generator).to(
        device=device, dtype=dtype
    )
    grad_output = grad_output.contiguous(memory_format=memory_format)
    return Workload(layer, x, grad_output, mode)
