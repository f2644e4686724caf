"""``bncvl history RANGE --existing`` on a real, tiny git project and a throwaway environment.

The project's one benchmark tracks a constant that each commit changes, so
a result proves which commit's code was installed when it was measured.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bncvl.commands import history
from bncvl.measure.machine import register
from bncvl.track.git import commits_in_range
from tests.toy_project import git as _git
from tests.toy_project import make_env, make_toy_repo, tracked


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository of a one-module project with one asv benchmark, one commit per value."""
    repo = tmp_path_factory.mktemp("toy")
    make_toy_repo(repo)
    return repo


@pytest.fixture(scope="module")
def env_python(tmp_path_factory: pytest.TempPathFactory, toy: Path) -> str:
    """A fresh venv with the toy project installed editable (:func:`tests.toy_project.make_env`)."""
    return make_env(tmp_path_factory.mktemp("env"), toy)


@pytest.fixture
def machine_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """asv's machine file in a throwaway home, with one registered machine."""
    monkeypatch.setenv("HOME", str(tmp_path))
    register("toybox", tmp_path / ".asv-machine.json")
    return "toybox"


def _tracked(toy: Path, machine: str) -> dict[str, float]:
    """Commit -> the tracked value in its results file."""
    return {
        commit: values["bench_toy.track_value"] for commit, values in tracked(toy / ".asv" / "results", machine).items()
    }


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
