"""Read ``bncvl analyze`` run directories into plain tables, tolerating runs that were interrupted.

A run directory holds ``config.json``, ``metrics.jsonl`` (one wide JSON
object per line and step: per-layer rows with ``layer`` set, model-level rows
with ``layer`` null), ``histograms.jsonl``, ``model_summary.json``,
``summary.json`` (``"complete": true`` once finished) and
``snapshots/step_XXXXXX.npz``. Training appends to the JSON Lines files, so
an interrupted run may end in a cut line: it is dropped with a warning that
names the file, and everything before it loads. Nothing here writes to disk
or unpickles anything.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

try:
    import pandas as pd
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "bncvl.runs needs the dashboard extra (pandas is missing): pip install 'bncvl[dashboard]'"
    ) from error

__all__ = ["Run", "list_runs", "load_run", "load_runs", "read_jsonl", "runs_fingerprint"]


@dataclass(frozen=True)
class Run:
    """One analysis run, as read.

    Attributes:
        name: the run directory's name.
        path: the run directory.
        config: ``config.json`` ({} when missing or unreadable).
        metrics: ``metrics.jsonl`` as a table, one row per line.
        histograms: ``histograms.jsonl`` as a table (``edges``/``counts`` hold lists).
        summary: ``summary.json`` ({} when missing).
        model_summary: ``model_summary.json`` ({} when missing).
        snapshots: the snapshot files, oldest step first.
        warnings: one line per problem met, each naming the file.
    """

    name: str
    path: Path
    config: dict
    metrics: pd.DataFrame
    histograms: pd.DataFrame
    summary: dict
    model_summary: dict
    snapshots: tuple[Path, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """True when ``summary.json`` says the run finished."""
        return self.summary.get("complete") is True

    @property
    def layer_metrics(self) -> pd.DataFrame:
        """The per-layer rows of ``metrics`` (``layer`` set)."""
        if "layer" not in self.metrics:
            return self.metrics.iloc[0:0]
        return self.metrics[self.metrics["layer"].notna()]

    @property
    def model_metrics(self) -> pd.DataFrame:
        """The model-level rows of ``metrics`` (``layer`` null): losses and accuracies of both models."""
        if "layer" not in self.metrics:
            return self.metrics
        return self.metrics[self.metrics["layer"].isna()]


def read_jsonl(path: str | os.PathLike[str], warnings: list[str]) -> list[dict]:
    """The JSON objects of a JSON Lines file, one per line.

    A line that is not a JSON object is skipped and reported in ``warnings``;
    a cut last line (an interrupted writer) is reported as such.

    Args:
        path: the file.
        warnings: where to append the warnings.

    Returns:
        The objects in file order; [] for a missing file (with a warning).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        warnings.append(f"{path}: missing")
        return []
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            is_last = all(not rest.strip() for rest in lines[number:])
            what = "truncated last line (an interrupted run?)" if is_last else "invalid JSON"
            warnings.append(f"{path}:{number}: {what}, skipped: {error}")
            continue
        if not isinstance(row, dict):
            warnings.append(f"{path}:{number}: expected a JSON object, got {type(row).__name__}; skipped")
            continue
        rows.append(row)
    return rows


def _read_json(path: Path, warnings: list[str], required: bool = True) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            warnings.append(f"{path}: missing")
        return {}
    except ValueError as error:
        warnings.append(f"{path}: invalid JSON, ignored: {error}")
        return {}
    if not isinstance(data, dict):
        warnings.append(f"{path}: expected a JSON object, got {type(data).__name__}; ignored")
        return {}
    return data


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read one run directory.

    Args:
        path: the run directory.

    Returns:
        The :class:`Run`; whatever is missing or broken is empty and named in ``warnings``.

    Raises:
        FileNotFoundError: ``path`` is not a directory.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"run directory {path} does not exist (expected a `bncvl analyze` output directory)")
    warnings: list[str] = []
    config = _read_json(path / "config.json", warnings)
    metrics = pd.DataFrame(read_jsonl(path / "metrics.jsonl", warnings))
    if not metrics.empty and not {"step", "model"} <= set(metrics.columns):
        warnings.append(f"{path / 'metrics.jsonl'}: rows lack 'step' or 'model'; metrics ignored")
        metrics = pd.DataFrame()
    if not metrics.empty and "layer" not in metrics:
        metrics["layer"] = None
    histograms = pd.DataFrame(read_jsonl(path / "histograms.jsonl", warnings))
    summary = _read_json(path / "summary.json", warnings, required=False)
    if not summary:
        warnings.append(f"{path / 'summary.json'}: missing or empty; the run has not finished")
    model_summary = _read_json(path / "model_summary.json", warnings, required=False)
    snapshots = tuple(sorted((path / "snapshots").glob("step_*.npz")))
    return Run(path.name, path, config, metrics, histograms, summary, model_summary, snapshots, tuple(warnings))


def list_runs(runs_dir: str | os.PathLike[str]) -> list[Path]:
    """The run directories under ``runs_dir`` (those holding a ``metrics.jsonl`` or ``config.json``), by name."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    markers = ("metrics.jsonl", "config.json")
    return sorted(p for p in root.iterdir() if p.is_dir() and any((p / m).exists() for m in markers))


def runs_fingerprint(runs_dir: str | os.PathLike[str]) -> tuple[tuple[str, int, int], ...]:
    """Name, size and mtime of every file under ``runs_dir``: a cache key that changes while a run writes."""
    root = Path(runs_dir)
    if not root.is_dir():
        return ()
    entries = []
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            stat = os.stat(os.path.join(dirpath, name))
            entries.append((os.path.join(dirpath, name), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def load_runs(runs_dir: str | os.PathLike[str]) -> list[Run]:
    """Every run under ``runs_dir``, by name; [] when there is none."""
    return [load_run(path) for path in list_runs(runs_dir)]
