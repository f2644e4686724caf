"""Shared fixtures: a synthetic asv results set with planted steps, analysis run directories, both published into
an embedded store, and the asv environments folder of the real ``bncvl check`` runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bncvl.testing.results import write_results_set
from bncvl.testing.runs import write_run
from bncvl.testing.steps import FAILED, PLANTED, PLANTED_UTILIZATION
from tests.store_cases import publish_into


@pytest.fixture(scope="session")
def results_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A results directory (8 commits, a CPU and a GPU machine) with the steps of :mod:`bncvl.testing.steps`
    planted; and its commits."""
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
