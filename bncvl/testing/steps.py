"""The steps planted in the tests' synthetic results set (:func:`bncvl.testing.results.write_results_set`), and
the one failed benchmark: what the history's step detection and decision must find, and where."""

from __future__ import annotations

from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, PlantedStep

__all__ = [
    "FAILED",
    "PLANTED",
    "PLANTED_AT",
    "PLANTED_FLOPS",
    "PLANTED_FLOPS_EVIDENCE",
    "PLANTED_NOISE",
    "PLANTED_TIME",
    "PLANTED_TIME_EVIDENCE",
    "PLANTED_UNSUPPORTED",
    "PLANTED_UTILIZATION",
]

PLANTED_AT = 5
"""Index of the first commit at the new level of every planted step."""
PLANTED_TIME = PlantedStep(
    CPU_MACHINE,
    "bench_latency.Latency.time_eval_forward",
    PLANTED_AT,
    1.5,
    {"variant": "fused", "preset": "medium", "device": "cpu"},
)
"""Eval forward of `fused` 1.5× slower: a lower-is-better regression, which the relative timing confirms."""
PLANTED_TIME_EVIDENCE = PlantedStep(
    CPU_MACHINE,
    "bench_relative.RelativeCpuTime.track_eval_forward",
    PLANTED_AT,
    1.5,
    {"variant": "fused", "preset": "medium", "device": "cpu"},
)
PLANTED_FLOPS = PlantedStep(
    CPU_MACHINE,
    "bench_efficiency.Efficiency.track_forward_flops",
    PLANTED_AT,
    0.6,
    {"variant": "fast", "preset": "small"},
)
"""Throughput of `fast` down to 0.6×: a higher-is-better regression (asv alone would call it an improvement)."""
PLANTED_FLOPS_EVIDENCE = PlantedStep(
    CPU_MACHINE,
    "bench_instructions.Instructions.track_eval_forward",
    PLANTED_AT,
    1 / 0.6,
    {"variant": "fast", "preset": "small"},
)
PLANTED_NOISE = PlantedStep(
    CPU_MACHINE,
    "bench_latency.Latency.time_train_step",
    PLANTED_AT,
    1.4,
    {"variant": "reference", "preset": "medium", "device": "cpu"},
)
"""A 1.4× step in an absolute time that the instruction counts and relative timings contradict: within noise."""
PLANTED_UNSUPPORTED = PlantedStep(
    CPU_MACHINE,
    "bench_latency.Latency.time_train_forward",
    PLANTED_AT,
    1.4,
    {"variant": "reference", "preset": "small", "device": "cpu"},
)
"""A step in a pass that has no instruction count or relative timing: unconfirmed."""
PLANTED = (
    PLANTED_TIME,
    PLANTED_TIME_EVIDENCE,
    PLANTED_FLOPS,
    PLANTED_FLOPS_EVIDENCE,
    PLANTED_NOISE,
    PLANTED_UNSUPPORTED,
)
PLANTED_UTILIZATION = PlantedStep(
    GPU_MACHINE, "bench_gpu.GPU.track_gpu_utilization", PLANTED_AT, 0.5, {"variant": "reference", "preset": "medium"}
)
"""Utilisation halves: informative, so a change and never a regression."""
FAILED = (CPU_MACHINE, 2, "bench_latency.Latency.time_backward")
"""(machine, commit index, benchmark): every value of that benchmark fails at that commit."""
