r"""Fused per-sample normalisation + ReLU, with a backward that saves only what it needs.

The reference computes ``relu((z - mean) / (std + eps))`` with separate
PyTorch ops: an unbiased ``std`` (a slow Welford reduction on the CPU), a
subtraction, a division and a ReLU, and autograd keeps several full-size
intermediates for backward. Here the same function has

- a forward that keeps only the normalised map :math:`\hat z` and the
  per-sample :math:`\sigma` for backward (one tensor of ``z``'s size instead
  of three), and
- a hand-written backward (:func:`normalize_relu_backward`):

.. math::
    g = \frac{\partial L}{\partial y} \odot \mathbb{1}[\hat z > 0], \qquad
    \frac{\partial L}{\partial z} = \frac{1}{\sigma + \epsilon}\Big(g - \bar g
    - \hat z \, \frac{\sigma + \epsilon}{\sigma} \, \frac{\sum g \hat z}{M - 1}\Big)

with sums and means over one sample's :math:`M = C H W` entries. Where
:math:`\sigma = 0` the map is constant, :math:`\hat z = 0`, and the last term
is taken as 0 (its limit) instead of ``0 * inf = NaN``.

Two sets of kernels compute it:

- **eager** (:data:`EAGER_KERNELS`): two-pass statistics (mean, then the
  norm of the centred map, whose buffer becomes :math:`\hat z`). One-pass
  ``sum`` and ``sum of squares`` cancel catastrophically in float32 when
  :math:`|\mu| \gg \sigma`, and ``torch.var_mean`` (single-pass Welford) is
  7.7 ms against 0.36 ms for ``sum`` + ``vector_norm`` at the medium preset on
  the 2-core CPU box, so the eager path takes the two cheap passes.
- **compiled** (:func:`compiled_kernels`): the single-pass float32 Welford
  ``var_mean`` and the element-wise work fused by ``torch.compile``
  (inductor), one read of ``z`` for the statistics and one read/write for
  the output. Compilation happens on the first call for each input shape,
  dtype and layout (seconds on a CPU); do one call before timing. A failed
  compilation raises; it never falls back silently. Set the environment
  variable ``BNCVL_COMPILE=0`` to use the eager kernels instead.

Statistics are always float32, whatever ``z``'s dtype (1e-8 is 0 in float16).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from bncvl.layers.cached import CachedBNCVL
from bncvl.layers.functional import EPS, check_input, conv2d_same, is_relu

__all__ = [
    "COMPILE_ENV",
    "EAGER_KERNELS",
    "FusedBNCVL",
    "Kernels",
    "NormalizeReLU",
    "compile_enabled",
    "compiled_kernels",
    "fused_normalize_relu",
    "normalize_relu_backward",
    "normalize_relu_eval",
    "normalize_relu_train",
]

COMPILE_ENV = "BNCVL_COMPILE"
_DIMS = (1, 2, 3)


def compile_enabled() -> bool:
    """False when the environment sets ``BNCVL_COMPILE=0`` (then every variant uses eager kernels)."""
    return os.environ.get(COMPILE_ENV, "1") != "0"


def _centred_stats(z: Tensor) -> tuple[Tensor, Tensor]:
    """``(z - mean, std)`` per sample in float32, two passes; ``std`` is 0 for one-element samples."""
    z = z.float()
    count = z[0].numel()
    centred = z - z.mean(dim=_DIMS, keepdim=True)
    norm = torch.linalg.vector_norm(centred, dim=_DIMS, keepdim=True)
    std = norm / math.sqrt(count - 1) if count > 1 else torch.zeros_like(norm)
    return centred, std


def normalize_relu_eval(z: Tensor, eps: float = EPS) -> Tensor:
    """``relu((z - mean) / (std + eps))`` per sample, in ``z``'s dtype (eager, no graph)."""
    centred, std = _centred_stats(z)
    return centred.div_(std + eps).relu_().to(z.dtype)


def normalize_relu_train(z: Tensor, eps: float = EPS, contiguous: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    r"""Forward for training: ``(y, zhat, std)``; ``zhat`` (float32) and ``std`` are what backward needs.

    ``contiguous=True`` returns ``y`` and ``zhat`` in NCHW whatever ``z``'s
    layout, so that a backward fed an NCHW gradient reads both in one order.
    """
    centred, std = _centred_stats(z)
    zhat = centred.div_(std + eps)
    if contiguous:
        zhat = zhat.contiguous()
    return zhat.relu().to(z.dtype), zhat, std


def normalize_relu_backward(grad_y: Tensor, zhat: Tensor, std: Tensor, eps: float = EPS) -> Tensor:
    """Gradient of :func:`normalize_relu_train`'s ``y`` w.r.t. ``z`` (module docstring), in float32."""
    count = zhat[0].numel()
    g = grad_y.float() * (zhat > 0)
    g_mean = g.mean(dim=_DIMS, keepdim=True)
    g_dot = (g * zhat).sum(dim=_DIMS, keepdim=True)
    ratio = torch.where(std > 0, (std + eps) / std, torch.zeros_like(std))
    coefficient = ratio * g_dot / max(count - 1, 1)
    return (g - g_mean - zhat * coefficient) / (std + eps)


@dataclass(frozen=True)
class Kernels:
    """The three kernels of the fused normalise + ReLU; see the module docstring."""

    name: str
    eval: Callable[[Tensor, float], Tensor]
    train_forward: Callable[[Tensor, float, bool], tuple[Tensor, Tensor, Tensor]]
    backward: Callable[[Tensor, Tensor, Tensor, float], Tensor]


EAGER_KERNELS = Kernels("eager", normalize_relu_eval, normalize_relu_train, normalize_relu_backward)


def _welford_stats(z: Tensor) -> tuple[Tensor, Tensor]:
    var, mean = torch.var_mean(z.float(), dim=_DIMS, keepdim=True, correction=1)
    if z[0].numel() == 1:
        var = torch.zeros_like(var)
    return mean, var.sqrt()


def _single_pass_eval(z: Tensor, eps: float) -> Tensor:
    mean, std = _welford_stats(z)
    return torch.relu((z.float() - mean) / (std + eps)).to(z.dtype)


def _single_pass_train(z: Tensor, eps: float, contiguous: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    mean, std = _welford_stats(z)
    zhat = (z.float() - mean) / (std + eps)
    if contiguous:
        zhat = zhat.contiguous()
    return torch.relu(zhat).to(z.dtype), zhat, std


def _loud(kernel: Callable[..., object], name: str) -> Callable[..., object]:
    """Re-raise a compilation or run failure with the way out, instead of falling back silently."""

    @functools.wraps(kernel)
    def run(*args: object) -> object:
        try:
            return kernel(*args)
        except Exception as error:
            raise RuntimeError(
                f"torch.compile of the fused kernel {name!r} failed ({type(error).__name__}: {error}); "
                f"fix the toolchain (inductor needs a C++ compiler on the CPU, triton on CUDA) "
                f"or set {COMPILE_ENV}=0 to use the eager kernels"
            ) from error

    return run


@functools.cache
def compiled_kernels() -> Kernels:
    """The single-pass kernels compiled by ``torch.compile`` (built once per process).

    ``fullgraph=True``: a graph break is an error, not a silent partial
    compile. Shapes are dynamo's default: the first input shape compiles a
    kernel specialised to it (what a benchmark of one preset times); a
    second shape recompiles once into a shape-generic kernel, so a process
    that sees many shapes (the tests) does not hit dynamo's recompile limit.
    """

    def build(fn: Callable[..., object], name: str) -> Callable[..., object]:
        return _loud(torch.compile(fn, fullgraph=True), name)

    return Kernels(
        "compiled",
        build(_single_pass_eval, "eval"),  # type: ignore[arg-type]
        build(_single_pass_train, "train_forward"),  # type: ignore[arg-type]
        build(normalize_relu_backward, "backward"),  # type: ignore[arg-type]
    )


def select_kernels(compiled: bool) -> Kernels:
    """:func:`compiled_kernels` if ``compiled`` and not disabled by ``BNCVL_COMPILE=0``, else the eager ones."""
    return compiled_kernels() if compiled and compile_enabled() else EAGER_KERNELS


class NormalizeReLU(torch.autograd.Function):
    """Autograd function of the fused normalise + ReLU; saves ``zhat`` (float32) and ``std`` only."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, z: Tensor, eps: float, kernels: Kernels) -> Tensor:  # type: ignore[override]
        y, zhat, std = kernels.train_forward(z, eps)
        ctx.save_for_backward(zhat, std)
        ctx.eps, ctx.kernels, ctx.dtype = eps, kernels, z.dtype  # type: ignore[attr-defined]
        return y

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_y: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        zhat, std = ctx.saved_tensors  # type: ignore[attr-defined]
        grad_z = ctx.kernels.backward(grad_y, zhat, std, ctx.eps)  # type: ignore[attr-defined]
        return grad_z.to(ctx.dtype), None, None  # type: ignore[attr-defined]


def fused_normalize_relu(z: Tensor, eps: float = EPS, kernels: Kernels = EAGER_KERNELS) -> Tensor:
    """``relu(normalize_per_sample(z))`` with the fused kernels; differentiable when ``z`` needs a gradient.

    Args:
        z: (N, C, H, W) floating tensor, any memory format.
        eps: added to the per-sample standard deviation.
        kernels: :data:`EAGER_KERNELS` or :func:`compiled_kernels`.

    Returns:
        A tensor of ``z``'s shape and dtype.

    Example:
        >>> z = torch.tensor([[[[1.0, 3.0]]]])  # mean 2, unbiased std sqrt(2)
        >>> fused_normalize_relu(z)  # relu([-0.7071, 0.7071])
        tensor([[[[0.0000, 0.7071]]]])
    """
    if torch.is_grad_enabled() and z.requires_grad:
        return NormalizeReLU.apply(z, eps, kernels)  # type: ignore[no-any-return]
    return kernels.eval(z, eps)


class FusedBNCVL(CachedBNCVL):
    """BNCVL with cached eval weights and the fused normalise + ReLU.

    Forward and gradients are the reference's (see :class:`~bncvl.BNCVL`);
    only the normalise + activation step changes: :class:`NormalizeReLU`
    saves one float32 map per call for backward, where the reference's
    autograd graph keeps three. An activation other than a plain
    ``nn.ReLU()`` falls back to the reference's ``normalize`` + activation.

    ``compiled`` (class attribute) picks :func:`compiled_kernels`; chosen by
    measurement (docs/measurements/2026-11-27-variants-cpu.md): compiled normalise + ReLU is several
    times faster than eager on the CPU.
    """

    compiled: bool = True

    def kernels(self) -> Kernels:
        return select_kernels(self.compiled)

    def normalize_activation(self, z: Tensor) -> Tensor:
        if not is_relu(self.activation):
            return self.activation(self.normalize(z))
        return fused_normalize_relu(z, EPS, self.kernels())

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        w_q, b_q = self.binary_weights_as(x.dtype)
        return self.normalize_activation(conv2d_same(x, w_q, b_q))
