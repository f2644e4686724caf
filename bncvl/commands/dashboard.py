"""``bncvl dashboard``: serve the Streamlit dashboard on a results store and the analysis runs.

The dashboard always reads a results store (docs/store.md). Which one, and
what it publishes first:

- by default, the embedded store in the (first) results directory: the
  results directories are published into it first (``bncvl publish``: only
  what changed since the last publish is read), so the dashboard shows what
  asv wrote, as asv's own ``asv publish`` would;
- ``--store URL`` or ``BNCVL_STORE``: that store (a team's PostgreSQL), read
  only, unless ``--results-dir`` is given too: those directories are then
  published into it first;
- ``--no-publish``: serve the store as it is.

The results directories come from ``--results-dir`` (repeatable), else
``BNCVL_RESULTS_DIR``, else ``asv.conf.json``'s ``results_dir`` (plus
``examples/results`` when it exists); the runs directory from ``--runs-dir``,
``BNCVL_RUNS_DIR`` or ``runs/``. The server binds 127.0.0.1 unless told
otherwise: the dashboard has no authentication. Streamlit runs with the
options of ``dashboard/.streamlit/config.toml`` (magic off, no Deploy button),
passed as command-line flags.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.commands import common_args, run_command
from bncvl.track.asv import EXAMPLE_RESULTS_DIR, RESULTS_ENV, RUNS_ENV, STORE_ENV, DataDirs, resolve_dirs

__all__ = ["APP", "PAGE_CONFIG", "configure", "main", "page_options", "streamlit_command"]

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE_CONFIG = APP.parent / ".streamlit" / "config.toml"
"""Streamlit's options for every page (magic off, toolbar without Deploy): Streamlit reads it beside ``APP``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``bncvl dashboard``'s options to ``parser``."""
    parser.add_argument(
        "--results-dir",
        action="append",
        help=f"asv results directory to publish first; repeat for several (default: ${RESULTS_ENV}, else "
        f"asv.conf.json's results_dir and {EXAMPLE_RESULTS_DIR} when present)",
    )
    common_args.add_store(parser)
    parser.add_argument(
        "--no-publish", action="store_true", help="serve the store as it is, without publishing the results first"
    )
    common_args.add_runs_dir(parser, None, f"${RUNS_ENV}, else {common_args.DEFAULT_RUNS_DIR}/")
    common_args.add_port(parser)
    parser.add_argument(
        "--address", default="127.0.0.1", help="address to bind (default: 127.0.0.1; the dashboard has no login)"
    )


def page_options(path: Path = PAGE_CONFIG) -> dict[str, object]:
    """The options of Streamlit's config file ``path``, as ``{"section.option": value}``.

    >>> page_options()["runner.magicEnabled"]
    False
    """
    with path.open("rb") as file:
        document = tomllib.load(file)
    return {f"{section}.{name}": value for section, options in document.items() for name, value in options.items()}


def _flag_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def streamlit_command(dirs: DataDirs, port: int, address: str, *, store: str) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment that serve the dashboard on the store ``store`` (a URL,
    given to the app in its environment, never on a command line) and ``dirs``' runs.

    Every option of :data:`PAGE_CONFIG` is a flag too: a flag beats a user's config files and ``STREAMLIT_*``
    variables, and Streamlit versions without script-level config files never read :data:`PAGE_CONFIG` itself.
    """
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    for name, value in page_options().items():
        command += [f"--{name}", _flag_value(value)]
    results = os.pathsep.join(str(d) for d in dirs.results_dirs)
    environ = {**os.environ, RESULTS_ENV: results, RUNS_ENV: str(dirs.runs_dir), STORE_ENV: store}
    return command, environ


def _publish_first(args: argparse.Namespace, dirs: DataDirs) -> int:
    """Publish the results directories (not the runs: the dashboard reads them from their directory)."""
    from bncvl.commands import publish

    options = ["--no-runs"] + (["--store", args.store] if args.store else [])
    for directory in args.results_dir or ():
        options += ["--results-dir", directory]
    code = run_command(publish, options)
    if code == 2:
        return code
    if code == 1:
        print("bncvl dashboard: some result files were skipped (named above); serving the rest", file=sys.stderr)
    return 0


def main(args: argparse.Namespace) -> int:
    """Publish if it should (see the module), then serve the dashboard until interrupted; Streamlit's exit code."""
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    for path in (APP, PAGE_CONFIG):
        if not path.is_file():
            raise FileNotFoundError(f"dashboard file {path} not found; run bncvl from a checkout of the repository")
    with needs_extra("dashboard", "bncvl dashboard", RuntimeError):
        import streamlit  # noqa: F401 - only checks that the extra is installed
    with needs_extra("store", "bncvl dashboard", RuntimeError):
        from bncvl.store.engine import describe, resolve_url

    dirs = resolve_dirs(args.results_dir, args.runs_dir)
    url = resolve_url(args.store, dirs.results_dirs[0])
    given = args.store or os.environ.get(STORE_ENV)
    if not args.no_publish and (args.results_dir or not given):
        code = _publish_first(args, dirs)
        if code != 0:
            return code
    command, environ = streamlit_command(dirs, args.port, args.address, store=url.render_as_string(hide_password=False))
    print(f"bncvl dashboard: store {describe(url)}; runs {dirs.runs_dir}", file=sys.stderr)
    print(f"bncvl dashboard: serving on http://{args.address}:{args.port}", file=sys.stderr)
    try:
        return subprocess.call(command, env=environ)
    except KeyboardInterrupt:
        return 0
