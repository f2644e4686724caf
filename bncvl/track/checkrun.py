"""One ``bncvl check`` run: its own configuration and results folder, asv's environment, each commit's tree.

The user's ``asv.conf.json`` is copied with absolute paths and its results
redirected, so a check never mixes its samples with earlier results. The
output folder is emptied only when a check created it (it holds
:data:`OUTPUT_MARKER`); a check holds locks on it and on the asv
environments folder (:meth:`CheckRun.locked`), so a second check on the same
folders waits for the first instead of mixing their files.

Nothing is installed: asv's environment provides Python, torch and the
other requirements of the configuration's matrix, and each commit's
``bncvl/`` is exported from git into a folder of the check's own and put
first on the benchmark processes' ``sys.path`` (:meth:`CheckRun.trees`).
How the benchmarks are run is :mod:`bncvl.track.checkbench`'s.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bncvl.track.asv import (
    BENCHMARKS_FILE,
    MACHINE_FILE,
    machine_name,
    read_benchmarks,
    read_conf,
    read_machine,
)
from bncvl.track.git import export_tree, tree_hash
from bncvl.track.lock import hold

if TYPE_CHECKING:
    from asv.environment import Environment

__all__ = ["ENV_LOCK", "OUTPUT_LOCK", "OUTPUT_MARKER", "PACKAGE", "CheckRun", "claim_output_dir"]

OUTPUT_MARKER = ".bncvl-check"
"""Written into an output folder that ``bncvl check`` created or found empty: only such a folder is ever emptied."""

OUTPUT_LOCK = ".bncvl-check.lock"
"""The lock file in the output folder, held for the whole check."""

REPORT_NAME = "report.md"
"""The check's Markdown report, in the output folder."""

ENV_LOCK = ".bncvl-env.lock"
"""The lock file in the asv environments folder, held for the whole check: the environments and the instruction
counts kept in it (:mod:`bncvl.track.counts`) are shared by every check that uses the folder."""

PACKAGE = "bncvl"
"""The package the suite measures: each commit's folder of that name is exported and imported from there."""

TREES = ".trees"
"""The folder, in the output folder, of the commits' exported packages; removed when the check ends."""


def _tail(text: str | bytes | None, lines: int = 30) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").strip().splitlines()[-lines:])


def claim_output_dir(output_dir: Path) -> Path:
    """``output_dir``, absolute, made ``bncvl check``'s own: created, or taken when empty, with :data:`OUTPUT_MARKER`.

    Raises:
        ValueError: it is a file, or a folder that holds files and no marker (a folder a check did not create,
            such as a project's ``.asv``); nothing is written or deleted then.
    """
    output_dir = output_dir.resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output-dir {output_dir} is a file, not a folder; give a new or empty folder")
    marker = output_dir / OUTPUT_MARKER
    if output_dir.is_dir() and not marker.is_file() and any(output_dir.iterdir()):
        raise ValueError(
            f"--output-dir {output_dir} holds files that bncvl check did not create (no {OUTPUT_MARKER}), and a check "
            "empties its folder; give a new or empty folder"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    if not marker.is_file():
        marker.write_text("Created by bncvl check, which replaces the results, log and report here at each check.\n")
    return output_dir


def env_dir_of(config: Path, env_dir: Path | None = None) -> Path:
    """The asv environments folder of a check: ``env_dir``, else the one ``config`` names (asv's default ``env``)."""
    return (env_dir or config.parent / read_conf(config).get("env_dir", "env")).resolve()


@dataclass(frozen=True)
class CheckRun:
    """One check's asv set-up: a configuration of its own whose results go to ``output_dir``.

    The user's ``asv.conf.json`` is copied with absolute paths and its
    results and HTML redirected, so a check never mixes its samples with
    earlier results and its folder can be uploaded as it is. Environments are
    shared (``env_dir``): asv reuses one whose requirements match.
    """

    config: Path
    output_dir: Path
    machine: str

    @property
    def results_dir(self) -> Path:
        return self.output_dir / "results"

    @property
    def log_path(self) -> Path:
        return self.output_dir / "asv-run.log"

    @classmethod
    @contextmanager
    def locked(
        cls, repo: Path, config: Path, output_dir: Path, env_dir: Path | None = None, machine: str | None = None
    ) -> Iterator[CheckRun]:
        """:meth:`prepare` the check with the locks on its output and environments folders held, for the block.

        A check that finds a lock held says ``bncvl check: waiting for the lock on PATH held by pid N (bncvl
        check since HH:MM)`` and waits. The kernel drops a lock when its holder dies, even by ``kill -9``.

        Raises:
            ValueError: ``output_dir`` is not a check's (see :func:`claim_output_dir`).
        """
        output_dir = claim_output_dir(output_dir)
        with ExitStack() as locks:  # always the output folder first, then the environments: no deadlock
            locks.enter_context(hold(output_dir / OUTPUT_LOCK, "bncvl check"))
            locks.enter_context(hold(env_dir_of(config, env_dir) / ENV_LOCK, "bncvl check"))
            yield cls.prepare(repo, config, output_dir, env_dir, machine)

    @classmethod
    def prepare(
        cls, repo: Path, config: Path, output_dir: Path, env_dir: Path | None = None, machine: str | None = None
    ) -> CheckRun:
        """Write the check's configuration into ``output_dir`` and register the machine.

        ``output_dir`` is claimed first (:func:`claim_output_dir`); the results,
        report and :data:`TREES` of an earlier check in it are removed, nothing else.
        """
        conf = read_conf(config)
        here = config.parent
        output_dir = claim_output_dir(output_dir)
        conf["repo"] = str(repo.resolve())
        conf["benchmark_dir"] = str((here / conf.get("benchmark_dir", "benchmarks")).resolve())
        conf["env_dir"] = str(env_dir_of(config, env_dir))
        conf["results_dir"] = str(output_dir / "results")
        conf["html_dir"] = str(output_dir / "html")
        shutil.rmtree(output_dir / "results", ignore_errors=True)
        shutil.rmtree(output_dir / TREES, ignore_errors=True)  # left by a check that was killed
        # A report left by an earlier check would pass for this one's (CI uploads the folder as it is).
        (output_dir / REPORT_NAME).unlink(missing_ok=True)
        check_config = output_dir / "asv.conf.json"
        check_config.write_text(json.dumps(conf, indent=2) + "\n")
        return cls(check_config, output_dir, machine_name(machine, register_missing=True))

    @property
    def conf(self) -> dict:
        """The check's copy of the configuration (absolute paths)."""
        return read_conf(self.config)

    def package_tree(self, commit: str) -> str:
        """The git tree hash of ``commit``'s :data:`PACKAGE` folder: the same for two commits of the same code.

        Raises:
            GitError: the repository has no such commit (git's message), or the commit has no :data:`PACKAGE`
                folder at its root.
        """
        return tree_hash(Path(self.conf["repo"]), commit, PACKAGE)

    @contextmanager
    def trees(self, commits: list[str]) -> Iterator[dict[str, Path]]:
        """Each commit's :data:`PACKAGE` folder, exported from git, for the block: ``{commit: folder holding it}``.

        The folders are the check's own (in :data:`TREES` of the output
        folder, removed at the end) and their paths are of the same length,
        so that no commit's processes differ from another's but by the code.

        Raises:
            GitError: a commit has no :data:`PACKAGE` folder at its root.
        """
        repo = Path(self.conf["repo"])
        for commit in commits:
            self.package_tree(commit)  # says which commit has none, before anything is written
        root = self.output_dir / TREES
        shutil.rmtree(root, ignore_errors=True)
        try:
            folders = {}
            for number, commit in enumerate(dict.fromkeys(commits)):
                folders[commit] = root / f"{number:02d}"
                folders[commit].mkdir(parents=True)
                export_tree(repo, commit, folders[commit], PACKAGE)
            yield folders
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def environment(self) -> Environment:
        """asv's environment of the configuration, created if missing (the matrix installed; no commit is).

        Raises:
            RuntimeError: the configuration gives no environment or several, or it cannot be created; the
                message has the failing command's output.
        """
        from asv import config, environment, util

        conf = config.Config.load(str(self.config))
        environments = list(environment.get_environments(conf, None, verbose=False))
        if len(environments) != 1:
            names = ", ".join(env.name for env in environments) or "none"
            raise RuntimeError(
                f"bncvl check runs in one asv environment; the pythons and matrix of {self.config} give "
                f"{len(environments)} ({names})"
            )
        (env,) = environments
        try:
            env.create()
        except util.ProcessError as error:
            raise RuntimeError(f"cannot create asv environment {env.name}: {error}\n{_tail(error.stderr)}") from None
        return env

    def benchmark(self, commits: list[str], bench: list[str], rounds: int) -> None:
        """Measure the benchmarks matching ``bench`` at ``commits``, interleaved, into asv results (one file per
        commit, every sample kept); see :mod:`bncvl.track.checkbench`. The progress is shown and kept in
        :attr:`log_path`. A benchmark that fails is recorded as failed; any other failure raises.

        Raises:
            ValueError: ``bench`` has an invalid regular expression, or matches nothing.
            RuntimeError: the environment, the benchmark server, asv or valgrind failed.
        """
        from bncvl.track.checkbench import measure

        for regex in bench:
            try:
                re.compile(regex)
            except re.error as error:
                raise ValueError(f"-b {regex!r} is not a regular expression: {error}") from None
        (self.output_dir / "commits.txt").write_text("\n".join(commits) + "\n")
        with self.log_path.open("w") as log, self.trees(commits) as trees:
            measure(self, self.environment(), trees, commits, bench, rounds, log)

    def _results(self, commit: str) -> list:
        from asv.results import iter_results_for_machine_and_hash

        return list(iter_results_for_machine_and_hash(str(self.results_dir), self.machine, commit))

    def outcomes(self, commit: str) -> tuple[dict, dict[str, str | None]]:
        """Every benchmark outcome of ``commit``, keyed ``name(params)``, and the unit of each benchmark.

        Returns:
            ``({name(params): Outcome}, {name: unit})``.
        """
        from asv.commands.compare import unroll_result

        from bncvl.track.verdict import Outcome

        outcomes = {}
        for result in self._results(commit):
            for key in result.get_all_result_keys():
                params = result.get_result_params(key)
                rows = unroll_result(
                    key,
                    params,
                    result.get_result_value(key, params),
                    result.get_result_stats(key, params),
                    result.get_result_samples(key, params),
                )
                version = result.benchmark_version.get(key)
                for name, value, stats, samples in rows:
                    outcomes[name] = Outcome(value, stats, samples, version)
        return outcomes, self.units()

    def units(self) -> dict[str, str | None]:
        """The unit of each benchmark, from the run's :data:`BENCHMARKS_FILE` (it says which benchmarks are
        instruction counts or relative timings, so a missing or corrupt one is an error, not a guess)."""
        benchmarks = read_benchmarks(self.results_dir / BENCHMARKS_FILE)
        return {name: info.get("unit") for name, info in benchmarks.items()}

    def machine_record(self, commit: str) -> dict[str, object]:
        """The machine and environment facts asv stored with ``commit``'s results (machine.json, python, torch...)."""
        record: dict[str, object] = {}
        machine_json = self.results_dir / self.machine / MACHINE_FILE
        if machine_json.is_file():
            record.update(read_machine(machine_json))
        for result in self._results(commit):
            record.update(result.params)
        return record
