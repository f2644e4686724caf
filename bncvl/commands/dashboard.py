"""``bncvl dashboard``: serve the Streamlit dashboard on an asv results directory and analysis runs.

The directories come from ``--results-dir`` (repeatable) / ``--runs-dir``,
else from ``BNCVL_RESULTS_DIR`` (several joined by ``os.pathsep``) /
``BNCVL_RUNS_DIR``, else from ``asv.conf.json``'s ``results_dir``, plus
``examples/results`` when such a directory exists, and ``runs/`` beside it. The
server binds 127.0.0.1 unless told otherwise: the dashboard has no
authentication. Streamlit runs with the options of
``dashboard/.streamlit/config.toml`` (magic off, no Deploy button), passed as
command-line flags.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.commands import common_args
from bncvl.track.asv import EXAMPLE_RESULTS_DIR, RESULTS_ENV, RUNS_ENV, DataDirs, resolve_dirs

__all__ = ["APP", "PAGE_CONFIG", "configure", "main", "page_options", "streamlit_command"]

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PAGE_CONFIG = APP.parent / ".streamlit" / "config.toml"
"""Streamlit's options for every page (magic off, toolbar without Deploy): Streamlit reads it beside ``APP``."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``bncvl dashboard``'s options to ``parser``."""
    parser.add_argument(
        "--results-dir",
        action="append",
        help=f"asv results directory; repeat for several (default: ${RESULTS_ENV}, else asv.conf.json's "
        f"results_dir and {EXAMPLE_RESULTS_DIR} when present)",
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


def streamlit_command(dirs: DataDirs, port: int, address: str) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment that serve the dashboard on ``dirs``.

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
    environ = {**os.environ, RESULTS_ENV: results, RUNS_ENV: str(dirs.runs_dir)}
    return command, environ


def main(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted; the exit code is Streamlit's."""
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    for path in (APP, PAGE_CONFIG):
        if not path.is_file():
            raise FileNotFoundError(f"dashboard file {path} not found; run bncvl from a checkout of the repository")
    with needs_extra("dashboard", "bncvl dashboard", RuntimeError):
        import streamlit  # noqa: F401 - only checks that the extra is installed
    dirs = resolve_dirs(args.results_dir, args.runs_dir)
    command, environ = streamlit_command(dirs, args.port, args.address)
    results = ", ".join(str(d) for d in dirs.results_dirs)
    print(f"bncvl dashboard: results {results}; runs {dirs.runs_dir}", file=sys.stderr)
    print(f"bncvl dashboard: serving on http://{args.address}:{args.port}", file=sys.stderr)
    try:
        return subprocess.call(command, env=environ)
    except KeyboardInterrupt:
        return 0
