"""One ``bncvl check`` run of asv: its own configuration and results folder, the builds, the interleaved runs.

The user's ``asv.conf.json`` is copied with absolute paths and its results
redirected, so a check never mixes its samples with earlier results. The
output folder is emptied only when a check created it (it holds
:data:`OUTPUT_MARKER`); a check holds locks on it and on the asv
environments folder (:meth:`CheckRun.locked`), so a second check on the same
folders waits for the first instead of mixing their files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bncvl.track.asv import (
    BENCHMARKS_FILE,
    MACHINE_FILE,
    machine_name,
    read_benchmarks,
    read_conf,
    read_machine,
    run_command,
)
from bncvl.track.lock import hold
from bncvl.track.suite import PER_ROUND

__all__ = ["ENV_LOCK", "NO_DEPS_INSTALL", "OUTPUT_LOCK", "OUTPUT_MARKER", "CheckRun", "claim_output_dir"]

OUTPUT_MARKER = ".bncvl-check"
"""Written into an output folder that ``bncvl check`` created or found empty: only such a folder is ever emptied."""

OUTPUT_LOCK = ".bncvl-check.lock"
"""The lock file in the output folder, held for the whole check."""

REPORT_NAME = "report.md"
"""The check's Markdown report, in the output folder."""

ENV_LOCK = ".bncvl-env.lock"
"""The lock file in the asv environments folder, held for the whole check: the environments and asv's build cache
in them are shared by every check that uses the folder, and the build cache keeps only the last few builds."""

NO_DEPS_INSTALL = "in-dir={env_dir} python -m pip install --no-deps --force-reinstall {wheel_file}"
"""The install command used when asv.conf.json sets none (see :meth:`CheckRun.prepare`)."""

_REPEATED = PER_ROUND
"""Matches the asv name of a benchmark that runs one process per round: ``time_*`` and the relative timings
(the suite catalogue's :data:`bncvl.track.suite.PER_ROUND`)."""


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

        ``output_dir`` is claimed first (:func:`claim_output_dir`); the results
        and report of an earlier check in it are removed, nothing else.
        """
        conf = read_conf(config)
        here = config.parent
        output_dir = claim_output_dir(output_dir)
        conf["repo"] = str(repo.resolve())
        conf["benchmark_dir"] = str((here / conf.get("benchmark_dir", "benchmarks")).resolve())
        conf["env_dir"] = str(env_dir_of(config, env_dir))
        conf["results_dir"] = str(output_dir / "results")
        conf["html_dir"] = str(output_dir / "html")
        # asv's default install is `pip install WHEEL --force-reinstall`, which reinstalls torch
        # with the project every time, and interleaving installs each commit once per round.
        # The dependencies come from the configuration's matrix, as the --no-deps build implies.
        conf.setdefault("install_command", [NO_DEPS_INSTALL])
        shutil.rmtree(output_dir / "results", ignore_errors=True)
        # A report left by an earlier check would pass for this one's (CI uploads the folder as it is).
        (output_dir / REPORT_NAME).unlink(missing_ok=True)
        check_config = output_dir / "asv.conf.json"
        check_config.write_text(json.dumps(conf, indent=2) + "\n")
        return cls(check_config, output_dir, machine_name(machine, register_missing=True))

    def build(self, commits: list[str]) -> None:
        """Build and install each commit in every environment, as ``asv run`` would.

        asv keeps the built wheels, so the benchmark run that follows only
        reinstalls them. Done up front because ``asv run`` reports a commit
        that does not build as "skipped", without the reason.

        Raises:
            RuntimeError: an environment cannot be created or a commit cannot
                be built; the message has the failing command's output.
        """
        from asv import config, environment, util
        from asv.repo import get_repo

        conf = config.Config.load(str(self.config))
        repo = get_repo(conf)
        environments = list(environment.get_environments(conf, None, verbose=False))
        if not environments:
            raise RuntimeError(f"asv found no environment to build in (pythons/matrix of {self.config})")
        for env in environments:
            if not env.can_install_project():
                raise RuntimeError(
                    f"environment {env.name!r} cannot install commits (an 'existing' environment); bncvl check "
                    "needs asv-managed environments (environment_type virtualenv or conda) to run two commits"
                )
            try:
                env.create()
            except util.ProcessError as error:
                raise RuntimeError(
                    f"cannot create asv environment {env.name}: {error}\n{_tail(error.stderr)}"
                ) from None
            for commit in commits:
                try:
                    env.install_project(conf, repo, commit)
                except util.ProcessError as error:
                    output = _tail(error.stderr) or _tail(error.stdout)
                    raise RuntimeError(
                        f"commit {commit[:8]} cannot be built in {env.name}: {error}\n{output}"
                    ) from None

    def benchmark(self, commits: list[str], bench: list[str], rounds: int) -> None:
        """``asv run`` the benchmarks matching ``bench`` on ``commits``, interleaved, keeping raw samples.

        ``time_*`` benchmarks and relative timings run ``rounds`` interleaved
        rounds; the others (instruction counts, bytes and the like, one
        deterministic value each) run one round, which is all they need. asv's output is shown and kept in
        :attr:`log_path`. A benchmark that fails is recorded as failed (asv
        exits 2); any other asv failure raises.

        Raises:
            ValueError: ``bench`` has an invalid regular expression, or matches nothing.
            RuntimeError: asv could not run (e.g. a broken configuration).
        """
        for regex in bench:
            try:
                re.compile(regex)
            except re.error as error:
                raise ValueError(f"-b {regex!r} is not a regular expression: {error}") from None
        hashfile = self.output_dir / "commits.txt"
        hashfile.write_text("\n".join(commits) + "\n")
        self.log_path.write_text("")
        # asv ORs its -b patterns; a lookahead ANDs each of ours with "is (not) run once per round".
        timed = [f"^(?={_REPEATED})(?=.*?(?:{regex}))" for regex in bench]
        untimed = [f"^(?!{_REPEATED})(?=.*?(?:{regex}))" for regex in bench]
        selected = [self._asv_run(hashfile, timed, rounds)]
        if self._selects_any(untimed):
            selected.append(self._asv_run(hashfile, untimed, 1))
        if not any(selected):
            raise ValueError(f"no benchmark matches -b {bench}; asv's log: {self.log_path}")

    def _selects_any(self, bench: list[str]) -> bool:
        """Whether ``bench`` selects a benchmark of the suite asv discovered in the last run (True if unknown)."""
        if not (self.results_dir / BENCHMARKS_FILE).is_file():
            return True
        from asv import config
        from asv.benchmarks import Benchmarks

        return len(Benchmarks.load(config.Config.load(str(self.config)), regex=bench)) > 0

    def _asv_run(self, hashfile: Path, bench: list[str], rounds: int) -> bool:
        """One ``asv run``; False when it selected no benchmark."""
        options = ["--interleave-rounds", "--record-samples", "--show-stderr", "-a", f"rounds={rounds}"]
        command = run_command(self.machine, f"HASHFILE:{hashfile}", config=self.config, bench=bench, options=options)
        output = []
        with self.log_path.open("a") as log:
            log.write("$ " + " ".join(command) + "\n")
            log.flush()
            # Unbuffered: asv's progress shows as it happens, not when its pipe buffer fills.
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
                output.append(line)
            returncode = process.wait()
        if returncode == 1 and any("No benchmarks selected" in line for line in output):
            return False
        if returncode not in (0, 2):  # 2: some benchmark failed, which the results record
            raise RuntimeError(f"asv run exited {returncode}:\n{_tail(''.join(output))}")
        return True

    def _results(self, commit: str) -> list:
        from asv.results import iter_results_for_machine_and_hash

        return list(iter_results_for_machine_and_hash(str(self.results_dir), self.machine, commit))

    def outcomes(self, commit: str) -> tuple[dict, dict[str, str | None]]:
        """Every benchmark outcome of ``commit``, keyed ``name(params)``, and the unit of each benchmark.

        Returns:
            ``({name(params): Outcome}, {name: unit})``; a name gets `` [env]``
            appended when the check ran in several environments.
        """
        from asv.commands.compare import unroll_result

        from bncvl.track.verdict import Outcome

        results = self._results(commit)
        outcomes = {}
        for result in results:
            suffix = f" [{result.env_name}]" if len(results) > 1 else ""
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
                    outcomes[name + suffix] = Outcome(value, stats, samples, version)
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
