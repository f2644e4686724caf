"""The git commands bncvl runs, with one error type that names the command, the repository and git's message.

A ref or range given by the user reaches git only after ``--end-of-options``
(git >= 2.24), so git never reads it as an option (``--output=FILE`` would
write FILE); one that starts with ``-`` is refused before git sees it.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

__all__ = [
    "GitError",
    "commit_subject",
    "commits_in_range",
    "export_tree",
    "git",
    "merge_base",
    "recent_commits",
    "resolve_commit",
    "toplevel",
    "tree_hash",
]


class GitError(ValueError):
    """git failed, or does not know the commit or range it was given."""


def git(repo: str | os.PathLike[str], *args: str) -> str:
    """The stripped output of ``git args`` run in ``repo``.

    Raises:
        GitError: git exited non-zero; the message holds git's own.
    """
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def _not_an_option(ref: str, what: str = "ref") -> str:
    """``ref``, unless git could read it as an option: then ``GitError`` naming it."""
    if ref.startswith("-"):
        raise GitError(
            f"{what} {ref!r} looks like a git option; expected a branch, tag, hash or range such as HEAD~3..HEAD"
        )
    return ref


def toplevel(path: str | os.PathLike[str]) -> Path:
    """The root of the checkout that holds ``path``."""
    return Path(git(path, "rev-parse", "--show-toplevel"))


def resolve_commit(repo: Path, ref: str) -> str:
    """The full hash of ``ref``; ``GitError`` naming it when it is not a commit of ``repo``."""
    _not_an_option(ref)
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(f"{ref!r} is not a commit in {repo} (expected a branch, tag or hash)") from None


def merge_base(repo: Path, main_branch: str, head: str) -> str:
    """Where ``head`` left ``main_branch``."""
    branch = resolve_commit(repo, main_branch)
    _not_an_option(head)
    try:
        return git(repo, "merge-base", "--end-of-options", branch, head)
    except GitError:
        raise GitError(f"{main_branch!r} and {head[:8]} share no ancestor; give BASE explicitly") from None


def commit_subject(repo: Path, commit: str) -> str:
    """The first line of ``commit``'s message."""
    return git(repo, "log", "-1", "--format=%s", "--end-of-options", _not_an_option(commit))


def recent_commits(repo: Path, count: int) -> list[str]:
    """The hashes of the last ``count`` commits of HEAD, newest first (fewer if the history is shorter).

    Raises:
        ValueError: ``count`` < 1.
        GitError: ``repo`` is not a git checkout with commits.
    """
    if count < 1:
        raise ValueError(f"--commits must be >= 1; got {count}")
    try:
        return git(repo, "rev-list", f"--max-count={count}", "HEAD").split()
    except GitError as error:
        raise GitError(f"{repo} is not a git checkout with commits: {error}") from None


def commits_in_range(repo: Path, range_spec: str) -> list[str]:
    """Full hashes of ``range_spec``, oldest first, as ``asv run`` selects them.

    A range (``A..B``) is followed along first parents; a single commit or
    branch name means that one commit.

    Raises:
        GitError: git does not know the range, or it holds no commit.
    """
    parts = [_not_an_option(part, "range") for part in range_spec.split()]
    if ".." not in range_spec:
        parts[-1:] = [f"{part}^!" for part in parts[-1:]]
    try:
        commits = git(repo, "rev-list", "--first-parent", "--reverse", "--end-of-options", *parts, "--").split()
    except GitError as error:
        raise GitError(f"git cannot resolve range {range_spec!r}: {error}") from None
    if not commits:
        raise GitError(f"range {range_spec!r} holds no commit (expected e.g. HEAD~3..HEAD)")
    return commits


def export_tree(repo: Path, commit: str, into: Path, path: str | None = None) -> None:
    """Write the tree of ``commit`` (or only its folder ``path``, e.g. ``"bncvl"``) into ``into`` without touching
    the checkout.

    Raises:
        GitError: git does not know ``commit``, or the commit has no ``path``.
    """
    command = ["git", "archive", "--format=tar", "--end-of-options", _not_an_option(commit)]
    if path is not None:
        command.append(path)  # after --end-of-options: a path, whatever it looks like
    result = subprocess.run(command, cwd=repo, capture_output=True, check=False)
    if result.returncode != 0:
        raise GitError(f"git archive {commit} failed in {repo}: {result.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(result.stdout), mode="r:") as tar:
        tar.extractall(into, filter="data")


def tree_hash(repo: Path, commit: str, path: str) -> str:
    """The hash of the tree at ``path`` (a folder) in ``commit``: equal for two commits whose folder is identical.

    Raises:
        GitError: ``repo`` is not a checkout or does not have ``commit`` (git's own message), or ``commit`` has no
            folder ``path``.
    """
    git(repo, "rev-parse", "--verify", "--end-of-options", f"{_not_an_option(commit)}^{{commit}}")
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{commit}:{path}")
    except GitError:
        raise GitError(f"commit {commit[:8]} has no {path}/ in {repo}") from None
