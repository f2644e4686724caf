"""``bncvl dashboard``: serve the Streamlit dashboard on an asv results directory and analysis runs.

The directories come from ``--results-dir`` (repeatable) / ``--runs-dir``,
else from ``BNCVL_RESULTS_DIR`` (several joined by ``os.pathsep``) /
``BNCVL_RUNS_DIR``, else from ``asv.conf.json``'s ``results_dir``, plus
``examples/results`` when such a directory exists, and ``runs/`` beside it. The
server binds 127.0.0.1 unless told otherwise: the dashboard has no
authentication.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["APP", "DataDirs", "configure", "find_asv_conf", "main", "resolve_dirs"]

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
RESULTS_ENV = "BNCVL_RESULTS_DIR"
RUNS_ENV = "BNCVL_RUNS_DIR"
DEFAULT_RESULTS_DIR = ".asv/results"
"""asv's results directory in this project when asv.conf.json does not say otherwise."""
DEFAULT_RUNS_DIR = "runs"
EXAMPLE_RESULTS_DIR = "examples/results"
"""Where results copied from another machine (e.g. a GPU host) may be kept; read beside your own when the
directory exists. The repository ships none."""


@dataclass(frozen=True)
class DataDirs:
    """The directories the dashboard reads, and the asv.conf.json they came from (if any)."""

    results_dirs: tuple[Path, ...]
    runs_dir: Path
    asv_conf: Path | None


def find_asv_conf(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``asv.conf.json`` in ``start`` (default: the working directory) or a parent, or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "asv.conf.json"
        if candidate.is_file():
            return candidate
    return None


def read_asv_conf(path: Path) -> dict:
    """asv.conf.json as asv reads it (it allows ``//`` comments).

    Raises:
        ValueError: the file is not valid asv.conf.json.
    """
    from asv import util

    try:
        data = util.load_json(str(path), js_comments=True)
    except util.UserError as error:
        raise ValueError(f"{path}: not a valid asv.conf.json: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def resolve_dirs(
    results_dirs: Sequence[str] | None = None, runs_dir: str | None = None, environ: Mapping[str, str] | None = None
) -> DataDirs:
    """Pick the results and runs directories: arguments, then environment variables, then asv.conf.json's defaults.

    Args:
        results_dirs: the ``--results-dir`` values, if any.
        runs_dir: ``--runs-dir``, if given.
        environ: the environment (default ``os.environ``).

    Returns:
        The directories, absolute. They need not exist: the dashboard then says what to run.
    """
    environ = os.environ if environ is None else environ
    conf_path = find_asv_conf()
    base = conf_path.parent if conf_path else Path.cwd()
    results = list(results_dirs or []) or [d for d in environ.get(RESULTS_ENV, "").split(os.pathsep) if d]
    if not results:
        conf = read_asv_conf(conf_path) if conf_path is not None else {}
        results = [str(base / conf.get("results_dir", DEFAULT_RESULTS_DIR))]
        if (base / EXAMPLE_RESULTS_DIR).is_dir():
            results.append(str(base / EXAMPLE_RESULTS_DIR))
    runs = runs_dir or environ.get(RUNS_ENV) or str(base / DEFAULT_RUNS_DIR)
    return DataDirs(tuple(Path(d).resolve() for d in results), Path(runs).resolve(), conf_path)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``bncvl dashboard``'s options to ``parser``."""
    parser.add_argument(
        "--results-dir",
        action="append",
        help=f"asv results directory; repeat for several (default: ${RESULTS_ENV}, else asv.conf.json's "
        f"results_dir and {EXAMPLE_RESULTS_DIR} when present)",
    )
    parser.add_argument("--runs-dir", help=f"bncvl analyze run directories (default: ${RUNS_ENV}, else runs/)")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (default: 8501)")
    parser.add_argument(
        "--address", default="127.0.0.1", help="address to bind (default: 127.0.0.1; the dashboard has no login)"
    )


def streamlit_command(dirs: DataDirs, port: int, address: str) -> tuple[list[str], dict[str, str]]:
    """The ``streamlit run`` command line and environment that serve the dashboard on ``dirs``."""
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
    results = os.pathsep.join(str(d) for d in dirs.results_dirs)
    environ = {**os.environ, RESULTS_ENV: results, RUNS_ENV: str(dirs.runs_dir)}
    return command, environ


def main(args: argparse.Namespace) -> int:
    """Serve the dashboard until interrupted; the exit code is Streamlit's."""
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be between 1 and 65535, got {args.port}")
    if not APP.is_file():
        raise FileNotFoundError(f"dashboard entry point {APP} not found; run bncvl from a checkout of the repository")
    try:
        import streamlit  # noqa: F401 - only checks that the extra is installed
    except ImportError as error:
        raise RuntimeError("bncvl dashboard needs the dashboard extra: pip install 'bncvl[dashboard]'") from error
    dirs = resolve_dirs(args.results_dir, args.runs_dir)
    command, environ = streamlit_command(dirs, args.port, args.address)
    results = ", ".join(str(d) for d in dirs.results_dirs)
    print(f"bncvl dashboard: results {results}; runs {dirs.runs_dir}", file=sys.stderr)
    print(f"bncvl dashboard: serving on http://{args.address}:{args.port}", file=sys.stderr)
    try:
        return subprocess.call(command, env=environ)
    except KeyboardInterrupt:
        return 0
