"""Which way is better for each benchmark: one rule for the dashboard and ``bncvl check``.

asv treats every increase as a regression. That is right for time, bytes,
energy and error, wrong for accuracy and throughput, and meaningless for
utilisation, clocks or power, which only describe how the work ran. The
suite's catalogue (:mod:`bncvl.track.suite`, which defines
:class:`Direction`) gives the direction of each of its benchmarks; a name it
does not have (a benchmark of an old commit, or one renamed since) is
classified by keywords and unit.
"""

from __future__ import annotations

from bncvl.track.suite import Direction, lookup

__all__ = ["Direction", "direction"]


# Checked in order against the method name (the part after the last dot); the first match wins.
_NAME_RULES: tuple[tuple[str, Direction], ...] = (
    ("util", Direction.INFORMATIVE),
    ("clock", Direction.INFORMATIVE),
    ("power", Direction.INFORMATIVE),
    ("error", Direction.LOWER_IS_BETTER),
    ("gap", Direction.LOWER_IS_BETTER),
    ("dead", Direction.LOWER_IS_BETTER),
    ("energy", Direction.LOWER_IS_BETTER),
    ("accuracy", Direction.HIGHER_IS_BETTER),
    ("throughput", Direction.HIGHER_IS_BETTER),
    ("flops", Direction.HIGHER_IS_BETTER),
    ("per_s", Direction.HIGHER_IS_BETTER),
    ("bytes", Direction.LOWER_IS_BETTER),
)
_LOWER_UNITS = frozenset({"seconds", "s", "bytes", "J", "joules", "instructions", "time ratio"})
_HIGHER_UNITS = frozenset({"FLOP/s", "bytes/s", "samples/s"})


def direction(benchmark: str, unit: str | None = None) -> Direction:
    """The better direction of ``benchmark`` (an asv name such as ``bench_latency.Latency.time_eval_forward``).

    The catalogue's, for a benchmark of the suite. Otherwise ``time_``,
    ``mem_`` and ``peakmem_`` benchmarks are lower-is-better, and a ``track_``
    benchmark is classified by keywords in its method name, then by its unit;
    anything unrecognised is informative, so it is shown but never called a
    regression.
    """
    known = lookup(benchmark)
    if known is not None:
        return known.direction
    method = benchmark.rsplit(".", 1)[-1]
    if method.startswith(("time_", "mem_", "peakmem_")):
        return Direction.LOWER_IS_BETTER
    for keyword, verdict in _NAME_RULES:
        if keyword in method:
            return verdict
    if unit in _LOWER_UNITS:
        return Direction.LOWER_IS_BETTER
    if unit in _HIGHER_UNITS:
        return Direction.HIGHER_IS_BETTER
    return Direction.INFORMATIVE
