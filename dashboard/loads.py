"""What each dashboard page reads from the results store, as plain functions (no Streamlit).

Every page asks the store only for what it shows: the small tables whole
(machines, commits, the health counts, the catalogue of series, the stored
steps, the reader's warnings), and values filtered in SQL by benchmark and by
a window of the newest commits (:data:`WINDOW`), never every value: a fleet's
store holds 10⁸. :mod:`dashboard.data` caches these per store state;
:data:`PAGES` lists what a page reads when it opens on its defaults, for
``tools/store_scale.py`` and ``benchmarks/bench_store.py`` to time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from bncvl.store.engine import describe
from bncvl.store.query import (
    load_benchmarks,
    load_broken,
    load_catalogue,
    load_changes,
    load_coverage,
    load_health,
    load_machines,
    load_points,
    load_problems,
)
from bncvl.track import suite
from bncvl.track.trends import trend_choices

__all__ = [
    "DEFAULT_BENCHMARK",
    "GPU",
    "MEMORY",
    "MEMORY_WINDOW",
    "PAGES",
    "QUANTIZATION_PREFIX",
    "STORAGE",
    "WINDOW",
    "WINDOWS",
    "StoreSummary",
    "memory_points",
    "quantization_points",
    "summary",
]

DEFAULT_BENCHMARK = suite.HEADLINE
WINDOW = 50
"""Newest commits of the store that Trends (by default), Devices and Quantization read."""
WINDOWS = (20, 50, 200, 1000)
"""The windows Trends offers: one benchmark over 1,000 commits of 20 machines is 1.4 × 10⁶ values, seconds."""
MEMORY_WINDOW = 10
"""Newest commits Memory & GPU reads: ten benchmarks, so a shorter window for the same cost (bytes rarely move)."""
MEMORY = suite.in_class("bench_memory.Memory")
STORAGE = suite.in_class("bench_memory.WeightStorage")
GPU = suite.in_class("bench_gpu.GPU")
QUANTIZATION_PREFIX = "bench_quantization."


@dataclass(frozen=True)
class StoreSummary:
    """The store's small tables, which every page reads first; or why the store cannot be read.

    Attributes:
        where: the store's URL as it may be shown (without a password).
        error: why it cannot be read (one line), or None.
        machines, coverage, health: :func:`bncvl.store.query.load_machines`, ``load_coverage``, ``load_health``.
        catalogue: every series (:func:`bncvl.store.query.load_catalogue`).
        benchmarks: each benchmark's ``benchmarks.json`` entry.
        problems: the reader's warnings when the files were published.
    """

    where: str
    error: str | None = None
    machines: pd.DataFrame = field(default_factory=pd.DataFrame)
    coverage: dict = field(default_factory=dict)
    health: pd.DataFrame = field(default_factory=pd.DataFrame)
    catalogue: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["benchmark"]))
    benchmarks: dict[str, dict] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the store holds no value (or cannot be read)."""
        return self.error is not None or self.health.empty or int(self.health["values"].sum()) == 0

    def benchmark_names(self, prefix: str = "", layered: bool = False) -> list[str]:
        """The benchmarks with values in the store, sorted; those starting with ``prefix``; with a ``variant``."""
        rows = self.catalogue[self.catalogue["variant"].notna()] if layered else self.catalogue
        return sorted(name for name in rows["benchmark"].unique() if name.startswith(prefix))


def summary(engine: sa.Engine) -> StoreSummary:
    """The store's small tables, in one transaction (so they agree with each other)."""
    with engine.connect() as connection:
        return StoreSummary(
            describe(engine.url),
            machines=load_machines(connection),
            coverage=load_coverage(connection),
            health=load_health(connection),
            catalogue=load_catalogue(connection),
            benchmarks=load_benchmarks(connection),
            problems=tuple(load_problems(connection)),
        )


def memory_points(engine: sa.Engine, last: int = MEMORY_WINDOW) -> pd.DataFrame:
    """Memory & GPU's values: the memory, weight-storage and GPU benchmarks over the newest ``last`` commits,
    skipped values left out (the page draws measured values and says when there are none)."""
    return load_points(engine, benchmarks=[*MEMORY, *STORAGE, *GPU], last=last, statuses=["ok", "failed", "invalid"])


def quantization_points(engine: sa.Engine, names: list[str], last: int = WINDOW) -> pd.DataFrame:
    """The quantization track benchmarks ``names`` over the newest ``last`` commits."""
    if not names:
        return load_points(engine, benchmarks=[])
    return load_points(engine, benchmarks=names, last=last)


def _trends(engine: sa.Engine) -> None:
    catalogue = summary(engine).catalogue
    if not catalogue.empty:
        load_points(engine, benchmarks=[trend_choices(catalogue).benchmark], last=WINDOW)
    load_changes(engine)


def _devices(engine: sa.Engine) -> None:
    summary(engine)
    load_points(engine, benchmarks=DEFAULT_BENCHMARK, last=WINDOW)


def _quantization(engine: sa.Engine) -> None:
    quantization_points(engine, summary(engine).benchmark_names(QUANTIZATION_PREFIX))


PAGES: dict[str, Callable[[sa.Engine], object]] = {
    "overview": lambda engine: (summary(engine), load_broken(engine), load_changes(engine)),
    "regressions": lambda engine: (summary(engine), load_changes(engine)),
    "trends": _trends,
    "devices": _devices,
    "memory_gpu": lambda engine: (summary(engine), memory_points(engine)),
    "quantization": _quantization,
}
"""Per page, what it reads from the store when it opens on its defaults (the analysis runs come from files)."""
