"""``bncvl pipeline``: the main job, end to end, on this machine.

1. register the machine and its device facts with asv (``bncvl machine``);
2. benchmark the last few commits with asv (a short run by default: :data:`SHORT_RUN`), skipping
   what already has results;
3. run the default quantization analysis (``bncvl analyze``) into
   ``<runs-dir>/default`` unless that run is complete; an incomplete one (an
   interrupted analysis) is first moved aside to
   ``default.interrupted-<YYYYmmdd-HHMMSS>``, where it stays readable;
4. publish the results and the analysis runs into the embedded results
   store (``bncvl publish``: only what is new is read, and the steps of
   the series it wrote are found);
5. serve the dashboard on that store on 127.0.0.1.

A second run reuses everything that exists, so it goes straight to steps 4 and 5.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bncvl._extras import valgrind_missing
from bncvl.analysis.rundir import SUMMARY, read_json
from bncvl.commands import common_args, run_command
from bncvl.measure.machine import register
from bncvl.track import asv
from bncvl.track.checkrun import ENV_LOCK, env_dir_of
from bncvl.track.git import recent_commits
from bncvl.track.lock import hold
from bncvl.track.suite import MAIN_JOB_BENCHMARKS

__all__ = [
    "DEFAULT_BENCHMARKS",
    "DEFAULT_COMMITS",
    "DEFAULT_RUN_NAME",
    "asv_run_command",
    "configure",
    "main",
]

DEFAULT_COMMITS = 2
DEFAULT_RUN_NAME = "default"
DEFAULT_BENCHMARKS = MAIN_JOB_BENCHMARKS
"""What the main job benchmarks unless ``--bench`` says otherwise: the suite catalogue's
:data:`bncvl.track.suite.MAIN_JOB_BENCHMARKS` (the quick subset, weight storage, quantization). The whole
suite took 5 minutes a commit on this project's shared 2-core machine
(docs/measurements/2026-12-03-asv-budgets.md); this subset is what a first
look needs. ``--bench .`` runs everything."""

Runner = Callable[[Sequence[str]], int]


SHORT_RUN = ("-a", "repeat=5", "-a", "rounds=1")
"""What the main job passes ``asv run`` instead of ``--quick``: five samples per ``time_`` benchmark in one
process (each after its set-up's warm call), and asv's median of them. ``--quick``'s one sample is asv's
first, timed right after asv's own code, and read 1.3-2.6x a full run's median on the tiny preset's
0.1 ms eval forward; the median of five reads within 1.5x of it
(docs/measurements/2026-12-03-steady-state.md). It costs a few milliseconds a benchmark; the
benchmarks that take their own samples (relative timings, instruction counts) are unaffected."""


def asv_run_command(machine: str, hashfile: Path, full: bool, benchmarks: Sequence[str]) -> list[str]:
    """The ``asv run`` command line for the commits listed in ``hashfile``: a full run, else :data:`SHORT_RUN`;
    results that exist are kept."""
    options = ["--skip-existing", "--show-stderr", *(() if full else SHORT_RUN)]
    return asv.run_command(machine, f"HASHFILE:{hashfile}", bench=benchmarks, options=options)


def complete_run(runs_dir: Path, name: str) -> bool:
    """Whether ``runs_dir/name`` holds a finished analysis run (its summary says complete)."""
    summary = runs_dir / name / SUMMARY
    if not summary.exists():
        return False
    try:
        return read_json(summary).get("complete") is True  # as analysis.rundir.Run.complete
    except (OSError, ValueError) as error:
        print(f"bncvl pipeline: {summary} is unreadable ({error}); treating the run as incomplete", file=sys.stderr)
        return False


def set_aside_incomplete_run(runs_dir: Path, name: str) -> Path | None:
    """Move the incomplete run ``runs_dir/name`` to ``<name>.interrupted-<time it was last written>``; its new path.

    None when there is nothing to move: no such directory, or an empty one (the analysis can write into it).
    A name already taken gets a ``-2``, ``-3``, ... suffix, so no run is ever overwritten.
    """
    run = runs_dir / name
    if not run.is_dir() or not any(run.iterdir()):
        return None
    last_written = max(path.stat().st_mtime for path in (run, *run.iterdir()))
    stem = f"{name}.interrupted-{time.strftime('%Y%m%d-%H%M%S', time.localtime(last_written))}"
    aside = runs_dir / stem
    number = 1
    while aside.exists():
        number += 1
        aside = runs_dir / f"{stem}-{number}"
    run.rename(aside)
    return aside


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--commits", type=int, default=DEFAULT_COMMITS, help=f"benchmark the last N commits (default {DEFAULT_COMMITS})"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="full asv runs instead of the short run (5 samples a time benchmark; much slower)",
    )
    common_args.add_bench(parser, "the quick subset, weight storage and quantization; '.' for the whole suite")
    common_args.add_runs_dir(parser)
    parser.add_argument("--no-serve", action="store_true", help="stop after producing the results")
    common_args.add_port(parser)


def main(args: argparse.Namespace, run: Runner = subprocess.call) -> int:
    from bncvl.commands import analyze, dashboard, publish

    repo = Path.cwd()
    if not (repo / asv.CONF_NAME).is_file():
        raise FileNotFoundError(f"no {asv.CONF_NAME} in {repo}; run bncvl pipeline from the repository's root")
    # Options that would fail only at step 3 or 4 are refused now, not after minutes of benchmarks.
    runs_dir = analyze.check_runs_dir(args.runs_dir)
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")  # as bncvl dashboard says
    commits = recent_commits(repo, args.commits)
    started = time.perf_counter()

    _step(1, "register this machine and its device facts")
    machine = register()["machine"]
    print(f"machine {machine!r}")

    _step(2, f"benchmark the last {len(commits)} commit(s) with asv ({'full' if args.full else 'short'} run)")
    missing_tool = valgrind_missing()
    if missing_tool:
        print(
            f"bncvl pipeline: {missing_tool}. Instruction counts are skipped, and the dashboard can confirm no "
            "step with them",
            file=sys.stderr,
        )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as hashfile:
        hashfile.write("\n".join(commits) + "\n")
    command = asv_run_command(machine, Path(hashfile.name), full=args.full, benchmarks=args.bench or DEFAULT_BENCHMARKS)
    try:
        # asv installs commits into the environments a default `bncvl check` uses too: take turns with it.
        with hold(env_dir_of(repo / asv.CONF_NAME) / ENV_LOCK, "bncvl pipeline"):
            code = run(command)
    finally:
        Path(hashfile.name).unlink()
    if code != 0:
        print(f"bncvl pipeline: asv run exited {code}; see its output above", file=sys.stderr)
        return code

    if complete_run(runs_dir, DEFAULT_RUN_NAME):
        _step(3, f"analysis: reusing the complete run {runs_dir / DEFAULT_RUN_NAME}")
    else:
        _step(3, "analysis: train the default network and record its binarisation")
        aside = set_aside_incomplete_run(runs_dir, DEFAULT_RUN_NAME)
        if aside is not None:
            print(f"{runs_dir / DEFAULT_RUN_NAME} is incomplete (an interrupted analysis); moved it to {aside}")
        code = run_command(analyze, ["--runs-dir", str(runs_dir), "--name", DEFAULT_RUN_NAME])
        if code != 0:
            return code

    _step(4, "publish the results and the analysis runs into the results store")
    code = run_command(publish, ["--runs-dir", str(runs_dir)])
    if code == 2:
        return code
    if code == 1:
        print("bncvl pipeline: some files were skipped (named above); the rest is published", file=sys.stderr)

    print(f"\nresults ready in {time.perf_counter() - started:.0f} s")
    if args.no_serve:
        return 0
    _step(5, "serve the dashboard (Ctrl-C to stop)")
    return run_command(dashboard, ["--no-publish", "--runs-dir", str(runs_dir), "--port", str(args.port)])


def _step(number: int, text: str) -> None:
    print(f"\n== [{number}/5] {text}", flush=True)
