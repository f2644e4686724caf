"""``bncvl history RANGE --existing``: benchmark past commits in the current environment.

GPU hosts often cannot build fresh environments (no package index, a
system-wide CUDA torch), so ``asv run RANGE`` is not an option there. For
each commit of RANGE this installs that commit of the project into the
current Python (``pip install --no-deps``) and runs
``asv run -E existing --set-commit-hash COMMIT``, so the results files are
the same as ``asv run``'s. A commit is skipped when its result file for this
machine and environment is one asv reads and holds every benchmark the run
selects, so an interrupted run resumes where it stopped; an unreadable one is
moved aside (``*.unreadable``) and the commit measured again. The user's
checkout is never touched (each commit is exported with ``git archive``).

The environment's original install of the project is put back at the end,
even after an error or Ctrl-C; and whatever stopped a run (``kill -9``
included), the next run on the same environment puts it back first, from a
journal written before the first change (:class:`Journal`). One history at a
time per environment: a second waits for the first's lock, saying so.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from bncvl.commands import common_args
from bncvl.track import asv
from bncvl.track.git import commits_in_range, export_tree
from bncvl.track.lock import hold

if TYPE_CHECKING:
    from asv.benchmarks import Benchmarks
    from asv.config import Config
    from asv.results import Results

__all__ = ["Install", "Journal", "configure", "current_install", "environment_prefix", "main", "run_history"]


@dataclass(frozen=True)
class Install:
    """How the project is installed in the environment: where from, and whether editable."""

    source: str | None
    editable: bool = False

    def restore_command(self, python: str, project: str) -> list[str]:
        """The pip command that puts this install back (an uninstall if there was none)."""
        if self.source is None:
            return [python, "-m", "pip", "uninstall", "--yes", project]
        editable = ["-e"] if self.editable else []
        return [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", *editable, self.source]


def _run_outside_checkout(command: list[str]) -> str:
    """Run ``command`` (the environment's interpreter) in an empty folder; its stdout.

    ``python -c`` and ``python -m`` put the working directory first on
    ``sys.path``, where a checkout's ``<project>.egg-info`` (left by ``pip
    install -e .``) would pass for the installed project.

    Raises:
        subprocess.CalledProcessError: the command failed.
        ValueError: the interpreter cannot be run.
    """
    with tempfile.TemporaryDirectory(prefix="bncvl-history-cwd-") as empty:
        try:
            return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=empty).stdout
        except OSError as error:
            raise ValueError(f"--python {command[0]} cannot be run: {error}") from None


def environment_prefix(python: str) -> str:
    """The environment of ``python``: its ``sys.prefix`` (one per venv, whatever the interpreter's name)."""
    return _run_outside_checkout([python, "-c", "import sys; print(sys.prefix)"]).strip()


def current_install(python: str, project: str) -> Install:
    """How ``project`` is installed for ``python`` (from pip's ``direct_url.json``, PEP 610).

    Asked of ``python`` outside any checkout (see :func:`_run_outside_checkout`).

    Raises:
        RuntimeError: it was installed from an index or a wheel, which cannot be put back offline.
    """
    script = (
        "import json, sys\nfrom importlib import metadata\n"
        "try:\n    d = metadata.distribution(sys.argv[1])\nexcept metadata.PackageNotFoundError:\n"
        "    print('null'); sys.exit()\nprint(d.read_text('direct_url.json') or '{}')\n"
    )
    direct_url = json.loads(_run_outside_checkout([python, "-c", script, project]))
    if direct_url is None:
        return Install(None)
    url = direct_url.get("url", "")
    if not url.startswith("file://") or "dir_info" not in direct_url:
        raise RuntimeError(
            f"{project} is installed from {url or 'a package index'}, which bncvl history cannot restore "
            "afterwards; install it from a local checkout first (pip install --no-deps -e .)"
        )
    return Install(unquote(urlparse(url).path), bool(direct_url["dir_info"].get("editable")))


def state_dir() -> Path:
    """Where histories keep their locks and journals: ``$XDG_STATE_HOME/bncvl/history`` (``~/.local/state``)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "bncvl" / "history"


@dataclass(frozen=True)
class Journal:
    """What to put back in one environment should a history stop before it does: written before the first change.

    One per environment (keyed by its ``sys.prefix``) in :func:`state_dir`,
    beside the lock that lets one history at a time change the environment.
    Written atomically (a new file renamed over), removed only once the
    install it names is back.
    """

    path: Path

    @classmethod
    def of(cls, prefix: str) -> Journal:
        return cls(state_dir() / f"{hashlib.sha256(prefix.encode()).hexdigest()[:16]}.journal.json")

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name.removesuffix(".journal.json") + ".lock")

    def write(self, install: Install, python: str, prefix: str, project: str) -> None:
        record = {
            "project": project,
            "source": install.source,
            "editable": install.editable,
            "python": python,
            "prefix": prefix,
            "pid": os.getpid(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w") as file:
            json.dump(record, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a crash of the machine
        finally:
            os.close(folder)

    def read(self) -> tuple[str, Install, dict] | None:
        """``(project, install, record)`` of the journal, or None when there is none.

        Raises:
            ValueError: the journal is unreadable; the message names it and what to do.
        """
        try:
            record = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            record, problem = None, str(error)
        else:
            problem = "not a journal of bncvl history"
        if (
            isinstance(record, dict)
            and isinstance(record.get("project"), str)
            and isinstance(record.get("source"), str | None)
            and isinstance(record.get("editable"), bool)
        ):
            return record["project"], Install(record["source"], record["editable"]), record
        raise ValueError(
            f"{self.path}: the journal of an interrupted bncvl history is unreadable ({problem}); check how the "
            "project is installed in that environment, then delete the journal"
        )


def _restore_interrupted(journal: Journal, python: str) -> None:
    """Put back the install that an interrupted history's ``journal`` names, then remove the journal."""
    found = journal.read()
    if found is None:
        return
    project, install, record = found
    print(
        f"restoring {project} as it was installed before the bncvl history interrupted since "
        f"{record.get('started', '?')} (pid {record.get('pid', '?')}; journal {journal.path})",
        flush=True,
    )
    _run_outside_checkout(install.restore_command(python, project))
    journal.path.unlink()


def _selected_benchmarks(conf: Config, results_dir: Path, bench: Sequence[str]) -> Benchmarks | str:
    """The benchmarks a run with ``-b bench`` selects, from asv's list of the suite; or why it cannot tell."""
    from asv.benchmarks import Benchmarks
    from asv.util import UserError

    for regex in bench:
        try:
            re.compile(regex)
        except re.error as error:
            raise ValueError(f"-b {regex!r} is not a regular expression: {error}") from None
    conf.results_dir = str(results_dir)
    try:
        return Benchmarks.load(conf, regex=list(bench) or None)
    except (UserError, OSError, KeyError, TypeError, ValueError) as error:
        return f"asv's list of the suite is missing or unreadable ({str(error).splitlines()[0]})"


def _readable_result(path: Path, label: str) -> Results | None:
    """The result file at ``path`` as asv reads it; None if there is none, or it is unreadable: then it is
    moved aside to ``*.unreadable`` (asv cannot add to it) and named."""
    if not path.is_file():
        return None
    try:
        return asv.read_result(path)
    except ValueError as error:
        aside = path.with_name(path.name + ".unreadable")
        number = 0
        while aside.exists():
            number += 1
            aside = path.with_name(f"{path.name}.unreadable.{number}")
        path.rename(aside)
        print(f"{label}: {error}; kept as {aside.name}, measuring the commit again", flush=True)
        return None


def _covers(result: Results, selected: Benchmarks | str, label: str) -> bool:
    """Whether ``result`` holds every benchmark of ``selected``; says why not when it does not."""
    if isinstance(selected, str):
        reason = f"{selected}, so what its results cover is unknown"
    elif not selected:
        reason = "the selection matches none of the benchmarks asv listed"
    else:
        missing = asv.missing_benchmarks(result, selected)
        if not missing:
            return True
        reason = f"its results lack {len(missing)} of the {len(selected)} benchmarks selected, e.g. {missing[0]}"
    print(f"{label}: {reason}; measuring it again", flush=True)
    return False


def run_history(
    range_spec: str,
    config: Path,
    python: str,
    machine: str | None = None,
    asv_args: tuple[str, ...] = (),
    rerun: bool = False,
    bench: Sequence[str] = (),
) -> list[str]:
    """Benchmark every commit of ``range_spec`` in the environment of ``python``; the commits run.

    Args:
        range_spec: git range (``HEAD~5..HEAD``) or one commit.
        config: the project's ``asv.conf.json`` (its folder is the repository).
        python: the interpreter whose environment is used (``asv run -E existing:PYTHON``).
        machine: asv machine name (default: ``bncvl machine``'s name for this host; it must be registered).
        asv_args: passed to ``asv run`` (``--quick``...).
        rerun: benchmark commits whose results hold every selected benchmark, too.
        bench: ``asv run -b`` regexes: the benchmarks to run (default: all).

    Raises:
        ValueError: bad range or ``-b``, unknown machine, a config asv cannot read, an unreadable journal.
        FileNotFoundError: no file at ``config``.
        subprocess.CalledProcessError: pip or asv failed (the install is restored first).
    """
    from asv import environment
    from asv.results import get_filename

    conf = asv.load_config(config)
    config = config.resolve()
    root = config.parent
    project = conf.project
    results_dir = root / conf.results_dir
    commits = commits_in_range(root, range_spec)
    machine = asv.machine_name(machine)
    selected = _selected_benchmarks(conf, results_dir, bench)
    prefix = environment_prefix(python)
    (env,) = environment.get_environments(conf, [f"existing:{python}"])
    journal = Journal.of(prefix)
    done: list[str] = []
    with hold(journal.lock_path, "bncvl history"):
        _restore_interrupted(journal, python)
        original = current_install(python, project)
        journal.write(original, python, prefix, project)
        try:
            for index, commit in enumerate(commits, 1):
                label = f"[{index}/{len(commits)}] {commit[:8]}"
                result = _readable_result(results_dir / get_filename(machine, commit, env.name), label)
                if not rerun and result is not None and _covers(result, selected, label):
                    print(f"{label}: results exist for machine {machine!r}, skipped", flush=True)
                    continue
                print(f"{label}: installing into {python}", flush=True)
                with tempfile.TemporaryDirectory(prefix="bncvl-history-") as tmp:
                    export_tree(root, commit, Path(tmp))
                    _run_outside_checkout(
                        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", tmp]
                    )
                existing = ["-E", f"existing:{python}", "--set-commit-hash", commit, *asv_args]
                command = asv.run_command(machine, config=config, bench=bench, options=existing)
                subprocess.run(command, check=True, cwd=root)
                done.append(commit)
        finally:
            print(f"restoring {project} as it was installed before", flush=True)
            _run_outside_checkout(original.restore_command(python, project))
            journal.path.unlink()
    return done


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("range", help="git range, e.g. HEAD~5..HEAD, or one commit")
    parser.add_argument(
        "--existing",
        action="store_true",
        required=True,
        help="use the current Python environment (required: the only mode, named as asv's -E existing)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter of the environment (default: this one)")
    common_args.add_config(parser)
    common_args.add_machine(parser, "bncvl machine's name for this host")
    parser.add_argument("--rerun", action="store_true", help="benchmark commits that already have results too")
    parser.add_argument("--quick", action="store_true", help="asv run --quick: one sample per benchmark")
    common_args.add_bench(parser, "all")
    common_args.no_abbreviations(parser)


def main(args: argparse.Namespace) -> int:
    config = args.config or asv.find_conf()
    if config is None:
        raise FileNotFoundError(
            f"no asv configuration ({asv.CONF_NAME}) at {Path.cwd()} or a parent folder; run inside the project or "
            "pass --config"
        )
    asv_args = ("--quick",) if args.quick else ()
    try:
        done = run_history(args.range, config, args.python, args.machine, asv_args, args.rerun, tuple(args.bench or ()))
    except subprocess.CalledProcessError as error:
        command = " ".join(map(str, error.cmd[:4]))
        print(f"bncvl history: error: {command} ... exited {error.returncode}", file=sys.stderr)
        return 1
    print(f"benchmarked {len(done)} commit(s)")
    return 0
