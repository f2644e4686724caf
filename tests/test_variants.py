"""Every registered variant computes the reference's function and gradients; caches invalidate.

The reference BNCVL is the oracle. The equivalence matrix runs the fused
kernels eagerly (``BNCVL_COMPILE=0``) so that it stays fast; the compiled
kernels, which the registered variants use by default, are checked against
the same oracle in the ``slow`` tests below.
"""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

import bncvl
from bncvl.layers.cached import BinaryWeightCache, CachedBNCVL
from bncvl.layers.conv_limit import ConvLimit
from bncvl.layers.fast import FastBNCVL
from bncvl.layers.functional import is_relu, mean_threshold, normalize_per_sample, packed_storage_bytes
from bncvl.layers.fused import (
    COMPILE_ENV,
    EAGER_KERNELS,
    compiled_kernels,
    fused_normalize_relu,
    normalize_relu_backward,
    normalize_relu_train,
)
from bncvl.layers.half import HALF_TOLERANCES, half_forward
from bncvl.layers.packed import PackedBNCVL
from bncvl.measure.memory import saved_tensor_bytes
from bncvl.measure.presets import PRESETS, Shape
from bncvl.measure.workload import make_workload

RTOL = ATOL = 1e-5
CUDA = torch.cuda.is_available()
CPU_VARIANTS = [
    name for name, cls in bncvl.VARIANTS.items() if "cpu" in getattr(cls, "supported_device_types", ("cpu",))
]
CUDA_ONLY = [name for name in bncvl.VARIANTS if name not in CPU_VARIANTS]
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs an NVIDIA GPU")


CASES = {
    "odd_k3": Shape(3, 4, 6, 9, 3),
    "even_k2": Shape(2, 3, 5, 8, 2),
    "even_k4": Shape(2, 3, 4, 7, 4),
    "batch1_k5": Shape(1, 4, 6, 7, 5),
    "k1": Shape(2, 3, 4, 5, 1),
}


@pytest.fixture(autouse=True)
def _eager_kernels_unless_marked(request, monkeypatch):
    if not request.node.name.startswith("test_compiled"):
        monkeypatch.setenv(COMPILE_ENV, "0")


def assert_matches(actual: torch.Tensor, expected: torch.Tensor, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Close to the oracle, and finite: NaN never passes, even against a NaN oracle."""
    assert torch.isfinite(expected).all(), "the reference itself produced a non-finite value"
    assert torch.isfinite(actual).all(), "the variant produced NaN or Inf"
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)


def make_pair(name: str, case: Shape, seed: int = 0, device: str = "cpu") -> tuple[nn.Module, nn.Module]:
    """The reference with random weight and non-zero bias, and ``name`` loaded from its state_dict."""
    torch.manual_seed(seed)
    reference = bncvl.BNCVL(case.in_channels, case.out_channels, case.kernel_size)
    with torch.no_grad():
        reference.bias.normal_()
    variant = bncvl.get(name)(case.in_channels, case.out_channels, case.kernel_size)
    variant.load_state_dict(reference.state_dict())
    return reference.to(device), variant.to(device)


def make_input(case: Shape, kind: str, seed: int = 1, device: str = "cpu") -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if kind == "constant":
        return torch.full(case.input_shape, 0.75, device=device)
    return torch.randn(case.input_shape, generator=generator).to(device)


def run_train(layer: nn.Module, x: torch.Tensor, grad_y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    layer.train()
    x = x.detach().clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    y = layer(x)
    y.backward(grad_y)
    return y.detach(), x.grad, layer.weight.grad, layer.bias.grad


@pytest.mark.parametrize("kind", ["random", "constant"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_training_forward_and_gradients_match_reference(name, case, kind):
    reference, variant = make_pair(name, CASES[case])
    x = make_input(CASES[case], kind)
    grad_y = torch.randn(reference(x).shape, generator=torch.Generator().manual_seed(2))
    for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
        assert_matches(actual, expected)


@pytest.mark.parametrize("kind", ["random", "constant"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_eval_forward_and_input_gradient_match_reference(name, case, kind):
    reference, variant = make_pair(name, CASES[case])
    reference.eval(), variant.eval()
    x = make_input(CASES[case], kind)
    with torch.inference_mode():
        assert_matches(variant(x), reference(x))
    # Eval mode with a gradient on the input (e.g. saliency): weights get none.
    xs = [x.clone().requires_grad_() for _ in range(2)]
    grad_y = torch.randn(reference(x).shape, generator=torch.Generator().manual_seed(3))
    variant(xs[0]).backward(grad_y)
    reference(xs[1]).backward(grad_y)
    assert_matches(xs[0].grad, xs[1].grad)
    assert variant.weight.grad is None and reference.weight.grad is None


@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_a_constant_feature_map_gives_zeros_not_nan(name):
    # All weights equal -> binarised to zeros; zero bias -> z == 0 everywhere (std 0).
    reference, variant = make_pair(name, CASES["odd_k3"])
    for layer in (reference, variant):
        with torch.no_grad():
            layer.weight.fill_(1.0)
            layer.bias.zero_()
    x = make_input(CASES["odd_k3"], "random")
    grad_y = torch.randn(reference(x).shape)
    for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
        assert_matches(actual, expected)
    assert not run_train(variant, x, grad_y)[0].any()


@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_one_element_samples_follow_the_reference(name):
    # M = C*H*W = 1: the unbiased std is undefined; the reference outputs 0, gradient 0.
    case = Shape(2, 1, 1, 1, 1)
    reference, variant = make_pair(name, case)
    x = make_input(case, "random")
    grad_y = torch.ones(2, 1, 1, 1)
    for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
        assert_matches(actual, expected)


@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_a_non_relu_activation_is_honoured(name):
    case = CASES["odd_k3"]
    reference, variant = make_pair(name, case)
    reference.activation = variant.activation = nn.Tanh()
    x = make_input(case, "random")
    grad_y = torch.randn(case.batch, case.out_channels, case.size, case.size)
    for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
        assert_matches(actual, expected)


@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_half_inputs_stay_within_documented_tolerance(name):
    # bfloat16 inputs run on the CPU; statistics are float32 in every variant.
    case = CASES["odd_k3"]
    reference, variant = make_pair(name, case)
    reference.eval(), variant.eval()
    x = make_input(case, "random")
    with torch.inference_mode():
        expected = reference(x)
        actual = variant(x.bfloat16())
    assert actual.dtype == torch.bfloat16
    assert_matches(actual.float(), expected, rtol=0, atol=HALF_TOLERANCES[torch.bfloat16])


@pytest.mark.parametrize("name", CPU_VARIANTS)
def test_variants_reject_bad_input_like_the_reference(name):
    layer = bncvl.get(name)(3, 4, 3)
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3, H, W\); got \(2, 5, 8, 8\)"):
        layer(torch.randn(2, 5, 8, 8))
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(2, 3, 8, 8, dtype=torch.int64))


# --- the fused kernels on their own ---------------------------------------


def test_fused_backward_equals_autograd_of_the_reference_math():
    z = (torch.randn(3, 5, 6, 6) * 7 + 2).requires_grad_()
    grad_y = torch.randn(3, 5, 6, 6)
    expected_y = torch.relu(normalize_per_sample(z))
    expected_y.backward(grad_y)
    y, zhat, std = normalize_relu_train(z.detach())
    assert_matches(y, expected_y.detach())
    assert_matches(normalize_relu_backward(grad_y, zhat, std), z.grad)


def test_fused_statistics_survive_a_large_mean():
    # |mean| >> std: one-pass sum and sum of squares cancel in float32 (error 0.59
    # on this input); the fused kernels stay as close to float64 truth as the reference.
    torch.manual_seed(0)
    z = (torch.randn(2, 4, 16, 16, dtype=torch.float64) * 0.5 + 1000.0).float()
    truth = torch.relu(normalize_per_sample(z.double()))
    reference_error = (torch.relu(normalize_per_sample(z)).double() - truth).abs().max()
    fused_error = (fused_normalize_relu(z).double() - truth).abs().max()
    assert fused_error <= 1.5 * reference_error + 1e-6, (fused_error, reference_error)


def test_fused_function_saves_only_zhat_and_std():
    shape = PRESETS["tiny"]
    reference = make_workload("reference", shape, "train")
    fused = make_workload("fused", shape, "train")
    fast = make_workload("fast", shape, "train")
    saved = {
        name: saved_tensor_bytes(w.train_forward, exclude=[w.x, *w.layer.parameters()])
        for name, w in (("reference", reference), ("fused", fused), ("fast", fast))
    }
    output_bytes = shape.batch * shape.out_channels * shape.size**2 * 4
    weight_bytes = shape.out_channels * shape.in_channels * shape.kernel_size**2 * 4
    # zhat (float32, one output's size) + the binary weight + std and small tensors.
    for name in ("fused", "fast"):
        assert output_bytes <= saved[name] <= output_bytes + weight_bytes + 1024, (name, saved)
        assert saved[name] <= 0.5 * saved["reference"], (name, saved)


def test_is_relu_recognises_only_plain_relu():
    assert is_relu(nn.ReLU()) and is_relu(torch.relu) and is_relu(torch.nn.functional.relu)
    assert not is_relu(nn.ReLU(inplace=True)) and not is_relu(nn.GELU()) and not is_relu(torch.tanh)


def test_compile_can_be_switched_off(monkeypatch):
    monkeypatch.setenv(COMPILE_ENV, "0")
    assert FastBNCVL(2, 2, 3).kernels() is EAGER_KERNELS
    monkeypatch.setenv(COMPILE_ENV, "1")
    assert FastBNCVL(2, 2, 3).kernels() is compiled_kernels("fast")


# --- cache invalidation ---------------------------------------------------


def _eval_output(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return layer(x)


CACHED_VARIANTS = [n for n in CPU_VARIANTS if issubclass(bncvl.get(n), CachedBNCVL)]


@pytest.fixture(params=CACHED_VARIANTS)
def cached_pair(request):
    reference, variant = make_pair(request.param, CASES["odd_k3"])
    reference.eval(), variant.eval()
    x = make_input(CASES["odd_k3"], "random")
    assert_matches(_eval_output(variant, x), _eval_output(reference, x))  # fills the cache
    assert len(variant._binary_cache) == 1
    return reference, variant, x


def test_cache_is_reused_while_weights_are_unchanged(cached_pair):
    _, variant, x = cached_pair
    entry = variant.cached_binary_weights(x.dtype, torch.channels_last)
    assert variant.cached_binary_weights(x.dtype, torch.channels_last)[0] is entry[0]


def test_cache_follows_an_optimizer_step(cached_pair):
    reference, variant, x = cached_pair
    for layer in (reference, variant):
        optimizer = torch.optim.SGD(layer.parameters(), lr=10.0)
        layer.weight.grad = torch.linspace(-3, 3, layer.weight.numel()).reshape(layer.weight.shape)
        layer.bias.grad = torch.linspace(3, -3, layer.bias.numel())
        optimizer.step()
    assert_matches(_eval_output(variant, x), _eval_output(reference, x))


def test_cache_follows_an_in_place_edit(cached_pair):
    reference, variant, x = cached_pair
    before = _eval_output(variant, x)
    for layer in (reference, variant):
        with torch.no_grad():
            layer.weight.mul_(-1)  # every binary weight flips (ties aside)
    after = _eval_output(variant, x)
    assert not torch.allclose(after, before)
    assert_matches(after, _eval_output(reference, x))


def test_cache_follows_load_state_dict(cached_pair):
    reference, variant, x = cached_pair
    other = bncvl.BNCVL(reference.in_channels, reference.out_channels, reference.kernel_size).eval()
    variant.load_state_dict(other.state_dict())
    assert_matches(_eval_output(variant, x), _eval_output(other, x))


def test_cache_follows_a_dtype_change(cached_pair):
    reference, variant, x = cached_pair
    variant.to(torch.float64), reference.to(torch.float64)
    actual = _eval_output(variant, x.double())
    assert actual.dtype == torch.float64
    assert_matches(actual, _eval_output(reference, x.double()))


def test_cache_follows_train_eval_switches(cached_pair):
    reference, variant, x = cached_pair
    variant.train()
    assert len(variant._binary_cache) == 0
    grad_y = torch.randn(reference(x).shape)
    # Train a step through the variant and mirror it on the reference; eval must see it.
    for layer in (reference, variant):
        run_train(layer, x, grad_y)
        with torch.no_grad():
            layer.weight.sub_(100 * layer.weight.grad)
            layer.bias.sub_(100 * layer.bias.grad)
        layer.eval()
    assert_matches(_eval_output(variant, x), _eval_output(reference, x))


def test_cache_is_cleared_by_data_edits_only_on_request(cached_pair):
    # .data gets a fresh version counter: the documented escape hatch is invalidate_cache().
    reference, variant, x = cached_pair
    for layer in (reference, variant):
        layer.weight.data.mul_(-1)
    variant.invalidate_cache()
    assert_matches(_eval_output(variant, x), _eval_output(reference, x))


def test_cache_keeps_only_the_latest_parameters():
    cache = BinaryWeightCache()
    weight, bias = torch.randn(4, 2, 3, 3), torch.randn(4)
    first = cache.get(weight, bias, torch.float32)
    cache.get(weight, bias, torch.float64)
    assert len(cache) == 2
    weight.add_(1.0)
    second = cache.get(weight, bias, torch.float32)
    assert len(cache) == 1 and second[0] is not first[0]
    assert torch.equal(second[0], mean_threshold(weight))


def test_cached_weights_can_be_saved_for_backward_after_inference_mode():
    # The cache is filled under inference_mode, then used by a call that needs x's gradient.
    layer = CachedBNCVL(2, 3, 3).eval()
    x = torch.randn(1, 2, 5, 5)
    with torch.inference_mode():
        layer(x)
    x.requires_grad_()
    layer(x).sum().backward()
    assert x.grad is not None


# --- the conv limit -------------------------------------------------------


def test_conv_limit_is_the_bare_convolution_with_binary_weights():
    torch.manual_seed(0)
    limit = ConvLimit(3, 4, 3)
    x = torch.randn(2, 3, 6, 6).contiguous(memory_format=limit.memory_format)
    expected = torch.nn.functional.conv2d(x, mean_threshold(limit.weight), mean_threshold(limit.bias), padding=1)
    assert_matches(limit.eval()(x), expected)
    assert limit(x).is_contiguous(memory_format=torch.channels_last)


def test_conv_limit_training_backward_reaches_its_binary_leaves():
    limit = ConvLimit(3, 4, 3).train()
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    limit(x).sum().backward()
    w_b, b_b = limit._binary_weights()
    assert w_b.grad is not None and b_b.grad is not None and x.grad is not None
    limit.zero_grad()
    assert w_b.grad is None


def test_conv_limit_is_a_baseline_not_a_variant():
    assert bncvl.get("conv_limit") is ConvLimit
    assert "conv_limit" not in bncvl.VARIANTS and "conv_limit" in bncvl.BASELINES
    with pytest.raises(ValueError, match=r"expected one of \[.*'fast'.*\] or a baseline \['conv_limit'\]"):
        bncvl.get("limit")


def test_workload_gives_the_limit_its_input_already_converted():
    limit = make_workload("conv_limit", PRESETS["tiny"], "train")
    fast = make_workload("fast", PRESETS["tiny"], "train")
    assert limit.x.is_contiguous(memory_format=torch.channels_last) and limit.x.is_leaf
    assert limit.grad_output.is_contiguous(memory_format=torch.channels_last)
    assert fast.x.is_contiguous() and torch.equal(limit.x, fast.x)


def test_registry_names_are_the_benchmark_contract():
    assert list(bncvl.VARIANTS) == ["reference", "cached", "fused", "channels_last", "half", "cuda_graph", "fast"]
    for name, cls in bncvl.VARIANTS.items():
        layer = cls(3, 5, 3)
        assert list(layer.state_dict()) == ["weight", "bias"], name


# --- CUDA-only variants ---------------------------------------------------


@pytest.mark.skipif(CUDA, reason="checks the skip on a machine without a GPU")
@pytest.mark.parametrize("name", CUDA_ONLY)
def test_cuda_only_variants_skip_cleanly_on_the_cpu(name):
    with pytest.raises(NotImplementedError, match="cuda only"):
        make_workload(name, PRESETS["tiny"], "eval")
    layer = bncvl.get(name)(3, 4, 3)  # buildable and loadable anywhere
    layer.load_state_dict(bncvl.BNCVL(3, 4, 3).state_dict())
    with pytest.raises(NotImplementedError, match="runs on CUDA only; got an input on cpu"):
        layer(torch.randn(1, 3, 5, 5))


@pytest.mark.parametrize("compute_dtype", [torch.float16, torch.bfloat16])
def test_half_math_is_within_its_documented_tolerance(compute_dtype):
    # The 'half' variant's function, run on the CPU: conv in half, statistics float32.
    torch.manual_seed(0)
    reference = bncvl.BNCVL(8, 6, 3)
    with torch.no_grad():
        reference.bias.normal_()
    x = torch.randn(2, 8, 10, 10)
    w_b, b_b = mean_threshold(reference.weight), mean_threshold(reference.bias)
    with torch.inference_mode():
        actual = half_forward(x, w_b, b_b, compute_dtype)
        expected = reference.eval()(x)
    assert actual.dtype == torch.float32
    assert_matches(actual, expected, rtol=0, atol=HALF_TOLERANCES[compute_dtype])
    # The tolerance is not vacuous: dropping the bias, a real bug, exceeds it.
    with torch.inference_mode():
        buggy = half_forward(x, w_b, torch.zeros_like(b_b), compute_dtype)
    assert (buggy - expected).abs().max() > 2 * HALF_TOLERANCES[compute_dtype]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("name", ["half", "cuda_graph", "fast"])
@pytest.mark.parametrize("case", ["odd_k3", "even_k2", "batch1_k5"])
def test_cuda_variants_match_the_float32_reference(name, case):
    reference, variant = make_pair(name, CASES[case], device="cuda")
    x = make_input(CASES[case], "random", device="cuda")
    tolerance = HALF_TOLERANCES[torch.float16] if name == "half" else 1e-4  # TF32 may be on for cuDNN
    grad_y = torch.randn(reference(x).shape, device="cuda")
    for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
        assert_matches(actual, expected, rtol=tolerance, atol=tolerance)
    reference.eval(), variant.eval()
    for _ in range(2):  # the second call replays the captured graph
        assert_matches(_eval_output(variant, x), _eval_output(reference, x), rtol=tolerance, atol=tolerance)


@pytest.mark.gpu
@needs_cuda
def test_cuda_graph_recaptures_after_a_weight_change():
    reference, variant = make_pair("cuda_graph", CASES["odd_k3"], device="cuda")
    reference.eval(), variant.eval()
    x = make_input(CASES["odd_k3"], "random", device="cuda")
    first = _eval_output(variant, x)
    for layer in (reference, variant):
        with torch.no_grad():
            layer.weight.mul_(-1)
    second = _eval_output(variant, x)
    assert not torch.allclose(first, second)
    assert_matches(second, _eval_output(reference, x), rtol=1e-4, atol=1e-4)


# --- the packed deployment layer ------------------------------------------


def test_packed_layer_computes_the_trained_layers_eval_output():
    reference, _ = make_pair("reference", CASES["odd_k3"])
    x = make_input(CASES["odd_k3"], "random")
    packed = PackedBNCVL.from_layer(reference)
    assert_matches(_eval_output(packed, x), _eval_output(reference.eval(), x))


def test_packed_state_dict_is_one_bit_per_weight():
    layer = bncvl.BNCVL(64, 64, 3)
    packed = PackedBNCVL.from_layer(layer)
    n_weight, n_bias = layer.weight.numel(), layer.bias.numel()
    state = packed.state_dict()
    assert list(state) == ["weight_bits", "bias_bits"]
    assert all(t.dtype == torch.uint8 for t in state.values())
    stored = sum(t.numel() for t in state.values())
    assert stored == packed.packed_nbytes == packed_storage_bytes(n_weight) + packed_storage_bytes(n_bias)
    assert stored <= math.ceil((n_weight + n_bias) / 8) + 1
    float_bytes = sum(p.numel() * p.element_size() for p in layer.parameters())
    assert float_bytes / stored > 31.9
    # On disk too: torch.save adds a constant of a few hundred bytes, not a factor.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert buffer.getbuffer().nbytes <= stored + 2048


def test_packed_layer_round_trips_through_its_state_dict():
    reference, _ = make_pair("reference", CASES["even_k2"])
    x = make_input(CASES["even_k2"], "random")
    buffer = io.BytesIO()
    torch.save(PackedBNCVL.from_layer(reference).state_dict(), buffer)
    buffer.seek(0)
    loaded = PackedBNCVL(reference.in_channels, reference.out_channels, reference.kernel_size)
    before = _eval_output(loaded, x)
    loaded.load_state_dict(torch.load(buffer, weights_only=True))  # unpacks here, once
    after = _eval_output(loaded, x)
    assert not torch.equal(before, after)
    assert_matches(after, _eval_output(reference.eval(), x))


def test_packed_layer_unpacks_once_per_load_or_move(monkeypatch):
    packed = PackedBNCVL.from_layer(bncvl.BNCVL(3, 4, 3))
    calls = []
    original = PackedBNCVL.unpack
    monkeypatch.setattr(PackedBNCVL, "unpack", lambda self: calls.append(1) or original(self))
    x = torch.randn(1, 3, 5, 5)
    for _ in range(3):
        _eval_output(packed, x)
    assert calls == []
    packed.to(torch.float64)
    assert len(calls) == 1
    assert _eval_output(packed, x.double()).dtype == torch.float64


def test_packed_layer_rejects_what_is_not_a_bncvl():
    with pytest.raises(TypeError, match=r"expects a BNCVL layer; Linear lacks \['in_channels'"):
        PackedBNCVL.from_layer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="expects input of shape"):
        PackedBNCVL(3, 4, 3)(torch.randn(1, 2, 5, 5))


# --- the registered configuration: compiled kernels -----------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "cases"),
    # A second shape recompiles the kernels shape-generic: covered once, on fast's own path.
    [("fused", ("odd_k3",)), ("fast", ("odd_k3", "batch1_k5"))],
)
def test_compiled_variants_match_reference(name, cases):
    assert bncvl.get(name).compiled
    for case in cases:
        reference, variant = make_pair(name, CASES[case])
        x = make_input(CASES[case], "random")
        grad_y = torch.randn(reference(x).shape, generator=torch.Generator().manual_seed(4))
        for actual, expected in zip(run_train(variant, x, grad_y), run_train(reference, x, grad_y), strict=True):
            assert_matches(actual, expected)
        reference.eval(), variant.eval()
        assert_matches(_eval_output(variant, x), _eval_output(reference, x))


@pytest.mark.slow
def test_compiled_kernels_match_eager_kernels_on_large_means():
    z = torch.randn(2, 4, 8, 8) * 3 + 50
    grad_y = torch.randn_like(z)
    kernels = compiled_kernels()
    with torch.no_grad():
        assert_matches(kernels.eval(z, 1e-8), EAGER_KERNELS.eval(z, 1e-8))
        compiled = kernels.train_forward(z, 1e-8, True)
        eager = EAGER_KERNELS.train_forward(z, 1e-8, True)
        for actual, expected in zip(compiled, eager, strict=True):
            assert_matches(actual, expected)
        assert_matches(kernels.backward(grad_y, *eager[1:], 1e-8), EAGER_KERNELS.backward(grad_y, *eager[1:], 1e-8))
