"""``bncvl history RANGE --existing`` on a real, tiny git project and a throwaway environment.

The project's one benchmark tracks a constant that each commit changes, so
a result proves which commit's code was installed when it was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bncvl.commands import history
from bncvl.measure.machine import register
from bncvl.track.git import commits_in_range

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


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of a one-module project with one asv benchmark, one commit per value."""
    repo = tmp_path_factory.mktemp("toy")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "toyproj"\nversion = "0.1"\n[tool.setuptools]\npackages = ["toyproj"]\n'
    )
    (repo / "asv.conf.json").write_text(json.dumps(CONFIG))
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "__init__.py").write_text("")
    (repo / "benchmarks" / "bench_toy.py").write_text(
        "def track_value():\n    import toyproj\n\n    return toyproj.VALUE\n"
    )
    (repo / "toyproj").mkdir()
    (repo / ".gitignore").write_text(".asv/\n")
    for value in VALUES:
        (repo / "toyproj" / "__init__.py").write_text(f"VALUE = {value}\n")
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", f"value {value}")
    return repo


@pytest.fixture(scope="module")
def env_python(tmp_path_factory: pytest.TempPathFactory, toy: Path) -> str:
    """A fresh venv that sees this environment's packages (asv_runner, setuptools) but not bncvl,
    with the toy project installed editable, as a developer's environment would have it."""
    env = tmp_path_factory.mktemp("env")
    # No pip or setuptools of its own: those of this environment, seen through the .pth below, are used.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = str(env / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "dev-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(toy)]
    subprocess.run(pip, check=True)
    return python


@pytest.fixture
def machine_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """asv's machine file in a throwaway home, with one registered machine."""
    monkeypatch.setenv("HOME", str(tmp_path))
    register("toybox", tmp_path / ".asv-machine.json")
    return "toybox"


def _tracked(toy: Path, machine: str) -> dict[str, float]:
    """Commit -> the tracked value in its results file."""
    values = {}
    for path in (toy / ".asv" / "results" / machine).glob("*-existing*.json"):
        result = json.loads(path.read_text())
        values[result["commit_hash"]] = result["results"]["bench_toy.track_value"][0][0]
    return values


def test_commits_in_range_follow_asv(toy: Path) -> None:
    commits = _git(toy, "rev-list", "--reverse", "HEAD").split()
    assert commits_in_range(toy, "HEAD~2..HEAD") == commits[-2:]
    assert commits_in_range(toy, "HEAD~1") == [commits[-2]]
    with pytest.raises(ValueError, match=r"git cannot resolve range 'nope\.\.HEAD'"):
        commits_in_range(toy, "nope..HEAD")
    with pytest.raises(ValueError, match="holds no commit"):
        commits_in_range(toy, "HEAD..HEAD")


def test_install_is_read_from_pip_metadata(env_python: str, toy: Path) -> None:
    assert history.current_install(env_python, "toyproj") == history.Install(str(toy), editable=True)
    assert history.current_install(env_python, "not-installed-here") == history.Install(None)
    assert history.Install(None).restore_command("py", "p") == ["py", "-m", "pip", "uninstall", "--yes", "p"]


@pytest.mark.slow
def test_history_benchmarks_each_commit_resumes_and_restores(toy: Path, env_python: str, machine_home: str) -> None:
    commits = _git(toy, "rev-list", "--reverse", "HEAD").split()
    (toy / "toyproj" / "__init__.py").write_text("VALUE = -1  # uncommitted work\n")
    config = toy / "asv.conf.json"

    done = history.run_history("HEAD~2..HEAD", config, env_python, machine_home, ("--quick",))

    assert done == commits[-2:]
    assert _tracked(toy, machine_home) == {commits[2]: 30, commits[3]: 40}
    # The checkout and its uncommitted work are untouched; the editable install is back.
    assert _git(toy, "rev-parse", "HEAD") == commits[-1]
    assert _git(toy, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert (toy / "toyproj" / "__init__.py").read_text() == "VALUE = -1  # uncommitted work\n"
    assert history.current_install(env_python, "toyproj") == history.Install(str(toy), editable=True)

    # Resuming: commits with results are skipped, the older one is added.
    assert history.run_history("HEAD~3..HEAD", config, env_python, machine_home, ("--quick",)) == [commits[1]]
    assert _tracked(toy, machine_home) == {commits[1]: 20, commits[2]: 30, commits[3]: 40}

    # The results are asv's own: asv reads them back like those of `asv run`.
    from asv.results import iter_results_for_machine

    assert {r.commit_hash for r in iter_results_for_machine(str(toy / ".asv" / "results"), machine_home)} == set(
        commits[1:]
    )


@pytest.mark.slow
def test_failed_asv_run_still_restores_the_install(toy: Path, env_python: str, machine_home: str) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        history.run_history(
            "HEAD~1", toy / "asv.conf.json", env_python, machine_home, ("--no-such-asv-flag",), rerun=True
        )
    assert history.current_install(env_python, "toyproj") == history.Install(str(toy), editable=True)


def test_unknown_machine_names_the_fix(
    toy: Path, env_python: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match="Register this machine first: bncvl machine"):
        history.run_history("HEAD~1", toy / "asv.conf.json", env_python, "ghost")


def test_cli_needs_existing_and_a_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bncvl.cli import main

    with pytest.raises(SystemExit):
        main(["history", "HEAD~1..HEAD"])
    assert "--existing" in capsys.readouterr().err
    assert main(["history", "HEAD~1..HEAD", "--existing", "--config", str(tmp_path / "missing.json")]) == 2
    assert f"no asv configuration (asv.conf.json) at {tmp_path / 'missing.json'}" in capsys.readouterr().err


def test_cli_finds_the_config_in_a_parent_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bncvl.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["history", "HEAD~1..HEAD", "--existing"]) == 2
    assert f"no asv configuration (asv.conf.json) at {tmp_path} or a parent folder" in capsys.readouterr().err

    (tmp_path / "asv.conf.json").write_text("{}")  # found from a subfolder; asv then rejects it (no version)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert main(["history", "HEAD~1..HEAD", "--existing"]) == 2
    error = capsys.readouterr().err
    assert f"{tmp_path / 'asv.conf.json'} is not an asv configuration asv can read: No version specified" in error
