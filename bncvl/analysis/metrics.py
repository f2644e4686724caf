r"""Pure functions measuring how binarised weights and their layers behave while training.

Each takes tensors and returns plain Python numbers (or lists of them); the
stateful bookkeeping across steps lives in :class:`FlipTracker`, which calls
them. Definitions follow the literature where one exists:

- **flip ratio** (Larq's ``FlipRatio``): the fraction of entries whose
  binary value changed since the previous step,
  :math:`\frac{1}{n}\sum_i \mathbb{1}[q_{t,i} \ne q_{t-1,i}]`. It is undefined
  (``None``) at the first observed step. Larq reports the running mean of the
  defined values, e.g. for updates (1, 1), (2, 2), (1, 2): undefined, 1, 0.5,
  mean 0.75.
- **oscillation** (Nagel et al. 2022, "Overcoming Oscillations in
  Quantization-Aware Training", eq. 5-6): an entry oscillates at step
  :math:`t` when its quantized value changes and the change's direction is
  opposite to the direction of its previous change,
  :math:`o_t = \mathbb{1}[\Delta_t \ne 0 \wedge \operatorname{sign}\Delta_t \ne
  \operatorname{sign}\Delta_\tau]`, and its frequency is the EMA
  :math:`f_t = m\, o_t + (1 - m) f_{t-1}` with momentum :math:`m = 0.01`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from bncvl.layers.functional import EPS

__all__ = [
    "EPSILON_REGIME_STD",
    "FLIP_PRONE_MARGIN",
    "OSCILLATION_MOMENTUM",
    "OSCILLATION_THRESHOLD",
    "FlipTracker",
    "constant_filters",
    "dead_unit_fraction",
    "epsilon_regime_count",
    "flip_count",
    "flip_prone_fraction",
    "flip_ratio",
    "gradient_norm",
    "hamming_distance",
    "histogram",
    "latent_norm",
    "margins",
    "nonfinite_count",
    "ones_fraction",
    "ones_fraction_per_channel",
    "oscillation_step",
    "per_sample_std",
    "std_summary",
    "threshold",
]

OSCILLATION_MOMENTUM = 0.01
"""EMA momentum of the oscillation frequency, as in Nagel et al. 2022."""

OSCILLATION_THRESHOLD = 0.01
"""An entry counts as oscillating when its frequency is above this: one reversal
alone reaches exactly ``OSCILLATION_MOMENTUM`` and then decays, so being above it
takes at least two reversals within roughly the last ``1 / momentum`` steps."""

FLIP_PRONE_MARGIN = 0.05
"""A latent weight within this many standard deviations of the threshold is
flip-prone: a small update, or a small move of the mean, flips it."""

EPSILON_REGIME_STD = 100 * EPS
"""A sample whose pre-normalisation std is below this is in the epsilon regime:
the layer's ``+1e-8`` is at least 1% of its std, so it changes the output."""


def _check_same_shape(previous: Tensor, current: Tensor, where: str) -> None:
    if previous.shape != current.shape:
        raise ValueError(
            f"{where} expects two tensors of one shape; got {tuple(previous.shape)} and {tuple(current.shape)}"
        )
    if current.numel() == 0:
        raise ValueError(f"{where} expects non-empty tensors; got shape {tuple(current.shape)}")


def flip_count(previous: Tensor, current: Tensor) -> int:
    """Number of entries that differ between ``previous`` and ``current``.

    Raises:
        ValueError: if the shapes differ or the tensors are empty.
    """
    _check_same_shape(previous, current, "flip_count")
    return int((previous != current).sum())


def flip_ratio(previous: Tensor, current: Tensor) -> float:
    """Fraction of entries that changed from ``previous`` to ``current`` (Larq's ``FlipRatio``).

    Args:
        previous: quantized values at the previous step.
        current: quantized values now, same shape.

    Returns:
        A number in [0, 1].

    Raises:
        ValueError: if the shapes differ or the tensors are empty.

    Example:
        >>> flip_ratio(torch.tensor([2, 2]), torch.tensor([1, 2]))
        0.5
    """
    return flip_count(previous, current) / current.numel()


def hamming_distance(reference: Tensor, current: Tensor) -> int:
    """Number of entries where ``current`` differs from ``reference`` (e.g. the initial binary weights)."""
    _check_same_shape(reference, current, "hamming_distance")
    return int((reference != current).sum())


def oscillation_step(
    previous: Tensor,
    current: Tensor,
    last_direction: Tensor,
    frequency: Tensor,
    momentum: float = OSCILLATION_MOMENTUM,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""One step of Nagel et al.'s oscillation tracking.

    .. math::
        \Delta_t = q_t - q_{t-1}, \quad
        o_t = \mathbb{1}[\Delta_t \ne 0 \wedge d \ne 0 \wedge \operatorname{sign}\Delta_t \ne d], \quad
        f_t = m\, o_t + (1 - m) f_{t-1}

    where :math:`d` is the sign of the entry's last non-zero change (0 if it
    never changed). For {0, 1} weights every flip after an entry's first one is
    a reversal.

    Args:
        previous: quantized values at step t-1.
        current: quantized values at step t, same shape.
        last_direction: sign (-1, 0 or 1) of each entry's last change before t.
        frequency: each entry's EMA :math:`f_{t-1}`.
        momentum: :math:`m`, in (0, 1].

    Returns:
        ``(oscillated, direction, frequency)``: the bool mask :math:`o_t`, the
        updated last-change sign and :math:`f_t`.

    Raises:
        ValueError: on mismatched shapes or a momentum outside (0, 1].

    Example:
        >>> q = [torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([0.0])]
        >>> d, f = torch.zeros(1), torch.zeros(1)
        >>> o, d, f = oscillation_step(q[0], q[1], d, f)  # first change: o = False, f = 0
        >>> o, d, f = oscillation_step(q[1], q[2], d, f)  # reversal: o = True, f = 0.01
    """
    _check_same_shape(previous, current, "oscillation_step")
    if last_direction.shape != current.shape or frequency.shape != current.shape:
        raise ValueError(
            f"oscillation_step expects last_direction and frequency of shape {tuple(current.shape)}; "
            f"got {tuple(last_direction.shape)} and {tuple(frequency.shape)}"
        )
    if not 0 < momentum <= 1:
        raise ValueError(f"oscillation momentum must be in (0, 1]; got {momentum}")
    direction = torch.sign(current.to(torch.float64) - previous.to(torch.float64))
    changed = direction != 0
    oscillated = changed & (last_direction != 0) & (direction != last_direction)
    new_direction = torch.where(changed, direction, last_direction.to(torch.float64))
    new_frequency = momentum * oscillated.to(torch.float64) + (1 - momentum) * frequency.to(torch.float64)
    return oscillated, new_direction, new_frequency


def ones_fraction(bits: Tensor) -> float:
    """Fraction of ones in a {0, 1} tensor."""
    if bits.numel() == 0:
        raise ValueError("ones_fraction expects a non-empty tensor; got shape ()")
    return float(bits.to(torch.float64).mean())


def ones_fraction_per_channel(bits: Tensor) -> list[float]:
    """Fraction of ones of each output channel (dimension 0) of a {0, 1} weight tensor."""
    if bits.dim() < 1 or bits.numel() == 0:
        raise ValueError(f"ones_fraction_per_channel expects a non-empty (C_out, ...) tensor; got {tuple(bits.shape)}")
    return bits.reshape(bits.shape[0], -1).to(torch.float64).mean(dim=1).tolist()


def constant_filters(bits: Tensor) -> tuple[int, int]:
    """``(all_zero, all_one)``: how many output channels of a {0, 1} weight are all 0 or all 1.

    An all-zero filter makes its channel a constant (its binary bias) before
    normalisation; an all-one filter is a plain box sum of its input.
    """
    per_channel = ones_fraction_per_channel(bits)
    return sum(f == 0.0 for f in per_channel), sum(f == 1.0 for f in per_channel)


def threshold(latent: Tensor) -> float:
    """The binarisation threshold: the mean of the latent weights."""
    return float(latent.detach().to(torch.float64).mean())


def latent_norm(latent: Tensor) -> float:
    """L2 norm of the latent float weights (the unclipped STE lets it grow without bound)."""
    return float(torch.linalg.vector_norm(latent.detach().to(torch.float64)))


def margins(latent: Tensor) -> Tensor:
    r"""Each latent weight's distance to the threshold in standard deviations, :math:`|w - \bar w| / \sigma_w`.

    A constant tensor (:math:`\sigma_w = 0`) has every weight on the threshold,
    so every margin is 0.
    """
    w = latent.detach().to(torch.float64).reshape(-1)
    if w.numel() < 2:
        return torch.zeros_like(w)
    distance = (w - w.mean()).abs()
    std = w.std()
    return torch.zeros_like(w) if std == 0 else distance / std


def flip_prone_fraction(latent: Tensor, margin: float = FLIP_PRONE_MARGIN) -> float:
    """Fraction of latent weights whose margin (see :func:`margins`) is below ``margin``."""
    return float((margins(latent) < margin).to(torch.float64).mean())


def histogram(values: Tensor, bins: int = 50) -> tuple[list[float], list[int]]:
    """``(edges, counts)`` of the finite entries of ``values``: ``bins + 1`` edges, ``bins`` counts."""
    if bins < 1:
        raise ValueError(f"histogram needs bins >= 1; got {bins}")
    array = values.detach().to(torch.float64).reshape(-1).numpy()
    counts, edges = np.histogram(array[np.isfinite(array)], bins=bins)
    return edges.tolist(), counts.tolist()


def per_sample_std(z: Tensor) -> Tensor:
    """The unbiased std of each sample over (C, H, W): what the layer normalises by, before ``+ eps``.

    Computed in float32 (half inputs are promoted), as the layer computes it.
    """
    z = z.detach()
    return (z.float() if z.dtype != torch.float64 else z).std(dim=(1, 2, 3))


def std_summary(stds: Tensor) -> tuple[float, float, float]:
    """``(min, median, max)`` of a 1-D tensor of per-sample stds (NaN entries ignored)."""
    finite = [v for v in stds.tolist() if math.isfinite(v)]
    if not finite:
        return math.nan, math.nan, math.nan
    return min(finite), statistics.median(finite), max(finite)


def epsilon_regime_count(stds: Tensor, limit: float = EPSILON_REGIME_STD) -> int:
    """How many samples have a pre-normalisation std below ``limit`` (see :data:`EPSILON_REGIME_STD`)."""
    return int((stds < limit).sum())


def dead_unit_fraction(activations: Tensor) -> float:
    """Fraction of post-activation entries that are exactly zero (ReLU's dead units)."""
    if activations.numel() == 0:
        raise ValueError("dead_unit_fraction expects a non-empty tensor; got shape ()")
    return int((activations.detach() == 0).sum()) / activations.numel()


def nonfinite_count(*tensors: Tensor | None) -> int:
    """Total NaN and ±Inf entries over ``tensors`` (``None`` entries, e.g. a missing grad, are skipped)."""
    return sum(t.numel() - int(torch.isfinite(t.detach()).sum()) for t in tensors if t is not None)


def gradient_norm(*grads: Tensor | None) -> float | None:
    """L2 norm of the concatenated gradients, or ``None`` when none exists (no backward yet)."""
    present = [g.detach().to(torch.float64).reshape(-1) for g in grads if g is not None]
    if not present:
        return None
    return float(torch.linalg.vector_norm(torch.cat(present)))


@dataclass
class FlipTracker:
    """Flips of one quantized tensor across observed steps: flip ratio, oscillation, Hamming distance.

    Call :meth:`update` with the quantized values at each step, the first call
    included. The first call defines the reference for the Hamming distance and
    has an undefined (``None``) flip ratio.

    Example (Larq's):
        >>> tracker = FlipTracker()
        >>> [tracker.update(torch.tensor(v)) for v in ([1, 1], [2, 2], [1, 2])]
        [None, 1.0, 0.5]
        >>> tracker.mean_flip_ratio
        0.75
    """

    momentum: float = OSCILLATION_MOMENTUM
    initial: Tensor | None = None
    previous: Tensor | None = None
    last_flip_ratio: float | None = None
    cumulative_flips: int = 0
    frequency: Tensor | None = None
    _direction: Tensor | None = None
    _ratio_sum: float = 0.0
    _ratio_count: int = 0

    def update(self, quantized: Tensor) -> float | None:
        """Record the values of one step; return its flip ratio (``None`` on the first call).

        Raises:
            ValueError: if the shape differs from the first call's.
        """
        current = quantized.detach().clone()
        if self.previous is None:
            self.initial = current
            self.frequency = torch.zeros(current.shape, dtype=torch.float64)
            self._direction = torch.zeros(current.shape, dtype=torch.float64)
            self.last_flip_ratio = None
        else:
            assert self.frequency is not None and self._direction is not None
            flips = flip_count(self.previous, current)
            self.cumulative_flips += flips
            self.last_flip_ratio = flips / current.numel()
            self._ratio_sum += self.last_flip_ratio
            self._ratio_count += 1
            _, self._direction, self.frequency = oscillation_step(
                self.previous, current, self._direction, self.frequency, self.momentum
            )
        self.previous = current
        return self.last_flip_ratio

    @property
    def mean_flip_ratio(self) -> float | None:
        """Running mean of the defined flip ratios since the last :meth:`reset_mean` (Larq's metric value)."""
        return self._ratio_sum / self._ratio_count if self._ratio_count else None

    def reset_mean(self) -> None:
        """Start a new running mean (Larq resets its metric every epoch); the rest of the state is kept."""
        self._ratio_sum, self._ratio_count = 0.0, 0

    @property
    def hamming_to_initial(self) -> int:
        """Entries that differ from the first observed values (0 before any update)."""
        if self.initial is None or self.previous is None:
            return 0
        return hamming_distance(self.initial, self.previous)

    @property
    def oscillation_frequency_mean(self) -> float:
        """Mean oscillation frequency over all entries (0 before the second update)."""
        return 0.0 if self.frequency is None else float(self.frequency.mean())

    def oscillating_fraction(self, limit: float = OSCILLATION_THRESHOLD) -> float:
        """Fraction of entries whose oscillation frequency is above ``limit``."""
        return 0.0 if self.frequency is None else float((self.frequency > limit).to(torch.float64).mean())
