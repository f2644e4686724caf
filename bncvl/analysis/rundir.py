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
:func:`read_jsonl` skips). Whole-file JSON is written to a temporary name and
renamed, so it is either absent or complete. Non-finite floats are written as
``null`` (missing), never as ``NaN``, which is not JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import torch
from torch import Tensor

from bncvl.quantize import pack_bits, unpack_bits

__all__ = [
    "CONFIG",
    "HISTOGRAMS",
    "METRICS",
    "MODEL_SUMMARY",
    "SNAPSHOTS",
    "SUMMARY",
    "RunWriter",
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
    if isinstance(value, Tensor | np.ndarray):
        return to_json_value(value.tolist())
    if isinstance(value, np.generic):
        return to_json_value(value.item())
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
        arrays: dict[str, np.ndarray] = {"step": np.asarray(step, dtype=np.int64)}
        for name, bits in binary_weights.items():
            arrays[name] = pack_bits(bits).cpu().numpy()
            arrays[f"{name}.shape"] = np.asarray(tuple(bits.shape), dtype=np.int64)
        target = self.path / SNAPSHOTS / snapshot_name(step)
        temporary = target.with_name(target.stem + ".tmp.npz")
        np.savez(temporary, **arrays)
        os.replace(temporary, target)
        return target


def read_json(path: str | Path) -> dict[str, Any]:
    """Parse one JSON file (``config.json``, ``summary.json``, ...)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file; a truncated last line (an interrupted write) is skipped.

    Raises:
        ValueError: if a line other than the last is not valid JSON.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise ValueError(
                f"{path}: line {number} is not valid JSON ({error}); expected one object per line"
            ) from error
    return rows


def load_snapshot(path: str | Path) -> dict[str, Tensor]:
    """Unpack a snapshot written by :meth:`RunWriter.write_snapshot` into ``{name: float {0,1} tensor}``."""
    with np.load(path, allow_pickle=False) as archive:
        names = [key for key in archive.files if key != "step" and not key.endswith(".shape")]
        return {
            name: unpack_bits(torch.from_numpy(archive[name]), tuple(archive[f"{name}.shape"].tolist()))
            for name in names
        }
