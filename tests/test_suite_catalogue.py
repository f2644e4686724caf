"""The suite's catalogue (bncvl/track/suite.py) against the suite as asv discovers it.

Renaming, adding or removing a benchmark fails
:func:`test_the_catalogue_names_every_benchmark_of_the_suite_with_its_unit`
until the catalogue says so too; the other tests pin what the catalogue's
subsets select among the suite's parameter combinations.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from asv_runner.discovery import disc_benchmarks

from bncvl.track import suite
from bncvl.track.decision import Evidence, evidence_kind
from bncvl.track.selection import select
from bncvl.track.suite import CATALOGUE, Direction, Kind

SUITE = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def discovered() -> dict[str, object]:
    """asv's benchmarks of the suite by name (the suite imported once, as ``asv run`` discovers it)."""
    return {benchmark.name: benchmark for benchmark in disc_benchmarks(str(SUITE))}


@pytest.fixture(scope="module")
def combinations(discovered: dict[str, object]) -> list[str]:
    """Every ``name(param, ...)`` asv matches ``-b`` against (the bare name for an unparametrized benchmark)."""
    names = []
    for name, benchmark in discovered.items():
        if benchmark.params:
            names += [f"{name}({', '.join(combo)})" for combo in itertools.product(*benchmark.params)]
        else:
            names.append(name)
    return names


def selected(pattern: str, combinations: list[str]) -> set[str]:
    return {name for name in combinations if re.search(pattern, name)}


def test_the_catalogue_names_every_benchmark_of_the_suite_with_its_unit(discovered: dict[str, object]) -> None:
    catalogued = {benchmark.name: benchmark.unit for benchmark in CATALOGUE}
    assert len(catalogued) == len(CATALOGUE), "a name is catalogued twice"
    assert sorted(set(discovered) - set(catalogued)) == [], "benchmarks of the suite missing from bncvl/track/suite.py"
    assert sorted(set(catalogued) - set(discovered)) == [], "catalogued benchmarks the suite does not have"
    assert {name: benchmark.unit for name, benchmark in discovered.items()} == catalogued


def test_every_benchmark_keeps_the_asv_version_its_history_was_recorded_under(discovered: dict[str, object]) -> None:
    changed = {
        name: benchmark.version[:12]  # type: ignore[attr-defined]
        for name, benchmark in discovered.items()
        if suite.VERSIONS.get(name) != benchmark.version[:12]  # type: ignore[attr-defined]
    }
    assert not changed, (
        f"asv would hide the earlier results of {sorted(changed)}: their versions are now {changed}, "
        "not those in bncvl/track/suite.py's VERSIONS (see its docstring)"
    )
    assert set(suite.VERSIONS) == set(discovered)


def test_kinds_agree_with_units_directions_and_the_decisions_evidence() -> None:
    evidence = {Kind.INSTRUCTIONS: Evidence.INSTRUCTIONS, Kind.RELATIVE: Evidence.RELATIVE}
    units = {Kind.INSTRUCTIONS: "instructions", Kind.RELATIVE: "time ratio", Kind.BYTES: "bytes"}
    units[Kind.ABSOLUTE_TIME] = "seconds"
    for benchmark in CATALOGUE:
        assert evidence_kind(benchmark.unit) is evidence.get(benchmark.kind, Evidence.NONE), benchmark.name
        assert units.get(benchmark.kind, benchmark.unit) == benchmark.unit, benchmark.name
        assert (benchmark.kind is Kind.INFORMATIVE) == (benchmark.direction is Direction.INFORMATIVE), benchmark.name
        if benchmark.kind in evidence:
            assert benchmark.layer_pass in ("eval_forward", "train_step"), f"{benchmark.name} is evidence of a pass"
    measured = {benchmark.layer_pass for benchmark in CATALOGUE if benchmark.kind in evidence}
    passes = {benchmark.layer_pass for benchmark in CATALOGUE} - {None}
    assert measured <= passes


def test_lookup_ignores_parameters_and_knows_no_other_name() -> None:
    entry = suite.lookup("bench_relative.RelativeCpuTime.track_eval_forward('fast', 'tiny', 'cpu', 'float32')")
    assert entry is not None and entry.kind is Kind.RELATIVE
    assert suite.lookup("bench_quantization.Quantization.track_test_error") is None, "an older class name"


def test_in_class_lists_a_class_in_order_and_names_an_unknown_one() -> None:
    assert suite.in_class("bench_memory.WeightStorage") == (
        "bench_memory.WeightStorage.track_float_weight_bytes",
        "bench_memory.WeightStorage.track_packed_weight_bytes",
    )
    with pytest.raises(ValueError, match=r"no benchmark class 'bench_memory\.Storage'; it has .*bench_memory\.Memory"):
        suite.in_class("bench_memory.Storage")


def test_the_headline_is_a_catalogued_latency() -> None:
    entry = suite.lookup(suite.HEADLINE)
    assert entry is not None and entry.kind is Kind.ABSOLUTE_TIME


def test_the_trends_openings_are_catalogued_relative_timing_counts_and_latency() -> None:
    kinds = [suite.lookup(name).kind for name in suite.TREND_OPENINGS]
    assert kinds == [Kind.RELATIVE, Kind.INSTRUCTIONS, Kind.ABSOLUTE_TIME]


def test_the_checks_default_subset_is_its_evidence_and_bytes_of_two_variants(combinations: list[str]) -> None:
    names = [
        "bench_instructions.Instructions.track_eval_forward",
        "bench_instructions.Instructions.track_train_step",
        "bench_relative.RelativeWallTime.track_eval_forward",
        "bench_relative.RelativeWallTime.track_train_step",
        "bench_relative.RelativeCpuTime.track_eval_forward",
        "bench_relative.RelativeCpuTime.track_train_step",
        "bench_memory.Memory.track_saved_activation_bytes",
        "bench_memory.Memory.track_peak_forward_bytes",
    ]
    expected = {f"{name}('{variant}', 'tiny', 'cpu', 'float32')" for name in names for variant in ("reference", "fast")}
    assert selected(suite.CHECK_BENCHMARKS, combinations) == expected


def test_the_main_jobs_default_subset_is_the_quick_one_with_storage_and_quantization(
    combinations: list[str],
) -> None:
    from benchmarks.common import QUICK_REGEX

    assert suite.QUICK_COMBINATION == QUICK_REGEX
    chosen = [selected(pattern, combinations) for pattern in suite.MAIN_JOB_BENCHMARKS]
    assert all(chosen), "each pattern selects benchmarks of the suite, or a dashboard page stays empty"
    quick = {name for name in combinations if "('" in name and name.endswith("'tiny', 'cpu', 'float32')")}
    storage = {name for name in combinations if name.startswith("bench_memory.WeightStorage.")}
    quantization = set(suite.in_class("bench_quantization.QuantizationTraining"))
    assert set().union(*chosen) == quick | storage | quantization


def test_time_benchmarks_and_relative_timings_run_once_per_round(combinations: list[str]) -> None:
    expected = {
        *suite.in_class("bench_latency.Latency"),
        *suite.in_class("bench_dashboard.DashboardLoad"),
        *suite.in_class("bench_store.StorePages"),
        *suite.in_class("bench_store.StorePublish"),
        *suite.in_class("bench_relative.RelativeWallTime"),
        *suite.in_class("bench_relative.RelativeCpuTime"),
    }
    assert {b.name for b in CATALOGUE if b.per_round} == expected
    # what bncvl check runs once per round and commit: its own relative timings, and asv's time_ benchmarks
    chosen = select({b.name: {"params": []} for b in CATALOGUE}, {})
    relative = {chosen.slots[key][0] for key in chosen.own["relative"]}
    assert relative | set(chosen.timed) == expected


def test_the_commands_take_their_subsets_from_the_catalogue() -> None:
    from bncvl.commands import check, pipeline

    assert check.QUICK_BENCHMARKS is suite.CHECK_BENCHMARKS
    assert pipeline.DEFAULT_BENCHMARKS is suite.MAIN_JOB_BENCHMARKS
