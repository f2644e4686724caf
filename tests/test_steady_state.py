"""The suite's timed calls are steady-state: compilation and first-call work happen in ``setup``.

``asv run --quick`` takes one sample of one call with no warm-up (asv's
``number=1, repeat=1, warmup_time=0``), so whatever a first call costs
(``torch.compile``, a cache fill, an allocation) would be that sample.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from asv_runner.discovery import get_benchmark_from_name
from torch._dynamo.utils import counters

from benchmarks import bench_latency, common, timing
from bncvl.commands.pipeline import SHORT_RUN
from bncvl.layers import registry
from bncvl.measure.machine import register
from bncvl.track.decision import Evidence, evidence_kind
from bncvl.track.directions import Direction, direction
from bncvl.track.results import load_results

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks"
TINY_CPU = ("tiny", "cpu", "float32")
QUICK = {"number": 1, "repeat": 1, "warmup_time": 0, "rounds": 1}
"""What ``asv run --quick`` sets (asv/runner.py)."""


@pytest.fixture(autouse=True)
def _fresh_passes():
    """Each test builds its own warm passes: the ones kept by other tests in this process would hide what setup does."""
    bench_latency.forget_passes()
    yield
    bench_latency.forget_passes()


def _latency(method: str, variant: str, extra: dict | None = None):
    """asv's benchmark object of ``Latency.<method>`` for ``variant`` on the tiny preset, CPU, float32."""
    index = list(itertools.product(*bench_latency.Latency.params)).index((variant, *TINY_CPU))
    benchmark = get_benchmark_from_name(str(SUITE), f"bench_latency.Latency.{method}-{index}", extra_params=extra)
    benchmark.set_cache(None)
    return benchmark


def test_warm_up_calls_each_pass_the_given_number_of_times() -> None:
    calls: list[str] = []
    timing.warm_up([lambda: calls.append("a"), lambda: calls.append("b")], torch.device("cpu"), calls=3)
    assert calls == ["a", "a", "a", "b", "b", "b"]
    calls.clear()
    timing.warm_up([lambda: calls.append("a")], torch.device("cpu"))
    assert len(calls) == timing.WARM_UP_CALLS


@pytest.mark.parametrize("method", ["time_eval_forward", "time_train_forward", "time_backward", "time_train_step"])
def test_setup_warms_up_the_pass_each_method_times(monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    timed = method.removeprefix("time_")
    calls: list[str] = []
    for name in ("eval_forward", "train_forward", "backward", "train_step"):
        run = getattr(bench_latency.Passes, name)
        monkeypatch.setattr(
            bench_latency.Passes, name, lambda self, run=run, name=name: (calls.append(name), run(self))
        )
    benchmark = _latency(method, "channels_last", QUICK)
    try:
        benchmark.do_setup()
        assert calls.count(timed) == timing.WARM_UP_CALLS
        assert calls[-1] == timed
        benchmark.do_run()
        assert calls.count(timed) == timing.WARM_UP_CALLS + 1
    finally:
        benchmark.do_teardown()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["time_eval_forward", "time_train_step"])
def test_latency_compiles_in_setup_and_never_in_the_timed_call(method: str) -> None:
    """``fused`` compiles in setup (new dynamo graphs there); the one sample of --quick adds none."""
    torch._dynamo.reset()  # whatever this process compiled before: the setup must compile again
    benchmark = _latency(method, "fused", QUICK)
    graphs = counters["stats"]["unique_graphs"]
    try:
        assert benchmark.do_setup() is False
        compiled_in_setup = counters["stats"]["unique_graphs"] - graphs
        result = benchmark.do_run()
    finally:
        benchmark.do_teardown()
    assert compiled_in_setup >= 1
    assert counters["stats"]["unique_graphs"] - graphs == compiled_in_setup, "the timed call compiled"
    assert result["number"] == 1 and len(result["samples"]) == 1


def test_a_second_setup_reuses_the_warm_passes_with_no_gradients_left() -> None:
    """asv sets up again before every sample: the same warm layers, their caches kept, one call of the pass."""
    benchmark = _latency("time_backward", "cached")
    try:
        benchmark.do_setup()
        passes = benchmark.func.__self__.passes
        cache = passes.eval.layer._binary_cache
        assert passes.warmed == {"backward"}
        assert passes.output is not None and passes.train.x.grad is None
        benchmark.redo_setup()  # asv skips the first redo (do_setup just ran)
        benchmark.redo_setup()
        assert benchmark.func.__self__.passes is passes
        assert passes.train.x.grad is None and passes.train.layer.weight.grad is None
        benchmark.do_run()
    finally:
        benchmark.do_teardown()
    eval_benchmark = _latency("time_eval_forward", "cached")
    try:
        eval_benchmark.do_setup()
        assert eval_benchmark.func.__self__.passes is passes
        assert len(cache) == 1, "the eval weight cache is filled in setup, not by the first timed call"
    finally:
        eval_benchmark.do_teardown()


def test_passes_are_rebuilt_when_the_registry_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    kept = bench_latency.passes("reference", *TINY_CPU)
    assert bench_latency.passes("reference", *TINY_CPU) is kept
    # New dicts, not edits: the registry's order is itself a contract (tests/test_variants.py).
    cached = registry.VARIANTS["cached"]
    monkeypatch.setattr(registry, "VARIANTS", {**registry.VARIANTS, "reference": cached})
    assert isinstance(bench_latency.passes("reference", *TINY_CPU).eval.layer, cached)
    monkeypatch.setattr(registry, "VARIANTS", {k: v for k, v in registry.VARIANTS.items() if k != "reference"})
    with pytest.raises(NotImplementedError, match="'reference' is not registered at this commit"):
        bench_latency.passes("reference", *TINY_CPU)


def test_first_call_is_lower_is_better_and_never_evidence() -> None:
    for method in ("track_first_eval_forward_seconds", "track_first_train_step_seconds"):
        unit = getattr(bench_latency.FirstCall, method).unit
        assert unit == "seconds"
        assert direction(f"bench_latency.FirstCall.{method}", unit) is Direction.LOWER_IS_BETTER
        assert evidence_kind(unit) is Evidence.NONE


def test_cold_compile_caches_use_a_fresh_private_folder_and_restore_the_shared_one() -> None:
    before = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    with common.cold_compile_caches():
        private = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        assert private != before
        assert list(Path(private).iterdir()) == []
        assert os.environ["TRITON_CACHE_DIR"].startswith(private)
    assert os.environ.get("TORCHINDUCTOR_CACHE_DIR") == before
    assert not Path(private).exists()


@pytest.mark.slow
def test_first_call_measures_a_cold_compile_every_time() -> None:
    """Two FirstCall measurements of ``fused`` in one process both compile from scratch; the reference's is short."""
    seconds, compiled = [], []
    for _ in range(2):
        bench = bench_latency.FirstCall()
        bench.setup("fused", *TINY_CPU)
        graphs = counters["stats"]["unique_graphs"]
        try:
            seconds.append(bench.track_first_eval_forward_seconds("fused", *TINY_CPU))
            # inductor wrote its kernels into the private folder: it compiled them, found none in a shared cache
            assert any(Path(os.environ["TORCHINDUCTOR_CACHE_DIR"]).rglob("*.so"))
        finally:
            bench.teardown("fused", *TINY_CPU)
        compiled.append(counters["stats"]["unique_graphs"] - graphs)
    assert compiled == [1, 1], compiled
    reference = bench_latency.FirstCall()
    reference.setup("reference", *TINY_CPU)
    try:
        reference_seconds = reference.track_first_eval_forward_seconds("reference", *TINY_CPU)
    finally:
        reference.teardown("reference", *TINY_CPU)
    # A cold compile runs the C++ compiler: seconds here; the reference's first call is milliseconds.
    assert min(seconds) > 10 * reference_seconds, (seconds, reference_seconds)


def _asv_run(tmp_path: Path, name: str, options: tuple[str, ...], bench: str) -> Path:
    """``asv run OPTIONS`` of ``bench`` on this checkout (existing environment); the results directory it wrote."""
    home = tmp_path / "home"
    if not home.exists():
        home.mkdir()
        register("steady-box", home / ".asv-machine.json")
    conf = json.loads(re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.MULTILINE))
    out = tmp_path / name
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(ROOT / "benchmarks"),
        results_dir=str(out / "results"),
        env_dir=str(out / "env"),
        html_dir=str(out / "html"),
    )
    out.mkdir()
    (out / "asv.conf.json").write_text(json.dumps(conf))
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    run = [
        sys.executable, "-m", "asv", "run", "--config", str(out / "asv.conf.json"), "--machine", "steady-box",
        "-E", f"existing:{sys.executable}", "--set-commit-hash", head.stdout.strip(), "--show-stderr", "-b", bench,
        *options,
    ]  # fmt: skip
    done = subprocess.run(run, cwd=ROOT, env={**os.environ, "HOME": str(home)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "results"


def _medians(results: Path) -> dict[tuple[str, str], float]:
    points = load_results(results).points
    ok = points[points["status"] == "ok"]
    return {(str(r.benchmark).rsplit(".", 1)[-1], str(r.variant)): float(r.value) for r in ok.itertuples()}


MAX_SHORT_TO_FULL = 1.5
"""How far the main job's short run (five samples) may lie from a full run's median."""
MAX_QUICK_TO_FULL = 10.0
"""How far the one sample of ``--quick`` may lie from a full run's median: far enough from its noise, far
below what a compilation inside the timed call costs.

asv's one --quick sample is the first sample after asv's own set-up code
(about 0.2 ms of Python between ``setup`` and the timed call), which
evicts a short pass's code and data from the CPU's caches: measured on this
project's 2-core VM over 11 pairs of runs (docs/measurements/2026-12-03-steady-state.md),
the eval forward's quick sample read 1.3-2.6x its full-run median, the
training steps' 1.0-1.6x, and the reference's eval forward 4.8x once on a
loaded CI runner (620 us against 130 us, stop 23). With the compilation in
the timed call, ``fused`` and ``fast`` read 75-180x."""


QUICK_SUBSET_LATENCY = r"Latency\.time_(eval_forward|train_step)\('(reference|fused|fast)', 'tiny', 'cpu', 'float32'\)"
PAIRS = {(f"time_{p}", v) for p in ("eval_forward", "train_step") for v in ("reference", "fused", "fast")}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], float]:
    """asv's medians of a full run of the quick subset's latency for the reference and the compiled variants."""
    return _medians(_asv_run(tmp_path_factory.mktemp("steady"), "full", (), QUICK_SUBSET_LATENCY))


def _far(run: dict[tuple[str, str], float], full: dict[tuple[str, str], float], bound) -> dict:
    """The (method, variant) pairs whose ``run``/``full`` ratio lies outside ``bound(method, variant)``."""
    assert set(run) == set(full) == PAIRS, (run, full)
    print({f"{m} {v}": f"{run[m, v] * 1e6:.0f} us against {full[m, v] * 1e6:.0f} us" for m, v in sorted(PAIRS)})
    ratios = {pair: run[pair] / full[pair] for pair in PAIRS}
    return {
        pair: (round(r, 2), bound(*pair)) for pair, r in ratios.items() if not 1 / bound(*pair) <= r <= bound(*pair)
    }


@pytest.mark.slow
def test_a_quick_runs_one_sample_holds_no_compilation(tmp_path: Path, full_run) -> None:
    """The one sample of ``--quick`` lies within noise of a full run's median for fused and fast (and the
    reference): no compilation or first-call work inside it."""
    quick = _medians(_asv_run(tmp_path, "quick", ("--quick",), QUICK_SUBSET_LATENCY))
    far = _far(quick, full_run, lambda m, v: MAX_QUICK_TO_FULL)
    assert not far, f"quick/full-median ratios (ratio, bound) out of bounds: {far}"


@pytest.mark.slow
def test_the_main_jobs_short_run_agrees_with_a_full_run(tmp_path: Path, full_run) -> None:
    """What ``make run`` records (:data:`bncvl.commands.pipeline.SHORT_RUN`) lies within 1.5x of a full run's median
    for every variant and pass of the quick subset's latency, so the Devices page's speed-ups are a full run's."""
    short = _medians(_asv_run(tmp_path, "short", SHORT_RUN, QUICK_SUBSET_LATENCY))
    far = _far(short, full_run, lambda m, v: MAX_SHORT_TO_FULL)
    assert not far, f"short/full-median ratios (ratio, bound) out of bounds: {far}"
