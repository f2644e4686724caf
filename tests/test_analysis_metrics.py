"""Quantization metrics against hand-computed values (bncvl.analysis.metrics)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from bncvl.analysis import metrics as m


def test_larq_flip_ratio_example():
    # Larq's FlipRatio docs: updates (1, 1), (2, 2), (1, 2) -> undefined, 1, 0.5; running mean 0.75.
    tracker = m.FlipTracker()
    ratios = [tracker.update(torch.tensor(v)) for v in ([1, 1], [2, 2], [1, 2])]
    assert ratios == [None, 1.0, 0.5]
    assert tracker.mean_flip_ratio == pytest.approx(0.75)
    assert tracker.cumulative_flips == 3
    assert tracker.hamming_to_initial == 1  # (1, 2) vs (1, 1)


def test_flip_ratio_is_undefined_not_zero_before_any_update():
    tracker = m.FlipTracker()
    assert tracker.mean_flip_ratio is None
    assert tracker.update(torch.tensor([0.0, 1.0])) is None
    assert tracker.mean_flip_ratio is None
    assert tracker.update(torch.tensor([0.0, 1.0])) == 0.0
    assert tracker.mean_flip_ratio == 0.0


def test_reset_mean_starts_a_new_epoch_but_keeps_counts():
    tracker = m.FlipTracker()
    for v in ([0, 0], [1, 1], [1, 0]):
        tracker.update(torch.tensor(v))
    tracker.reset_mean()
    assert tracker.mean_flip_ratio is None
    tracker.update(torch.tensor([1, 0]))
    assert tracker.mean_flip_ratio == 0.0
    assert tracker.cumulative_flips == 3
    assert tracker.hamming_to_initial == 1


def test_flip_back_counts_as_flips_but_not_hamming():
    tracker = m.FlipTracker()
    for v in ([0, 0], [1, 0], [0, 0]):
        tracker.update(torch.tensor(v))
    assert tracker.cumulative_flips == 2
    assert tracker.hamming_to_initial == 0


def test_oscillation_ema_on_a_binary_sequence():
    # One weight: 0, 1, 0, 1, 1, 0. The first change has no earlier direction; every later
    # change reverses the previous one. f_t = 0.01 * o_t + 0.99 * f_{t-1}.
    values = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0]
    expected_o = [False, True, True, False, True]
    expected_f = [0.0, 0.01, 0.01 + 0.99 * 0.01]
    expected_f.append(0.99 * expected_f[-1])
    expected_f.append(0.01 + 0.99 * expected_f[-1])
    direction, frequency = torch.zeros(1), torch.zeros(1)
    for t in range(1, len(values)):
        oscillated, direction, frequency = m.oscillation_step(
            torch.tensor([values[t - 1]]), torch.tensor([values[t]]), direction, frequency
        )
        assert bool(oscillated) is expected_o[t - 1]
        assert float(frequency) == pytest.approx(expected_f[t - 1], abs=1e-15)
    assert float(frequency) == pytest.approx(0.0295039900, abs=1e-10)


def test_oscillation_needs_a_reversal_not_just_a_change():
    # Multi-level values 0, 1, 2, 1: two changes up (no oscillation), then one down (oscillation).
    direction, frequency = torch.zeros(1), torch.zeros(1)
    seen = []
    for previous, current in ((0, 1), (1, 2), (2, 1)):
        oscillated, direction, frequency = m.oscillation_step(
            torch.tensor([float(previous)]), torch.tensor([float(current)]), direction, frequency, momentum=0.5
        )
        seen.append(bool(oscillated))
    assert seen == [False, False, True]
    assert float(frequency) == pytest.approx(0.5)


def test_tracker_oscillating_fraction_uses_the_threshold():
    tracker = m.FlipTracker()
    # Entry 0 reverses on every step; entry 1 flips once; entry 2 never moves.
    for v in ([0, 0, 1], [1, 1, 1], [0, 1, 1], [1, 1, 1], [0, 1, 1]):
        tracker.update(torch.tensor(v, dtype=torch.float32))
    f0 = 0.01 * (1 + 0.99 + 0.99**2)  # three reversals
    assert tracker.oscillation_frequency_mean == pytest.approx(f0 / 3)
    assert tracker.oscillating_fraction() == pytest.approx(1 / 3)
    assert tracker.oscillating_fraction(limit=0.05) == 0.0


def test_oscillation_step_rejects_bad_arguments():
    a = torch.zeros(3)
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        m.oscillation_step(a, torch.zeros(2), a, a)
    with pytest.raises(ValueError, match="momentum must be in"):
        m.oscillation_step(a, a, a, a, momentum=0.0)
    with pytest.raises(ValueError, match="last_direction and frequency of shape"):
        m.oscillation_step(a, a, torch.zeros(2), a)


def test_flip_functions_reject_mismatched_or_empty_tensors():
    with pytest.raises(ValueError, match=r"got \(2,\) and \(3,\)"):
        m.flip_ratio(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="non-empty"):
        m.hamming_distance(torch.zeros(0), torch.zeros(0))
    tracker = m.FlipTracker()
    tracker.update(torch.zeros(4))
    with pytest.raises(ValueError, match="one shape"):
        tracker.update(torch.zeros(5))


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=64))
def test_flip_ratio_is_hamming_over_size(pairs):
    previous = torch.tensor([a for a, _ in pairs], dtype=torch.float32)
    current = torch.tensor([b for _, b in pairs], dtype=torch.float32)
    ratio = m.flip_ratio(previous, current)
    assert ratio == m.hamming_distance(previous, current) / len(pairs)
    assert ratio == m.flip_ratio(current, previous)
    assert 0.0 <= ratio <= 1.0


def test_ones_fraction_per_channel_and_constant_filters():
    bits = torch.tensor(
        [
            [[[0.0, 0.0], [0.0, 0.0]]],  # all zero
            [[[1.0, 1.0], [1.0, 1.0]]],  # all one
            [[[1.0, 0.0], [0.0, 0.0]]],
        ]
    )
    assert m.ones_fraction(bits) == pytest.approx(5 / 12)
    assert m.ones_fraction_per_channel(bits) == [0.0, 1.0, 0.25]
    assert m.constant_filters(bits) == (1, 1)


def test_threshold_and_latent_norm():
    w = torch.tensor([[3.0, -1.0], [0.0, 2.0]])
    assert m.threshold(w) == pytest.approx(1.0)
    assert m.latent_norm(w) == pytest.approx(math.sqrt(14))


def test_margins_and_flip_prone_fraction():
    w = torch.tensor([0.0, 1.0, 2.0, 3.0])  # mean 1.5, unbiased std sqrt(5/3)
    std = math.sqrt(5 / 3)
    assert m.margins(w).tolist() == pytest.approx([1.5 / std, 0.5 / std, 0.5 / std, 1.5 / std])
    assert m.flip_prone_fraction(w, margin=0.5) == 0.5  # 0.5 / 1.29 = 0.39 < 0.5; 1.16 is not
    assert m.flip_prone_fraction(w, margin=0.3) == 0.0


def test_constant_latent_weights_are_all_flip_prone():
    w = torch.full((3, 3), 0.7)
    assert m.margins(w).tolist() == [0.0] * 9
    assert m.flip_prone_fraction(w) == 1.0


def test_histogram_counts_finite_entries():
    edges, counts = m.histogram(torch.tensor([0.0, 0.1, 0.9, 1.0, float("nan"), float("inf")]), bins=2)
    assert edges == pytest.approx([0.0, 0.5, 1.0])
    assert counts == [2, 2]
    with pytest.raises(ValueError, match="bins >= 1"):
        m.histogram(torch.zeros(2), bins=0)


def test_activation_statistics():
    z = torch.zeros(3, 2, 2, 2)
    z[1] = torch.arange(8.0).reshape(2, 2, 2)
    z[2, 0, 0, 0] = 1e-7  # std about 3.5e-8: inside the epsilon regime
    stds = m.per_sample_std(z)
    assert stds[0] == 0.0
    assert float(stds[1]) == pytest.approx(float(torch.arange(8.0).std()))
    assert m.epsilon_regime_count(stds) == 2  # the constant sample and the tiny one
    assert m.std_summary(stds) == pytest.approx((0.0, float(stds[2]), float(stds[1])))
    assert m.dead_unit_fraction(torch.tensor([0.0, 0.0, 1.0, 2.0])) == 0.5


def test_nonfinite_count_and_gradient_norm():
    assert m.nonfinite_count(torch.tensor([1.0, float("nan")]), None, torch.tensor([float("-inf")])) == 2
    assert m.nonfinite_count(torch.ones(4)) == 0
    assert m.gradient_norm(torch.tensor([3.0]), None, torch.tensor([4.0])) == pytest.approx(5.0)
    assert m.gradient_norm(None, None) is None
