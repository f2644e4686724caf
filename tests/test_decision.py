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
    DEFAULT_FACTOR,
    INSTRUCTION_FACTOR,
    INSTRUCTIONS_UNIT,
    MIN_PROCESSES,
    RELATIVE_ALPHA,
    RELATIVE_FACTOR,
    RELATIVE_UNIT,
    Decision,
    Evidence,
    Outcome,
    compare_processes,
    decide,
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


def test_the_pass_is_the_catalogues_else_the_method_name() -> None:
    # A first call is the compile's cost, which no steady-state count or timing of the pass confirms.
    assert pass_of("bench_latency.FirstCall.track_first_eval_forward_seconds") is None
    assert pass_of("bench_memory.Memory.track_peak_forward_bytes") is None
    assert pass_of("bench_latency.Latency.time_backward") == "backward"
    assert pass_of("bench_old.Renamed.time_eval_forward") == "eval_forward", "a name the catalogue does not have"
    assert pass_of("bench_old.Renamed.track_forward_flops") == "forward_flops"


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


COUNTS = "bench_instructions.Instructions.track_eval_forward"


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (1000 * (INSTRUCTION_FACTOR + 0.001), Decision.WORSENED),
        (1000 * (INSTRUCTION_FACTOR - 0.001), Decision.UNCHANGED),
        (1000 / (INSTRUCTION_FACTOR + 0.001), Decision.IMPROVED),
    ],
)
def test_instruction_counts_are_decided_by_their_factor(after: float, expected: Decision) -> None:
    judgement = decide(COUNTS, INSTRUCTIONS_UNIT, Outcome(1000.0), Outcome(after))
    assert judgement.decision is expected
    assert (judgement.evidence, judgement.factor) == (Evidence.INSTRUCTIONS, INSTRUCTION_FACTOR)
    assert judgement.ratio == pytest.approx(after / 1000)


def test_relative_timings_are_decided_by_the_per_process_test() -> None:
    name = "bench_relative.RelativeCpuTime.track_eval_forward"
    worse = decide(name, RELATIVE_UNIT, Outcome(2.0, samples=BEFORE), Outcome(2.2, samples=[x * 1.1 for x in BEFORE]))
    assert (worse.decision, worse.evidence, worse.factor) == (Decision.WORSENED, Evidence.RELATIVE, RELATIVE_FACTOR)
    assert worse.how == compare_processes(BEFORE, [x * 1.1 for x in BEFORE]).describe()
    few = decide(name, RELATIVE_UNIT, Outcome(2.0, samples=[2.0, 2.1]), Outcome(9.0, samples=[9.0] * 7))
    assert (few.decision, few.ratio) == (Decision.UNDECIDED, None)
    assert few.how.startswith("too few processes")


def test_the_better_direction_decides_which_way_is_worse() -> None:
    flops = "bench_efficiency.Efficiency.track_forward_flops"
    assert decide(flops, "FLOP/s", Outcome(100.0), Outcome(50.0)).decision is Decision.WORSENED
    assert decide(flops, "FLOP/s", Outcome(100.0), Outcome(200.0)).decision is Decision.IMPROVED
    power = decide("bench_gpu.GPU.track_power", "W", Outcome(100.0), Outcome(300.0))
    assert (power.decision, power.evidence) == (Decision.INFORMATIVE, Evidence.NONE)


def test_other_benchmarks_take_the_given_factor_and_asvs_test() -> None:
    saved = "bench_memory.Memory.track_saved_activation_bytes"
    within = decide(saved, "bytes", Outcome(100.0), Outcome(109.0))
    assert (within.decision, within.factor, within.how) == (
        Decision.UNCHANGED,
        DEFAULT_FACTOR,
        "single measurement (factor only)",
    )
    assert decide(saved, "bytes", Outcome(100.0), Outcome(111.0)).decision is Decision.WORSENED
    assert decide(saved, "bytes", Outcome(100.0), Outcome(109.0), factor=1.05).decision is Decision.WORSENED
    # Samples with statistics: a 2x move that asv's test cannot tell from noise is unchanged.
    stats = {"ci_99_a": 0.0, "ci_99_b": 10.0, "q_25": 1.0, "q_75": 9.0, "repeat": 3}
    noisy = decide("x.Y.time_a", "seconds", Outcome(1.0, stats, [0.1, 1.0, 9.0]), Outcome(2.0, stats, [0.2, 2, 8]))
    assert (noisy.decision, noisy.how) == (Decision.UNCHANGED, "99% CIs overlap")


def test_a_value_that_is_not_a_measurement_is_invalid_and_a_missing_one_an_error() -> None:
    invalid = decide(COUNTS, INSTRUCTIONS_UNIT, Outcome(1000.0), Outcome(-5.0))
    assert (invalid.decision, invalid.how) == (Decision.INVALID, "head value -5 is negative, impossible for this unit")
    assert decide(COUNTS, INSTRUCTIONS_UNIT, Outcome(math.inf), Outcome(1.0)).how == "base value inf is not finite"
    with pytest.raises(ValueError, match="decide needs a value at both commits; the head's is None"):
        decide(COUNTS, INSTRUCTIONS_UNIT, Outcome(1000.0), Outcome(None))
    with pytest.raises(ValueError, match="the base's is nan"):
        decide(COUNTS, INSTRUCTIONS_UNIT, Outcome(math.nan), Outcome(1.0))


def test_timings_are_decided_as_asv_continuous_decides_them() -> None:
    """Factor and asv's test in each direction: ``asv.commands.compare._is_result_better``, both ways round."""
    from asv.commands.compare import _is_result_better
    from asv_runner.statistics import compute_stats

    def timed(center: float, spread: float, n: int, seed: int) -> Outcome:
        rng = random.Random(seed)
        samples = [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]
        value, stats = compute_stats(samples, 1)
        return Outcome(value, stats, samples)

    rng = random.Random(11)
    decisions, held_back = set(), 0
    for trial in range(100):
        shift = rng.choice([0.5, 0.9, 1.0, 1.05, 1.2, 2.0])
        sizes = rng.choice([(3, 3), (10, 10), (5, 12), (1, 1)])
        spread = rng.choice([0.05, 0.5])
        a, b = timed(1e-3, spread, sizes[0], trial), timed(1e-3 * shift, spread, sizes[1], 1000 + trial)
        factor = rng.choice([1.1, 1.6])
        worse = _is_result_better(a.value, b.value, (a.stats, a.samples), (b.stats, b.samples), factor)
        better = _is_result_better(b.value, a.value, (b.stats, b.samples), (a.stats, a.samples), factor)
        expected = Decision.WORSENED if worse else Decision.IMPROVED if better else Decision.UNCHANGED
        decision = decide("bench_latency.Latency.time_eval_forward", "seconds", a, b, factor).decision
        assert decision is expected, trial
        decisions.add(decision)
        held_back += expected is Decision.UNCHANGED and max(b.value / a.value, a.value / b.value) > factor
    assert decisions == {Decision.WORSENED, Decision.IMPROVED, Decision.UNCHANGED}, "every outcome was tried"
    assert held_back, "and a move beyond the factor that asv's test did not find significant"
