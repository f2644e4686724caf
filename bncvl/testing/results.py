"""Synthetic asv results directories (format version 2), written by the installed asv's own writers.

They feed the tests, the dashboard's load benchmark and a demo of the
dashboard without a GPU. Values follow a simple, seeded model (presets scale
the work, variants divide it, a GPU is faster), with optional planted steps,
so a test knows exactly which regression must be found and where. Synthetic
analysis runs are :mod:`bncvl.testing.runs`.

Nothing here formats a file by hand: ``benchmarks.json`` is written by
``asv.benchmarks.Benchmarks.save``, each ``machine.json`` by
``asv.machine.Machine.save`` and each result file by ``asv.results.Results``
(``add_result`` of an ``asv.runner.BenchmarkResult``, then ``save``), as
``asv run`` writes them. So the files carry what asv derives itself: the
statistics it computes from the samples (``compute_stats``), its 5-digit
truncation of them, its columns and its version numbers.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import math
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bncvl._extras import needs_extra

with needs_extra("dashboard", "bncvl.testing.results"):
    from asv.benchmarks import Benchmarks
    from asv.config import Config
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult, fail_benchmark

__all__ = ["CPU_MACHINE", "GPU_MACHINE", "PlantedStep", "commit_hashes", "write_results_set"]

CPU_MACHINE = "ci-cpu"
GPU_MACHINE = "lab-h100"
# Machine records' facts (bncvl.measure.facts.DEVICE_FACT_COLUMNS).
_MACHINE_FACTS = {
    CPU_MACHINE: {
        "cpu": "AMD EPYC 7B13",
        "num_cpu": "2",
        "ram": "8000000",
        "gpu_model": "none",
        "gpu_count": "0",
        "gpu_driver": "none",
        "cuda_version": "none",
        "cudnn_version": "none",
        "cpu_model": "AMD EPYC 7B13",
        "mig_mode": "n/a",
    },
    GPU_MACHINE: {
        "cpu": "Intel Xeon Platinum 8480+",
        "num_cpu": "16",
        "ram": "131072000",
        "gpu_model": "NVIDIA H100 80GB HBM3",
        "gpu_count": "1",
        "gpu_driver": "550.90.07",
        "cuda_version": "12.4",
        "cudnn_version": "90100",
        "cpu_model": "Intel Xeon Platinum 8480+",
        "mig_mode": "Disabled",
    },
}
_PRESET_WORK = {"small": 0.2, "medium": 1.0, "large": 8.0}
_VARIANT_SPEED = {
    "reference": 1.0,
    "cached": 1.25,
    "fused": 1.6,
    "channels_last": 1.4,
    "half": 2.0,
    "cuda_graph": 2.2,
    "fast": 2.1,
    "conv_limit": 2.3,
}
_CUDA_ONLY_VARIANTS = frozenset({"half", "cuda_graph"})
_LAYER_PARAMS = ("variant", "preset", "device", "dtype")
# name -> (unit, needs a GPU, value of the reference on the medium preset on the CPU)
_LAYER_BENCHMARKS: dict[str, tuple[str, bool, float]] = {
    "bench_latency.Latency.time_eval_forward": ("seconds", False, 2.0e-3),
    "bench_latency.Latency.time_train_forward": ("seconds", False, 2.5e-3),
    "bench_latency.Latency.time_backward": ("seconds", False, 4.0e-3),
    "bench_latency.Latency.time_train_step": ("seconds", False, 6.5e-3),
    "bench_memory.Memory.track_peak_forward_bytes": ("bytes", False, 8.0e6),
    "bench_memory.Memory.track_peak_train_step_bytes": ("bytes", False, 2.4e7),
    "bench_memory.Memory.track_saved_activation_bytes": ("bytes", False, 1.2e7),
    "bench_gpu.GPU.track_gpu_utilization": ("%", True, 60.0),
    "bench_gpu.GPU.track_memory_bandwidth_utilization": ("%", True, 40.0),
    "bench_gpu.GPU.track_energy_per_forward": ("J", True, 0.02),
    "bench_gpu.GPU.track_power": ("W", True, 300.0),
    "bench_gpu.GPU.track_sm_clock": ("MHz", True, 1755.0),
    "bench_efficiency.Efficiency.track_forward_flops": ("FLOP/s", False, 5.0e10),
    "bench_efficiency.Efficiency.track_forward_bytes_per_s": ("bytes/s", False, 4.0e9),
    "bench_instructions.Instructions.track_eval_forward": ("instructions", False, 9.0e6),
    "bench_instructions.Instructions.track_train_step": ("instructions", False, 2.6e7),
    "bench_relative.RelativeWallTime.track_eval_forward": ("time ratio", False, 2.0),
    "bench_relative.RelativeWallTime.track_train_step": ("time ratio", False, 2.4),
    "bench_relative.RelativeCpuTime.track_eval_forward": ("time ratio", False, 2.0),
    "bench_relative.RelativeCpuTime.track_train_step": ("time ratio", False, 2.4),
}
_PROCESSES = 7
"""Per-process samples of a relative timing (asv's ``rounds``)."""
_STORAGE_BENCHMARKS = {
    "bench_memory.WeightStorage.track_float_weight_bytes": 147456.0,
    "bench_memory.WeightStorage.track_packed_weight_bytes": 4616.0,
}
_QUANTIZATION_BENCHMARKS = {
    "bench_quantization.Quantization.track_test_error": ("fraction", 0.06),
    "bench_quantization.Quantization.track_accuracy_gap": ("fraction", 0.03),
    "bench_quantization.Quantization.track_final_flip_ratio": ("fraction", 0.002),
    "bench_quantization.Quantization.track_ones_fraction": ("fraction", 0.5),
    "bench_quantization.Quantization.track_dead_filters": ("filters", 0.0),
}
_ENV_NAME = "virtualenv-py3.11-torch2.13.0"
_FIRST_DATE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
_DAY_MS = 86_400_000
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_TIMING_SPREAD = (-0.02, -0.01, 0.0, 0.01, 0.02)
"""The repeats of one timing, relative to its value: asv computes q_25/q_75 of ±1 % and a 99 % CI of about ±3 %."""
_TIMING_NUMBER = 10


@dataclass(frozen=True)
class PlantedStep:
    """Multiply one series by ``factor`` from commit ``at_commit`` (0-based) on.

    ``params`` selects parameter combinations by value (e.g. ``{"variant":
    "fused", "preset": "medium"}``); an empty mapping selects all of them.
    """

    machine: str
    benchmark: str
    at_commit: int
    factor: float
    params: dict[str, str] = field(default_factory=dict)


def commit_hashes(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct 40-hex-digit fake commit hashes, oldest first."""
    return [hashlib.sha1(f"bncvl-synthetic-{seed}-{index}".encode()).hexdigest() for index in range(count)]


def _benchmark_catalogue(
    variants: Sequence[str], presets: Sequence[str], devices: Sequence[str], dtypes: Sequence[str]
) -> dict[str, dict]:
    layer_params = [[repr(v) for v in values] for values in (variants, presets, devices, dtypes)]
    catalogue: dict[str, dict] = {}

    def add(name: str, unit: str, params: list[list[str]], names: Sequence[str]) -> None:
        kind = "time" if name.rsplit(".", 1)[-1].startswith("time_") else "track"
        catalogue[name] = {
            "name": name,
            "type": kind,
            "unit": unit,
            "params": params,
            "param_names": list(names),
            "version": hashlib.sha256(name.encode()).hexdigest(),
            "timeout": 60.0,
        }

    for name, (unit, _gpu, _base) in _LAYER_BENCHMARKS.items():
        add(name, unit, layer_params, _LAYER_PARAMS)
    for name in _STORAGE_BENCHMARKS:
        add(name, "bytes", [[repr(p) for p in presets]], ["preset"])
    for name, (unit, _base) in _QUANTIZATION_BENCHMARKS.items():
        add(name, unit, [], [])
    return catalogue


def _model_value(name: str, base: float, unit: str, combo: dict[str, str], machine: str) -> float:
    """The noise-free value of one parameter combination; NaN where it cannot run (asv's "skipped")."""
    device, dtype, variant = combo.get("device"), combo.get("dtype"), combo.get("variant")
    has_gpu = machine != CPU_MACHINE
    if device == "cuda" and not has_gpu:
        return math.nan
    if device == "cpu" and (dtype in ("float16", "bfloat16") or variant in _CUDA_ONLY_VARIANTS):
        return math.nan
    if unit == "instructions" and device != "cpu":
        return math.nan
    if name.startswith("bench_gpu.") and device != "cuda":
        return math.nan
    work = _PRESET_WORK.get(combo.get("preset", "medium"), 1.0)
    speed = _VARIANT_SPEED.get(variant or "reference", 1.0) * (25.0 if device == "cuda" else 1.0)
    if unit in ("seconds", "instructions"):
        return base * work / speed
    if unit == "time ratio":
        return base / speed
    if unit in ("FLOP/s", "bytes/s"):
        return base * speed * (1.0 + 0.2 * math.log(work))
    if unit == "bytes":
        return base * work / (1.0 if variant in ("reference", "conv_limit") else 1.5)
    if unit == "J":
        return base * work / speed * 25.0
    return base


def _measure(
    value: float, unit: str, noise: float, rng: random.Random, processes: int = _PROCESSES
) -> tuple[float, list[float] | None, int | None]:
    """One noisy measurement of ``value``: the value, the samples asv computes its statistics from, and ``number``.

    A timing has five repeats of ``number`` 10 around its value (their
    median); a relative timing has ``processes`` per-process samples
    (their median is the value), kept in the file; any other ``track_``
    benchmark has a single sample, so asv gives it infinite confidence
    bounds and both quartiles at the value. (A real ``asv run`` stores no
    statistics at all for a ``track_`` benchmark that returns a bare number;
    the single sample keeps the statistics these files have always had.)
    Instruction counts are ten times less noisy than times. A NaN (skipped)
    has neither samples nor statistics.
    """
    if math.isnan(value):
        return value, None, None
    if unit == "time ratio":
        samples = sorted(value * (1.0 + rng.gauss(0.0, noise)) for _ in range(processes))
        return samples[processes // 2], samples, 1
    value *= 1.0 + rng.gauss(0.0, noise / 10 if unit == "instructions" else noise)
    if unit == "seconds":
        return value, [value * (1.0 + spread) for spread in _TIMING_SPREAD], _TIMING_NUMBER
    return value, [value], 1


def write_results_set(
    root: str | os.PathLike[str],
    *,
    commits: int = 8,
    machines: Sequence[str] = (CPU_MACHINE, GPU_MACHINE),
    variants: Sequence[str] = ("reference", "fused", "fast", "conv_limit"),
    presets: Sequence[str] = ("small", "medium"),
    devices: Sequence[str] = ("cpu", "cuda"),
    dtypes: Sequence[str] = ("float32",),
    steps: Sequence[PlantedStep] = (),
    failed: Sequence[tuple[str, int, str]] = (),
    measured_presets: Sequence[str] | None = None,
    noise: float = 0.01,
    seed: int = 0,
    processes: int = _PROCESSES,
) -> list[str]:
    """Write an asv results directory (format version 2) to ``root`` through asv's writers (see the module).

    Every commit's results start one second after its date and last 1 s.

    Args:
        root: the results directory to create or fill.
        commits: commits per machine, one day apart.
        machines: machine names; :data:`CPU_MACHINE` has no GPU, any other has one.
        variants, presets, devices, dtypes: the layer benchmarks' parameter values.
        steps: planted steps.
        failed: (machine, commit index, benchmark) whose whole result is ``null``: asv's
            ``fail_benchmark``, as ``asv run`` stores a benchmark that failed.
        measured_presets: the presets that get values (default: all); the others stay in the
            params with NaN values (asv: skipped), as ``bncvl pipeline``'s quick subset leaves them.
        noise: relative standard deviation of the seeded multiplicative noise.
        seed: seeds the noise and the commit hashes.
        processes: per-process samples of each relative timing (asv's ``rounds``; a ``--quick`` run has 1).

    Returns:
        The commit hashes, oldest first.
    """
    root = Path(root)
    rng = random.Random(seed)
    catalogue = _benchmark_catalogue(variants, presets, devices, dtypes)
    hashes = commit_hashes(commits, seed)
    root.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.results_dir = str(root)
    # Benchmarks takes description dicts (Benchmarks.load builds it from a file's); save() writes benchmarks.json.
    Benchmarks(config, list(catalogue.values())).save()
    bases = {name: base for name, (_u, _g, base) in _LAYER_BENCHMARKS.items()}
    bases.update(_STORAGE_BENCHMARKS)
    bases.update({name: base for name, (_u, base) in _QUANTIZATION_BENCHMARKS.items()})
    failed_set = set(failed)
    for machine in machines:
        facts = {
            "arch": "x86_64",
            "machine": machine,
            "os": "Linux 6.1.0",
            "torch_version": "2.13.0+cu124",
            "torch_threads": "1",
            "benchmark_seed": "0",
            **_MACHINE_FACTS.get(machine, _MACHINE_FACTS[GPU_MACHINE]),
        }
        record = Machine()
        vars(record).update(facts)  # as Machine.load fills it from ~/.asv-machine.json, which is not touched here
        record.save(str(root))
        for index, commit in enumerate(hashes):
            date = _FIRST_DATE_MS + index * _DAY_MS
            started_at = _EPOCH + datetime.timedelta(milliseconds=date + 1000)
            environment = {**facts, "python": "3.11", "torch": "2.13.0"}
            results = Results(environment, {"torch": "2.13.0"}, commit, date, "3.11", _ENV_NAME, {})
            for name, meta in catalogue.items():
                if (machine, index, name) in failed_set:
                    results.add_result(meta, fail_benchmark(meta), started_at=started_at)
                    continue
                values, samples, numbers = [], [], []
                for combo_values in itertools.product(*meta["params"]):
                    combo = {k: v.strip("'") for k, v in zip(meta["param_names"], combo_values, strict=True)}
                    value = _model_value(name, bases[name], meta["unit"], combo, machine)
                    if measured_presets is not None and combo.get("preset") not in (None, *measured_presets):
                        value = math.nan
                    for step in steps:
                        selected = all(combo.get(k) == v for k, v in step.params.items())
                        if step.machine == machine and step.benchmark == name and selected and index >= step.at_commit:
                            value *= step.factor
                    value, kept, number = _measure(value, meta["unit"], noise, rng, processes)
                    values.append(value)
                    samples.append(kept)
                    numbers.append(number)
                outcome = BenchmarkResult(values, samples, numbers, errcode=0, stderr="", profile=None)
                keep = meta["unit"] == "time ratio"  # what `bncvl check` reads (it runs asv with --record-samples)
                results.add_result(meta, outcome, started_at=started_at, duration=1.0, record_samples=keep)
            results.save(str(root))
    return hashes
