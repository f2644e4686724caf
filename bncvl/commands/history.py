"""``bncvl history RANGE --existing``: benchmark past commits in the current environment.

GPU hosts often cannot build fresh environments (no package index, a
system-wide CUDA torch), so ``asv run RANGE`` is not an option there. For
each commit of RANGE this installs that commit of the project into the
current Python (``pip install --no-deps``) and runs
``asv run -E existing --set-commit-hash COMMIT``, so the results files are
the same as ``asv run``'s. Commits that already have results for this
machine are skipped, so an interrupted run resumes where it stopped. The
user's checkout is never touched (each commit is exported with
``git archive``), and the environment's original install of the project is
put back at the end, even after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bncvl.commands import common_args
from bncvl.track import asv
from bncvl.track.git import commits_in_range, export_tree

__all__ = ["Install", "configure", "current_install", "main", "run_history"]


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


def current_install(python: str, project: str) -> Install:
    """How ``project`` is installed for ``python`` (from pip's ``direct_url.json``, PEP 610).

    Raises:
        RuntimeError: it was installed from an index or a wheel, which cannot be put back offline.
    """
    script = (
        "import json, sys\nfrom importlib import metadata\n"
        "try:\n    d = metadata.distribution(sys.argv[1])\nexcept metadata.PackageNotFoundError:\n"
        "    print('null'); sys.exit()\nprint(d.read_text('direct_url.json') or '{}')\n"
    )
    out = subprocess.run([python, "-c", script, project], check=True, capture_output=True, text=True).stdout
    direct_url = json.loads(out)
    if direct_url is None:
        return Install(None)
    url = direct_url.get("url", "")
    if not url.startswith("file://") or "dir_info" not in direct_url:
        raise RuntimeError(
            f"{project} is installed from {url or 'a package index'}, which bncvl history cannot restore "
            "afterwards; install it from a local checkout first (pip install --no-deps -e .)"
        )
    return Install(url.removeprefix("file://"), bool(direct_url["dir_info"].get("editable")))


def run_history(
    range_spec: str,
    config: Path,
    python: str,
    machine: str | None = None,
    asv_args: tuple[str, ...] = (),
    rerun: bool = False,
) -> list[str]:
    """Benchmark every commit of ``range_spec`` in the environment of ``python``; the commits run.

    Args:
        range_spec: git range (``HEAD~5..HEAD``) or one commit.
        config: the project's ``asv.conf.json`` (its folder is the repository).
        python: the interpreter whose environment is used (``asv run -E existing:PYTHON``).
        machine: asv machine name (default: ``bncvl machine``'s name for this host; it must be registered).
        asv_args: passed to ``asv run`` (``--quick``, ``-b REGEX``...).
        rerun: benchmark commits that already have results, too.

    Raises:
        ValueError: bad range, unknown machine, or a config without ``project``.
        subprocess.CalledProcessError: pip or asv failed (the install is restored first).
    """
    from asv.config import Config
    from asv.util import UserError

    config = config.resolve()
    root = config.parent
    try:
        conf = Config.load(str(config))
    except UserError as error:
        raise ValueError(f"{config} is not an asv configuration asv can read: {error}") from None
    project = conf.project
    results_dir = root / conf.results_dir
    commits = commits_in_range(root, range_spec)
    machine = asv.machine_name(machine)
    original = current_install(python, project)
    done: list[str] = []
    try:
        for index, commit in enumerate(commits, 1):
            label = f"[{index}/{len(commits)}] {commit[:8]}"
            if not rerun and asv.has_results(results_dir, machine, commit):
                print(f"{label}: results exist for machine {machine!r}, skipped", flush=True)
                continue
            print(f"{label}: installing into {python}", flush=True)
            with tempfile.TemporaryDirectory(prefix="bncvl-history-") as tmp:
                export_tree(root, commit, Path(tmp))
                pip = [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", tmp]
                subprocess.run(pip, check=True)
            existing = ["-E", f"existing:{python}", "--set-commit-hash", commit, *asv_args]
            subprocess.run(asv.run_command(machine, config=config, options=existing), check=True, cwd=root)
            done.append(commit)
    finally:
        print(f"restoring {project} as it was installed before", flush=True)
        subprocess.run(original.restore_command(python, project), check=True)
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
    if config is None or not config.is_file():
        where = config or f"{Path.cwd()} or a parent folder"
        raise FileNotFoundError(
            f"no asv configuration ({asv.CONF_NAME}) at {where}; run inside the project or pass --config"
        )
    asv_args = (["--quick"] if args.quick else []) + [arg for regex in args.bench or () for arg in ("-b", regex)]
    try:
        done = run_history(args.range, config, args.python, args.machine, tuple(asv_args), args.rerun)
    except subprocess.CalledProcessError as error:
        command = " ".join(map(str, error.cmd[:4]))
        print(f"bncvl history: error: {command} ... exited {error.returncode}", file=sys.stderr)
        return 1
    print(f"benchmarked {len(done)} commit(s)")
    return 0
