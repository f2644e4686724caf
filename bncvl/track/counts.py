"""Instruction counts kept between checks: code counted once is not counted again.

A count depends on the code under test, the suite that counts it and the
machine and software it runs on, not on when it ran (that is the point of
counting instructions). So ``bncvl check`` keeps each commit's counts under
a key of exactly those: the git tree of the commit's ``bncvl/`` (a commit
that changes only the README has its parent's), the suite's files, torch's
version, the Python of asv's environment, valgrind's version, the machine's
name and its CPU as the kernel reports it now (a runner's name may stay
when its CPU changes, and torch's kernels choose by the CPU), and the
combinations counted. A base counted by an earlier check is read
back in milliseconds instead of a valgrind run of about 20 s.

The counts live in asv's environments folder (:data:`COUNTS_DIR`), which a
check holds a lock on for its whole run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["COUNTS_DIR", "CountKey", "combinations", "cpu_identity", "load", "store", "suite_digest"]

COUNTS_DIR = "bncvl-counts"
"""The folder of kept counts, in asv's environments folder."""


@dataclass(frozen=True)
class CountKey:
    """Everything a commit's instruction counts depend on."""

    package_tree: str
    """``git rev-parse COMMIT:bncvl``: the hash of the package's tree at the commit."""
    suite: str
    """:func:`suite_digest` of the benchmark suite that counts."""
    torch: str
    python: str
    valgrind: str
    machine: str
    cpu: str
    """:func:`cpu_identity`."""
    combinations: tuple[tuple[str, ...], ...]

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()


def suite_digest(suite: Path) -> str:
    """A hash of every Python file of the suite folder ``suite`` (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted(suite.rglob("*.py")):
        digest.update(str(path.relative_to(suite)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cpu_identity(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """This machine's CPU: its model and a hash of its feature flags, from ``cpuinfo`` (else Python's guess)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)  # the last processor's; all are alike
    model, flags = fields.get("model name\t", "").strip(), fields.get("flags\t\t", "").split()
    return f"{model or platform.machine()} flags:{hashlib.sha256(' '.join(sorted(flags)).encode()).hexdigest()[:16]}"


def _path(folder: Path, key: CountKey) -> Path:
    return folder / COUNTS_DIR / f"{key.digest}.json"


def load(folder: Path, key: CountKey) -> dict | None:
    """The counts kept under ``key`` in the environments folder ``folder``, or None (never kept, or unreadable)."""
    try:
        entry = json.loads(_path(folder, key).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != json.loads(json.dumps(asdict(key))):
        return None
    counted = entry.get("counted")
    return counted if isinstance(counted, dict) and "counts" in counted else None


def store(folder: Path, key: CountKey, counted: dict) -> None:
    """Keep ``counted`` (``benchmarks.bench_instructions.count_selected``'s data) under ``key``; not a skip."""
    if "counts" not in counted:
        return  # valgrind was missing: nothing was counted
    path = _path(folder, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({"key": asdict(key), "counted": counted}, indent=1))
    partial.replace(path)  # a reader sees the whole entry or none


def combinations(benchmarks: Sequence[tuple[str, str, tuple[str, ...]]]) -> tuple[tuple[str, ...], ...]:
    """The sorted, distinct parameter combinations of ``benchmarks`` (``(class, method, params)``)."""
    return tuple(sorted({params for _, _, params in benchmarks}))
