"""Real temporary git repositories of this project, with planted regressions, for ``bncvl check``.

Shared by the end-to-end tests of ``bncvl check`` (``tests/test_check_e2e.py``,
``tests/test_faults_runs.py``, ``tests/test_dashboard_browser.py``) and the
calibration tool ``tools/check_calibration.py``. The project copied is the
checkout this module lives in (bncvl installed editable, as ``make setup``
does). Commits are made with a fixed author and date, so the same tree on the
same parent has the same hash in every repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
"""The checkout that holds this module: bncvl/testing/planted.py."""

FORWARD_RETURN = "        return self.activation(self.normalize(z))\n"
"""The last line of the reference layer's forward, where regressions are planted."""

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bncvl check test",
    "GIT_AUTHOR_EMAIL": "check@bncvl.invalid",
    "GIT_COMMITTER_NAME": "bncvl check test",
    "GIT_COMMITTER_EMAIL": "check@bncvl.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def project_files() -> list[str]:
    """The project's files as a clean clone would have them, plus untracked files that git does not ignore."""
    listed = git(PROJECT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted(name for name in listed.split("\0") if name and (PROJECT / name).is_file())


def make_repo(dest: Path) -> str:
    """Copy the project into a new git repository at ``dest``; return the hash of its one commit (on ``main``)."""
    for name in project_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / name, target)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "base")
    return git(dest, "rev-parse", "HEAD")


def commit_on(repo: Path, base: str, branch: str, plant: Callable[[Path], dict[str, str]]) -> str:
    """Branch ``branch`` from ``base``, apply ``plant`` (repo -> {path: new text}), commit; return the hash."""
    git(repo, "checkout", "-q", "-B", branch, base)
    for name, text in plant(repo).items():
        (repo / name).write_text(text)
    git(repo, "commit", "-q", "-a", "-m", branch)
    return git(repo, "rev-parse", "HEAD")


def _plant(repo: Path, replacement: str) -> dict[str, str]:
    layer = (repo / "bncvl" / "layers" / "reference.py").read_text()
    if layer.count(FORWARD_RETURN) != 1:
        raise AssertionError(
            f"bncvl/layers/reference.py no longer ends BNCVL.forward with {FORWARD_RETURN!r}; "
            "update bncvl/testing/planted.py"
        )
    return {"bncvl/layers/reference.py": layer.replace(FORWARD_RETURN, replacement)}


def same_code(repo: Path) -> dict[str, str]:
    """A/A: a second commit that changes only the README."""
    readme = (repo / "README.md").read_text()
    return {"README.md": readme + "\n<!-- an A/A commit: same code -->\n"}


def _on_output(statement: str, times: int) -> Callable[[Path], dict[str, str]]:
    """Forward runs ``statement`` (on its output ``y``) ``times`` times before returning it."""
    return lambda repo: _plant(
        repo,
        "        y = self.activation(self.normalize(z))\n"
        f"        for _ in range({times}):\n"
        f"            {statement}\n"
        "        return y\n",
    )


def extra_passes(passes: int) -> Callable[[Path], dict[str, str]]:
    """Forward makes ``passes`` extra full passes over its output (each a new tensor, as a careless edit would)."""
    return _on_output("y = y * 1.0", passes)


def needless_copies(copies: int) -> Callable[[Path], dict[str, str]]:
    """Forward copies its output ``copies`` times (``clone``), as a defensive edit would."""
    return _on_output("y = y.clone()", copies)


def layout_round_trips(trips: int) -> Callable[[Path], dict[str, str]]:
    """Forward converts its output to channels-last and back ``trips`` times."""
    return _on_output("y = y.contiguous(memory_format=torch.channels_last).contiguous()", trips)


def sleep_per_call(seconds: float) -> Callable[[Path], dict[str, str]]:
    """Forward sleeps ``seconds``: a wait (a lock, I/O, a sync), all of it wall time; little CPU time."""
    return lambda repo: _plant(repo, f"        __import__('time').sleep({seconds!r})\n" + FORWARD_RETURN)


def extra_activation(repo: Path) -> dict[str, str]:
    """Training forward keeps an extra activation-sized tensor for backward (``z * ones``, ones saved by autograd)."""
    return _plant(repo, "        z = z * torch.ones_like(z)\n" + FORWARD_RETURN)


UNIMPORTABLE = "this commit's bncvl does not import"
"""The message of the error that :func:`unimportable` plants."""


def unimportable(repo: Path) -> dict[str, str]:
    """The reference layer's module raises ``ImportError`` (:data:`UNIMPORTABLE`): bncvl does not import."""
    layer = (repo / "bncvl" / "layers" / "reference.py").read_text()
    return {"bncvl/layers/reference.py": layer + f"\nraise ImportError({UNIMPORTABLE!r})\n"}
