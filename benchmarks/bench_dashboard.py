"""How fast asv's result files are read: a cold load of 1,000 of them.

The dashboard reads the results store (its pages' data: ``bench_store.py``);
``bncvl publish`` reads each result file with :func:`bncvl.track.results.load_result_file`,
the reader of :func:`bncvl.track.results.load_results`, timed here on a whole
directory. Goal (issue 5): under 3 s on a 2-core machine.

The set is synthetic (:func:`bncvl.testing.results.write_results_set`): 4 machines
× 250 commits, each file holding the suite's benchmark names over a
4-variant, 2-preset, 2-device, 1-dtype grid (233 values, about 25 kB). A
file of the full grid (8 variants, 3 presets, 2 devices, 3 dtypes) is about
six times larger and reads about six times slower: JSON parsing dominates.

It needs the dashboard extra (pandas, asv) in the environment, so it runs
under ``asv run -E existing`` (as CI does) and skips in the suite's
virtualenvs, which install only torch and numpy; it also skips at commits
older than the reader.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from benchmarks.common import bncvl_module

MACHINES = ("ci-cpu", "lab-h100", "lab-a100", "lab-l4")
COMMITS = 250


def _skip_reason() -> str | None:
    for module in ("pandas", "asv"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            return f"{module} cannot be imported here ({error}); the dashboard extra is absent"
    for module in ("results", "synthetic"):
        try:
            bncvl_module(module)
        except ImportError as error:
            return f"bncvl's {module} module cannot be imported at this commit ({error})"
    return None


class DashboardLoad:
    """Loading 1,000 result files (4 machines × 250 commits).

    Clock: asv's own loop and default timer, the wall clock (``timeit.default_timer``).
    """

    timeout = 600  # setup_cache writes the set through asv's writers: about 10 s on a 2-core machine, more when busy

    def setup_cache(self) -> dict[str, str | None]:
        # Never None: asv then calls setup and the timings without the cache argument.
        reason = _skip_reason()
        if reason is not None:
            return {"root": None, "skip": reason}
        write_results_set = bncvl_module("synthetic").write_results_set

        root = os.path.abspath("results")
        write_results_set(root, commits=COMMITS, machines=MACHINES)
        return {"root": root, "skip": None}

    def setup(self, cache: dict[str, str | None]) -> None:
        reason = cache["skip"] or _skip_reason()
        if reason is not None:
            raise NotImplementedError(reason)
        root = self.root = cache["root"]
        files = sum(1 for path in Path(root).glob("*/*-*.json"))
        if files != len(MACHINES) * COMMITS:
            raise RuntimeError(f"expected {len(MACHINES) * COMMITS} result files in {root}, found {files}")
        self.load_results = bncvl_module("results").load_results

    def time_cold_load(self, cache: dict[str, str | None]) -> None:
        self.load_results(self.root)

    time_cold_load.number = 1  # one load is seconds: no inner loop, no warm-up
    time_cold_load.repeat = (3, 10, 60.0)
    time_cold_load.warmup_time = 0.0
