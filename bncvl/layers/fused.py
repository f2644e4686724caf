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
  compilation raises; it never falls back silently. Past dynamo's recompile
  limit (``torch._dynamo.config.recompile_limit`` compiled entries of one
  kernel, 8 by default) a kernel runs eager from then on, with a
  :class:`RecompileLimitWarning`. Set the environment variable
  ``BNCVL_COMPILE=0`` to use the eager kernels from the start.

Statistics are always float32, whatever ``z``'s dtype (1e-8 is 0 in float16).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
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
    "RecompileLimitWarning",
    "compile_enabled",
    "compiled_kernels",
    "fused_normalize_relu",
    "normalize_relu_backward",
    "normalize_relu_eval",
    "normalize_relu_train",
    "reset_compiled_kernels",
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


class RecompileLimitWarning(RuntimeWarning):
    """A compiled kernel reached dynamo's recompile limit and runs eager from now on (the same function, slower)."""


class _CompiledKernel:
    """One kernel of one variant: the compiled function, or its eager twin once dynamo's recompile limit is hit.

    Each input dtype, layout and size-1 dimension that no compiled entry covers makes dynamo compile
    another; past ``torch._dynamo.config.recompile_limit`` entries, ``fullgraph=True`` makes it raise on
    every such call. The kernel then warns once (:class:`RecompileLimitWarning`) and runs ``eager`` for
    every later call: retrying would cost a failed guard check and a dynamo log line per call. Any other
    failure raises, with the way out, instead of falling back silently.
    """

    def __init__(
        self, compiled: Callable[..., object], eager: Callable[..., object], kernel: str, variant: str
    ) -> None:
        self.compiled, self.eager, self.kernel, self.variant = compiled, eager, kernel, variant
        self.eager_from_now_on = False

    def __call__(self, *args: object) -> object:
        if self.eager_from_now_on:
            return self.eager(*args)
        try:
            return self.compiled(*args)
        except torch._dynamo.exc.FailOnRecompileLimitHit:
            self.eager_from_now_on = True
            warnings.warn(
                f"{self.variant}: torch.compile of the fused kernel {self.kernel!r} hit "
                f"torch._dynamo.config.recompile_limit ({torch._dynamo.config.recompile_limit} compiled input "
                f"dtypes, shapes and layouts); the {self.variant} variant runs that kernel eager from now on in this "
                f"process (the same function, slower). Raise the limit, or set {COMPILE_ENV}=0 to run eager from "
                "the start",
                RecompileLimitWarning,
                stacklevel=2,
            )
            return self.eager(*args)
        except Exception as error:
            raise RuntimeError(
                f"torch.compile of the fused kernel {self.kernel!r} failed ({type(error).__name__}: {error}); "
                f"fix the toolchain (inductor needs a C++ compiler on the CPU, triton on CUDA) "
                f"or set {COMPILE_ENV}=0 to use the eager kernels"
            ) from error


@functools.cache
def _compiled_functions() -> tuple[Callable[..., object], Callable[..., object], Callable[..., object]]:
    """The single-pass eval, train-forward and backward compiled once per process, for every variant."""

    def build(fn: Callable[..., object]) -> Callable[..., object]:
        return torch.compile(fn, fullgraph=True)

    return build(_single_pass_eval), build(_single_pass_train), build(normalize_relu_backward)


@functools.cache
def compiled_kernels(variant: str = "fused") -> Kernels:
    """The single-pass kernels compiled by ``torch.compile``, as ``variant`` calls them (built once per variant).

    ``fullgraph=True``: a graph break is an error, not a silent partial
    compile. Shapes are dynamo's default: the first input shape compiles a
    kernel specialised to it (what a benchmark of one preset times); a
    second shape recompiles once into a shape-generic kernel. Another dtype,
    layout or size-1 dimension compiles another entry; every variant shares
    the compiled entries, and each variant's kernel falls back to the eager
    kernels on its own at the recompile limit (:class:`_CompiledKernel`),
    with a warning that names ``variant``.
    """
    eval_fn, train_fn, backward_fn = _compiled_functions()
    return Kernels(
        "compiled",
        _CompiledKernel(eval_fn, EAGER_KERNELS.eval, "eval", variant),  # type: ignore[arg-type]
        _CompiledKernel(train_fn, EAGER_KERNELS.train_forward, "train_forward", variant),  # type: ignore[arg-type]
        _CompiledKernel(backward_fn, EAGER_KERNELS.backward, "backward", variant),  # type: ignore[arg-type]
    )


def reset_compiled_kernels() -> None:
    """Forget the compiled kernels and every variant's fallback to eager; the next call compiles afresh.

    It calls ``torch._dynamo.reset()``, which forgets every compiled entry of the process, not only these.
    """
    torch._dynamo.reset()
    compiled_kernels.cache_clear()
    _compiled_functions.cache_clear()


def select_kernels(compiled: bool, variant: str = "fused") -> Kernels:
    """:func:`compiled_kernels` of ``variant`` if ``compiled`` and not disabled by ``BNCVL_COMPILE=0``, else eager."""
    return compiled_kernels(variant) if compiled and compile_enabled() else EAGER_KERNELS


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
    variant_name: str = "fused"
    """The registry's name of the class, which a :class:`RecompileLimitWarning` names."""

    def kernels(self) -> Kernels:
        return select_kernels(self.compiled, self.variant_name)

    def normalize_activation(self, z: Tensor) -> Tensor:
        if not is_relu(self.activation):
            return self.activation(self.normalize(z))
        return fused_normalize_relu(z, EPS, self.kernels())

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        w_q, b_q = self.binary_weights_as(x.dtype)
        return self.normalize_activation(conv2d_same(x, w_q, b_q))
