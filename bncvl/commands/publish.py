"""``bncvl publish``: put asv's results and the analysis runs' summaries of this machine into the results store.

The store is ``--store URL``, else ``$BNCVL_STORE``, else the embedded
SQLite file ``bncvl-store.sqlite`` in the (first) results directory. The
results directories and the runs directory are found as ``bncvl dashboard``
finds them. asv's files are only read: they stay the source of truth.

Exit status: 0 when everything was published; 1 when some files were
skipped (each is named on stderr; everything else was published); 2 when
nothing could be published (the store cannot be reached, refuses the login,
or has a newer schema; a usage error).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.commands import common_args
from bncvl.store import DEFAULT_STEPS_WINDOW
from bncvl.track.asv import EXAMPLE_RESULTS_DIR, RESULTS_ENV, RUNS_ENV, find_conf, read_conf, resolve_dirs

__all__ = ["configure", "default_repo", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``bncvl publish``'s options to ``parser``."""
    common_args.add_store(parser)
    parser.add_argument(
        "--results-dir",
        action="append",
        help=f"asv results directory; repeat for several (default: ${RESULTS_ENV}, else asv.conf.json's "
        f"results_dir and {EXAMPLE_RESULTS_DIR} when present)",
    )
    parser.add_argument(
        "--machine",
        action="append",
        metavar="NAME",
        help="publish only this machine's folder of the results directory; repeatable (default: every machine)",
    )
    common_args.add_runs_dir(parser, None, f"${RUNS_ENV}, else {common_args.DEFAULT_RUNS_DIR}/")
    parser.add_argument("--no-runs", action="store_true", help="do not publish the analysis runs")
    parser.add_argument(
        "--steps-window",
        type=int,
        default=DEFAULT_STEPS_WINDOW,
        metavar="N",
        help="find steps over the N commits before the oldest one published (default: "
        f"{DEFAULT_STEPS_WINDOW}; 0: the whole history)",
    )
    parser.add_argument(
        "--repo",
        type=Path,
        help="git checkout to read commit messages from (default: asv.conf.json's repo, else the working directory)",
    )


def default_repo() -> Path:
    """asv.conf.json's ``repo`` when it is a local directory, else the working directory."""
    conf = find_conf()
    if conf is not None:
        repo = conf.parent / str(read_conf(conf).get("repo", "."))
        if repo.is_dir():
            return repo
    return Path.cwd()


def _summary(report, store: str) -> str:
    published = report.new + report.replaced
    parts = [
        f"{published} result file(s) published ({report.new} new, {report.replaced} replaced), "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped",
        f"{report.values:,} values",
        f"steps found again in {report.series_detected} series ({report.steps} steps)",
        f"{report.runs} analysis run(s) published, {report.runs_unchanged} unchanged",
    ]
    return f"bncvl publish: {'; '.join(parts)} -> {store}"


def main(args: argparse.Namespace) -> int:
    """Publish, print what was done; see the module for the exit status."""
    with needs_extra("store", "bncvl publish", RuntimeError):
        from sqlalchemy import exc

        from bncvl.store.engine import StoreError, describe, open_store, resolve_url
        from bncvl.store.publish import Publisher
        from bncvl.store.steps import check_window, redetect

    check_window(args.steps_window)  # before anything is written
    dirs = resolve_dirs(args.results_dir, args.runs_dir)
    url = resolve_url(args.store, dirs.results_dirs[0])
    engine = open_store(url, write=True)
    publisher = Publisher(engine, args.repo or default_repo())
    try:
        for root in dirs.results_dirs:
            if root.is_dir() or args.results_dir:
                publisher.publish_results(root, args.machine)
        if not args.no_runs:
            publisher.publish_runs(dirs.runs_dir)
        report = publisher.report
        report.series_detected, report.steps = redetect(engine, publisher.touched, args.steps_window)
        publisher.optimize()
    except exc.DBAPIError as error:
        detail = " ".join(str(error.orig or error).split())
        raise StoreError(f"the store {describe(url)} failed during the publish: {detail}") from None
    finally:
        engine.dispose()
    for line in report.warnings:
        print(f"bncvl publish: warning: {line}", file=sys.stderr)
    if publisher.git_problem:
        print(f"bncvl publish: warning: commit messages not read: {publisher.git_problem}", file=sys.stderr)
    for line in report.skipped:
        print(f"bncvl publish: skipped: {line}", file=sys.stderr)
    print(_summary(report, describe(url)))
    return 1 if report.skipped else 0
