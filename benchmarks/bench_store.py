"""The results store at a small fleet's scale: each dashboard page's data, and publishing one new commit.

asv tracks, commit by commit, what ``tools/store_scale.py`` measures once at
full scale (10,000 commits × 20 machines; docs/measurements/2026-12-04-store-scale.md):
a store of 100 commits of 15 CPU-only and 5 GPU hosts, every benchmark and
parameter combination of this suite (2.0 × 10⁶ values), built in bulk by
:func:`bncvl.testing.fleet.build_store`; then

- ``time_page_data``: what each page reads from the store when it opens on
  its defaults (``dashboard.loads.PAGES``), warm (the store open);
- ``time_publish_new_commit``: one new commit of a GPU host (about 2,400 values)
  published in this process, its step detection included (the process's
  start, about 1 s of imports, is not in it).

It needs the store and dashboard extras, so it runs under ``asv run -E
existing`` (as CI does) and skips in the suite's virtualenvs, and at
commits older than the store.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
from pathlib import Path
from typing import ClassVar

COMMITS = 100
CPU_HOSTS, GPU_HOSTS = 15, 5
PAGES = ["overview", "regressions", "trends", "devices", "memory_gpu", "quantization"]
CHECKOUT = str(Path(__file__).resolve().parent.parent)


def _skip_reason() -> str | None:
    for module in ("pandas", "sqlalchemy", "streamlit", "asv"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            return f"{module} cannot be imported here ({error}); the store and dashboard extras are absent"
    for module in ("bncvl.testing.fleet", "bncvl.store.steps"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            return f"{module} cannot be imported at this commit ({error})"
    if CHECKOUT not in sys.path:  # dashboard/ and tools/ sit beside benchmarks/, which asv does not put on sys.path
        sys.path.insert(0, CHECKOUT)
    for module in ("dashboard.loads", "tools.store_scale"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            return f"{module} cannot be imported from {CHECKOUT}: {error}"
    return None


def _fleet():
    from bncvl.testing.fleet import Fleet
    from tools.store_scale import suite_catalogue

    return Fleet(suite_catalogue(False), suite_catalogue(True), CPU_HOSTS, GPU_HOSTS, COMMITS)


def store_cache(self: object) -> dict[str, str | None]:
    """The ``setup_cache`` of both classes: the store, built once (asv keys a cache by its source location)."""
    # Never None: asv then calls setup and the timings without the cache argument.
    reason = _skip_reason()
    if reason is not None:
        return {"store": None, "skip": reason}
    from bncvl.store.engine import open_store, resolve_url
    from bncvl.testing.fleet import build_store

    path = os.path.abspath("store.sqlite")
    engine = open_store(resolve_url(path, "."), write=True)
    build_store(engine, _fleet())
    engine.dispose()
    return {"store": path, "skip": None}


def _open(cache: dict[str, str | None]):
    reason = cache["skip"] or _skip_reason()
    if reason is not None:
        raise NotImplementedError(reason)
    from bncvl.store.engine import open_store, resolve_url

    return open_store(resolve_url(cache["store"], "."), write=True)


class StorePages:
    """Each page's data from a fleet's store (100 commits × 20 machines), warm.

    Clock: asv's own loop and default timer, the wall clock (``timeit.default_timer``).
    """

    params: ClassVar[list[list[str]]] = [PAGES]
    param_names: ClassVar[list[str]] = ["page"]
    timeout = 600  # setup_cache builds 1.9e6 values: about 30 s on a 2-core machine, more when busy
    setup_cache = store_cache

    def setup(self, cache: dict[str, str | None], page: str) -> None:
        self.engine = _open(cache)
        from dashboard.loads import PAGES as LOADS

        self.load = LOADS[page]

    def teardown(self, cache: dict[str, str | None], page: str) -> None:
        self.engine.dispose()

    def time_page_data(self, cache: dict[str, str | None], page: str) -> None:
        self.load(self.engine)


class StorePublish:
    """Publishing one new commit of a GPU host (about 2,400 values) into that store, step detection included.

    Clock: asv's own loop and default timer, the wall clock (``timeit.default_timer``).
    """

    timeout = 600
    setup_cache = store_cache

    def setup(self, cache: dict[str, str | None]) -> None:
        self.engine = _open(cache)
        self.plan = _fleet()
        # a commit no other process of this run publishes (100 each), dated within asv's years (before 2262)
        self.commits = itertools.count(COMMITS + 100 * (os.getpid() % 10_000))

    def teardown(self, cache: dict[str, str | None]) -> None:
        self.engine.dispose()

    def time_publish_new_commit(self, cache: dict[str, str | None]) -> None:
        from bncvl.store.publish import Publisher
        from bncvl.store.steps import redetect
        from bncvl.testing.fleet import write_result_file

        commit = next(self.commits)
        results = Path(f"new-commit-{commit}")
        write_result_file(results, self.plan, CPU_HOSTS, commit)  # the first GPU host
        publisher = Publisher(self.engine, None)
        publisher.publish_results(results, [self.plan.machines()[CPU_HOSTS][0]])
        if publisher.report.new != 1:
            raise RuntimeError(f"the new commit was not published: {publisher.report}")
        redetect(self.engine, publisher.touched)

    time_publish_new_commit.number = 1
    time_publish_new_commit.repeat = (1, 5, 60.0)
    time_publish_new_commit.warmup_time = 0.0
