"""What a ``bncvl check`` measures, and how: the benchmarks that ``-b`` selected, sorted by the way each is run.

asv's discovery gives every benchmark of the suite and, for ``-b``, the
parameter combinations selected (asv matches ``-b`` against
``name(param, ...)``). Three kinds run in ``bncvl check``'s own processes
(:mod:`bncvl.track.forks`), all of a commit's selection of one kind in one
process: relative timings (one process per round and commit), instruction
counts and bytes (one per commit). asv's runner runs everything else:
``time_*`` benchmarks once per round and commit, the others once per commit.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["KINDS", "Selection", "own_kind", "select"]

KINDS = {
    "bench_relative.RelativeWallTime.": "relative",
    "bench_relative.RelativeCpuTime.": "relative",
    "bench_instructions.Instructions.": "instructions",
    "bench_memory.Memory.": "memory",
}
"""The benchmarks ``bncvl check`` runs in its own processes, by the start of their asv name, and their kind."""

_TIMED = r"[^(]*\.time_"
"""Matches the asv name of a benchmark asv times (``time_*``): run once per round."""

Benchmark = tuple[str, str, tuple[str, ...]]
"""``(class, method, params)`` as the fork server takes it."""


def own_kind(name: str) -> str | None:
    """The kind (``relative``, ``instructions``, ``memory``) of the benchmark ``name`` when ``bncvl check`` runs it in
    its own processes, else None."""
    return next((kind for prefix, kind in KINDS.items() if name.startswith(prefix)), None)


@dataclass(frozen=True)
class Selection:
    """The selected benchmarks: those of each own kind, with where each value goes, and asv's others."""

    own: dict[str, list[Benchmark]] = field(default_factory=dict)
    """``{kind: [(class, method, params), ...]}``, in asv's order."""
    slots: dict[Benchmark, tuple[str, int]] = field(default_factory=dict)
    """Each own benchmark's asv name and index among its parameter combinations."""
    timeouts: dict[Benchmark, float] = field(default_factory=dict)
    timed: list[str] = field(default_factory=list)
    """asv's names of the other ``time_*`` benchmarks selected (asv runs them once per round)."""
    untimed: list[str] = field(default_factory=list)
    """asv's names of the other benchmarks selected (asv runs them once)."""

    def __bool__(self) -> bool:
        return bool(self.own or self.timed or self.untimed)


def select(benchmarks: Mapping[str, Mapping], selection: Mapping[str, list[int] | None]) -> Selection:
    """Sort asv's discovered ``benchmarks`` (name -> asv's description), with asv's ``benchmark_selection``."""
    chosen = Selection()
    for name, benchmark in benchmarks.items():
        kind = own_kind(name)
        if kind is None:
            (chosen.timed if re.match(_TIMED, name) else chosen.untimed).append(name)
            continue
        _, class_name, method = name.split(".")
        combinations = list(itertools.product(*benchmark["params"]))
        for index in selection.get(name) or range(len(combinations)):
            # asv keeps each parameter as its repr ("'reference'"); the fork server takes the values.
            params = tuple(str(ast.literal_eval(param)) for param in combinations[index])
            key = (class_name, method, params)
            chosen.own.setdefault(kind, []).append(key)
            chosen.slots[key] = (name, index)
            chosen.timeouts[key] = float(benchmark.get("timeout") or 60)
    return chosen
