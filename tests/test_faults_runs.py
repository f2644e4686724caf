"""Faults of a shared CI runner for ``bncvl check``, ``bncvl history`` and the git calls under them.

Refs that look like git options. Each test asserts that nothing was lost,
nothing crashed (no traceback; exit codes keep their meaning: ``bncvl check``
exits 1 only for a regression) and that the user got one clear line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bncvl.cli import main as cli_main
from bncvl.measure.machine import register
from bncvl.track.git import GitError, commit_subject, commits_in_range, export_tree, merge_base, resolve_commit
from tests import planted

MACHINE = "toybox"


def one_error_line(err: str, command: str) -> str:
    """The one line ``bncvl COMMAND: error: ...`` that ``err`` must consist of."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"bncvl {command}: error: "), err
    return lines[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway home (asv's machine file, bncvl history's state) with :data:`MACHINE` registered."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    register(MACHINE, home / ".asv-machine.json")
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository of two commits with an asv configuration that asv reads but cannot build with
    (no environment_type): a check gets as far as asv's build, cheaply."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "asv.conf.json").write_text(json.dumps({"version": 1, "project": "p", "repo": ".", "branches": ["main"]}))
    planted.git(repo, "init", "-q", "-b", "main")
    for message in ("one", "two"):
        (repo / "README").write_text(message)
        planted.git(repo, "add", "-A")
        planted.git(repo, "commit", "-q", "-m", message)
    return repo


# --- 6. refs that look like git options -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "--existing", "--", "--output={trap}/x"],
        ["history", "--existing", "--", "--output={trap}/x..HEAD"],
        ["history", "--existing", "HEAD~1..HEAD --output={trap}/x"],
        ["check", "-b", "x", "--", "--output={trap}/x", "HEAD"],
        ["check", "-b", "x", "--", "HEAD~1", "--output={trap}/x"],
        ["check", "-b", "x", "--main-branch=--output={trap}/x"],
    ],
)
def test_a_ref_that_looks_like_a_git_option_is_refused_and_creates_nothing(
    repo: Path,
    home: Path,
    tmp_path: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    monkeypatch.chdir(repo)
    assert cli_main([argv[0], "--machine", MACHINE, *(arg.format(trap=trap) for arg in argv[1:])]) == 2
    line = one_error_line(capsys.readouterr().err, argv[0])
    assert "looks like a git option" in line and f"--output={trap}/x" in line
    assert list(trap.iterdir()) == []
    assert not (repo / ".asv" / "check").exists()


def test_an_option_like_ref_is_not_read_as_an_abbreviated_option(
    repo: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse would take --output=DIR for --output-dir=DIR and write the check there.
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["check", "-b", "x", f"--output={tmp_path / 'made'}", "HEAD~1"])
    assert exit_info.value.code == 2
    assert f"unrecognized arguments: --output={tmp_path / 'made'}" in capsys.readouterr().err
    assert not (tmp_path / "made").exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda repo, ref, into: resolve_commit(repo, ref),
        lambda repo, ref, into: merge_base(repo, ref, "HEAD"),
        lambda repo, ref, into: merge_base(repo, "HEAD", ref),
        lambda repo, ref, into: commit_subject(repo, ref),
        lambda repo, ref, into: commits_in_range(repo, ref),
        lambda repo, ref, into: commits_in_range(repo, f"HEAD~1..HEAD {ref}"),
        lambda repo, ref, into: export_tree(repo, ref, into),
    ],
    ids=["resolve_commit", "merge_base-branch", "merge_base-head", "commit_subject", "range", "range-part", "export"],
)
def test_no_git_call_takes_a_ref_as_an_option(
    repo: Path, tmp_path: Path, call: Callable[[Path, str, Path], object]
) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    with pytest.raises(GitError, match="looks like a git option"):
        call(repo, f"--output={trap / 'x'}", tmp_path / "tree")
    assert list(trap.iterdir()) == []
