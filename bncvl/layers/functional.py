"""Mean-threshold binarisation and 1-bit storage of binary tensors.

These are the quantization primitives of BNCVL. They are pure functions; the
layers in :mod:`bncvl.layers.reference` and the variants call them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BITS_PER_BYTE",
    "CONV_MEMORY_FORMAT",
    "EPS",
    "INPUT_MEMORY_FORMAT",
    "check_input",
    "check_kernel_size",
    "conv2d_same",
    "float_storage_bytes",
    "is_relu",
    "mean_threshold",
    "memory_format_for",
    "normalize_per_sample",
    "pack_bits",
    "packed_storage_bytes",
    "ste_mean_threshold",
    "to_channels_last",
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


EPS = 1e-8
"""Added to the per-sample standard deviation, as in the seed."""

_HALF_DTYPES = (torch.float16, torch.bfloat16)


def check_kernel_size(kernel_size: object) -> int:
    """Return ``kernel_size`` if it is a positive int, else raise ``ValueError``."""
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive int; got {kernel_size!r}")
    return kernel_size


def check_input(x: object, in_channels: int) -> None:
    """Raise unless ``x`` is a floating (N, C, H, W) tensor with C == ``in_channels``.

    Raises:
        TypeError: ``x`` is not a tensor, or not floating-point.
        ValueError: ``x`` is not 4-D, has the wrong channel count, or is empty.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"BNCVL expects a torch.Tensor of shape (N, {in_channels}, H, W); got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"BNCVL expects a floating-point input (float32, float16 or bfloat16); got dtype {x.dtype}")
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"BNCVL expects input of shape (N, {in_channels}, H, W); got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"BNCVL expects a non-empty input of shape (N, {in_channels}, H, W); got {tuple(x.shape)}")


def conv2d_same(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """Stride-1 convolution whose output keeps ``x``'s spatial size.

    Odd kernels pad ``k // 2`` on every side, exactly as the seed. Even kernels
    pad ``(k - 1) // 2`` before and ``k // 2`` after (PyTorch's ``"same"``),
    where the seed's ``k // 2`` would grow the output by one pixel.
    """
    k = weight.shape[-1]
    if k % 2:
        return F.conv2d(x, weight, bias, stride=1, padding=k // 2)
    before, after = (k - 1) // 2, k // 2
    return F.conv2d(F.pad(x, (before, after, before, after)), weight, bias, stride=1)


def normalize_per_sample(z: Tensor, eps: float = EPS) -> Tensor:
    r"""Normalise each sample over (C, H, W) with the unbiased std, as the seed.

    .. math:: \hat z = \frac{z - \mu}{\sigma + \epsilon}, \quad
        \mu = \frac{1}{M}\sum z, \quad \sigma = \sqrt{\frac{\sum (z-\mu)^2}{M-1}}

    with :math:`M = C H W`. Half-precision inputs are normalised in float32 and
    cast back (``eps = 1e-8`` is zero in float16). A sample with a single
    element (:math:`M = 1`, where the unbiased std is undefined) gets
    :math:`\sigma = 0`, so the output is 0 rather than NaN.
    """
    if z.dtype in _HALF_DTYPES:
        return normalize_per_sample(z.float(), eps).to(z.dtype)
    dims = (1, 2, 3)
    mean = z.mean(dim=dims, keepdim=True)
    if z[0].numel() == 1:
        return (z - mean) / eps
    std = z.std(dim=dims, keepdim=True) + eps
    return (z - mean) / std


INPUT_MEMORY_FORMAT: dict[str, torch.memory_format] = {
    # The user's input is NCHW; on the CPU converting it costs more than
    # channels_last saves in the convolution (measured: see docs/variants.md).
    "cpu": torch.contiguous_format,
    # Not measured (no GPU here); cuDNN's fastest kernels are NHWC.
    "cuda": torch.channels_last,
}
"""The layout a layer that takes the user's NCHW input runs its convolution in, per device type."""

CONV_MEMORY_FORMAT: dict[str, torch.memory_format] = {
    # The bare convolution alone (input already converted) is faster in
    # channels_last on the CPU too, forward and training step together.
    "cpu": torch.channels_last,
    # cuDNN's tensor-core kernels are NHWC-native; not measured here (no GPU).
    "cuda": torch.channels_last,
}
"""The layout in which the bare convolution is fastest, per device type."""


def memory_format_for(
    device: torch.device | str, table: dict[str, torch.memory_format] = INPUT_MEMORY_FORMAT
) -> torch.memory_format:
    """The entry of ``table`` (:data:`INPUT_MEMORY_FORMAT` or :data:`CONV_MEMORY_FORMAT`) for ``device``'s type.

    Example:
        >>> memory_format_for("cpu"), memory_format_for("cpu", CONV_MEMORY_FORMAT)
        (torch.contiguous_format, torch.channels_last)
        >>> memory_format_for("meta")  # unknown device types keep NCHW
        torch.contiguous_format
    """
    return table.get(torch.device(device).type, torch.contiguous_format)


def to_channels_last(x: Tensor) -> Tensor:
    """``x`` in channels_last memory format (``x`` itself if it already is); same shape and values."""
    return x.contiguous(memory_format=torch.channels_last)


def is_relu(activation: object) -> bool:
    """Whether ``activation`` is a plain ReLU, the activation the fused kernels implement."""
    if isinstance(activation, nn.ReLU):
        return not activation.inplace
    return activation is F.relu or activation is torch.relu
