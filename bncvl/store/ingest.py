"""Read asv's result files one at a time, as the dashboard's reader reads them, for publishing.

Each file goes through :func:`bncvl.track.results.load_result_file` (so the
store holds exactly what :func:`bncvl.track.results.load_results` reads from
the files: the same statuses, statistics, hidden stale versions and
warnings), given the bytes the publisher has read and hashed, so the bytes
that are hashed are the bytes that are read, even while asv writes.

Commit subjects and messages come from git where the commit is known.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.store.schema import STATUS_CODES
from bncvl.track.asv import BENCHMARKS_FILE, MACHINE_FILE
from bncvl.track.git import GitError, git

with needs_extra("store", "bncvl.store.ingest"):
    import numpy as np
    import pandas as pd

    from bncvl.track.results import ResultsSet, load_benchmark_catalogue, load_machine_record, load_result_file

__all__ = ["FileReader", "FileValues", "commit_messages", "result_files", "sha256"]

_STATS = ("q_25", "q_75", "ci_99_a", "ci_99_b")
_NOT_PARAMS = frozenset(
    {"machine", "env_name", "commit_hash", "date", "benchmark", "params", "value", "status", "weight", "samples"}
    | {"unit", "order", *_STATS}
)
_GIT_BATCH = 500
"""Commits per ``git log`` call (a command line of about 20 kB)."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def result_files(root: Path, machines: Iterable[str] | None = None) -> Iterator[tuple[str, Path]]:
    """``(machine folder, result file)`` of every result file under ``root``, folders and files by name.

    Args:
        root: an asv results directory.
        machines: only these machine folders (None: all).
    """
    wanted = None if machines is None else set(machines)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if wanted is not None and folder.name not in wanted:
            continue
        for path in sorted(folder.glob("*.json")):
            if path.name not in (MACHINE_FILE, BENCHMARKS_FILE):
                yield folder.name, path


@dataclass(frozen=True)
class FileValues:
    """One result file as read: its key, its rows and the machine's facts.

    Attributes:
        machine, env_name, commit_hash: whose results these are.
        date: asv's date of the commit (ms since the epoch).
        facts: the machine's record as :attr:`ResultsSet.machines` gives it (without the counts).
        points: the file's rows of :attr:`ResultsSet.points`.
        param_columns: the columns of ``points`` that are parameters.
        warnings: the reader's warnings about the file, its machine.json and benchmarks.json.
    """

    machine: str
    env_name: str
    commit_hash: str
    date: int
    facts: dict
    points: pd.DataFrame
    param_columns: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    def series(self) -> list[tuple[str, str, dict[str, str]]]:
        """Per row: benchmark, ``params`` label and the parameter values by name."""
        names = self.points["benchmark"].astype(str).tolist()
        labels = self.points["params"].astype(str).tolist()
        values = [self.points[c].astype(object).tolist() for c in self.param_columns]
        out = []
        for i, (name, label) in enumerate(zip(names, labels, strict=True)):
            params = {c: str(v[i]) for c, v in zip(self.param_columns, values, strict=True) if not _missing(v[i])}
            out.append((name, label, params))
        return out

    def rows(self) -> list[dict]:
        """Per row: ``status`` code, ``value`` and statistics (None where missing), ``samples`` as float64 bytes.

        Raises:
            ValueError: a status the store has no code for.
        """
        names = self.points["status"].astype(str)
        unknown = sorted(set(names) - set(STATUS_CODES))
        if unknown:
            raise ValueError(f"status {unknown} has no code in the store (expected one of {list(STATUS_CODES)})")
        status = names.map(STATUS_CODES).to_numpy()
        columns = {"value": self.points["value"].to_numpy(dtype=float)}
        for key in _STATS:
            columns[key] = self.points[key].to_numpy(dtype=float)
        plain = {key: [None if math.isnan(v) else v for v in array.tolist()] for key, array in columns.items()}
        samples = [None if s is None else np.asarray(s, dtype="<f8").tobytes() for s in self.points["samples"]]
        return [
            {"status": int(code), "samples": sample, **{key: plain[key][i] for key in plain}}
            for i, (code, sample) in enumerate(zip(status.tolist(), samples, strict=True))
        ]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class FileReader:
    """Reads the result files of one results directory ``root``: its ``benchmarks.json`` once, each machine
    folder's ``machine.json`` once.

    Attributes:
        catalogue_warnings: what is wrong with ``benchmarks.json``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.benchmarks, self.catalogue_warnings = load_benchmark_catalogue(root)
        self._records: dict[str, tuple[dict, list[str]]] = {}

    def machine_record(self, folder: str) -> tuple[dict, list[str]]:
        """The folder's ``machine.json`` record, and what is wrong with it."""
        if folder not in self._records:
            self._records[folder] = load_machine_record(self.root / folder)
        return self._records[folder]

    @property
    def warnings(self) -> list[str]:
        """What is wrong with ``benchmarks.json`` and the ``machine.json`` files read so far."""
        return [*self.catalogue_warnings, *(line for _, lines in self._records.values() for line in lines)]

    def read(self, folder: str, name: str, data: bytes) -> tuple[FileValues | None, list[str]]:
        """The file ``root/folder/name``, whose bytes are ``data``: its values (None if it holds none) and its own
        warnings (a skipped file's reason among them)."""
        loaded = load_result_file(self.root / folder / name, self.benchmarks, self.machine_record(folder)[0], data)
        warnings = list(loaded.warnings)
        if loaded.points.empty:
            return None, warnings
        return _file_values(loaded, warnings), warnings


def _file_values(loaded: ResultsSet, warnings: list[str]) -> FileValues:
    points = loaded.points
    first = points.iloc[0]
    machine = str(first["machine"])
    record = loaded.machines.set_index("machine").loc[machine].to_dict()
    facts = {"machine": machine}
    facts.update({k: v for k, v in record.items() if k not in ("files", "commits") and not _missing(v)})
    param_columns = tuple(c for c in points.columns if c not in _NOT_PARAMS)
    return FileValues(
        machine=machine,
        env_name=str(first["env_name"]),
        commit_hash=str(first["commit_hash"]),
        date=int(pd.Timestamp(first["date"]).value // 1_000_000),
        facts=facts,
        points=points,
        param_columns=param_columns,
        warnings=tuple(warnings),
    )


def commit_messages(repo: Path | None, hashes: Iterable[str]) -> tuple[dict[str, tuple[str, str]], str | None]:
    """Subject and full message of each commit of ``hashes`` that git knows in ``repo``.

    Returns:
        ``{hash: (subject, message)}``, and why none could be read (None when git answered).
    """
    wanted = sorted(set(hashes))
    if repo is None or not wanted:
        return {}, None
    try:
        git(repo, "rev-parse", "--git-dir")
    except (GitError, OSError) as error:
        return {}, str(error)
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), _GIT_BATCH):
        batch = wanted[start : start + _GIT_BATCH]
        try:
            # --ignore-missing: commits of another repository (or rewritten history) are left out, not fatal
            out = git(repo, "log", "--no-walk=unsorted", "--ignore-missing", "-z", "--format=%H%x1f%s%x1f%B", *batch)
        except GitError as error:
            return found, str(error)
        for record in out.split("\0"):
            parts = record.strip("\n").split("\x1f")
            if len(parts) == 3:
                found[parts[0]] = (parts[1], parts[2].rstrip("\n"))
    return found, None
