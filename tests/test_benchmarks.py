"""Smoke tests of the asv suite: every benchmark once on the tiny preset, on the CPU.

Benchmarks are loaded through asv's own runner (``asv_runner``), so
``params``, units and the skip protocol behave as in ``asv run``.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from asv_runner.discovery import disc_benchmarks, get_benchmark_from_name

from benchmarks import (
    bench_efficiency,
    bench_gpu,
    bench_instructions,
    bench_latency,
    bench_memory,
    bench_relative,
    common,
    figures,
)
from bncvl.layers import registry as variants
from bncvl.layers.functional import packed_storage_bytes
from bncvl.measure.presets import PRESETS, Shape

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks"
CLASSES = [
    bench_latency.Latency,
    bench_latency.FirstCall,
    bench_memory.Memory,
    bench_memory.WeightStorage,
    bench_gpu.GPU,
    bench_efficiency.Efficiency,
    bench_instructions.Instructions,
    bench_relative.RelativeWallTime,
    bench_relative.RelativeCpuTime,
]
UNITS = {
    "track_first_eval_forward_seconds": "seconds",
    "track_first_train_step_seconds": "seconds",
    "track_peak_forward_bytes": "bytes",
    "track_peak_train_step_bytes": "bytes",
    "track_saved_activation_bytes": "bytes",
    "track_float_weight_bytes": "bytes",
    "track_packed_weight_bytes": "bytes",
    "track_gpu_utilization": "%",
    "track_memory_bandwidth_utilization": "%",
    "track_energy_per_forward": "J",
    "track_power": "W",
    "track_sm_clock": "MHz",
    "track_forward_flops": "FLOP/s",
    "track_forward_bytes_per_s": "bytes/s",
}
EVIDENCE_UNITS = {"Instructions": "instructions", "RelativeWallTime": "time ratio", "RelativeCpuTime": "time ratio"}
ONE_SAMPLE = {"number": 1, "repeat": 1, "warmup_time": 0, "rounds": 1}
TINY_CPU = ("tiny", "cpu", "float32")
NO_GPU_ONLY = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")


def _name(cls: type, method: str) -> str:
    return f"{cls.__module__.split('.')[-1]}.{cls.__name__}.{method}"


def benchmark_methods(cls: type) -> list[str]:
    return sorted(name for name in vars(cls) if name.startswith(("time_", "track_")))


def test_discovery_finds_every_method_with_its_unit() -> None:
    found = {b.name: b for b in disc_benchmarks(str(SUITE))}
    expected = {
        f"{cls.__module__.split('.')[-1]}.{cls.__name__}.{m}" for cls in CLASSES for m in benchmark_methods(cls)
    }
    assert expected <= set(found), sorted(expected - set(found))
    for name in expected:
        cls_name, method = name.split(".")[1:]
        unit = EVIDENCE_UNITS.get(cls_name) or ("seconds" if method.startswith("time_") else UNITS[method])
        assert found[name].unit == unit, name


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_params_match_param_names(cls: type) -> None:
    assert cls.param_names == ["variant", "preset", "device", "dtype"]
    variant_names, presets, devices, dtypes = cls.params
    assert variant_names == common.VARIANT_NAMES
    assert set(presets) <= set(PRESETS)
    assert set(devices) <= {"cpu", "cuda"}
    assert set(dtypes) <= {"float32", "float16", "bfloat16"}
    for method in [*benchmark_methods(cls), "setup"]:
        arguments = list(inspect.signature(getattr(cls, method)).parameters)[1:]
        if hasattr(cls, "setup_cache"):
            assert arguments[0] == "cache", method
            arguments = arguments[1:]
        assert arguments == cls.param_names, f"{cls.__name__}.{method} takes {arguments}"


def test_quick_subset_selects_tiny_cpu_float32() -> None:
    name = "bench_latency.Latency.time_eval_forward('reference', 'tiny', 'cpu', 'float32')"
    assert common.QUICK_REGEX in name
    assert common.QUICK_REGEX not in name.replace("tiny", "small")


def _run_one(name: str, params: tuple[str, ...], cls: type) -> object:
    """Run ``name`` for ``params`` as asv's benchmark process does; NaN when it skips."""
    index = list(itertools.product(*cls.params)).index(params)
    benchmark = get_benchmark_from_name(str(SUITE), f"{name}-{index}", extra_params=ONE_SAMPLE)
    benchmark.set_cache(benchmark.do_setup_cache() if benchmark.setup_cache_key else None)
    skipped = benchmark.do_setup()
    try:
        return math.nan if skipped else benchmark.do_run()
    finally:
        benchmark.do_teardown()


@pytest.mark.parametrize(
    ("cuda_version", "devices", "dtypes"),
    [(None, ["cpu"], ["float32"]), ("12.8", ["cpu", "cuda"], ["float32", "float16", "bfloat16"])],
)
def test_grid_lists_cuda_and_half_dtypes_only_with_a_cuda_build(
    monkeypatch: pytest.MonkeyPatch, cuda_version: str | None, devices: list[str], dtypes: list[str]
) -> None:
    monkeypatch.setattr(torch.version, "cuda", cuda_version)
    try:
        grid = importlib.reload(common)
        assert devices == grid.GRID_DEVICES
        assert dtypes == grid.GRID_DTYPES
    finally:
        monkeypatch.undo()
        importlib.reload(common)


@pytest.mark.slow
def test_every_latency_method_runs_on_tiny_cpu() -> None:
    cls = bench_latency.Latency
    registered = common.registered_variants()
    for method in benchmark_methods(cls):
        name = _name(cls, method)
        ran = []
        for variant in common.VARIANT_NAMES:
            result = _run_one(name, (variant, *TINY_CPU), cls)
            if isinstance(result, float) and math.isnan(result):
                continue  # skipped: the variant is absent here or refuses the CPU
            assert variant in registered
            ran.append(variant)
            assert result["number"] == 1
            assert all(sample > 0 for sample in result["samples"]), (name, variant, result)
        assert "reference" in ran, name


@pytest.mark.slow
def test_every_memory_track_returns_positive_bytes_on_tiny_cpu() -> None:
    # Memory's setup_cache measures the whole grid; the tiny row of it is measured here.
    cache = common.measure_each([common.VARIANT_NAMES, ["tiny"], ["cpu"], ["float32"]], figures.memory_figures)
    ran = []
    for variant in common.VARIANT_NAMES:
        skipped = cache[(variant, *TINY_CPU)]
        if isinstance(skipped, str):
            assert "runs on cuda only" in skipped, (variant, skipped)
            continue
        bench = bench_memory.Memory()
        bench.setup(cache, variant, *TINY_CPU)
        ran.append(variant)
        for method in benchmark_methods(bench_memory.Memory):
            result = getattr(bench, method)(cache, variant, *TINY_CPU)
            assert isinstance(result, int), (method, variant, result)
            assert result > 0, (method, variant)
    assert set(ran) == set(common.registered_variants()) - {"half", "cuda_graph"}


def test_variant_absent_at_a_commit_is_skipped_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(variants, "VARIANTS", {"reference": variants.VARIANTS["reference"]})
    monkeypatch.delattr(variants, "BASELINES", raising=False)
    with pytest.raises(NotImplementedError, match=r"'fused' is not registered at this commit"):
        common.build_workload("fused", "tiny", "eval", "cpu", "float32")
    assert math.isnan(_run_one("bench_latency.Latency.time_eval_forward", ("fused", *TINY_CPU), bench_latency.Latency))


@pytest.mark.parametrize(
    ("preset", "device", "dtype", "reason"),
    [
        ("tiny", "cpu", "float16", "float32 only"),
        ("large", "cpu", "float32", "not run on the CPU"),
        pytest.param(
            "tiny",
            "cuda",
            "float32",
            r"is_available\(\) is False",
            marks=NO_GPU_ONLY,
        ),
    ],
)
def test_combinations_that_cannot_run_here_skip_with_reason(preset: str, device: str, dtype: str, reason: str) -> None:
    with pytest.raises(NotImplementedError, match=reason):
        common.check_applicable(preset, device, dtype)


def test_unknown_device_is_an_error_not_a_skip() -> None:
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; expected one of \['cpu', 'cuda'\]"):
        common.check_applicable("tiny", "tpu", "float32")


def test_coverage_guard_fails_the_import_for_an_unbenchmarked_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(variants.VARIANTS, "brand_new", variants.VARIANTS["reference"])
    with pytest.raises(ImportError, match=r"bncvl registers \['brand_new'\]"):
        importlib.reload(common)
    monkeypatch.undo()
    importlib.reload(common)


@pytest.mark.parametrize(
    "measure",
    [figures.peak_forward_bytes, figures.peak_train_step_bytes, figures.saved_activation_bytes],
)
def test_bytes_grow_with_batch(measure) -> None:
    mode = "eval" if measure is figures.peak_forward_bytes else "train"
    tiny = PRESETS["tiny"]
    sizes = []
    for batch in (2, 4, 8):
        shape = Shape(batch, tiny.in_channels, tiny.out_channels, tiny.size, tiny.kernel_size)
        sizes.append(measure(common.build_workload("reference", shape, mode, "cpu", "float32")))
    assert sizes[0] < sizes[1] < sizes[2], sizes
    output_bytes = 8 * tiny.out_channels * tiny.size**2 * 4
    assert sizes[2] >= output_bytes  # at least the output (or the tensors saved to produce it)


def test_weight_storage_float_vs_packed() -> None:
    shape = PRESETS["medium"]
    work = common.build_workload("reference", "medium", "eval", "cpu", "float32")
    weights = shape.out_channels * shape.in_channels * shape.kernel_size**2
    assert bench_memory.float_weight_bytes(work) == 4 * (weights + shape.out_channels)
    assert bench_memory.packed_weight_bytes(work) == packed_storage_bytes(weights) + packed_storage_bytes(
        shape.out_channels
    )


def test_efficiency_figures_on_tiny_cpu() -> None:
    cache = common.measure_each([common.VARIANT_NAMES, ["tiny"], ["cpu"], ["float32"]], figures.forward_figures)
    bench = bench_efficiency.Efficiency()
    bench.setup(cache, "reference", *TINY_CPU)
    flops = bench.track_forward_flops(cache, "reference", *TINY_CPU)
    bytes_per_s = bench.track_forward_bytes_per_s(cache, "reference", *TINY_CPU)
    seconds = cache[("reference", *TINY_CPU)]["seconds"]
    # tiny: 2 samples, 8 -> 8 channels, 16x16, 3x3 kernel. MACs 2*8*16*16*8*9 = 294,912 (2 FLOPs each);
    # bytes at least input and output (2*(8+8)*256 floats) and weights with bias (8*(8*9+1) floats) once.
    assert flops == pytest.approx(589_824 / seconds)
    assert bytes_per_s == pytest.approx(4 * (2 * 16 * 256 + 8 * 73) / seconds)
    assert seconds > 0
    with pytest.raises(NotImplementedError, match=r"is_available\(\) is False"):
        common.cached_entry(
            common.measure_each([["reference"], ["tiny"], ["cuda"], ["float32"]], figures.forward_figures),
            "reference",
            "tiny",
            "cuda",
            "float32",
        )


@NO_GPU_ONLY
def test_gpu_benchmarks_skip_on_a_machine_without_cuda() -> None:
    cache = bench_gpu.GPU().setup_cache()
    assert set(cache) == {"unavailable"}
    assert benchmark_methods(bench_gpu.GPU)  # asv skips each of them: their setup raises NotImplementedError
    with pytest.raises(NotImplementedError, match=r"is_available\(\) is False"):
        bench_gpu.GPU().setup(cache, "reference", "small", "cuda", "float32")


def test_suite_imports_fast_builds_no_tensor_and_leaves_cuda_alone() -> None:
    # torch's own import (2.5-4 s on a shared 2-core box) is outside the suite's
    # control and paid once per run by asv's forkserver: it is done first.
    script = """
import json, time, torch, bncvl.measure.workload, bncvl.measure.memory, bncvl.measure.nvml
from torch.overrides import TorchFunctionMode
calls = []
class Count(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        calls.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))
start = time.perf_counter()
with Count():
    import benchmarks.bench_latency, benchmarks.bench_memory, benchmarks.bench_gpu, benchmarks.bench_efficiency
print(json.dumps({"seconds": time.perf_counter() - start, "calls": calls,
                  "cuda_initialized": torch.cuda.is_initialized()}))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["seconds"] < 2.0, report
    assert report["calls"] == [], report
    assert report["cuda_initialized"] is False


@pytest.mark.parametrize(("command", "imported"), [("run_server", True), ("discover", False), ("run", False)])
def test_only_asvs_forkserver_imports_the_compiler(command: str, imported: bool) -> None:
    script = (
        f"import sys; sys.argv = ['benchmark.py', {command!r}]; import benchmarks.common; "
        "print('torch._inductor.compile_fx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(imported)


def test_latency_times_cpu_time_on_the_cpu_and_wall_time_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import bench_latency as latency  # its own imports: other tests reload the suite

    assert latency.Latency.timer is latency.LATENCY_CLOCK
    latency.select_clock("cpu")
    start_cpu, start_wall = latency.LATENCY_CLOCK(), time.perf_counter()
    time.sleep(0.05)  # sleeping uses no CPU: the CPU clock barely moves
    assert latency.LATENCY_CLOCK() - start_cpu < 0.02
    assert time.perf_counter() - start_wall >= 0.05
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the clock of CUDA, on any machine
    latency.select_clock("cuda")
    start = latency.LATENCY_CLOCK()
    time.sleep(0.05)
    assert latency.LATENCY_CLOCK() - start >= 0.05
    latency.select_clock("cpu")


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("bench_dashboard", "DashboardLoad.time_cold_load"),
        ("bench_store", "StorePages.time_page_data-0"),
        ("bench_store", "StorePublish.time_publish_new_commit"),
    ],
)
def test_the_data_benchmarks_skip_through_asv_without_their_extras(
    module: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    reason = "pandas cannot be imported here (No module named 'pandas')"
    monkeypatch.setattr(importlib.import_module(f"benchmarks.{module}"), "_skip_reason", lambda: reason)
    benchmark = get_benchmark_from_name(str(SUITE), f"{module}.{name}", extra_params=ONE_SAMPLE)
    # A setup_cache that returned None would make asv call setup without the cache, a TypeError.
    benchmark.set_cache(benchmark.do_setup_cache())
    assert benchmark.do_setup() is True, name  # skipped: NotImplementedError in setup


@pytest.mark.parametrize(
    ("cuda_index", "count", "environ", "expected"),
    [
        (0, 1, {}, 0),  # one GPU: the order does not matter
        (1, 2, {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, 1),
        (0, 2, {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "3,1"}, 3),
        (1, 2, {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": " 3, 1"}, 1),
    ],
)
def test_nvml_samples_the_gpu_torch_uses(cuda_index: int, count: int, environ: dict, expected: int) -> None:
    assert bench_gpu.nvml_index(cuda_index, count, environ) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "need CUDA_DEVICE_ORDER=PCI_BUS_ID.*got CUDA_DEVICE_ORDER='FASTEST_FIRST'"),
        ({"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "GPU-8f3c"}, "got 'GPU-8f3c'"),
        ({"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "2"}, "naming cuda:1; got '2'"),
    ],
)
def test_nvml_figures_skip_when_the_numberings_cannot_match(environ: dict, message: str) -> None:
    with pytest.raises(NotImplementedError, match=message):
        bench_gpu.nvml_index(1, 2, environ)


def test_the_suite_numbers_gpus_as_nvml_does() -> None:
    script = "import os, benchmarks; print(os.environ['CUDA_DEVICE_ORDER'])"
    env = {k: v for k, v in os.environ.items() if k != "CUDA_DEVICE_ORDER"}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PCI_BUS_ID"


@pytest.mark.slow  # dynamo's import and three compiles: a few seconds
def test_each_combination_of_a_setup_cache_compiles_for_its_own_shape_only() -> None:
    """measure_each's combinations must not share dynamo's state: a kernel compiled for one preset and then
    called on another recompiles shape-generic (dynamic), which is not what a one-shape process runs."""
    dynamic: list[bool] = []

    def backend(graph: torch.fx.GraphModule, example_inputs: list[torch.Tensor]):
        sizes = [size for x in example_inputs for size in (x.shape if isinstance(x, torch.Tensor) else [x])]
        dynamic.append(any(isinstance(size, torch.SymInt) for size in sizes))
        return graph.forward

    @torch.compile(backend=backend)
    def kernel(x: torch.Tensor) -> torch.Tensor:
        return x * 2

    def measure(variant: str, preset: str, device: str, dtype: str) -> dict[str, float]:
        shape = PRESETS[preset]
        kernel(torch.ones(shape.input_shape))
        return {"ok": 1.0}

    common.measure_each([["reference"], ["tiny", "small", "medium"], ["cpu"], ["float32"]], measure)
    assert dynamic == [False, False, False]
