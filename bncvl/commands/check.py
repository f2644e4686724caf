"""``bncvl check BASE HEAD``: does HEAD make BNCVL slower or hungrier than BASE?

Both commits are benchmarked on this machine in asv's environment, each from
its ``bncvl/`` exported from git (nothing is installed), interleaved round by
round (base, head, head, base...), so a drift of the machine during the run
hits both alike: see :mod:`bncvl.track.checkbench`. The benchmark suite is
the one in the working tree, for both commits, as with ``asv continuous``.
The verdict is asv's (factor *and* significance), direction-aware for
``track_*`` metrics, with the per-process test for relative timings: see
:mod:`bncvl.track.verdict`.

Exit status: 0 nothing significantly worse; 1 a regression or a newly failing
benchmark; 2 a usage error, a commit without ``bncvl/``, or a check that
cannot decide: no benchmark ran, a benchmark failed at both commits, a
relative timing had too few processes, (default selection) the instruction
counts or relative timings it gates on did not run, or asv, valgrind, git,
the benchmark processes or the file system failed (the reason is printed).
Only a decided regression exits 1.

A check writes only into its output folder, which it created (see
:func:`bncvl.track.checkrun.claim_output_dir`), and holds locks on that folder
and on asv's environments folder: a second check on the same folders waits.
``asv compare`` always exits 0 and ``asv continuous`` counts every increase as
worse, so neither exit code is used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bncvl._extras import MissingExtra, valgrind_missing
from bncvl.commands import common_args
from bncvl.track.asv import CONF_NAME, load_config, read_conf
from bncvl.track.checkrun import REPORT_NAME, CheckRun
from bncvl.track.decision import (
    ABSOLUTE_TIME_FACTOR,
    DEFAULT_FACTOR,
    INSTRUCTION_FACTOR,
    MIN_PROCESSES,
    RELATIVE_FACTOR,
    Evidence,
)
from bncvl.track.git import commit_subject, merge_base, resolve_commit, toplevel
from bncvl.track.suite import CHECK_BENCHMARKS

__all__ = [
    "DEFAULT_ROUNDS",
    "QUICK_BENCHMARKS",
    "CheckRun",
    "configure",
    "main",
    "merge_base",
    "resolve_commit",
]

QUICK_BENCHMARKS = CHECK_BENCHMARKS
"""The default subset, the suite catalogue's (:data:`bncvl.track.suite.CHECK_BENCHMARKS`): instruction counts,
relative timings on both clocks and bytes of the reference and fast variants on the tiny preset, CPU, float32."""

DEFAULT_ROUNDS = MIN_PROCESSES
"""Interleaved rounds per commit for relative timings and ``time_*`` benchmarks:
base, head, then head, base..., each a new process giving one value per
benchmark, so a drift of a shared runner hits both commits alike. The per-process
test needs :data:`bncvl.track.decision.MIN_PROCESSES` of them: with that many
values per commit it reaches :data:`bncvl.track.decision.RELATIVE_ALPHA` with
one pair out of order, so one process on a loaded core does not hide a
regression."""

DEFAULT_OUTPUT_DIR = Path(".asv") / "check"

GATES = (Evidence.INSTRUCTIONS, Evidence.RELATIVE)
"""What the default selection gates on: a default check in which either ran at neither commit (valgrind
missing when the benchmarks ran, say) cannot say there is no regression, and exits 2."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "base", nargs="?", default=None, help="base commit (default: the merge-base of HEAD with --main-branch)"
    )
    parser.add_argument("head", nargs="?", default="HEAD", help="commit under test (default: HEAD)")
    common_args.add_bench(
        parser,
        "instruction counts, relative timings and bytes of the reference and fast variants on the tiny preset, "
        "CPU, float32",
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=DEFAULT_FACTOR,
        help=f"how much worse counts as worse (default {DEFAULT_FACTOR:.2f}; instruction counts {INSTRUCTION_FACTOR}, "
        f"relative timings {RELATIVE_FACTOR}, absolute times and the rates derived from them {ABSOLUTE_TIME_FACTOR}; "
        "see --factor-for)",
    )
    parser.add_argument(
        "--factor-for",
        action="append",
        default=[],
        metavar="REGEX=FACTOR",
        help="the factor of the benchmarks matching REGEX, e.g. 'time_train_step=1.5' (repeatable; first match "
        "wins; it overrides every default factor)",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the Markdown report to FILE")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"interleaved rounds per commit (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument(
        "--main-branch", help="branch for the default BASE (default: asv.conf.json's first branch, else main)"
    )
    common_args.add_config(parser)
    parser.add_argument(
        "--output-dir",
        type=Path,
        help=f"results, asv log and report.md (default: {DEFAULT_OUTPUT_DIR} in the repository); a new or empty "
        "folder, or one an earlier check created: its results are replaced",
    )
    parser.add_argument("--env-dir", type=Path, help="asv environments to create or reuse (default: asv.conf.json's)")
    common_args.add_machine(parser, "this host's; registered when missing")
    common_args.no_abbreviations(parser)


def main(args: argparse.Namespace) -> int:
    try:
        return _check(args)
    except (ValueError, RuntimeError, FileNotFoundError, MissingExtra):
        raise  # bncvl prints the message and exits 2
    except Exception as error:  # asv's UserError, git, the file system: exit 1 would say "regression"
        raise RuntimeError(f"could not decide: {type(error).__name__}: {error}") from error


def _check(args: argparse.Namespace) -> int:
    from bncvl.track import report, verdict  # need the bench extra (asv); say so when it is missing

    factor = verdict.check_factor(args.factor)
    rules = [verdict.parse_factor_rule(text) for text in args.factor_for]
    if args.rounds < MIN_PROCESSES:
        raise ValueError(
            f"--rounds must be >= {MIN_PROCESSES}: relative timings are tested on one value per process and "
            f"round; got {args.rounds}"
        )
    missing_tool = valgrind_missing() if args.bench is None else None
    if missing_tool:
        raise RuntimeError(
            f"the default check gates on instruction counts, which need valgrind: {missing_tool}; "
            "or choose benchmarks with -b"
        )

    root = toplevel(Path.cwd())
    config = (args.config or root / CONF_NAME).resolve()
    if not config.is_file():
        raise FileNotFoundError(
            f"no asv configuration at {config}; run inside the project's repository or pass --config"
        )
    load_config(config)  # an error names the user's file, not the check's copy of it
    head = resolve_commit(root, args.head)
    if args.base is None:
        branches = read_conf(config).get("branches") or ["main"]
        base = merge_base(root, args.main_branch or branches[0], head)
    else:
        base = resolve_commit(root, args.base)
    if base == head:
        raise ValueError(f"BASE and HEAD are the same commit ({head[:8]}); nothing to compare")

    output_dir = args.output_dir or root / DEFAULT_OUTPUT_DIR
    with CheckRun.locked(root, config, output_dir, args.env_dir, args.machine) as run:
        run.benchmark([base, head], args.bench or [QUICK_BENCHMARKS], args.rounds)
        before, units = run.outcomes(base)
        after, _ = run.outcomes(head)
        comparison = verdict.compare(
            base,
            head,
            before,
            after,
            units,
            factor=factor,
            factor_rules=rules,
            machine=run.machine_record(head),
            base_label=commit_subject(root, base),
            head_label=commit_subject(root, head),
            required=GATES if args.bench is None else (),
        )
        markdown = report.render_markdown(comparison)
        print(markdown)
        (run.output_dir / REPORT_NAME).write_text(markdown)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(markdown)
    if comparison.missing and not comparison.regressed:
        print(
            f"bncvl check: error: the default check gates on {' and '.join(kind.value for kind in GATES)}, but no "
            + " and no ".join(kind.value for kind in comparison.missing)
            + f" were measured at both commits; see {run.log_path}",
            file=sys.stderr,
        )
    return comparison.exit_code
