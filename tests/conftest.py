"""Shared fixtures: a synthetic asv results set with planted steps, analysis run directories, and the asv
environments folder of the real ``bncvl check`` runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, PlantedStep, write_results_set
from bncvl.testing.runs import write_run

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


@pytest.fixture(scope="session")
def results_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A results directory (8 commits, a CPU and a GPU machine) with the planted steps above; and its commits."""
    root = tmp_path_factory.mktemp("asv") / "results"
    hashes = write_results_set(root, steps=[*PLANTED, PLANTED_UTILIZATION], failed=[FAILED])
    return root, hashes


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two complete analysis runs and one interrupted (truncated metrics.jsonl, no summary)."""
    root = tmp_path_factory.mktemp("runs")
    write_run(root, "digits-seed0", seed=0)
    write_run(root, "digits-seed1", seed=1, final_bncvl_accuracy=0.91)
    write_run(root, "interrupted", seed=2, complete=False, truncate_last_line=True)
    return root


def publish_into(store: Path, results_dir: Path, runs: Path | None = None) -> Path:
    """``bncvl publish`` of ``results_dir`` (and the runs of ``runs``) into the SQLite store ``store``; ``store``."""
    from bncvl.cli import main as bncvl

    options = ["--runs-dir", str(runs)] if runs is not None else ["--no-runs"]
    code = bncvl(
        ["publish", "--store", str(store), "--results-dir", str(results_dir), "--repo", str(store.parent), *options]
    )
    assert code in (0, 1), f"bncvl publish exited {code}"
    return store


@pytest.fixture(scope="session")
def results_store(
    results_set: tuple[Path, list[str]], runs_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The results set and the runs published into an embedded store, as ``bncvl dashboard`` does before it serves:
    the dashboard's tests read it."""
    return publish_into(tmp_path_factory.mktemp("store") / "bncvl-store.sqlite", results_set[0], runs_dir)


@pytest.fixture(scope="session")
def check_env_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """asv's environments folder of every real ``bncvl check`` of the session (``--env-dir``).

    torch is installed into it once, by the first check (about a minute), and
    the instruction counts kept in it serve every later check of the same
    code. Set ``BNCVL_TEST_ASV_ENV_DIR`` to keep it between sessions.
    """
    return Path(os.environ.get("BNCVL_TEST_ASV_ENV_DIR") or tmp_path_factory.mktemp("asv-env"))
