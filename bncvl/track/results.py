"""Read an asv results directory (format version 2) into plain tables.

The layout, as ``asv run`` writes it::

    <results>/benchmarks.json                   name -> {params, param_names, unit, version, ...}
    <results>/<machine>/machine.json            the machine record (bncvl machine adds device facts)
    <results>/<machine>/<hash8>-<env>.json      one commit on one machine in one environment

In a result file each benchmark's row is positional per ``result_columns``;
the values of a parameterised benchmark come in ``itertools.product`` order
of its params; NaN means skipped, ``null`` failed, and a confidence bound may
be ±Infinity (too few samples). Any other value (a string, ±Infinity, an
absurd magnitude: :mod:`bncvl.track.validity`) is a data error: its point is
``invalid``, named in a warning, and carries no value. Files are read with
asv's own reader and format check (``asv.util.load_json`` at ``asv.results.Results.api_version``)
and their rows column-wise per ``result_columns`` (the tests check every
value against ``Results.load``). The steps in these tables are found by
:mod:`bncvl.track.changes`.

Nothing here imports Streamlit and nothing writes to the directory. A bad
file never stops the load: it becomes a warning that names it, and a bad
value one that names its file, benchmark, commit and parameters.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.track import validity
from bncvl.track.asv import BENCHMARKS_FILE, MACHINE_FILE, read_benchmarks, read_machine

with needs_extra("dashboard", "bncvl.track.results"):
    import numpy as np
    import pandas as pd
    from asv import util
    from asv.results import Results

__all__ = [
    "PARAM_COLUMNS",
    "STATUSES",
    "ResultsSet",
    "load_benchmark_catalogue",
    "load_machine_record",
    "load_result_file",
    "load_results",
]

PARAM_COLUMNS = ("variant", "preset", "device", "dtype")
"""The suite's layer parameters; every table has these columns (None where a benchmark lacks one)."""

STATUSES = ("ok", "skipped", "failed", "invalid")
"""A point's ``status``: measured, skipped (asv's NaN), failed (asv's null), or a data error (see the module)."""

_SKIP_FILES = frozenset({MACHINE_FILE, BENCHMARKS_FILE})
_POINT_COLUMNS = (
    "machine",
    "env_name",
    "commit_hash",
    "date",
    "benchmark",
    "params",
    "value",
    "status",
    "q_25",
    "q_75",
    "ci_99_a",
    "ci_99_b",
    "weight",
    "samples",
)


@dataclass(frozen=True)
class ResultsSet:
    """Everything read from one or more results directories.

    Attributes:
        results_dirs: the directories read, in the order given.
        points: one row per machine, environment, commit, benchmark and
            parameter combination: ``value`` (NaN unless ``status == "ok"``),
            ``status`` (one of :data:`STATUSES`; an ``invalid`` point has no
            value, statistics, weight or samples), ``q_25``/``q_75``,
            ``ci_99_a``/``ci_99_b``, ``weight``, ``samples`` (the raw samples
            as a tuple where asv recorded them, else None), ``unit``, ``date`` (UTC
            commit date), ``order`` (commit position, oldest first), the
            ``params`` label and one column per parameter name.
        machines: one row per machine: its record (``machine.json``, or the
            result files' params when that is missing) and ``commits``.
        benchmarks: ``benchmarks.json`` (name -> description); empty if absent.
        warnings: one line per problem met, each naming the file.
    """

    results_dirs: tuple[Path, ...]
    points: pd.DataFrame
    machines: pd.DataFrame
    benchmarks: dict[str, dict]
    warnings: tuple[str, ...] = field(default=())

    @property
    def commits(self) -> pd.DataFrame:
        """Commits covered, oldest first: ``commit_hash``, ``date``, ``order``, ``machines`` (count)."""
        if self.points.empty:
            return pd.DataFrame(columns=["commit_hash", "date", "order", "machines"])
        grouped = self.points.groupby("commit_hash", observed=True)
        table = grouped.agg(date=("date", "min"), order=("order", "min"), machines=("machine", "nunique"))
        return table.reset_index().sort_values("order", ignore_index=True)

    @property
    def empty(self) -> bool:
        """True when not a single result was read."""
        return self.points.empty


PathOrPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def _as_paths(results_dirs: PathOrPaths) -> tuple[Path, ...]:
    if isinstance(results_dirs, str | os.PathLike):
        return (Path(results_dirs),)
    return tuple(Path(d) for d in results_dirs)


def load_results(results_dirs: PathOrPaths) -> ResultsSet:
    """Read every result file under one results directory, or several (e.g. yours and ``examples/results``).

    Each file goes through asv's own JSON reader and format-version check
    (``asv.util.load_json`` with ``Results.api_version``, as
    ``Results.load`` does); its rows are then read column-wise per
    ``result_columns``, without building asv's per-point dictionaries, so
    a thousand files load in seconds. The tests check every value against
    ``Results.load``.

    Args:
        results_dirs: an asv results directory (``results_dir`` of
            asv.conf.json), or a sequence of them; each is read with its own
            benchmarks.json, and commits are ordered by date across all.

    Returns:
        The :class:`ResultsSet`; empty (with a warning) when no directory
        holds results.
    """
    dirs = _as_paths(results_dirs)
    parts = [_load_directory(root) for root in dirs]
    warnings = tuple(line for part in parts for line in part[3])
    benchmarks: dict[str, dict] = {}
    for part in reversed(parts):
        benchmarks.update(part[2])
    frames = [part[0] for part in parts if part[0] is not None]
    if not frames:
        return _empty(dirs, warnings, benchmarks)
    if len(frames) == 1:
        points = frames[0]
    else:
        points = pd.concat(frames, ignore_index=True)
        for key in frames[0].columns:
            if isinstance(frames[0][key].dtype, pd.CategoricalDtype):  # lost when the categories differ
                points[key] = points[key].astype("category")
    _set_commit_order(points)
    records: dict[str, dict] = {}
    for part in parts:
        for machine, record in part[1].items():
            if machine in records:
                records[machine]["_files"] += record["_files"]
            else:
                records[machine] = record
    return ResultsSet(dirs, points, _machines_frame(records, points), benchmarks, warnings)


def _set_commit_order(points: pd.DataFrame) -> None:
    """Number the commits by date (then hash), oldest first, across every machine and directory."""
    first = points[["commit_hash", "date"]].drop_duplicates("commit_hash")
    first = first.assign(commit_hash=first["commit_hash"].astype(str)).sort_values(["date", "commit_hash"])
    position = dict(zip(first["commit_hash"], range(len(first)), strict=True))
    commits = points["commit_hash"].astype("category").cat
    per_category = np.asarray([position.get(str(c), -1) for c in commits.categories], dtype="int64")
    points["order"] = per_category[commits.codes]


def _load_directory(root: Path) -> tuple[pd.DataFrame | None, dict[str, dict], dict[str, dict], list[str]]:
    """One results directory: its points (None if it holds none), machine records, benchmarks.json and warnings."""
    if not root.is_dir():
        return None, {}, {}, [f"{root}: no such results directory"]
    benchmarks, warnings = load_benchmark_catalogue(root)
    reader = _Reader(benchmarks)
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in machine_dir.glob("*.json") if p.name not in _SKIP_FILES)
        if not files:
            continue
        record, machine_warnings = load_machine_record(machine_dir)
        warnings.extend(machine_warnings)
        for path in files:
            _add_file(reader, path, None, record, machine_dir.name, warnings)
    warnings.extend(reader.benchmark_warnings())
    if not reader.chunk_counts:
        warnings.append(f"{root}: no result files (expected <machine>/<hash>-<env>.json)")
        return None, {}, benchmarks, warnings
    frame = reader.frame()
    warnings.extend(reader.invalid_warnings)
    return frame, reader.machine_records, benchmarks, warnings


def _add_file(
    reader: _Reader, path: Path, content: bytes | None, record: dict, folder: str, warnings: list[str]
) -> bool:
    """Read one result file into ``reader`` (a warning naming it if it cannot be read); whether it was read."""
    try:
        reader.add_file(path, _result_document(path, content), record, folder)
    except (util.UserError, OSError, KeyError, TypeError, ValueError, AttributeError) as error:
        warnings.append(f"{path}: skipped, not a readable asv results file (version 2): {error}")
        return False
    return True


def _result_document(path: Path, content: bytes | None) -> dict:
    """A result file's JSON, format version checked: asv's ``load_json`` on the file, or its checks (and messages)
    on ``content``, the file's bytes as already read."""
    if content is None:
        return util.load_json(str(path), api_version=Results.api_version)
    try:
        document = json.loads(content)
    except ValueError as error:
        raise util.UserError(f"Error parsing JSON in file '{path}': {error}") from None
    if not isinstance(document, dict) or "version" not in document:
        raise util.UserError(f"No version specified in {path}.")
    if document["version"] < Results.api_version:
        raise util.UserError(f"{path} is stored in an old file format.  Run `asv update` to update it.")
    if document["version"] > Results.api_version:
        raise util.UserError(
            f"{path} is stored in a format that is newer than what this version of asv understands.  "
            "Update asv to use this file."
        )
    del document["version"]
    return document


def load_result_file(
    path: str | os.PathLike[str], benchmarks: dict[str, dict], machine_record: dict, content: bytes | None = None
) -> ResultsSet:
    """Read one result file as :func:`load_results` reads it in its directory: the same points, statuses,
    hidden stale versions and warnings.

    Args:
        path: ``<results>/<machine folder>/<hash>-<env>.json``.
        benchmarks: the directory's ``benchmarks.json`` (:func:`load_benchmark_catalogue`).
        machine_record: the folder's ``machine.json`` (:func:`load_machine_record`).
        content: the file's bytes when the caller has read them already (so what it hashes is what is read).

    Returns:
        A :class:`ResultsSet` of the one file (empty, with the warning naming it, when it cannot be read).
        The warnings are the file's own, not those of ``benchmarks.json`` or ``machine.json``.
    """
    path = Path(path)
    warnings: list[str] = []
    reader = _Reader(benchmarks)
    if not _add_file(reader, path, content, machine_record, path.parent.name, warnings):
        return _empty((path.parent.parent,), tuple(warnings), benchmarks)
    warnings.extend(reader.benchmark_warnings())
    points = reader.frame()
    warnings.extend(reader.invalid_warnings)
    _set_commit_order(points)
    return ResultsSet(
        (path.parent.parent,), points, _machines_frame(reader.machine_records, points), benchmarks, tuple(warnings)
    )


def _empty(dirs: tuple[Path, ...], warnings: tuple[str, ...], benchmarks: dict[str, dict]) -> ResultsSet:
    points = pd.DataFrame(
        {name: [] for name in (*_POINT_COLUMNS, "unit", "order", *PARAM_COLUMNS)},
    )
    return ResultsSet(dirs, points, pd.DataFrame(columns=["machine", "commits"]), benchmarks, warnings)


def load_benchmark_catalogue(root: str | os.PathLike[str]) -> tuple[dict[str, dict], list[str]]:
    """A results directory's ``benchmarks.json`` (empty when missing or unreadable), and a warning saying so."""
    path = Path(root) / BENCHMARKS_FILE
    return _optional_record(
        path, read_benchmarks, "units and parameter names are unknown", " (run `asv run` to write it)"
    )


def load_machine_record(machine_dir: str | os.PathLike[str]) -> tuple[dict, list[str]]:
    """A machine folder's ``machine.json`` (empty when missing or unreadable: the facts then come from its result
    files), and a warning saying so."""
    path = Path(machine_dir) / MACHINE_FILE
    return _optional_record(path, read_machine, "the machine's facts are taken from its result files")


def _optional_record(
    path: Path, read: Callable[[Path], dict], without: str, when_missing: str = ""
) -> tuple[dict, list[str]]:
    """What ``read`` reads from ``path``; or, when it is missing or unreadable, nothing and a warning naming the file
    and what is ``without`` it (and ``when_missing``, how to write it)."""
    if not path.exists():
        return {}, [f"{path}: missing; {without}{when_missing}"]
    try:
        return read(path), []
    except ValueError as error:
        return {}, [f"{error}; {without}"]


def _param_label(value: str) -> str:
    """asv stores each parameter value as its ``repr``; show strings without their quotes (no eval)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _cell(row: list, index: int | None):
    """Entry ``index`` of a result row; None where the row has no such column (rows may end early)."""
    return row[index] if index is not None and index < len(row) else None


def _column(row: list, index: int | None, count: int, what: str) -> list:
    """Column ``index`` of a result row as ``count`` entries: a missing or null column is all None,
    and a short one is padded with None (asv's ``_compatible_results`` reads missing entries as failed).

    Raises:
        TypeError: the column is not a list (``what`` names it).
    """
    value = _cell(row, index)
    if value is None:
        return [None] * count
    if not isinstance(value, list):
        raise TypeError(f"{what}: expected a list with one entry per parameter combination, got {value!r:.60}")
    if len(value) != count:
        return (list(value) + [None] * count)[:count]
    return value


_STAT_COLUMNS = ("q_25", "q_75", "ci_99_a", "ci_99_b")


class _Reader:
    """Accumulates result files column-wise; :meth:`frame` turns them into the points table."""

    def __init__(self, benchmarks: dict[str, dict]) -> None:
        self.benchmarks = benchmarks
        self.unknown: dict[str, list[str]] = defaultdict(list)
        self.stale: dict[str, list[str]] = defaultdict(list)
        self.misshapen: dict[str, list[str]] = defaultdict(list)
        """Benchmark -> ``"<file> (<n> values for <m> parameter combinations)"``."""
        self.machine_records: dict[str, dict] = {}
        # one entry per file
        self.files: list[tuple[str, str, str, int]] = []  # machine, env_name, commit_hash, date (ms)
        self.paths: list[str] = []
        # one entry per series layout (benchmark and its parameter values): rows of the series table
        self.layouts: dict[str, list[tuple[list, int, int]]] = defaultdict(list)  # name -> (params, offset, count)
        self.series: list[tuple[str, str, dict[str, str]]] = []  # benchmark, params label, {param name: value}
        # one entry per (file, benchmark)
        self.chunk_files: list[int] = []
        self.chunk_offsets: list[int] = []
        self.chunk_counts: list[int] = []
        self.failed_rows: list[int] = []
        self.nonnegative: dict[str, bool] = {}  # benchmark -> validity.cannot_be_negative
        self.bad_rows: dict[int, str] = {}  # row -> why an entry of it is not a number (or a sample is invalid)
        self.columns: dict[str, list] = {key: [] for key in ("value", *_STAT_COLUMNS, "samples")}
        self.rows = 0
        self.invalid_warnings: list[str] = []
        """Filled by :meth:`frame`: one line per benchmark with invalid points, naming the first's file and commit."""

    def _layout(self, name: str, params: list[list[str]]) -> tuple[int, int]:
        for known, offset, count in self.layouts[name]:
            if known == params:
                return offset, count
        meta = self.benchmarks.get(name) or {}
        names = list(meta.get("param_names", []))
        if len(names) != len(params):
            names = [f"param{j + 1}" for j in range(len(params))]  # asv's own names for unnamed parameters
        offset = len(self.series)
        for combo in itertools.product(*params):  # asv's order for the values of a parameterised benchmark
            labels = dict(zip(names, (_param_label(v) for v in combo), strict=True))
            self.series.append((name, ", ".join(f"{k}={v}" for k, v in labels.items()), labels))
        count = len(self.series) - offset
        self.layouts[name].append((params, offset, count))
        return offset, count

    def _nonnegative(self, name: str) -> bool:
        if name not in self.nonnegative:
            self.nonnegative[name] = validity.cannot_be_negative(name, (self.benchmarks.get(name) or {}).get("unit"))
        return self.nonnegative[name]

    def add_file(self, path: Path, document: dict, record: dict, folder: str) -> None:
        """Add one result file (already read and version-checked by asv's ``load_json``).

        The whole file is parsed before anything is added, so a file that
        fails part-way (the caller skips it with a warning) leaves no trace.
        """
        environment = document["params"]
        machine = record.get("machine") or environment.get("machine") or folder
        commit, env_name, date = validity.file_identity(document)
        where = {key: i for i, key in enumerate(document["result_columns"])}
        if "result" not in where or "params" not in where:
            raise KeyError(f"result_columns lacks 'result' or 'params': {document['result_columns']}")
        unknown, stale, misshapen, chunks = [], [], [], []
        for name, row in document["results"].items():
            meta = self.benchmarks.get(name)
            version = _cell(row, where.get("version"))
            if meta is None:
                if self.benchmarks:
                    unknown.append(name)
            elif version not in (None, meta.get("version")):
                stale.append(name)
                continue
            params = row[where["params"]] or []
            if not any(params == known for known, _, _ in self.layouts.get(name, ())):
                params = validity.parameter_grid(params, name)
            count = math.prod(len(values) for values in params)
            result = _column(row, where["result"], count, f"benchmark {name!r}: result")
            recorded = _cell(row, where["result"])
            if recorded is not None and len(recorded) != count:
                misshapen.append((name, f"{path} ({len(recorded)} values for {count} parameter combinations)"))
            columns = {"value": result}
            for key in _STAT_COLUMNS:
                columns[key] = _column(row, where.get(f"stats_{key}"), count, f"benchmark {name!r}: stats_{key}")
            bad: dict[int, str] = {}  # the types of values and statistics are checked column-wise in frame()
            raw = _column(row, where.get("samples"), count, f"benchmark {name!r}: samples")
            columns["samples"] = validity.checked_samples(raw, self._nonnegative(name), bad)
            chunks.append((name, params, columns, bad))
        # Parsed: from here on nothing raises.
        for name in unknown:
            self.unknown[name].append(str(path))
        for name in stale:
            self.stale[name].append(str(path))
        for name, place in misshapen:
            self.misshapen[name].append(place)
        file_index = len(self.files)
        self.files.append((machine, env_name, commit, date))
        self.paths.append(str(path))
        facts = self.machine_records.setdefault(machine, {**environment, **record, "machine": machine, "_files": 0})
        facts["_files"] += 1
        for name, params, columns, bad in chunks:
            offset, count = self._layout(name, params)
            values = columns["value"]
            if None in values:
                self.failed_rows.extend(self.rows + j for j, v in enumerate(values) if v is None)
            self.bad_rows.update((self.rows + j, reason) for j, reason in bad.items())
            for key, column in columns.items():
                self.columns[key].extend(column)
            self.chunk_files.append(file_index)
            self.chunk_offsets.append(offset)
            self.chunk_counts.append(count)
            self.rows += count

    def benchmark_warnings(self) -> list[str]:
        """One line per benchmark unknown to benchmarks.json, recorded at a stale version, or misshapen."""
        warnings = []
        for name, paths in sorted(self.unknown.items()):
            more = f" and {len(paths) - 1} other file(s)" if len(paths) > 1 else ""
            warnings.append(
                f"{paths[0]}{more}: benchmark {name!r} is not in benchmarks.json (renamed or removed); "
                "its values are shown without a unit"
            )
        for name, paths in sorted(self.stale.items()):
            more = f" and {len(paths) - 1} other file(s)" if len(paths) > 1 else ""
            warnings.append(
                f"{paths[0]}{more}: benchmark {name!r} was recorded with another version of its code than "
                "benchmarks.json describes; those results are hidden, as asv hides them"
            )
        for name, places in sorted(self.misshapen.items()):
            more = f" and {len(places) - 1} other file(s)" if len(places) > 1 else ""
            warnings.append(
                f"{places[0]}{more}: benchmark {name!r} has a result row of another length than its parameter "
                "grid; a missing value reads as failed and an extra one is dropped, as asv reads them"
            )
        return warnings

    def frame(self) -> pd.DataFrame:
        """The points table; also fills :attr:`invalid_warnings`."""
        counts = np.asarray(self.chunk_counts)
        starts = np.cumsum(counts) - counts
        series_ids = np.repeat(np.asarray(self.chunk_offsets) - starts, counts) + np.arange(self.rows)
        file_ids = np.repeat(np.asarray(self.chunk_files), counts)
        table: dict[str, object] = {}
        machines, envs, commits, dates = zip(*self.files, strict=True)
        for key, per_file in (("machine", machines), ("env_name", envs), ("commit_hash", commits)):
            categories = pd.Categorical(per_file)
            table[key] = pd.Categorical.from_codes(categories.codes[file_ids], categories.categories)
        table["date"] = pd.to_datetime(np.asarray(dates, dtype="int64")[file_ids], unit="ms", utc=True)
        for key, per_series in (("benchmark", [s[0] for s in self.series]), ("params", [s[1] for s in self.series])):
            categories = pd.Categorical(per_series)
            table[key] = pd.Categorical.from_codes(categories.codes[series_ids], categories.categories)
        for key, blank in (("value", math.nan), *((key, None) for key in _STAT_COLUMNS)):
            label = "result" if key == "value" else f"stats_{key}"
            self.columns[key] = validity.checked_numbers(self.columns[key], label, blank, self.bad_rows)
        value = np.array(self.columns["value"], dtype=float)  # null (failed) becomes NaN here
        for key in _STAT_COLUMNS:
            table[key] = np.array(self.columns[key], dtype=float)
        failed = np.zeros(self.rows, dtype=bool)
        failed[self.failed_rows] = True
        nonnegative = np.asarray([self._nonnegative(s[0]) for s in self.series], dtype=bool)[series_ids]
        invalid = np.zeros(self.rows, dtype=bool)
        invalid[list(self.bad_rows)] = True
        for column in (value, table["q_25"], table["q_75"]):
            invalid |= validity.invalid(column, nonnegative)
        invalid &= ~failed
        if invalid.any():
            self._warn_invalid(np.flatnonzero(invalid), value, table, nonnegative, file_ids, series_ids)
        status = np.where(failed, 2, np.where(invalid, 3, np.where(np.isnan(value), 1, 0)))
        for column in (value, *(table[key] for key in _STAT_COLUMNS)):
            column[invalid] = np.nan  # an invalid point carries nothing a page could draw
        table["value"] = value
        table["status"] = pd.Categorical.from_codes(status, STATUSES)
        samples = pd.Series(self.columns["samples"], dtype=object).to_numpy(copy=True)
        samples[invalid] = None
        table["samples"] = samples
        low, high = table["ci_99_a"], table["ci_99_b"]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # asv._stats.get_weight, vectorised: 2 / CI width; none for an infinite or empty interval
            weight = 2.0 / np.abs(high - low)
            usable = np.isfinite(low) & np.isfinite(high) & np.isfinite(weight) & (weight > 0)
            table["weight"] = np.where(usable, weight, np.nan)
        param_names = dict.fromkeys((*PARAM_COLUMNS, *(k for s in self.series for k in s[2])))
        for key in param_names:
            categories = pd.Categorical([s[2].get(key) for s in self.series])
            table[key] = pd.Categorical.from_codes(categories.codes[series_ids], categories.categories)
        units = pd.Categorical([(self.benchmarks.get(s[0]) or {}).get("unit") for s in self.series])
        table["unit"] = pd.Categorical.from_codes(units.codes[series_ids], units.categories)
        return pd.DataFrame(table)

    def _warn_invalid(
        self,
        rows: np.ndarray,
        value: np.ndarray,
        table: dict[str, object],
        nonnegative: np.ndarray,
        file_ids: np.ndarray,
        series_ids: np.ndarray,
    ) -> None:
        """One warning per benchmark with invalid points (``rows``): the first one's file, commit, parameters
        and reason, and how many more there are."""
        first: dict[str, tuple[int, str]] = {}
        files: dict[str, set[int]] = defaultdict(set)
        points: dict[str, int] = defaultdict(int)
        for row in rows.tolist():
            name = self.series[series_ids[row]][0]
            files[name].add(int(file_ids[row]))
            points[name] += 1
            if name not in first:
                reason = self.bad_rows.get(row) or next(
                    f"{label} {why}"
                    for label, column in (
                        ("result", value),
                        ("stats_q_25", table["q_25"]),
                        ("stats_q_75", table["q_75"]),
                    )
                    if (why := validity.problem(float(column[row]), bool(nonnegative[row]))) is not None
                )
                first[name] = (row, reason)
        for name, (row, reason) in sorted(first.items()):
            file_index, params = int(file_ids[row]), self.series[series_ids[row]][1]
            where = f"at commit {self.files[file_index][2][:8]}" + (f", {params}" if params else "")
            more = points[name] - 1
            others = f" (and {more} more invalid value(s) of it in {len(files[name])} file(s))" if more else ""
            self.invalid_warnings.append(
                f"{self.paths[file_index]}: benchmark {name!r} {where}: {reason}{others}; "
                "invalid values are counted on the Overview and left out of step detection and charts"
            )


def _machines_frame(records: dict[str, dict], points: pd.DataFrame) -> pd.DataFrame:
    commits = points.groupby("machine", observed=True)["commit_hash"].nunique()
    rows = []
    for machine, record in sorted(records.items()):
        row = {key: value for key, value in record.items() if key not in ("version", "_files")}
        row["files"] = record["_files"]
        row["commits"] = int(commits.get(machine, 0))
        rows.append(row)
    return pd.DataFrame(rows)
