"""Proof that ``bncvl check`` works: real git repositories, real asv runs, planted regressions.

The project is copied into a temporary repository with a base commit and one
branch per case. All cases share one asv environment (``--env-dir``, the
session's :func:`tests.conftest.check_env_dir`: torch is installed into it
once) and the instruction counts kept in it. Each check runs a narrow ``-b``
subset on the tiny preset, so the whole file takes a few minutes. Set
``BNCVL_TEST_ASV_ENV_DIR`` to keep the environment between sessions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bncvl.testing import planted

pytestmark = pytest.mark.slow

TINY = r"\('reference', 'tiny', 'cpu', 'float32'\)$"
COUNTS = rf"Instructions\.track_(eval_forward|train_step){TINY}"
RELATIVE_EVAL = rf"Relative(Wall|Cpu)Time\.track_eval_forward{TINY}"
SAVED_BYTES = rf"\.track_saved_activation_bytes{TINY}"
WEIGHT_BYTES = rf"WeightStorage\.track_float_weight_bytes{TINY}"


@dataclass(frozen=True)
class Repo:
    path: Path
    base: str
    heads: dict[str, str]
    env_dir: Path
    home: Path


@dataclass(frozen=True)
class Check:
    exit_code: int
    stdout: str
    stderr: str
    report: str

    def section(self, title: str) -> str:
        """The body of the report's ``### title (n)`` section."""
        return self.report.split(f"### {title} (", 1)[1].split("###", 1)[0]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, check_env_dir: Path) -> Repo:
    root = tmp_path_factory.mktemp("check")
    path = root / "repo"
    path.mkdir()
    base = planted.make_repo(path)
    heads = {
        "same-code": planted.commit_on(path, base, "same-code", planted.same_code),
        # 40 extra elementwise passes over the tiny output: about +10% of the forward's instructions
        # (about 2,300 instructions a multiply, against 855,000 for the forward, measured by callgrind).
        "more-work": planted.commit_on(path, base, "more-work", planted.extra_passes(40)),
        # A 1 ms sleep per forward: a wait, wall time only.
        "waits": planted.commit_on(path, base, "waits", planted.sleep_per_call(0.001)),
        "hungrier": planted.commit_on(path, base, "hungrier", planted.extra_activation),
        "unimportable": planted.commit_on(path, base, "unimportable", planted.unimportable),
    }
    planted.git(path, "checkout", "-q", "main")
    return Repo(path, base, heads, check_env_dir, root / "home")


def check(repo: Repo, head: str, *bench: str) -> Check:
    report = repo.path.parent / f"report-{head}.md"
    # -P: run the installed bncvl, not the copy in the repository (the working directory).
    command = [sys.executable, "-P", "-m", "bncvl.cli", "check", repo.base, repo.heads[head]]
    command += ["--report", str(report)]
    command += ["--env-dir", str(repo.env_dir), "--output-dir", str(repo.path.parent / f"out-{head}")]
    for regex in bench:
        command += ["-b", regex]
    repo.home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(repo.home)}  # asv's machine file lives in $HOME
    result = subprocess.run(command, cwd=repo.path, env=env, capture_output=True, text=True, check=False)
    return Check(result.returncode, result.stdout, result.stderr, report.read_text() if report.exists() else "")


def test_same_code_at_two_commits_is_no_regression(repo: Repo) -> None:
    result = check(repo, "same-code", COUNTS, RELATIVE_EVAL, SAVED_BYTES)
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    assert "## bncvl check: ✅" in result.report
    assert result.section("Worsened").strip().startswith("0)\n\nNone.")
    assert result.section("Newly failing").strip().startswith("0)\n\nNone.")
    assert "5 benchmarks:" in result.report  # two counts, two relative timings and the bytes were compared
    assert "7+7 processes" in result.report, "relative timings are tested on seven processes per commit"
    assert "### Machine `" in result.report and "torch_version" in result.report


def test_more_work_fails_the_check_on_the_instruction_counts(repo: Repo) -> None:
    result = check(repo, "more-work", COUNTS)
    assert result.exit_code == 1, result.stdout[-3000:] + result.stderr
    worsened = result.section("Worsened")
    assert worsened.startswith("2)"), result.report
    assert "Instructions.track_eval_forward('reference', 'tiny', 'cpu', 'float32')" in worsened
    assert "Instructions.track_train_step('reference', 'tiny', 'cpu', 'float32')" in worsened
    assert "single measurement (factor only)" in worsened
    assert result.report == (repo.path.parent / "out-more-work" / "report.md").read_text()
    assert result.report in result.stdout


def test_a_wait_fails_the_check_on_the_wall_clock_most(repo: Repo) -> None:
    result = check(repo, "waits", RELATIVE_EVAL)
    assert result.exit_code == 1, result.stdout[-3000:] + result.stderr
    worsened = result.section("Worsened")
    wall = next(line for line in worsened.splitlines() if "RelativeWallTime.track_eval_forward('reference'" in line)
    assert "one-sided Mann-Whitney U on per-process values, 7+7 processes" in wall
    # A sleep costs some CPU time too (the syscall, and caches cold after it: measured 1.6x here),
    # but the wall clock sees the whole millisecond (4.9x).
    ratios = {
        clock: float(line.split(" | ")[3])
        for clock in ("Wall", "Cpu")
        for line in result.report.splitlines()
        if f"Relative{clock}Time.track_eval_forward('reference'" in line
    }
    assert ratios["Wall"] > 2 and ratios["Wall"] > ratios["Cpu"], ratios


def test_an_extra_saved_activation_fails_the_check_on_the_bytes_benchmark(repo: Repo) -> None:
    result = check(repo, "hungrier", SAVED_BYTES)
    assert result.exit_code == 1, result.stdout[-3000:] + result.stderr
    worsened = result.section("Worsened")
    assert worsened.startswith("1)")
    assert "track_saved_activation_bytes('reference', 'tiny', 'cpu', 'float32')" in worsened
    assert "single measurement (factor only)" in worsened


def test_a_commit_whose_bncvl_does_not_import_fails_the_check_with_the_error_in_the_log(repo: Repo) -> None:
    # Nothing is built or installed: each commit's bncvl/ is imported from its tree, so a broken commit fails
    # its benchmarks ("newly failing", exit 1), as asv records a benchmark that raises.
    result = check(repo, "unimportable", SAVED_BYTES)
    assert result.exit_code == 1, result.stdout[-3000:] + result.stderr
    failing = result.section("Newly failing")
    assert failing.startswith("1)") and "track_saved_activation_bytes('reference', 'tiny', 'cpu', 'float32')" in failing
    log = (repo.path.parent / "out-unimportable" / "asv-run.log").read_text()
    assert planted.UNIMPORTABLE in log


def test_a_benchmark_asv_runs_is_measured_against_each_commits_own_bncvl(repo: Repo) -> None:
    # WeightStorage is neither a relative timing, a count nor Memory's bytes: asv's runner runs it, with the
    # commit's bncvl/ first on sys.path, so it fails at the commit whose bncvl does not import, and only there.
    result = check(repo, "unimportable", WEIGHT_BYTES)
    assert result.exit_code == 1, result.stdout[-3000:] + result.stderr
    failing = result.section("Newly failing")
    assert failing.startswith("1)") and "WeightStorage.track_float_weight_bytes('reference', 'tiny'" in failing
    log = (repo.path.parent / "out-unimportable" / "asv-run.log").read_text()
    assert log.count("· Benchmarking ") == 2 and planted.UNIMPORTABLE in log  # one round of asv's per commit
