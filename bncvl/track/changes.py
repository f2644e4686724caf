"""Which of asv's steps are real: the history's side of :mod:`bncvl.track.decision`.

asv's step detection finds a step wherever a series moves by more than its
threshold, and absolute times on a shared runner move by tens of percent
between two runs of the same code. :func:`confirm_changes` keeps a step as a
``regression`` (or ``improvement``) only when the evidence at the same two
commits, same machine and same parameters supports it:

- an instruction-count series (its own, or that of the same pass) changed by
  more than :data:`bncvl.track.decision.INSTRUCTION_FACTOR`;
- a relative-timing series (its own, or of the same pass, either clock)
  passes the per-process test (:class:`bncvl.track.decision.ProcessTest`);
- bytes are exact counts: a step in them needs no other support.

A step the evidence contradicts is ``within noise``. A step with no evidence
at those commits, or too few processes to test, is ``unconfirmed`` (low
confidence): shown, never called a regression.
"""

from __future__ import annotations

import pandas as pd

from bncvl.track.decision import INSTRUCTION_FACTOR, Evidence, compare_processes, evidence_kind, pass_of

__all__ = ["CONFIRMED_KINDS", "UNCONFIRMED", "WITHIN_NOISE", "confirm_changes"]

WITHIN_NOISE = "within noise"
UNCONFIRMED = "unconfirmed"
CONFIRMED_KINDS = ("regression", "improvement")
_EXACT_UNITS = frozenset({"bytes"})
_SERIES_KEYS = ["machine", "env_name", "variant", "preset", "device", "dtype"]


def _evidence_table(points: pd.DataFrame) -> pd.DataFrame:
    """The successful points of instruction-count and relative-timing benchmarks, with their pass and kind."""
    units = points["unit"].astype(object)
    kinds = units.map(lambda unit: evidence_kind(None if pd.isna(unit) else str(unit)))
    table = points[(kinds != Evidence.NONE) & (points["status"] == "ok")].copy()
    table["evidence"] = kinds[table.index]
    table["pass"] = table["benchmark"].astype(str).map(pass_of)
    return table


def _verdict(rows: pd.DataFrame, before: str, after: str, worse: bool) -> tuple[bool | None, str]:
    """Whether one evidence series supports the step ``before`` -> ``after`` (None: cannot tell), and why."""
    at = {commit: rows[rows["commit_hash"] == commit] for commit in (before, after)}
    if at[before].empty or at[after].empty:
        return None, ""
    first, last = at[before].iloc[0], at[after].iloc[0]
    name = str(first["benchmark"]).split(".", 1)[-1]
    if first["evidence"] is Evidence.INSTRUCTIONS:
        ratio = last["value"] / first["value"]
        supported = bool(ratio > INSTRUCTION_FACTOR if worse else 1 / ratio > INSTRUCTION_FACTOR)
        return supported, f"{name} x{ratio:.3f}"
    samples_before = first["samples"] if first["samples"] is not None else (first["value"],)
    samples_after = last["samples"] if last["samples"] is not None else (last["value"],)
    test = compare_processes(samples_before, samples_after)
    if not test.enough:
        return None, f"{name}: {test.describe()}"
    return (test.worse if worse else test.better), f"{name} x{test.ratio:.3f}, {test.describe()}"


def confirm_changes(changes: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """``changes`` (from :func:`bncvl.track.results.find_changes`) with each step's ``kind`` checked against evidence.

    Args:
        changes: one row per step, ``kind`` as asv's step detection sees it.
        points: the points the steps were found in (:attr:`bncvl.track.results.ResultsSet.points`).

    Returns:
        A copy with ``kind`` kept for a supported step, else :data:`WITHIN_NOISE`
        or :data:`UNCONFIRMED`, and an ``evidence`` column saying why.
    """
    out = changes.copy()
    out["evidence"] = pd.Series([""] * len(out), index=out.index, dtype=object)
    if out.empty:
        return out
    evidence = _evidence_table(points)
    groups = {key: rows for key, rows in evidence.groupby([*_SERIES_KEYS, "pass"], observed=True, dropna=False)}
    for index, step in out.iterrows():
        if step["kind"] not in CONFIRMED_KINDS:
            continue
        if step["unit"] in _EXACT_UNITS:
            out.at[index, "evidence"] = "exact count"
            continue
        key = (*(step.get(k) for k in _SERIES_KEYS), pass_of(str(step["benchmark"])))
        rows = groups.get(key)
        own_kind = evidence_kind(None if pd.isna(step["unit"]) else str(step["unit"]))
        if own_kind is not Evidence.NONE and rows is not None:
            rows = rows[rows["benchmark"] == step["benchmark"]]  # a measurement of evidence is its own evidence
        verdicts = []
        if rows is not None:
            for _, series in rows.groupby("benchmark", observed=True):
                verdicts.append(
                    _verdict(series, step["commit_before"], step["commit_after"], step["kind"] == "regression")
                )
        reasons = "; ".join(reason for _, reason in verdicts if reason)
        if any(supported for supported, _ in verdicts):
            out.at[index, "evidence"] = "; ".join(reason for supported, reason in verdicts if supported)
        elif any(supported is False for supported, _ in verdicts):
            out.at[index, "kind"] = WITHIN_NOISE
            out.at[index, "evidence"] = reasons
        else:
            out.at[index, "kind"] = UNCONFIRMED
            out.at[index, "evidence"] = reasons or "no instruction count or relative timing at these commits"
    return out
