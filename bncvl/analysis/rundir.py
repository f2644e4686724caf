"""The run directory of ``bncvl analyze``, written as training goes and read back.

Layout (the dashboard reads exactly this)::

    <run>/config.json          the full configuration
    <run>/model_summary.json   per-layer model summary rows and totals
    <run>/metrics.jsonl        one JSON object per line, appended and flushed every step
    <run>/histograms.jsonl     latent-weight and margin histograms at the checkpoints
    <run>/snapshots/step_XXXXXX.npz   packed binary weights per layer at the checkpoints
    <run>/summary.json         final figures, written last, with "complete": true

JSON Lines are flushed after every step, so an interrupted run leaves every
finished step readable (at worst one truncated last line, which
:func:`read_jsonl` skips). :func:`load_run` reads a whole run for the
dashboard, tolerating interrupted and broken runs: every problem becomes a
warning that names the file. Reading needs neither torch nor pickle; torch is
imported only to pack or unpack a snapshot. Whole-file JSON is written to a temporary name and
renamed, so it is either absent or complete. Non-finite floats are written as
``null`` (missing), never as ``NaN``, which is not JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from bncvl._extras import needs_extra

if TYPE_CHECKING:
    import pandas as pd
    from torch import Tensor

__all__ = [
    "CONFIG",
    "HISTOGRAMS",
    "METRICS",
    "MODEL_SUMMARY",
    "SNAPSHOTS",
    "SUMMARY",
    "Run",
    "RunWriter",
    "list_runs",
    "load_run",
    "load_runs",
    "load_snapshot",
    "read_json",
    "read_jsonl",
    "to_json_value",
]

CONFIG = "config.json"
METRICS = "metrics.jsonl"
HISTOGRAMS = "histograms.jsonl"
SNAPSHOTS = "snapshots"
MODEL_SUMMARY = "model_summary.json"
SUMMARY = "summary.json"


def to_json_value(value: Any) -> Any:
    """``value`` with tensors and numpy scalars as Python numbers, tuples as lists, and NaN/Inf as ``None``."""
    if hasattr(value, "tolist"):  # a tensor, numpy array or numpy scalar
        return to_json_value(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(to_json_value(value), allow_nan=False, indent=indent)


def snapshot_name(step: int) -> str:
    """``step_000123.npz``."""
    return f"step_{step:06d}.npz"


class RunWriter:
    """Creates a run directory and writes into it incrementally; use as a context manager.

    Args:
        path: the run directory; it must not exist yet, or be empty.

    Raises:
        FileExistsError: if ``path`` exists and is not an empty directory.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
            raise FileExistsError(
                f"run directory {str(self.path)!r} already exists and is not empty; choose another --name"
            )
        (self.path / SNAPSHOTS).mkdir(parents=True, exist_ok=True)
        self._metrics: IO[str] = open(self.path / METRICS, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._histograms: IO[str] = open(self.path / HISTOGRAMS, "a", encoding="utf-8")  # noqa: SIM115 - as above

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._metrics.close()
        self._histograms.close()

    def write_json(self, name: str, value: Mapping[str, Any]) -> None:
        """Write ``value`` to ``<run>/<name>`` atomically (temporary file, then rename)."""
        target = self.path / name
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(_dumps(value, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, target)

    def append_metrics(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows to ``metrics.jsonl`` and flush."""
        self._append(self._metrics, rows)

    def append_histograms(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Append rows to ``histograms.jsonl`` and flush."""
        self._append(self._histograms, rows)

    @staticmethod
    def _append(stream: IO[str], rows: Iterable[Mapping[str, Any]]) -> None:
        stream.writelines(_dumps(row) + "\n" for row in rows)
        stream.flush()

    def write_snapshot(self, step: int, binary_weights: Mapping[str, Tensor]) -> Path:
        """Save ``{name: {0,1} tensor}`` packed at 1 bit per entry (:func:`bncvl.pack_bits`).

        The ``.npz`` holds, per tensor ``name`` (e.g. ``conv1.weight``), the uint8
        array ``name`` and its int64 shape ``name.shape``, plus ``step``. It loads
        with ``np.load(allow_pickle=False)``; :func:`load_snapshot` unpacks it.
        """
        from bncvl.layers.functional import pack_bits

        packed = {name: (pack_bits(bits).cpu().numpy(), tuple(bits.shape)) for name, bits in binary_weights.items()}
        return self.write_packed_snapshot(step, packed)

    def write_packed_snapshot(self, step: int, packed: Mapping[str, tuple[np.ndarray, tuple[int, ...]]]) -> Path:
        """Save ``{name: (bits packed by numpy.packbits' order, shape)}`` as :meth:`write_snapshot` does."""
        arrays: dict[str, np.ndarray] = {"step": np.asarray(step, dtype=np.int64)}
        for name, (bits, shape) in packed.items():
            arrays[name] = np.asarray(bits, dtype=np.uint8)
            arrays[f"{name}.shape"] = np.asarray(shape, dtype=np.int64)
        target = self.path / SNAPSHOTS / snapshot_name(step)
        temporary = target.with_name(target.stem + ".tmp.npz")
        np.savez(temporary, **arrays)
        os.replace(temporary, target)
        return target


def read_json(path: str | Path) -> dict[str, Any]:
    """The JSON object of one file (``config.json``, ``summary.json``, ...).

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: it is not JSON, or not an object; the message names the file.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_jsonl(path: str | os.PathLike[str], warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file, one per line; a truncated last line (an interrupted write) is skipped.

    Args:
        path: the file.
        warnings: where to report problems, for a reader that must go on (the dashboard). With it, a
            missing file reads as [] and a bad line is skipped, each with a warning naming the file;
            without it, they raise.

    Raises:
        FileNotFoundError: the file is missing (without ``warnings``).
        ValueError: a line other than the last is not a JSON object (without ``warnings``).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        if warnings is None:
            raise
        warnings.append(f"{path}: missing")
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        is_last = all(not rest.strip() for rest in lines[number:])
        try:
            row = json.loads(line)
        except ValueError as error:
            if is_last:
                if warnings is not None:
                    warnings.append(f"{path}:{number}: truncated last line (an interrupted run?), skipped: {error}")
                break
            problem = f"{path}:{number}: invalid JSON ({error}); expected one object per line"
        else:
            if isinstance(row, dict):
                rows.append(row)
                continue
            problem = f"{path}:{number}: expected a JSON object, got {type(row).__name__}"
        if warnings is None:
            raise ValueError(problem)
        warnings.append(f"{problem}; skipped")
    return rows


def load_snapshot(path: str | Path) -> dict[str, Tensor]:
    """Unpack a snapshot written by :meth:`RunWriter.write_snapshot` into ``{name: float {0,1} tensor}``."""
    import torch

    from bncvl.layers.functional import unpack_bits

    with np.load(path, allow_pickle=False) as archive:
        names = [key for key in archive.files if key != "step" and not key.endswith(".shape")]
        return {
            name: unpack_bits(torch.from_numpy(archive[name]), tuple(archive[f"{name}.shape"].tolist()))
            for name in names
        }


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


def _read_json(path: Path, warnings: list[str], required: bool = True) -> dict:
    try:
        return read_json(path)
    except FileNotFoundError:
        if required:
            warnings.append(f"{path}: missing")
        return {}
    except ValueError as error:
        warnings.append(f"{error}; ignored")
        return {}


def load_run(path: str | os.PathLike[str]) -> Run:
    """Read one run directory.

    Args:
        path: the run directory.

    Returns:
        The :class:`Run`; whatever is missing or broken is empty and named in ``warnings``.

    Raises:
        FileNotFoundError: ``path`` is not a directory.
    """
    with needs_extra("dashboard", "reading runs"):
        import pandas as pd

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"run directory {path} does not exist (expected a `bncvl analyze` output directory)")
    warnings: list[str] = []
    config = _read_json(path / CONFIG, warnings)
    metrics = pd.DataFrame(read_jsonl(path / METRICS, warnings))
    if not metrics.empty and not {"step", "model"} <= set(metrics.columns):
        warnings.append(f"{path / METRICS}: rows lack 'step' or 'model'; metrics ignored")
        metrics = pd.DataFrame()
    if not metrics.empty and "layer" not in metrics:
        metrics["layer"] = None
    histograms = pd.DataFrame(read_jsonl(path / HISTOGRAMS, warnings))
    summary = _read_json(path / SUMMARY, warnings, required=False)
    if not summary:
        warnings.append(f"{path / SUMMARY}: missing or empty; the run has not finished")
    model_summary = _read_json(path / MODEL_SUMMARY, warnings, required=False)
    snapshots = tuple(sorted((path / SNAPSHOTS).glob("step_*.npz")))
    return Run(path.name, path, config, metrics, histograms, summary, model_summary, snapshots, tuple(warnings))


def list_runs(runs_dir: str | os.PathLike[str]) -> list[Path]:
    """The run directories under ``runs_dir`` (those holding a ``metrics.jsonl`` or ``config.json``), by name."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    markers = (METRICS, CONFIG)
    return sorted(p for p in root.iterdir() if p.is_dir() and any((p / m).exists() for m in markers))


def load_runs(runs_dir: str | os.PathLike[str]) -> list[Run]:
    """Every run under ``runs_dir``, by name; [] when there is none."""
    return [load_run(path) for path in list_runs(runs_dir)]
