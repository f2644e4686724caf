"""Which entries of an asv result file are data errors: the rules :mod:`bncvl.track.results` reads files by.

asv writes a measured value as a number, a skipped one as NaN and a failed one
as ``null``. Anything else in a value, a quartile (``stats_q_25``,
``stats_q_75``) or a raw sample is *invalid*, a data error rather than a
measurement:

- not a number: a string (even ``"0.5"``), a list, an object or a boolean;
- not finite: ``Infinity`` or ``-Infinity``;
- absurd in size: a magnitude above :data:`MAX_MAGNITUDE`, or a nonzero
  magnitude below :data:`MIN_MAGNITUDE`;
- negative where the quantity cannot be: the units of
  :data:`NONNEGATIVE_UNITS` and asv's ``time_``, ``mem_`` and ``peakmem_``
  benchmarks.

Confidence bounds (``stats_ci_99_a``/``_b``) may be infinite (asv writes
``-Infinity``/``Infinity`` for too few samples); only their type is checked.
An invalid entry spoils one point; a bad ``commit_hash``, ``env_name``,
``date`` (:func:`file_identity`) or parameter grid (:func:`parameter_grid`)
spoils the whole file.

The bounds keep every later computation finite: a ratio or product of two
valid values stays within 1e200, and asv's step detection, which loops
forever once one of its costs is NaN (:mod:`bncvl.track.changes`), stays
far from overflow. Nothing here imports pandas.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DATES_MS",
    "MAX_MAGNITUDE",
    "MIN_MAGNITUDE",
    "NONNEGATIVE_UNITS",
    "cannot_be_negative",
    "checked_numbers",
    "checked_samples",
    "file_identity",
    "invalid",
    "parameter_grid",
    "problem",
]

MAX_MAGNITUDE = 1e100
"""Largest magnitude a value may have. No quantity measured here comes near it (a byte or instruction count
is below 1e20; there are about 1e80 atoms in the observable universe), and it leaves 1e208 of headroom below
the largest float (1.8e308) for sums, ratios and asv's step-detection costs."""

MIN_MAGNITUDE = 1e-100
"""Smallest nonzero magnitude a value may have (zero itself is valid: zero dead filters, zero extra bytes).
A time of 1e-100 s is 1e-56 Planck times; below it a reciprocal (a throughput's orientation) would leave
the bound above."""

NONNEGATIVE_UNITS = frozenset(
    {"seconds", "s", "bytes", "instructions", "time ratio", "FLOP/s", "bytes/s", "samples/s"}
    | {"J", "joules", "W", "MHz", "filters"}
)
"""asv units of amounts that cannot be negative: times, sizes, counts, rates, energy, power, clocks.
``%`` and ``fraction`` are absent: an accuracy gap may be negative."""

DATES_MS = (-9_223_372_036_854, 9_223_372_036_854)
"""The commit dates (asv's milliseconds since 1970) a points table can hold: pandas' Timestamp range, int64
nanoseconds, 1677-09-21 to 2262-04-11."""

_NONNEGATIVE_METHODS = ("time_", "mem_", "peakmem_")
_FLOAT_TYPES = frozenset({float, int})
_NUMBER_TYPES = frozenset({float, int, type(None)})  # exact types: json's bool is an int subclass, not a number


def cannot_be_negative(benchmark: str, unit: str | None) -> bool:
    """Whether a negative value of ``benchmark`` (asv unit ``unit``) is impossible, hence invalid."""
    return unit in NONNEGATIVE_UNITS or benchmark.rsplit(".", 1)[-1].startswith(_NONNEGATIVE_METHODS)


def problem(entry: object, nonnegative: bool = False) -> str | None:
    """Why one recorded entry is invalid, or None when it is a valid number, NaN (skipped) or None (failed).

    >>> problem(0.5), problem(None), problem(float("nan"))
    (None, None, None)
    >>> problem("0.5")
    "'0.5' is not a number"
    >>> problem(float("inf")), problem(1e308)
    ('inf is not finite', '1e+308 is beyond ±1e+100')
    >>> problem(-0.002, nonnegative=True)
    '-0.002 is negative, impossible for this unit'
    """
    if entry is None:
        return None
    if type(entry) not in _NUMBER_TYPES:
        return f"{entry!r:.60} is not a number"
    value = float(entry)
    if value != value:
        return None
    if math.isinf(value):
        return f"{value} is not finite"
    if abs(value) > MAX_MAGNITUDE:
        return f"{value:g} is beyond ±{MAX_MAGNITUDE:g}"
    if value != 0 and abs(value) < MIN_MAGNITUDE:
        return f"{value:g} is nonzero within ±{MIN_MAGNITUDE:g} of zero"
    if nonnegative and value < 0:
        return f"{value:g} is negative, impossible for this unit"
    return None


def invalid(values: np.ndarray, nonnegative: np.ndarray | bool = False) -> np.ndarray:
    """:func:`problem` for an array of floats: True where a value is invalid (NaN is not: asv's skipped).

    Args:
        values: float values.
        nonnegative: per value (or for all), whether a negative value is impossible.
    """
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        absurd = (magnitude > MAX_MAGNITUDE) | ((magnitude < MIN_MAGNITUDE) & (magnitude != 0))
        return absurd | (np.asarray(nonnegative) & (values < 0))


def checked_numbers(column: list, label: str, blank: object, bad: dict[int, str]) -> list:
    """``column`` with every entry that is not a number (or None) replaced by ``blank``, its reason in ``bad``.

    Only the type is checked here; size and sign are checked on the float array with :func:`invalid`.

    Args:
        column: a column of values, quartiles or bounds (one entry per point).
        label: the column's name in a result file, for the reason (``result``, ``stats_q_25``...).
        blank: what replaces a bad entry.
        bad: index -> reason, updated where an index has no reason yet.
    """
    if set(map(type, column)) <= _NUMBER_TYPES:  # the common case, at C speed
        return column
    checked = list(column)
    for index, entry in enumerate(column):
        if type(entry) not in _NUMBER_TYPES:
            bad.setdefault(index, f"{label} {problem(entry)}")
            checked[index] = blank
    return checked


def checked_samples(column: list, nonnegative: bool, bad: dict[int, str]) -> list[tuple | None]:
    """The ``samples`` column as tuples (None where asv recorded none); a list holding an invalid sample
    becomes None, its reason in ``bad`` (see :func:`checked_numbers`)."""
    if column.count(None) == len(column):  # the common case: asv recorded no samples
        return column
    checked: list[tuple | None] = []
    for index, samples in enumerate(column):
        if samples is None:
            checked.append(None)
            continue
        if _plainly_valid(samples, nonnegative):
            checked.append(tuple(samples))
            continue
        reasons = [problem(s, nonnegative) for s in samples] if isinstance(samples, list) else ["is not a list"]
        reason = next((r for r in reasons if r is not None), None)
        if reason is not None:
            bad.setdefault(index, f"samples: {reason}")
            checked.append(None)
        else:
            checked.append(tuple(samples))
    return checked


def _plainly_valid(samples: object, nonnegative: bool) -> bool:
    """A quick yes for a list of floats within bounds (at C speed); False means "look at each sample".

    ``max`` and ``min`` skip a NaN after the first element and return one in first place, and a NaN fails
    every comparison, so no invalid sample can hide behind one.
    """
    if not (isinstance(samples, list) and samples and set(map(type, samples)) <= _FLOAT_TYPES):
        return False
    magnitudes = list(map(abs, samples))
    return (
        max(magnitudes) <= MAX_MAGNITUDE and min(magnitudes) >= MIN_MAGNITUDE and not (nonnegative and min(samples) < 0)
    )


def parameter_grid(value: object, name: str) -> list[list[str]]:
    """A result row's ``params`` (None: no parameters): lists of parameter values, each asv's ``repr`` string.

    Raises:
        TypeError: it is anything else (the message names benchmark ``name``).
    """
    grid = value or []
    if not (isinstance(grid, list) and all(type(v) is list and set(map(type, v)) <= {str} for v in grid)):
        raise TypeError(f"benchmark {name!r}: params: expected lists of strings (asv's repr), got {value!r:.60}")
    return grid


def file_identity(document: dict) -> tuple[str, str, int]:
    """A result file's ``commit_hash``, ``env_name`` and ``date`` (ms since 1970), each checked.

    Raises:
        KeyError: one is absent.
        ValueError: one is not what asv writes (the message names it, what was expected and what was got).
    """
    commit, env_name, date = document["commit_hash"], document["env_name"], document["date"]
    if not (isinstance(commit, str) and commit):
        raise ValueError(f"commit_hash: expected the commit's hash as a string, got {commit!r:.60}")
    if not isinstance(env_name, str):
        raise ValueError(f"env_name: expected the environment's name as a string, got {env_name!r:.60}")
    if type(date) is not int or not DATES_MS[0] <= date <= DATES_MS[1]:
        raise ValueError(
            "date: expected the commit date as integer milliseconds since 1970, between years 1677 and 2262, "
            f"got {date!r:.60}"
        )
    return commit, env_name, date
