"""The catalogue of the asv suite: every benchmark of ``benchmarks/`` by its asv name, and what it is.

``bncvl`` and the suite never import each other: ``bncvl`` must work without
``benchmarks/`` on the path, and the suite must import against old commits
(``benchmarks/common.py``). What ``bncvl`` knows of the suite is therefore
data, here: each benchmark's :class:`Kind` (instruction count, relative
timing, bytes, absolute time...), unit, better :class:`Direction` and the
layer pass it measures, and the subsets the commands run. Everything else
reads it: ``bncvl check`` (:data:`CHECK_BENCHMARKS`, :attr:`Benchmark.per_round`, :mod:`bncvl.track.selection`),
``bncvl pipeline`` (:data:`MAIN_JOB_BENCHMARKS`), the decision's pass and
direction of a benchmark (:func:`bncvl.track.decision.pass_of`,
:func:`bncvl.track.directions.direction`) and the dashboard's pages
(:data:`HEADLINE`, :func:`in_class`).

``tests/test_suite_catalogue.py`` discovers the suite as asv does and fails
when one of its benchmarks is missing here, a name here is not in the suite,
or a unit differs: renaming a benchmark fails that test until the catalogue
says the new name. Results of old commits may hold names the catalogue no
longer has; :func:`lookup` gives None for them, and each consumer falls back
to a rule by name and unit.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "CATALOGUE",
    "CHECK_BENCHMARKS",
    "CHECK_COMBINATIONS",
    "HEADLINE",
    "MAIN_JOB_BENCHMARKS",
    "QUICK_COMBINATION",
    "TREND_OPENINGS",
    "VERSIONS",
    "Benchmark",
    "Direction",
    "Kind",
    "in_class",
    "lookup",
]


class Direction(enum.Enum):
    """Which way a benchmark is better (:func:`bncvl.track.directions.direction`)."""

    LOWER_IS_BETTER = "lower"
    HIGHER_IS_BETTER = "higher"
    INFORMATIVE = "informative"


class Kind(enum.Enum):
    """What a benchmark measures, as the decision and the commands see it."""

    INSTRUCTIONS = "instruction count"
    """User-space instructions under callgrind: evidence (:mod:`bncvl.track.decision`)."""
    RELATIVE = "relative timing"
    """One process's time of a pass over a fixed reference's: evidence, one value per process."""
    BYTES = "bytes"
    """Exact byte counts: a change needs no other evidence."""
    ABSOLUTE_TIME = "absolute time"
    """Seconds on a clock: they move with the machine, so evidence must confirm a step in them."""
    THROUGHPUT = "throughput"
    """A rate derived from an absolute time (FLOP/s, bytes/s)."""
    ENERGY = "energy"
    QUALITY = "training quality"
    INFORMATIVE = "informative"
    """Describes how the work ran (utilisation, clocks, power, weight statistics): never better or worse."""


# Shorthands for the catalogue's table.
LOWER, HIGHER, INFORMATIVE = Direction.LOWER_IS_BETTER, Direction.HIGHER_IS_BETTER, Direction.INFORMATIVE


@dataclass(frozen=True)
class Benchmark:
    """One benchmark of the suite (all its parameter combinations)."""

    name: str
    """asv's name: ``module.Class.method``."""
    kind: Kind
    unit: str
    """asv's unit (``seconds`` for every ``time_`` method)."""
    direction: Direction
    layer_pass: str | None = None
    """The layer pass whose steady-state cost it measures (``eval_forward``, ``train_step``...): that pass's
    instruction counts and relative timings are its evidence. None where no pass's evidence can confirm it:
    bytes, a first call's compile, GPU counters, training quality, the dashboard's load."""
    in_check: bool = False
    """Part of ``bncvl check``'s default subset (:data:`CHECK_BENCHMARKS`)."""

    @property
    def per_round(self) -> bool:
        """Whether ``bncvl check`` runs it once per interleaved round, each round a process of its own: relative
        timings, whose sample is the process, and asv's ``time_`` benchmarks, whose samples drift with it."""
        return self.kind is Kind.RELATIVE or self.name.rsplit(".", 1)[-1].startswith("time_")


CATALOGUE: tuple[Benchmark, ...] = (
    # bench_latency.py
    Benchmark("bench_latency.Latency.time_eval_forward", Kind.ABSOLUTE_TIME, "seconds", LOWER, "eval_forward"),
    Benchmark("bench_latency.Latency.time_train_forward", Kind.ABSOLUTE_TIME, "seconds", LOWER, "train_forward"),
    Benchmark("bench_latency.Latency.time_backward", Kind.ABSOLUTE_TIME, "seconds", LOWER, "backward"),
    Benchmark("bench_latency.Latency.time_train_step", Kind.ABSOLUTE_TIME, "seconds", LOWER, "train_step"),
    Benchmark("bench_latency.FirstCall.track_first_eval_forward_seconds", Kind.ABSOLUTE_TIME, "seconds", LOWER),
    Benchmark("bench_latency.FirstCall.track_first_train_step_seconds", Kind.ABSOLUTE_TIME, "seconds", LOWER),
    # bench_memory.py
    Benchmark("bench_memory.Memory.track_peak_forward_bytes", Kind.BYTES, "bytes", LOWER, in_check=True),
    Benchmark("bench_memory.Memory.track_peak_train_step_bytes", Kind.BYTES, "bytes", LOWER),
    Benchmark("bench_memory.Memory.track_saved_activation_bytes", Kind.BYTES, "bytes", LOWER, in_check=True),
    Benchmark("bench_memory.WeightStorage.track_float_weight_bytes", Kind.BYTES, "bytes", LOWER),
    Benchmark("bench_memory.WeightStorage.track_packed_weight_bytes", Kind.BYTES, "bytes", LOWER),
    # bench_gpu.py
    Benchmark("bench_gpu.GPU.track_gpu_utilization", Kind.INFORMATIVE, "%", INFORMATIVE),
    Benchmark("bench_gpu.GPU.track_memory_bandwidth_utilization", Kind.INFORMATIVE, "%", INFORMATIVE),
    Benchmark("bench_gpu.GPU.track_energy_per_forward", Kind.ENERGY, "J", LOWER),
    Benchmark("bench_gpu.GPU.track_power", Kind.INFORMATIVE, "W", INFORMATIVE),
    Benchmark("bench_gpu.GPU.track_sm_clock", Kind.INFORMATIVE, "MHz", INFORMATIVE),
    # bench_efficiency.py: rates of the eval forward's time
    Benchmark("bench_efficiency.Efficiency.track_forward_flops", Kind.THROUGHPUT, "FLOP/s", HIGHER, "eval_forward"),
    Benchmark(
        "bench_efficiency.Efficiency.track_forward_bytes_per_s", Kind.THROUGHPUT, "bytes/s", HIGHER, "eval_forward"
    ),
    # bench_instructions.py and bench_relative.py: the evidence
    Benchmark(
        "bench_instructions.Instructions.track_eval_forward",
        Kind.INSTRUCTIONS,
        "instructions",
        LOWER,
        "eval_forward",
        in_check=True,
    ),
    Benchmark(
        "bench_instructions.Instructions.track_train_step",
        Kind.INSTRUCTIONS,
        "instructions",
        LOWER,
        "train_step",
        in_check=True,
    ),
    Benchmark(
        "bench_relative.RelativeWallTime.track_eval_forward",
        Kind.RELATIVE,
        "time ratio",
        LOWER,
        "eval_forward",
        in_check=True,
    ),
    Benchmark(
        "bench_relative.RelativeWallTime.track_train_step",
        Kind.RELATIVE,
        "time ratio",
        LOWER,
        "train_step",
        in_check=True,
    ),
    Benchmark(
        "bench_relative.RelativeCpuTime.track_eval_forward",
        Kind.RELATIVE,
        "time ratio",
        LOWER,
        "eval_forward",
        in_check=True,
    ),
    Benchmark(
        "bench_relative.RelativeCpuTime.track_train_step",
        Kind.RELATIVE,
        "time ratio",
        LOWER,
        "train_step",
        in_check=True,
    ),
    # bench_quantization.py: one short training run
    Benchmark("bench_quantization.QuantizationTraining.track_test_error", Kind.QUALITY, "%", LOWER),
    Benchmark("bench_quantization.QuantizationTraining.track_accuracy_gap", Kind.QUALITY, "%", LOWER),
    Benchmark("bench_quantization.QuantizationTraining.track_dead_filters", Kind.QUALITY, "filters", LOWER),
    Benchmark(
        "bench_quantization.QuantizationTraining.track_final_flip_ratio", Kind.INFORMATIVE, "fraction", INFORMATIVE
    ),
    Benchmark("bench_quantization.QuantizationTraining.track_ones_fraction", Kind.INFORMATIVE, "fraction", INFORMATIVE),
    # bench_dashboard.py
    Benchmark("bench_dashboard.DashboardLoad.time_cold_load", Kind.ABSOLUTE_TIME, "seconds", LOWER),
    # bench_store.py: a fleet's store of 100 commits x 20 machines
    Benchmark("bench_store.StorePages.time_page_data", Kind.ABSOLUTE_TIME, "seconds", LOWER),
    Benchmark("bench_store.StorePublish.time_publish_new_commit", Kind.ABSOLUTE_TIME, "seconds", LOWER),
)
"""Every benchmark of the suite, in the order of its source files."""

VERSIONS: dict[str, str] = {
    "bench_dashboard.DashboardLoad.time_cold_load": "5ee72f1c5428",
    "bench_efficiency.Efficiency.track_forward_bytes_per_s": "1368cf799c13",
    "bench_efficiency.Efficiency.track_forward_flops": "697bed2050ee",
    "bench_gpu.GPU.track_energy_per_forward": "90de270b08f5",
    "bench_gpu.GPU.track_gpu_utilization": "d57aeb2e11b6",
    "bench_gpu.GPU.track_memory_bandwidth_utilization": "126a2d0eae6c",
    "bench_gpu.GPU.track_power": "5f9b21a3d631",
    "bench_gpu.GPU.track_sm_clock": "fa68545c21a4",
    "bench_instructions.Instructions.track_eval_forward": "90796a680079",
    "bench_instructions.Instructions.track_train_step": "a21e91d66c23",
    "bench_latency.FirstCall.track_first_eval_forward_seconds": "2d3cc9940980",
    "bench_latency.FirstCall.track_first_train_step_seconds": "59cf5499423d",
    "bench_latency.Latency.time_backward": "abe925b7a3a4",
    "bench_latency.Latency.time_eval_forward": "371f7b5f023a",
    "bench_latency.Latency.time_train_forward": "60c37038ecd7",
    "bench_latency.Latency.time_train_step": "125a17e5c8d1",
    "bench_memory.Memory.track_peak_forward_bytes": "a78c0fd4eff6",
    "bench_memory.Memory.track_peak_train_step_bytes": "2131b268165c",
    "bench_memory.Memory.track_saved_activation_bytes": "feb3a36713eb",
    "bench_memory.WeightStorage.track_float_weight_bytes": "27b7bb2af010",
    "bench_memory.WeightStorage.track_packed_weight_bytes": "6096e6c805df",
    "bench_quantization.QuantizationTraining.track_accuracy_gap": "68a6329eec86",
    "bench_quantization.QuantizationTraining.track_dead_filters": "9d6b12731cf3",
    "bench_quantization.QuantizationTraining.track_final_flip_ratio": "4a8971736383",
    "bench_quantization.QuantizationTraining.track_ones_fraction": "9ca51733301c",
    "bench_quantization.QuantizationTraining.track_test_error": "3ae9cfe65abf",
    "bench_relative.RelativeCpuTime.track_eval_forward": "dd674e7dca1d",
    "bench_relative.RelativeCpuTime.track_train_step": "cd604205c939",
    "bench_relative.RelativeWallTime.track_eval_forward": "3d821a33a4e1",
    "bench_relative.RelativeWallTime.track_train_step": "8da5980933a3",
    "bench_store.StorePages.time_page_data": "d0c55fadd678",
    "bench_store.StorePublish.time_publish_new_commit": "5a203b6f2e26",
}
"""The start of each benchmark's asv version, as its results hold it. asv hashes the source of a benchmark's
method and setups into its version and shows only the results of the current one, so an edit there (even of a
comment) hides the benchmark's whole history. ``tests/test_suite_catalogue.py`` fails on a version that is not
here: keep the old source (move the change into a helper the method calls), or, when the measurement itself
changed, put the new version here and say in docs/benchmarks.md that its history restarts."""

_BY_NAME = {benchmark.name: benchmark for benchmark in CATALOGUE}


def lookup(name: str) -> Benchmark | None:
    """The catalogue's entry for the asv name ``name`` (parameters, if any, ignored), or None for a name the suite
    does not have (now): a benchmark of an old commit, or one renamed since."""
    return _BY_NAME.get(name.split("(", 1)[0])


def in_class(cls: str) -> tuple[str, ...]:
    """The names of the benchmarks of class ``cls`` (``module.Class``, e.g. ``bench_memory.Memory``), in order.

    Raises:
        ValueError: the suite has no such class (the message lists those it has).
    """
    names = tuple(benchmark.name for benchmark in CATALOGUE if benchmark.name.rsplit(".", 1)[0] == cls)
    if not names:
        classes = sorted({benchmark.name.rsplit(".", 1)[0] for benchmark in CATALOGUE})
        raise ValueError(f"the suite has no benchmark class {cls!r}; it has {', '.join(classes)}")
    return names


def _any_of(names: list[str]) -> str:
    """A regex matching exactly one of ``names`` at the start of asv's ``name(params)`` (or bare ``name``)."""
    return "(?:" + "|".join(re.escape(name) for name in names) + r")(?=\(|$)"


HEADLINE = "bench_latency.Latency.time_eval_forward"
"""The benchmark the dashboard's Devices page shows first, and Trends' first absolute time: the eval forward's
latency."""

TREND_OPENINGS = (
    "bench_relative.RelativeCpuTime.track_eval_forward",
    "bench_instructions.Instructions.track_eval_forward",
    HEADLINE,
)
"""What the Trends page opens on for its relative timings, instruction counts and absolute times, when the
reference variant has a value there: the eval forward (in CPU time, which the neighbours of a shared machine
disturb less than wall time)."""

QUICK_COMBINATION = "'tiny', 'cpu', 'float32'"
"""The parameters of the suite's quick subset (``benchmarks/common.py``'s ``QUICK_REGEX``): the tiny preset,
CPU, float32, every variant. asv matches ``-b`` against ``name(param, ...)``."""

CHECK_COMBINATIONS = r"\('(reference|fast)', 'tiny', 'cpu', 'float32'\)$"
"""The parameters ``bncvl check`` runs by default: the reference and fast variants on the tiny preset, CPU,
float32."""

CHECK_BENCHMARKS = "^" + _any_of([b.name for b in CATALOGUE if b.in_check]) + CHECK_COMBINATIONS
"""``bncvl check``'s default subset, an asv ``-b`` regex: the benchmarks marked ``in_check`` (instruction counts
and relative timings on both clocks of the eval forward and the training step, and the saved-activation and
peak-forward bytes) in :data:`CHECK_COMBINATIONS`. Absolute times are left out: on a shared runner they cannot
tell a 5% slowdown from noise (see :mod:`bncvl.track.decision`); ``-b`` selects them anyway."""

MAIN_JOB_BENCHMARKS = (QUICK_COMBINATION, "WeightStorage", "bench_quantization")
"""What the main job (``bncvl pipeline``) benchmarks by default, as asv ``-b`` patterns: every layer benchmark
in :data:`QUICK_COMBINATION` (latency, first-call time, instruction counts, relative timings, memory), and the
weight storage and quantization tracks, so that every dashboard page has data."""
