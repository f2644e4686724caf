"""Mean-threshold binarisation and 1-bit storage of binary tensors.

These are the quantization primitives of BNCVL. They are pure functions; the
layers in :mod:`bncvl.layer` and the variants call them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = [
    "BITS_PER_BYTE",
    "float_storage_bytes",
    "mean_threshold",
    "pack_bits",
    "packed_storage_bytes",
    "ste_mean_threshold",
    "unpack_bits",
]

BITS_PER_BYTE = 8
# Bit weights of one packed byte, most significant first (numpy.packbits order).
_BIT_WEIGHTS = tuple(1 << (BITS_PER_BYTE - 1 - i) for i in range(BITS_PER_BYTE))


def mean_threshold(x: Tensor) -> Tensor:
    r"""Binarise ``x`` to {0, 1} by thresholding at its mean.

    .. math::
        q(x)_i = \begin{cases} 1 & x_i > \bar{x} \\ 0 & x_i \le \bar{x} \end{cases},
        \qquad \bar{x} = \frac{1}{n}\sum_j x_j

    The threshold is one mean over the whole tensor, so an entry can flip
    because other entries moved the mean. A constant tensor binarises to zeros
    when its mean is exact; the rounded mean of some constants falls just below
    them, and then they binarise to ones (as in the seed).
    This function has no useful gradient (it is zero almost everywhere); use
    :func:`ste_mean_threshold` for training.

    Args:
        x: floating tensor of any shape.

    Returns:
        A tensor of ``x``'s shape, dtype and device holding only 0 and 1.

    Raises:
        TypeError: if ``x`` is not a floating-point tensor.

    Example:
        >>> mean_threshold(torch.tensor([0.0, 1.0, 2.0, 5.0]))  # mean is 2.0
        tensor([0., 0., 0., 1.])
    """
    _check_floating(x, "mean_threshold")
    return (x > x.mean()).to(x.dtype)


def ste_mean_threshold(x: Tensor) -> Tensor:
    r"""Mean-threshold binarisation with a straight-through gradient.

    Forward, as in the seed notebook:

    .. math:: y = x + \operatorname{sg}(q(x) - x) = q(x)

    where :math:`\operatorname{sg}` stops the gradient and :math:`q` is
    :func:`mean_threshold`. Backward is the unclipped straight-through
    estimator:

    .. math:: \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}

    Args:
        x: floating tensor of any shape (typically the latent float weights).

    Returns:
        ``q(x)`` with ``x``'s shape and dtype, differentiable w.r.t. ``x``.

    Raises:
        TypeError: if ``x`` is not a floating-point tensor.

    Example:
        >>> w = torch.tensor([0.0, 3.0], requires_grad=True)
        >>> y = ste_mean_threshold(w)  # tensor([0., 1.])
        >>> (y * torch.tensor([2.0, 5.0])).sum().backward()
        >>> w.grad  # gradient passes straight through
        tensor([2., 5.])
    """
    return x + (mean_threshold(x) - x).detach()


def pack_bits(bits: Tensor) -> Tensor:
    """Pack a {0, 1} tensor into bytes, 8 entries per byte.

    Entries are taken in row-major (``flatten``) order; the first entry is the
    most significant bit of the first byte, as in ``numpy.packbits``. The last
    byte is zero-padded. Keep ``bits.shape`` to undo it with :func:`unpack_bits`.

    Args:
        bits: tensor of any shape, dtype and device holding only 0 and 1.

    Returns:
        A 1-D ``torch.uint8`` tensor of ``ceil(bits.numel() / 8)`` bytes.

    Raises:
        ValueError: if ``bits`` holds a value other than 0 or 1.

    Example:
        >>> pack_bits(torch.tensor([1, 0, 1, 1, 0, 0, 0, 0, 1]))
        tensor([176, 128], dtype=torch.uint8)
    """
    flat = bits.detach().reshape(-1)
    if flat.numel() and not bool(((flat == 0) | (flat == 1)).all()):
        bad = flat[(flat != 0) & (flat != 1)][:5].tolist()
        raise ValueError(f"pack_bits expects a tensor of 0s and 1s; got values such as {bad}")
    padded = torch.zeros(packed_storage_bytes(flat.numel()) * BITS_PER_BYTE, dtype=torch.uint8, device=flat.device)
    padded[: flat.numel()] = flat.to(torch.uint8)
    weights = torch.tensor(_BIT_WEIGHTS, dtype=torch.uint8, device=flat.device)
    return (padded.view(-1, BITS_PER_BYTE) * weights).sum(dim=1, dtype=torch.uint8)


def unpack_bits(packed: Tensor, shape: torch.Size | tuple[int, ...], dtype: torch.dtype = torch.float32) -> Tensor:
    """Undo :func:`pack_bits`: ``unpack_bits(pack_bits(b), b.shape, b.dtype)`` equals ``b``.

    Args:
        packed: 1-D ``torch.uint8`` tensor from :func:`pack_bits`.
        shape: shape of the original tensor.
        dtype: dtype of the result (0 and 1 are exact in every dtype).

    Returns:
        A tensor of ``shape`` and ``dtype`` on ``packed``'s device holding 0 and 1.

    Raises:
        TypeError: if ``packed`` is not a 1-D ``uint8`` tensor.
        ValueError: if ``packed`` has not exactly ``ceil(prod(shape) / 8)`` bytes.

    Example:
        >>> unpack_bits(torch.tensor([176, 128], dtype=torch.uint8), (9,), torch.int64)
        tensor([1, 0, 1, 1, 0, 0, 0, 0, 1])
    """
    if packed.dtype != torch.uint8 or packed.dim() != 1:
        raise TypeError(
            f"unpack_bits expects a 1-D torch.uint8 tensor from pack_bits; got {packed.dim()}-D {packed.dtype}"
        )
    numel = math.prod(shape)
    expected = packed_storage_bytes(numel)
    if packed.numel() != expected:
        raise ValueError(f"unpack_bits: shape {tuple(shape)} needs {expected} packed bytes; got {packed.numel()}")
    shifts = torch.arange(BITS_PER_BYTE - 1, -1, -1, dtype=torch.uint8, device=packed.device)
    bits = (packed.unsqueeze(1) >> shifts) & 1
    return bits.reshape(-1)[:numel].reshape(shape).to(dtype)


def float_storage_bytes(numel: int, dtype: torch.dtype = torch.float32) -> int:
    """Bytes that ``numel`` entries take in ``dtype`` (4 per entry for float32)."""
    return numel * torch.empty((), dtype=dtype).element_size()


def packed_storage_bytes(numel: int) -> int:
    """Bytes that ``numel`` binary entries take packed at 1 bit each: ``ceil(numel / 8)``."""
    if numel < 0:
        raise ValueError(f"numel must be >= 0; got {numel}")
    return -(-numel // BITS_PER_BYTE)


def _check_floating(x: Tensor, where: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{where} expects a floating-point tensor; got {got}")
