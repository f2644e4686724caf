"""The better-direction rule shared by the dashboard and `bncvl check`."""

import pytest

from bncvl.track.directions import Direction, direction

LOWER, HIGHER, INFO = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER, Direction.INFORMATIVE


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("bench_latency.Latency.time_eval_forward", "seconds", LOWER),
        ("bench_memory.Memory.track_peak_forward_bytes", "bytes", LOWER),
        ("bench_memory.Memory.peakmem_forward", "bytes", LOWER),
        ("bench_gpu.GPU.track_energy_per_forward", "J", LOWER),
        ("bench_quantization.Training.track_test_error", "fraction", LOWER),
        ("bench_quantization.Training.track_accuracy_gap", "fraction", LOWER),
        ("bench_quantization.Training.track_dead_filters", "filters", LOWER),
        ("bench_quantization.Training.track_test_accuracy", "fraction", HIGHER),
        ("bench_efficiency.Efficiency.track_forward_flops", "FLOP/s", HIGHER),
        ("bench_efficiency.Efficiency.track_forward_bytes_per_s", "bytes/s", HIGHER),
        ("bench_gpu.GPU.track_gpu_utilization", "%", INFO),
        ("bench_gpu.GPU.track_memory_bandwidth_utilization", "%", INFO),
        ("bench_gpu.GPU.track_power", "W", INFO),
        ("bench_gpu.GPU.track_sm_clock", "MHz", INFO),
        ("bench_quantization.Training.track_final_flip_ratio", "fraction", INFO),
        ("x.Y.track_something", "seconds", LOWER),
        ("x.Y.track_something", None, INFO),
    ],
)
def test_direction(name, unit, expected):
    assert direction(name, unit) is expected


def test_a_catalogued_benchmark_takes_the_catalogues_direction(monkeypatch):
    from bncvl.track import suite

    name = "bench_gpu.GPU.track_power_saving"  # "power" would make it informative by the keyword rule
    assert direction(name, "W") is INFO
    entry = suite.Benchmark(name, suite.Kind.ENERGY, "W", HIGHER)
    monkeypatch.setitem(suite._BY_NAME, name, entry)
    assert direction(name, "W") is HIGHER
    assert direction(f"{name}('reference', 'tiny')", "W") is HIGHER, "parameters ignored"
