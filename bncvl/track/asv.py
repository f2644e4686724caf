"""asv as bncvl drives it: its configuration, the ``asv run`` command line, the machine name and the results layout.

asv itself is imported inside the functions that need it (the ``bench``
extra), so importing this module stays cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asv.config import Config
    from asv.results import Results

__all__ = [
    "BENCHMARKS_FILE",
    "CONF_NAME",
    "MACHINE_FILE",
    "DataDirs",
    "find_conf",
    "load_config",
    "machine_name",
    "missing_benchmarks",
    "read_benchmarks",
    "read_conf",
    "read_machine",
    "read_result",
    "resolve_dirs",
    "run_command",
]

CONF_NAME = "asv.conf.json"
RESULTS_ENV = "BNCVL_RESULTS_DIR"
RUNS_ENV = "BNCVL_RUNS_DIR"
STORE_ENV = "BNCVL_STORE"
"""Names the results store (``--store``'s default): a PostgreSQL URL, an SQLite URL or a path."""
DEFAULT_RESULTS_DIR = ".asv/results"
"""asv's results directory in this project when asv.conf.json does not say otherwise."""
DEFAULT_RUNS_DIR = "runs"
BENCHMARKS_FILE = "benchmarks.json"
"""asv's catalogue of benchmarks (names, params, units, versions), at the top of a results directory."""
MACHINE_FILE = "machine.json"
"""asv's machine record, in each machine's folder of a results directory."""
EXAMPLE_RESULTS_DIR = "examples/results"
"""Where results copied from another machine (e.g. a GPU host) may be kept; read beside your own when the
directory exists. The repository ships none."""


def find_conf(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``asv.conf.json`` in ``start`` (default: the working directory) or a parent, or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONF_NAME
        if candidate.is_file():
            return candidate
    return None


def read_conf(path: Path) -> dict:
    """asv.conf.json as asv reads it (it allows ``//`` comments).

    Raises:
        ValueError: the file is not valid asv.conf.json.
    """
    from asv import util

    try:
        data = util.load_json(str(path), js_comments=True)
    except (util.UserError, ValueError, OSError) as error:  # json5 raises ValueError, naming "<string>" only
        raise ValueError(f"{path}: not a valid asv.conf.json: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def load_config(path: Path) -> Config:
    """asv's ``Config`` of the asv.conf.json at ``path``, every error naming the file.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not an asv configuration asv can read.
    """
    from asv import util
    from asv.config import Config

    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"no asv configuration ({CONF_NAME}) at {path}; run inside the project or pass --config"
        )
    read_conf(path)
    try:
        return Config.load(str(path))
    except (util.UserError, ValueError, OSError) as error:
        raise ValueError(f"{path} is not an asv configuration asv can read: {error}") from None


def read_benchmarks(path: Path) -> dict[str, dict]:
    """asv's :data:`BENCHMARKS_FILE`: each benchmark's metadata (unit, params, version) by name.

    Raises:
        ValueError: the file is missing, is not asv's JSON of that version, or is not an object.
    """
    from asv import util

    try:
        data = util.load_json(str(path), api_version=2)
    except (util.UserError, OSError) as error:
        raise ValueError(f"{path}: asv's list of benchmarks is missing or unreadable: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of benchmarks, got {type(data).__name__}")
    return {name: meta for name, meta in data.items() if isinstance(meta, dict)}


def read_machine(path: Path) -> dict:
    """asv's :data:`MACHINE_FILE` of one machine.

    Raises:
        ValueError: the file is missing, is not asv's JSON of that version, or is not an object.
    """
    from asv import util
    from asv.machine import Machine

    try:
        record = util.load_json(str(path), api_version=Machine.api_version)
    except (util.UserError, OSError) as error:
        raise ValueError(f"{path}: asv's machine record is missing or unreadable: {error}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(record).__name__}")
    return record


def run_command(
    machine: str,
    commits: str | None = None,
    *,
    config: Path | None = None,
    bench: Sequence[str] = (),
    quick: bool = False,
    options: Sequence[str] = (),
) -> list[str]:
    """The ``asv run`` command line, run by this interpreter.

    Args:
        machine: the asv machine name.
        commits: asv's commit argument, a range or ``HASHFILE:path`` (none with ``-E existing``).
        config: the asv configuration (default: asv's, ``asv.conf.json`` in the working directory).
        bench: ``--bench`` regexes.
        quick: ``--quick``, one sample per benchmark.
        options: further ``asv run`` options, as given.
    """
    command = [sys.executable, "-m", "asv", "run", *([commits] if commits else [])]
    if config is not None:
        command += ["--config", str(config)]
    command += ["--machine", machine, *options]
    if quick:
        command.append("--quick")
    for regex in bench:
        command += ["--bench", regex]
    return command


def machine_name(requested: str | None = None, *, register_missing: bool = False) -> str:
    """The asv machine to record results under: ``requested``, else ``bncvl machine``'s default for this host.

    Args:
        requested: a name given by the user, if any.
        register_missing: register this machine (``bncvl machine``) when asv has no record of the name;
            otherwise that is an error.

    Raises:
        ValueError: asv has no record of the name and ``register_missing`` is false.
    """
    from asv import util
    from asv.machine import MachineCollection

    from bncvl.measure.machine import default_machine_name, device_facts, register

    name = requested or default_machine_name(device_facts())
    try:
        MachineCollection.load(name)
    except util.UserError as error:
        if not register_missing:
            raise ValueError(f"{error} Register this machine first: bncvl machine") from None
        register(name)
    return name


def read_result(path: Path) -> Results:
    """asv's result file at ``path``, read by asv.

    Raises:
        ValueError: asv cannot read it (truncated, not JSON, another format version...); the message names it.
    """
    from asv import util
    from asv.results import Results

    try:
        return Results.load(str(path))
    except (util.UserError, OSError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path}: asv cannot read this result file: {error}") from None


def missing_benchmarks(result: Results, benchmarks: Mapping[str, Mapping]) -> list[str]:
    """The benchmarks of ``benchmarks`` (asv's ``Benchmarks``, or any mapping of name -> description) that
    ``result`` holds no result of at their current version, as asv's ``get_result_keys`` decides; sorted."""
    return sorted(set(benchmarks) - result.get_result_keys(benchmarks))


@dataclass(frozen=True)
class DataDirs:
    """The directories the dashboard reads, and the asv.conf.json they came from (if any)."""

    results_dirs: tuple[Path, ...]
    runs_dir: Path
    asv_conf: Path | None


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
    conf_path = find_conf()
    base = conf_path.parent if conf_path else Path.cwd()
    results = list(results_dirs or []) or [d for d in environ.get(RESULTS_ENV, "").split(os.pathsep) if d]
    if not results:
        conf = read_conf(conf_path) if conf_path is not None else {}
        results = [str(base / conf.get("results_dir", DEFAULT_RESULTS_DIR))]
        if (base / EXAMPLE_RESULTS_DIR).is_dir():
            results.append(str(base / EXAMPLE_RESULTS_DIR))
    runs = runs_dir or environ.get(RUNS_ENV) or str(base / DEFAULT_RUNS_DIR)
    return DataDirs(tuple(Path(d).resolve() for d in results), Path(runs).resolve(), conf_path)
