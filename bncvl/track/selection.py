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

from bncvl.track import suite

__all__ = ["Selection", "own_kind", "select"]

_OWN_KINDS = {suite.Kind.RELATIVE: "relative", suite.Kind.INSTRUCTIONS: "instructions"}
"""The catalogue's kinds that ``bncvl check`` runs in its own processes, and its name for each."""
_MEMORY = frozenset(suite.in_class("bench_memory.Memory"))
"""The byte counts ``bncvl check`` runs in its own processes (not the weight storage's, which asv runs)."""

_TIMED = r"[^(]*\.time_"
"""Matches the asv name of a benchmark asv times (``time_*``), for a name the catalogue lacks (an older suite's):
run once per round, as the catalogue's :attr:`~bncvl.track.suite.Benchmark.per_round` says of its own."""

Benchmark = tuple[str, str, tuple[str, ...]]
"""``(class, method, params)`` as the fork server takes it."""


def own_kind(name: str) -> str | None:
    """The kind (``relative``, ``instructions``, ``memory``) of the benchmark ``name`` (its catalogue entry) when
    ``bncvl check`` runs it in its own processes, else None."""
    benchmark = suite.lookup(name)
    if benchmark is None:
        return None
    return "memory" if benchmark.name in _MEMORY else _OWN_KINDS.get(benchmark.kind)


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
            benchmark_entry = suite.lookup(name)
            per_round = benchmark_entry.per_round if benchmark_entry else bool(re.match(_TIMED, name))
            (chosen.timed if per_round else chosen.untimed).append(name)
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
