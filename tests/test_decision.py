"""The shared decision: the per-process test, evidence kinds and pass names (synthetic samples only)."""

from __future__ import annotations

import itertools
import math
import random
import re
from pathlib import Path

import pytest

from bncvl.track import decision
from bncvl.track.decision import (
    INSTRUCTIONS_UNIT,
    MIN_PROCESSES,
    RELATIVE_ALPHA,
    RELATIVE_FACTOR,
    RELATIVE_UNIT,
    Evidence,
    compare_processes,
    evidence_kind,
    mann_whitney_greater,
    pass_of,
)


def brute_force_p(before: list[float], after: list[float]) -> float:
    """P(U >= observed) by enumerating every assignment of the pooled values to the two groups."""

    def u(b: list[float], a: list[float]) -> float:
        return sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)

    pooled = before + after
    observed = u(before, after)
    splits = list(itertools.combinations(range(len(pooled)), len(after)))
    hits = 0
    for chosen in splits:
        a = [pooled[i] for i in chosen]
        b = [pooled[i] for i in range(len(pooled)) if i not in chosen]
        hits += u(b, a) >= observed - 1e-9
    return hits / len(splits)


@pytest.mark.parametrize("sizes", [(5, 5), (3, 6), (7, 4), (1, 5)])
def test_mann_whitney_matches_enumeration_without_ties(sizes: tuple[int, int]) -> None:
    rng = random.Random(sum(sizes))
    for _ in range(5):
        before = [rng.random() for _ in range(sizes[0])]
        after = [rng.random() + 0.3 for _ in range(sizes[1])]
        assert mann_whitney_greater(before, after) == pytest.approx(brute_force_p(before, after))


def test_mann_whitney_extremes() -> None:
    assert mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1 / math.comb(10, 5))
    assert mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == 1.0
    with pytest.raises(ValueError, match="both samples need at least one value; got 0 and 2"):
        mann_whitney_greater([], [1.0, 2.0])


def test_ties_count_half_and_never_make_identical_samples_significant() -> None:
    assert mann_whitney_greater([1.0] * 5, [1.0] * 5) >= 0.5
    assert not compare_processes([2.0] * 7, [2.0] * 7).worse


BEFORE = [2.00, 2.02, 1.98, 2.01, 1.99, 2.03, 1.97]
"""Seven per-process values of one commit: the check's default number of processes."""


def test_a_shift_beyond_the_factor_in_every_process_is_worse() -> None:
    after = [x * 1.10 for x in BEFORE]
    test = compare_processes(BEFORE, after)
    assert test.ratio == pytest.approx(1.10)
    assert test.worse and not test.better
    assert test.describe() == "p=0.00029 (one-sided Mann-Whitney U on per-process values, 7+7 processes)"
    assert compare_processes(after, BEFORE).better


def test_one_pair_out_of_order_is_still_significant_two_are_not() -> None:
    after = sorted(x * 1.10 for x in BEFORE)
    base = sorted(BEFORE)
    one = [base[-1] * 0.999 if i == 0 else x for i, x in enumerate(after)]  # the head's fastest below one base
    assert mann_whitney_greater(base, one) == pytest.approx(2 / math.comb(14, 7))
    assert compare_processes(base, one).worse
    two = [base[-2] * 0.999 if i == 0 else x for i, x in enumerate(after)]  # below two base values
    assert not compare_processes(base, two).worse


def test_a_significant_shift_within_the_factor_is_not_worse() -> None:
    before = [2.00, 2.001, 2.002, 2.003, 2.004, 2.005, 2.006]
    after = [x * (RELATIVE_FACTOR - 0.005) for x in before]
    test = compare_processes(before, after)
    assert test.p_worse < 0.001, "every process moved"
    assert not test.worse, "but by less than the factor"


def test_one_outlier_process_does_not_make_a_regression() -> None:
    after = [*BEFORE[:-1], 4.00]  # one process on a loaded core
    assert not compare_processes(BEFORE, after).worse


def test_too_few_processes_decide_nothing() -> None:
    test = compare_processes([1.0, 1.0], [2.0] * 7)
    assert not test.enough and not test.worse
    assert test.describe() == f"too few processes (2+7 processes; {MIN_PROCESSES} each needed)"
    # With one process fewer than the minimum, even a complete separation cannot reach the level.
    assert mann_whitney_greater([1.0] * 6, [2.0] * 6) > RELATIVE_ALPHA


def test_skipped_processes_are_left_out_and_none_at_all_is_an_error() -> None:
    test = compare_processes([1.0, math.nan, *[1.0] * 6], [1.5] * 7)
    assert test.before == (1.0,) * 7 and test.worse
    with pytest.raises(ValueError, match="per-process values needed on both sides; got 0 before and 5 after"):
        compare_processes([math.nan], [1.0] * 5)


def test_evidence_kinds_and_passes() -> None:
    assert evidence_kind(INSTRUCTIONS_UNIT) is Evidence.INSTRUCTIONS
    assert evidence_kind(RELATIVE_UNIT) is Evidence.RELATIVE
    assert evidence_kind("seconds") is Evidence.NONE and evidence_kind(None) is Evidence.NONE
    assert pass_of("bench_latency.Latency.time_eval_forward") == "eval_forward"
    assert pass_of("bench_relative.RelativeWallTime.track_train_step") == "train_step"
    assert pass_of("bench_efficiency.Efficiency.track_forward_flops") == "eval_forward"
    assert pass_of("bench_memory.Memory.peakmem_forward") is None


FACTOR_LITERALS = {
    "INSTRUCTION_FACTOR": r"1\.015",
    "RELATIVE_FACTOR": r"1\.02",
    "RELATIVE_ALPHA": r"0\.001",
    "DEFAULT_FACTOR": r"1\.10?",
    "ABSOLUTE_TIME_FACTOR": r"1\.6",
    "P_THRESHOLD": r"0\.002",
}
"""How each factor and significance level of the rule would be written out (a negative number is never one)."""


def test_every_factor_is_written_out_in_the_decision_module_only() -> None:
    """The rule's numbers live in bncvl/track/decision.py; everything else (help, report, docstrings) names them.

    ``bncvl/testing`` is left out: its synthetic results are data whose values may coincide with a factor."""
    root = Path(__file__).resolve().parent.parent
    sources = [
        path
        for package in ("bncvl", "dashboard")
        for path in sorted((root / package).rglob("*.py"))
        if "testing" not in path.relative_to(root).parts
    ]
    found: dict[str, set[str]] = {}
    for name, literal in FACTOR_LITERALS.items():
        pattern = re.compile(rf"(?<![\w.\-]){literal}(?![\d])")
        found[name] = {str(path.relative_to(root)) for path in sources if pattern.search(path.read_text())}
    assert found == {name: {"bncvl/track/decision.py"} for name in FACTOR_LITERALS}
    for name in FACTOR_LITERALS:
        assert re.search(rf"(?<![\w.\-]){FACTOR_LITERALS[name]}(?![\d])", repr(getattr(decision, name)))
