"""``bncvl check``'s decision and report on synthetic asv results, and its usage errors.

The end-to-end proofs on real git repositories are in ``test_check_e2e.py``.
"""

from __future__ import annotations

import math
import random
import re
import subprocess
from pathlib import Path

import pytest
from asv import _stats
from asv_runner.statistics import compute_stats

from bncvl.cli import main as cli_main
from bncvl.track.directions import Direction
from bncvl.track.report import render_markdown
from bncvl.track.verdict import Outcome, Status, compare, parse_factor_rule, significance

LATENCY = "bench_latency.Latency.time_eval_forward"
SAVED = "bench_memory.Memory.track_saved_activation_bytes"
FLOPS = "bench_efficiency.Efficiency.track_forward_flops"
UTIL = "bench_gpu.GPU.track_gpu_utilization"
PARAMS = "('reference', 'tiny', 'cpu', 'float32')"
UNITS = {LATENCY: "seconds", SAVED: "bytes", FLOPS: "FLOP/s", UTIL: "%"}
BASE, HEAD = "a" * 40, "b" * 40


def timed(center: float, spread: float = 0.02, n: int = 10, seed: int = 0) -> Outcome:
    """An asv time_ outcome: ``n`` samples around ``center`` (relative ``spread``), with asv's own statistics."""
    rng = random.Random(seed)
    samples = [center * (1 + rng.uniform(-spread, spread)) for _ in range(n)]
    value, stats = compute_stats(samples, 1)
    return Outcome(value, stats, samples, version="v1")


def single(value: float | None) -> Outcome:
    """A track_ outcome: one value, no statistics."""
    return Outcome(value, None, None, version="v1")


def judge_one(name: str, before: Outcome, after: Outcome, **kwargs: object) -> Status:
    comparison = compare(BASE, HEAD, {name: before}, {name: after}, UNITS, **kwargs)
    (change,) = comparison.changes
    return change.status


def test_a_clear_slowdown_is_a_regression_with_its_figures() -> None:
    name = f"{LATENCY}{PARAMS}"
    comparison = compare(BASE, HEAD, {name: timed(1e-4)}, {name: timed(2e-4, seed=1)}, UNITS)
    (change,) = comparison.worsened
    assert change.name == name
    assert change.ratio == pytest.approx(2.0, rel=0.05)
    assert change.significance.startswith("p=")
    assert "Mann-Whitney U, 10+10 samples" in change.significance
    assert comparison.exit_code == 1


def test_the_same_distribution_is_no_regression() -> None:
    assert judge_one(LATENCY, timed(1e-4, seed=1), timed(1e-4, seed=2)) is Status.UNCHANGED


def test_a_significant_change_below_the_factor_is_not_reported() -> None:
    before, after = timed(1e-4, spread=0.01, seed=1), timed(1.05e-4, spread=0.01, seed=2)
    assert significance(before, after)[0] is True
    assert judge_one(LATENCY, before, after) is Status.UNCHANGED
    assert judge_one(LATENCY, before, after, factor=1.03) is Status.UNCHANGED, "--factor is not an absolute time's"
    assert judge_one(LATENCY, before, after, factor_rules=[parse_factor_rule("time_=1.03")]) is Status.WORSENED


def test_a_change_beyond_the_factor_but_within_the_noise_is_not_reported() -> None:
    # Two samples each, far apart: 50% slower on the median, but asv cannot call it significant.
    before = Outcome(1.0, compute_stats([0.5, 1.5], 1)[1], [0.5, 1.5], "v1")
    after = Outcome(1.5, compute_stats([0.6, 2.4], 1)[1], [0.6, 2.4], "v1")
    assert significance(before, after)[0] is False
    assert judge_one(LATENCY, before, after) is Status.UNCHANGED


def test_a_speed_up_is_an_improvement_and_exits_0() -> None:
    name = f"{LATENCY}{PARAMS}"
    comparison = compare(BASE, HEAD, {name: timed(2e-4)}, {name: timed(1e-4, seed=3)}, UNITS)
    assert [c.name for c in comparison.improved] == [name]
    assert comparison.exit_code == 0


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [(1000, 1200, Status.WORSENED), (1000, 1050, Status.UNCHANGED), (1200, 1000, Status.IMPROVED)],
)
def test_bytes_are_judged_by_the_factor_alone(before: int, after: int, expected: Status) -> None:
    assert judge_one(SAVED, single(before), single(after)) is expected


@pytest.mark.parametrize(("before", "after", "expected"), [(1e9, 5e8, Status.WORSENED), (5e8, 1e9, Status.IMPROVED)])
def test_higher_is_better_metrics_are_judged_the_other_way(before: float, after: float, expected: Status) -> None:
    assert judge_one(FLOPS, single(before), single(after)) is expected


def test_informative_metrics_never_regress() -> None:
    comparison = compare(BASE, HEAD, {UTIL: single(90.0)}, {UTIL: single(10.0)}, UNITS)
    assert comparison.changes[0].status is Status.INFORMATIVE
    assert comparison.changes[0].direction is Direction.INFORMATIVE
    assert comparison.exit_code == 0


@pytest.mark.parametrize(
    ("before", "after", "expected", "exit_code"),
    [
        (single(1.0), single(None), Status.NEWLY_FAILING, 1),
        (single(math.nan), single(None), Status.NEWLY_FAILING, 1),  # asv: skipped -> failed is a new failure
        (single(None), single(1.0), Status.FIXED, 0),
        (single(None), single(None), Status.FAILING, 2),  # nothing measured: never a silent pass
        (single(math.nan), single(1.0), Status.SKIPPED, 0),
        (single(1.0), single(math.nan), Status.SKIPPED, 0),
    ],
)
def test_failures_and_skips(before: Outcome, after: Outcome, expected: Status, exit_code: int) -> None:
    comparison = compare(BASE, HEAD, {LATENCY: before}, {LATENCY: after}, UNITS)
    assert comparison.changes[0].status is expected
    assert comparison.exit_code == exit_code


def test_a_benchmark_missing_at_head_counts_as_skipped_there() -> None:
    comparison = compare(BASE, HEAD, {LATENCY: single(1.0)}, {}, UNITS)
    assert comparison.changes[0].status is Status.SKIPPED


def test_a_benchmark_skipped_at_both_commits_is_left_out() -> None:
    comparison = compare(BASE, HEAD, {LATENCY: single(math.nan), SAVED: single(1.0)}, {SAVED: single(1.0)}, UNITS)
    assert [c.name for c in comparison.changes] == [SAVED]


def test_a_changed_benchmark_is_not_compared() -> None:
    before, after = timed(1e-4), timed(3e-4)
    after = Outcome(after.value, after.stats, after.samples, version="v2")
    assert judge_one(LATENCY, before, after) is Status.NOT_COMPARABLE


def test_per_benchmark_factors_first_match_wins() -> None:
    rules = [parse_factor_rule("time_eval=1.6"), parse_factor_rule("time_=1.01")]
    slow_eval = f"{LATENCY}{PARAMS}"
    slow_step = f"bench_latency.Latency.time_train_step{PARAMS}"
    before = {slow_eval: timed(1e-4), slow_step: timed(1e-4)}
    after = {slow_eval: timed(1.5e-4, seed=4), slow_step: timed(1.5e-4, seed=5)}
    comparison = compare(BASE, HEAD, before, after, UNITS, factor_rules=rules)
    factors = {c.name: c.factor for c in comparison.changes}
    assert factors == {slow_eval: 1.6, slow_step: 1.01}
    assert [c.name for c in comparison.worsened] == [slow_step]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time_train_step", "expects REGEX=FACTOR"),
        ("=1.3", "expects REGEX=FACTOR"),
        ("time_(=1.3", "invalid regular expression"),
        ("time_=fast", "must be a number"),
        ("time_=0.9", ">= 1.0"),
        ("time_=nan", ">= 1.0"),
    ],
)
def test_bad_factor_rules_say_what_is_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_factor_rule(text)


def test_a_factor_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--factor must be a number >= 1.0.*got 0.5"):
        compare(BASE, HEAD, {}, {}, UNITS, factor=0.5)


def test_significance_is_asvs_test() -> None:
    rng = random.Random(7)
    for trial in range(30):
        shift = rng.choice([1.0, 1.02, 1.1, 1.5])
        n_a, n_b = rng.choice([(3, 3), (6, 6), (10, 10), (5, 12)])
        a, b = timed(1e-3, 0.05, n_a, seed=trial), timed(1e-3 * shift, 0.05, n_b, seed=1000 + trial)
        different, _ = significance(a, b)
        assert different == _stats.is_different(a.samples, b.samples, a.stats, b.stats), trial


def test_the_report_lists_each_section_with_its_figures_and_the_machine() -> None:
    slower, failing, faster = f"{LATENCY}{PARAMS}", f"{SAVED}{PARAMS}", f"bench_latency.Latency.time_backward{PARAMS}"
    before = {slower: timed(1e-4), failing: single(4096), faster: timed(2e-4, seed=8)}
    after = {slower: timed(2e-4, seed=9), failing: single(None), faster: timed(1e-4, seed=10)}
    machine = {"machine": "ci-h100", "cpu": "AMD EPYC", "gpu_model": "NVIDIA H100 | PCIe", "torch": "2.13.0"}
    comparison = compare(
        BASE, HEAD, before, after, UNITS, machine=machine, base_label="base work", head_label="make it slow"
    )
    text = render_markdown(comparison)
    assert text.startswith("## bncvl check: ❌ regression")
    assert "`aaaaaaaa` (base work) → head `bbbbbbbb` (make it slow)" in text
    sections = text.split("### ")
    worsened = next(s for s in sections if s.startswith("Worsened (1)"))
    failing_section = next(s for s in sections if s.startswith("Newly failing (1)"))
    improved = next(s for s in sections if s.startswith("Improved (1)"))
    assert "time_eval_forward" in worsened and "| 1.999 |" in worsened and "p=" in worsened
    assert worsened.rstrip().endswith("| 1.6 |"), "an absolute time's factor"
    assert "track_saved_activation_bytes" in failing_section and "failed" in failing_section
    assert "4.1k" in failing_section  # before, formatted by asv for the unit bytes
    assert "time_backward" in improved and "0.5" in improved
    machine_section = next(s for s in sections if s.startswith("Machine `ci-h100`"))
    assert "| gpu_model | NVIDIA H100 \\| PCIe |" in machine_section
    assert "| torch | 2.13.0 |" in machine_section


def test_a_quiet_report_says_so() -> None:
    comparison = compare(BASE, HEAD, {LATENCY: timed(1e-4)}, {LATENCY: timed(1e-4, seed=11)}, UNITS)
    text = render_markdown(comparison)
    assert text.startswith("## bncvl check: ✅ no significant change")
    assert "### Worsened (0)\n\nNone." in text
    assert "1 benchmarks: 1 unchanged" in text


# --- usage errors: exit 2 with the reason, before anything is built -------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    (tmp_path / "asv.conf.json").write_text('{"version": 1, "repo": ".", "branches": ["main"]}\n')
    for args in (["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "nosuchref", "HEAD"], "'nosuchref' is not a commit"),
        (["check", "HEAD", "HEAD"], "BASE and HEAD are the same commit"),
        (["check"], "BASE and HEAD are the same commit"),  # merge-base of main with itself
        (["check", "--main-branch", "nosuchbranch"], "'nosuchbranch' is not a commit"),
        (["check", "--factor", "0.9", "HEAD~1"], "--factor must be a number >= 1.0"),
        (["check", "--factor-for", "nope", "HEAD~1"], "expects REGEX=FACTOR"),
        (["check", "--rounds", "1", "HEAD~1"], "--rounds must be >= 7"),
        (["check", "--config", "missing.json", "HEAD~1"], "no asv configuration at"),
    ],
)
def test_usage_errors_exit_2_with_the_reason(
    repo: Path, argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(repo)
    assert cli_main(argv) == 2
    assert message in capsys.readouterr().err


def test_outside_a_git_repository_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli_main(["check"]) == 2
    assert "not a git repository" in capsys.readouterr().err.lower()


def test_absolute_times_and_their_rates_default_to_a_wider_factor_than_bytes():
    from bncvl.track.decision import ABSOLUTE_TIME_FACTOR, default_factor
    from bncvl.track.verdict import factor_for

    absolute = [
        "bench_latency.Latency.time_eval_forward",
        "bench_latency.FirstCall.track_first_train_step_seconds",  # a compile's seconds: 1.10 before
        "bench_efficiency.Efficiency.track_forward_flops",  # FLOP/s of a timed call: 1.10 before
        "bench_gone.Old.time_something",  # not in the catalogue (an older suite's): by asv's time_ prefix
    ]
    for name in absolute:
        assert default_factor("seconds", 1.10, name) == ABSOLUTE_TIME_FACTOR, name
    assert default_factor("bytes", 1.10, "bench_memory.Memory.track_saved_activation_bytes") == 1.10
    assert default_factor("bytes", 1.25, "bench_memory.Memory.track_saved_activation_bytes") == 1.25, "--factor"
    user_first = [parse_factor_rule("time_eval=2.0")]
    name = "bench_latency.Latency.time_eval_forward"
    assert factor_for(name, default_factor("seconds", 1.10, name), user_first) == 2.0


def test_the_default_check_without_valgrind_exits_2_naming_it(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bncvl import _extras

    monkeypatch.chdir(repo)
    monkeypatch.setattr(_extras.shutil, "which", lambda tool: None if tool == "callgrind_control" else tool)
    assert cli_main(["check", "HEAD", "HEAD"]) == 2
    assert (
        "the default check gates on instruction counts, which need valgrind: callgrind_control is not on PATH; "
        "install Debian's valgrind package (apt-get install valgrind); or choose benchmarks with -b"
    ) in capsys.readouterr().err


# --- a check that cannot decide exits 2, never a silent pass ---------------------------------------

RELATIVE = "bench_relative.RelativeWallTime.track_eval_forward"
COUNTS = "bench_instructions.Instructions.track_eval_forward"
GATE_UNITS = {**UNITS, RELATIVE: "time ratio", COUNTS: "instructions"}


def processes(*values: float) -> Outcome:
    """A relative timing: one value per process."""
    return Outcome(sorted(values)[len(values) // 2], None, list(values), version="v1")


def test_relative_timings_with_too_few_processes_are_undecided_not_unchanged() -> None:
    # Twice as slow in every process, but 3 + 3 processes cannot reach p < 0.001.
    before, after = processes(1.0, 1.01, 0.99), processes(2.0, 2.01, 1.99)
    comparison = compare(BASE, HEAD, {RELATIVE: before}, {RELATIVE: after}, GATE_UNITS)
    (change,) = comparison.changes
    assert change.status is Status.UNDECIDED
    assert change.significance == "too few processes (3+3 processes; 7 each needed)"
    assert comparison.exit_code == 2
    text = render_markdown(comparison)
    assert text.startswith("## bncvl check: ⚠️ undecided: relative timings with too few processes")
    assert "### Undecided: too few processes (1)" in text


def test_nothing_compared_is_not_a_pass() -> None:
    comparison = compare(BASE, HEAD, {COUNTS: single(math.nan)}, {COUNTS: single(math.nan)}, GATE_UNITS)
    assert comparison.changes == ()
    assert comparison.exit_code == 2
    assert render_markdown(comparison).startswith("## bncvl check: ⚠️ nothing measured")


class _FakeRun:
    """A CheckRun whose results are given: instruction counts skipped at both commits (valgrind gone)."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.log_path = output_dir / "asv-run.log"
        output_dir.mkdir(parents=True, exist_ok=True)

    def build(self, commits: list[str]) -> None:
        pass

    def benchmark(self, commits: list[str], bench: list[str], rounds: int) -> None:
        pass

    def outcomes(self, commit: str) -> tuple[dict[str, Outcome], dict[str, str]]:
        values = [1.0 + i / 100 for i in range(7)]
        return {COUNTS: single(math.nan), RELATIVE: processes(*values)}, GATE_UNITS

    def machine_record(self, commit: str) -> dict[str, str]:
        return {"machine": "vm"}


def test_a_default_check_whose_instruction_counts_did_not_run_exits_2(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bncvl.commands import check as check_command

    (repo / "README").write_text("two\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "two"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    monkeypatch.setattr(check_command, "valgrind_missing", lambda: None)
    monkeypatch.setattr(check_command.CheckRun, "prepare", lambda *args: _FakeRun(repo / "out"))

    assert cli_main(["check", "HEAD~1", "HEAD"]) == 2
    captured = capsys.readouterr()
    # The relative timing alone was quiet, but the check gates on counts too: report and error say so.
    assert "## bncvl check: ⚠️ not measured: no instruction counts at both commits" in captured.out
    assert (
        "the default check gates on instruction counts and relative timings, but no instruction counts were "
        f"measured at both commits; see {repo / 'out' / 'asv-run.log'}"
    ) in captured.err
    # The same results with benchmarks chosen by -b: what was asked for was measured, so it passes.
    assert cli_main(["check", "HEAD~1", "HEAD", "-b", "RelativeWallTime"]) == 0


@pytest.mark.parametrize("text", [None, "{not json", "[]"])
def test_the_checks_units_come_from_a_readable_benchmarks_json_or_an_error(tmp_path: Path, text: str | None) -> None:
    # The units say which benchmarks are instruction counts or relative timings: never guessed.
    from bncvl.track.checkrun import CheckRun

    run = CheckRun(tmp_path / "asv.conf.json", tmp_path / "out", "vm")
    run.results_dir.mkdir(parents=True)
    if text is not None:
        (run.results_dir / "benchmarks.json").write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{run.results_dir / 'benchmarks.json'}: ")):
        run.units()


def test_a_corrupt_machine_record_is_named(tmp_path: Path) -> None:
    from bncvl.track.checkrun import CheckRun

    run = CheckRun(tmp_path / "asv.conf.json", tmp_path / "out", "vm")
    (run.results_dir / "vm").mkdir(parents=True)
    (run.results_dir / "vm" / "machine.json").write_text('{"machine": "vm", "version": 1')
    with pytest.raises(ValueError, match=r"machine\.json: asv's machine record is missing or unreadable"):
        run.machine_record("a" * 40)
