"""The reference BNCVL: the seed's own test, equivalence with the seed, and bad inputs."""

import pytest
import torch
from torch import nn

from bncvl import BNCVL
from tests.seed_bncvl import SeedBNCVL

CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs an NVIDIA GPU (torch.cuda.is_available() is False)"
)


def seeded_pair(in_channels: int, out_channels: int, kernel_size: int, seed: int = 0) -> tuple[BNCVL, SeedBNCVL]:
    torch.manual_seed(seed)
    seed_layer = SeedBNCVL(in_channels, out_channels, kernel_size)
    with torch.no_grad():
        seed_layer.bias.normal_()  # the seed starts at zeros; a non-zero bias exercises the bias path
    layer = BNCVL(in_channels, out_channels, kernel_size)
    layer.load_state_dict(seed_layer.state_dict())
    return layer, seed_layer


def test_seed_test_block():
    """The notebook's own test block, with its printed claims turned into assertions."""
    layer = BNCVL(in_channels=3, out_channels=8, kernel_size=3)
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    y = layer(x)
    assert y.shape == (4, 8, 32, 32)
    with torch.no_grad():
        assert layer.quantize(layer.weight).unique().tolist() == [0.0, 1.0]
    y.mean().backward()
    assert x.grad is not None and x.grad.abs().mean() > 0
    assert layer.weight.grad is not None and layer.weight.grad.abs().mean() > 0


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(
    ("batch", "in_channels", "out_channels", "size", "kernel_size"),
    [(4, 3, 8, 32, 3), (1, 5, 7, 9, 1), (2, 16, 4, 11, 5), (3, 2, 6, 8, 7), (2, 4, 4, 13, 3)],
)
def test_matches_seed_outputs_and_gradients(train, batch, in_channels, out_channels, size, kernel_size):
    layer, seed_layer = seeded_pair(in_channels, out_channels, kernel_size, seed=batch * 100 + size)
    layer.train(train)
    seed_layer.train(train)
    x = torch.randn(batch, in_channels, size, size)
    x_ours, x_seed = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, y_seed = layer(x_ours), seed_layer(x_seed)
    torch.testing.assert_close(y, y_seed, rtol=1e-5, atol=1e-5)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_seed.backward(grad)
    torch.testing.assert_close(x_ours.grad, x_seed.grad, rtol=1e-5, atol=1e-5)
    if train:
        torch.testing.assert_close(layer.weight.grad, seed_layer.weight.grad, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(layer.bias.grad, seed_layer.bias.grad, rtol=1e-5, atol=1e-5)
        assert layer.weight.grad.abs().sum() > 0
    else:
        # In eval mode the binarisation has no graph, as in the seed.
        assert layer.weight.grad is None and seed_layer.weight.grad is None


def test_seed_state_dict_loads_unchanged():
    seed_layer = SeedBNCVL(3, 8, 3)
    layer = BNCVL(3, 8, 3)
    assert layer.state_dict().keys() == seed_layer.state_dict().keys()
    layer.load_state_dict(seed_layer.state_dict())  # strict
    torch.testing.assert_close(layer.weight, seed_layer.weight, rtol=0, atol=0)


def test_keeps_seed_methods_and_custom_activation():
    layer = BNCVL(2, 3, 3, activation=nn.Tanh())
    assert torch.equal(layer.no_grad(layer.weight), layer.weight.detach())
    z = torch.randn(2, 3, 4, 4)
    assert torch.allclose(layer.normalize(z).std(dim=(1, 2, 3)), torch.ones(2), atol=1e-5)
    assert (layer(torch.randn(1, 2, 5, 5)) < 0).any()  # tanh, not ReLU, was applied


@pytest.mark.parametrize("kernel_size", [2, 4, 6])
def test_even_kernels_keep_spatial_size(kernel_size):
    layer = BNCVL(3, 4, kernel_size)
    assert layer(torch.randn(2, 3, 9, 10)).shape == (2, 4, 9, 10)


def test_even_kernel_pads_like_torch_same():
    layer = BNCVL(2, 3, 4).eval()
    x = torch.randn(1, 2, 7, 7)
    w_q, b_q = layer.binary_weights()
    with pytest.warns(UserWarning, match="even kernel"):
        expected = layer.activation(layer.normalize(torch.nn.functional.conv2d(x, w_q, b_q, padding="same")))
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("value", [0.0, 3.5, -2.0])
def test_constant_input_is_finite(value):
    layer = BNCVL(3, 4, 3)
    x = torch.full((2, 3, 8, 8), value, requires_grad=True)
    y = layer(x)
    assert torch.isfinite(y).all()
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_constant_conv_output_normalises_to_zero():
    """All-equal weights binarise to zeros: z is the constant bias, std is 0, and the output is 0, not NaN."""
    layer = BNCVL(2, 3, 3)
    with torch.no_grad():
        layer.weight.fill_(0.5)
    y = layer.eval()(torch.randn(2, 2, 6, 6))
    assert torch.equal(y, torch.zeros_like(y))


def test_single_element_sample_is_finite():
    """One output element per sample: the unbiased std is undefined (NaN in the seed); the layer gives 0."""
    layer = BNCVL(2, 1, 1)
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert torch.isnan(SeedBNCVL(2, 1, 1)(torch.randn(3, 2, 1, 1))).all()
    assert torch.equal(layer(torch.randn(3, 2, 1, 1)), torch.zeros(3, 1, 1, 1))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_normalise_in_float32(dtype):
    layer = BNCVL(4, 6, 3)
    x = torch.randn(2, 4, 8, 8)
    y_half = layer(x.to(dtype))
    assert y_half.dtype == dtype
    torch.testing.assert_close(y_half.float(), layer(x), rtol=2e-2, atol=3e-2)
    y_half.float().sum().backward()
    assert torch.isfinite(layer.weight.grad).all()


def test_half_layer_with_half_input():
    layer = BNCVL(4, 6, 3).to(torch.bfloat16)
    assert layer(torch.randn(2, 4, 8, 8, dtype=torch.bfloat16)).dtype == torch.bfloat16


@CUDA
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cuda_matches_cpu(dtype):
    layer = BNCVL(4, 6, 3)
    x = torch.randn(2, 4, 8, 8)
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {"rtol": 2e-2, "atol": 3e-2}
    y_cuda = layer.cuda()(x.cuda().to(dtype))
    torch.testing.assert_close(y_cuda.float().cpu(), layer.cpu()(x), **tol)


@pytest.mark.parametrize("kernel_size", [0, -3, 2.5, "3", True, None])
def test_rejects_bad_kernel_size(kernel_size):
    with pytest.raises(ValueError, match=r"kernel_size must be a positive int; got"):
        BNCVL(3, 4, kernel_size)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        (torch.randn(3, 8, 8), ValueError, r"expects input of shape \(N, 3, H, W\); got \(3, 8, 8\)"),
        (torch.randn(2, 4, 8, 8), ValueError, r"expects input of shape \(N, 3, H, W\); got \(2, 4, 8, 8\)"),
        (torch.randn(1, 2, 3, 8, 8), ValueError, r"got \(1, 2, 3, 8, 8\)"),
        (torch.zeros(0, 3, 8, 8), ValueError, r"non-empty input .* got \(0, 3, 8, 8\)"),
        (torch.ones(2, 3, 8, 8, dtype=torch.int64), TypeError, r"floating-point input .* got dtype torch.int64"),
        ([[1.0]], TypeError, r"expects a torch.Tensor of shape \(N, 3, H, W\); got list"),
    ],
)
def test_rejects_bad_input(x, error, message):
    with pytest.raises(error, match=message):
        BNCVL(3, 4, 3)(x)
