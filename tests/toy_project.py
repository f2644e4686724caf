"""A tiny git project with an asv suite, and a throwaway environment with it installed, for ``bncvl history``.

Shared by ``tests/test_history.py`` and ``tests/test_faults_runs.py``. Each
commit of the project changes a constant that its benchmark tracks, so a
result proves which commit's code was installed when it was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

VALUES = [10, 20, 30, 40]
"""``toyproj.VALUE`` at each of the toy repository's commits, oldest first."""

CONFIG = {
    "version": 1,
    "project": "toyproj",
    "repo": ".",
    "branches": ["main"],
    "environment_type": "virtualenv",
    "benchmark_dir": "benchmarks",
    "results_dir": ".asv/results",
    "env_dir": ".asv/env",
    "html_dir": ".asv/html",
}

BENCHMARK = "def track_value():\n    import toyproj\n\n    return toyproj.VALUE\n"
"""The toy suite's one benchmark: the installed commit's value."""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def make_toy_repo(repo: Path, benchmark: str = BENCHMARK) -> list[str]:
    """A git repository at ``repo`` of a one-module project with the asv suite ``benchmark``, one commit per
    value of :data:`VALUES`; its commits, oldest first."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "toyproj"\nversion = "0.1"\n[tool.setuptools]\npackages = ["toyproj"]\n'
    )
    (repo / "asv.conf.json").write_text(json.dumps(CONFIG))
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "__init__.py").write_text("")
    (repo / "benchmarks" / "bench_toy.py").write_text(benchmark)
    (repo / "toyproj").mkdir()
    (repo / ".gitignore").write_text(".asv/\n")
    for value in VALUES:
        (repo / "toyproj" / "__init__.py").write_text(f"VALUE = {value}\n")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", f"value {value}")
    return git(repo, "rev-list", "--reverse", "HEAD").split()


def make_env(env: Path, toy: Path) -> str:
    """A fresh venv at ``env`` that sees this environment's packages (asv_runner, setuptools) but not bncvl,
    with the toy project installed editable, as a developer's environment would have it; its interpreter."""
    # No pip or setuptools of its own: those of this environment, seen through the .pth below, are used.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = str(env / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dev-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(toy)]
    subprocess.run(pip, check=True, cwd=env)
    return python


def tracked(results_dir: Path, machine: str) -> dict[str, dict[str, float]]:
    """Commit -> {benchmark: value} of the ``-existing`` result files in ``results_dir``, as asv wrote them."""
    values: dict[str, dict[str, float]] = {}
    for path in (results_dir / machine).glob("*-existing*.json"):
        result = json.loads(path.read_text())
        values[result["commit_hash"]] = {name: row[0][0] for name, row in result["results"].items()}
    return values
