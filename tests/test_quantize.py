"""Quantization primitives: binarisation, its straight-through gradient, bit packing, storage sizes."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from bncvl import (
    float_storage_bytes,
    mean_threshold,
    pack_bits,
    packed_storage_bytes,
    ste_mean_threshold,
    unpack_bits,
)

# These machines are shared and noisy: a first call that JIT-initialises torch can take a second.
settings.register_profile("bncvl", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("bncvl")

finite_floats = st.floats(-1e6, 1e6, allow_nan=False, width=32)
float_arrays = arrays(np.float32, array_shapes(min_dims=1, max_dims=4, max_side=7), elements=finite_floats)
bit_arrays = arrays(np.uint8, array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9), elements=st.integers(0, 1))


@given(float_arrays)
def test_mean_threshold_is_indicator_above_mean(values):
    x = torch.from_numpy(values)
    q = mean_threshold(x)
    assert q.dtype == x.dtype and q.shape == x.shape
    assert torch.equal(q, (x > x.mean()).float())
    assert set(q.unique().tolist()) <= {0.0, 1.0}


@given(
    arrays(np.int32, array_shapes(min_dims=1, max_dims=3, max_side=7), elements=st.integers(-1000, 1000)),
    st.integers(-1000, 1000),
    st.integers(-4, 4),
)
def test_mean_threshold_is_invariant_to_shift_and_positive_scale(values, shift, exponent):
    # Integers, integer shifts and power-of-two scales keep float64 arithmetic exact,
    # so every comparison with the mean is preserved.
    x = torch.from_numpy(values).double()
    assert torch.equal(mean_threshold(x), mean_threshold(x * 2.0**exponent + shift))


def test_mean_threshold_docstring_example():
    assert mean_threshold(torch.tensor([0.0, 1.0, 2.0, 5.0])).tolist() == [0.0, 0.0, 0.0, 1.0]


def test_constant_tensor_binarises_to_zeros_when_its_mean_is_exact():
    assert torch.equal(mean_threshold(torch.full((3, 3), 7.0)), torch.zeros(3, 3))


def test_constant_tensor_can_binarise_to_ones_through_rounding():
    """The seed's threshold is the rounded mean: for some constants it falls just below them."""
    x = torch.full((6,), 7.1296469054025224e-71, dtype=torch.float64)
    assert x.mean() < x[0]
    assert torch.equal(mean_threshold(x), torch.ones(6, dtype=torch.float64))


@given(float_arrays)
@settings(max_examples=50)
def test_ste_forward_is_binary_and_gradient_is_identity(values):
    x = torch.from_numpy(values).requires_grad_()
    y = ste_mean_threshold(x)
    # x + (q - x) is q up to the rounding of x's magnitude (float32 eps = 1.2e-7).
    bound = 2.4e-7 * max(1.0, float(x.detach().abs().max()))
    torch.testing.assert_close(y.detach(), mean_threshold(x.detach()), rtol=0, atol=bound)
    upstream = torch.randn_like(x)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_binarisation_keeps_dtype(dtype):
    x = torch.randn(10, dtype=dtype)
    assert mean_threshold(x).dtype == dtype


def test_mean_threshold_rejects_integers():
    with pytest.raises(TypeError, match=r"floating-point tensor; got torch\.int64"):
        mean_threshold(torch.arange(4))


@given(bit_arrays)
def test_pack_unpack_round_trip_any_shape(bits):
    t = torch.from_numpy(bits)
    packed = pack_bits(t)
    assert packed.dtype == torch.uint8 and packed.dim() == 1
    assert packed.numel() == math.ceil(t.numel() / 8)
    assert torch.equal(unpack_bits(packed, t.shape, torch.uint8), t)


@given(bit_arrays)
def test_pack_matches_numpy_packbits(bits):
    assert np.array_equal(pack_bits(torch.from_numpy(bits)).numpy(), np.packbits(bits.reshape(-1)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bool, torch.int64])
def test_pack_accepts_any_binary_dtype(dtype):
    bits = (torch.randn(5, 3, 3, 3) > 0).to(dtype)
    assert torch.equal(unpack_bits(pack_bits(bits), bits.shape, dtype), bits)


def test_pack_docstring_example():
    assert pack_bits(torch.tensor([1, 0, 1, 1, 0, 0, 0, 0, 1])).tolist() == [176, 128]


def test_pack_rejects_non_binary_values():
    with pytest.raises(ValueError, match=r"0s and 1s; got values such as \[2.0, -1.0\]"):
        pack_bits(torch.tensor([0.0, 2.0, 1.0, -1.0]))


def test_unpack_rejects_wrong_byte_count_and_dtype():
    with pytest.raises(ValueError, match=r"shape \(3, 3\) needs 2 packed bytes; got 3"):
        unpack_bits(torch.zeros(3, dtype=torch.uint8), (3, 3))
    with pytest.raises(TypeError, match=r"1-D torch\.uint8 tensor"):
        unpack_bits(torch.zeros(2, dtype=torch.int32), (3, 3))


@pytest.mark.parametrize(("numel", "packed"), [(0, 0), (1, 1), (8, 1), (9, 2), (64 * 64 * 9, 4608)])
def test_storage_sizes(numel, packed):
    assert packed_storage_bytes(numel) == packed
    assert float_storage_bytes(numel) == 4 * numel
    assert float_storage_bytes(numel, torch.float16) == 2 * numel


def test_packed_is_32x_smaller_than_float32():
    numel = 64 * 64 * 3 * 3
    assert float_storage_bytes(numel) / packed_storage_bytes(numel) == 32


def test_packed_storage_rejects_negative():
    with pytest.raises(ValueError, match="numel must be >= 0; got -1"):
        packed_storage_bytes(-1)
