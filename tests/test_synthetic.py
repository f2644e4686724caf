"""bncvl.testing.results: asv itself reads back what the synthetic writer wrote, as ``asv compare`` reads it."""

from __future__ import annotations

import itertools
import math
import re
import statistics
from pathlib import Path

import pytest

pytest.importorskip("asv", reason="needs the dashboard extra")

from asv import util
from asv.benchmarks import Benchmarks
from asv.commands.compare import Compare
from asv.config import Config
from asv.machine import Machine, iter_machine_files
from asv.results import Results, iter_results_for_machine_and_hash

from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, PlantedStep, write_results_set
from bncvl.testing.steps import FAILED, PLANTED, PLANTED_AT, PLANTED_UTILIZATION

TIME = "bench_latency.Latency.time_eval_forward"
RELATIVE = "bench_relative.RelativeCpuTime.track_eval_forward"
FLOPS = "bench_efficiency.Efficiency.track_forward_flops"


def config(root: Path) -> Config:
    conf = Config()
    conf.results_dir = str(root)
    return conf


def only_result(root: Path, machine: str, commit: str) -> Results:
    """The one result file of ``commit`` on ``machine``, found as ``asv compare`` finds it (by an 8-digit prefix)."""
    found = list(iter_results_for_machine_and_hash(str(root), machine, commit[:8]))
    assert len(found) == 1, f"{machine} {commit}: {len(found)} result files"
    return found[0]


def test_asv_reads_every_file_back_with_the_stats_and_samples_it_computes(
    results_set: tuple[Path, list[str]],
) -> None:
    root, hashes = results_set
    benchmarks = Benchmarks.load(config(root))
    machines = {util.load_json(path, Machine.api_version)["machine"] for path in iter_machine_files(str(root))}
    assert machines == {CPU_MACHINE, GPU_MACHINE}
    kinds = {"failed": 0, "skipped": 0, "timing": 0, "relative": 0, "track": 0}
    for machine in sorted(machines):
        record = util.load_json(str(root / machine / "machine.json"), Machine.api_version)
        assert record["gpu_count"] == ("0" if machine == CPU_MACHINE else "1")
        for index, commit in enumerate(hashes):
            result = only_result(root, machine, commit)
            assert result.commit_hash == commit and result.params["machine"] == machine
            assert result.params["gpu_model"] == record["gpu_model"] and result.env_name.startswith("virtualenv-")
            assert set(result.get_result_keys(benchmarks)) == set(benchmarks), "every version matches benchmarks.json"
            for name, meta in benchmarks.items():
                params = result.get_result_params(name)
                assert params == meta["params"]
                values = result.get_result_value(name, params)
                stats = result.get_result_stats(name, params)
                samples = result.get_result_samples(name, params)
                if (machine, index, name) == FAILED:
                    assert values == [None] * len(values) and stats == samples == [None] * len(values)
                    kinds["failed"] += len(values)
                    continue
                for value, stat, kept in zip(values, stats, samples, strict=True):
                    assert value is not None, "only the planted failure failed"
                    if math.isnan(value):
                        assert not stat and kept is None, "asv keeps nothing of a skipped point (its reader: {})"
                        kinds["skipped"] += 1
                    elif meta["unit"] == "time ratio":
                        assert len(kept) == 7 and statistics.median(kept) == value, "per-process samples"
                        assert (stat["number"], stat["repeat"]) == (1, 7)
                        assert stat["ci_99_a"] <= stat["q_25"] <= value <= stat["q_75"] <= stat["ci_99_b"]
                        kinds["relative"] += 1
                    elif meta["type"] == "time":
                        assert kept is None, "asv drops a timing's samples unless asked to keep them"
                        assert (stat["number"], stat["repeat"]) == (10, 5)
                        assert stat["ci_99_a"] < stat["q_25"] < value < stat["q_75"] < stat["ci_99_b"]
                        assert stat["q_75"] / stat["q_25"] == pytest.approx(1.02, rel=1e-3)
                        kinds["timing"] += 1
                    else:
                        assert kept is None and (stat["number"], stat["repeat"]) == (1, 1)
                        assert (stat["ci_99_a"], stat["ci_99_b"]) == (-math.inf, math.inf), "one sample: no bounds"
                        assert stat["q_25"] == stat["q_75"] == pytest.approx(value, rel=1e-4)
                        kinds["track"] += 1
    assert all(kinds.values()), kinds


def test_without_noise_asv_reads_the_model_values_and_the_planted_factor(tmp_path: Path) -> None:
    step = PlantedStep(CPU_MACHINE, TIME, 2, 1.5, {"variant": "reference", "preset": "medium", "device": "cpu"})
    hashes = write_results_set(tmp_path, commits=3, machines=[CPU_MACHINE], noise=0.0, steps=[step])
    combo = ("'reference'", "'medium'", "'cpu'", "'float32'")
    for index, commit in enumerate(hashes):
        result = only_result(tmp_path, CPU_MACHINE, commit)
        assert result.date == 1_767_225_600_000 + index * 86_400_000
        assert result.started_at[TIME] == result.date + 1000 and result.duration[TIME] == 1.0
        params = result.get_result_params(TIME)
        position = list(itertools.product(*params)).index(combo)
        expected = 2.0e-3 * (1.5 if index >= 2 else 1.0)
        assert result.get_result_value(TIME, params)[position] == pytest.approx(expected, rel=1e-12)
        relative = result.get_result_samples(RELATIVE, result.get_result_params(RELATIVE))[position]
        assert relative == [2.0] * 7, "the reference on the CPU is twice the bare convolution, in every process"


def test_asv_compare_flags_exactly_the_planted_steps(
    results_set: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, hashes = results_set
    for machine, planted in ((CPU_MACHINE, PLANTED), (GPU_MACHINE, (PLANTED_UTILIZATION,))):
        capsys.readouterr()
        Compare.print_table(
            config(root), hashes[PLANTED_AT - 1], hashes[PLANTED_AT], 1.1, False, machine=machine, only_changed=True
        )
        rows = re.findall(r"^\| ([-+!]) .*\| (\S+)\(.*\) *\|$", capsys.readouterr().out, re.MULTILINE)
        # asv thinks lower is better for every benchmark: a slower FLOP/s and a lower utilisation "improve".
        lower_now = {FLOPS, PLANTED_UTILIZATION.benchmark}
        assert sorted(rows) == sorted(("-" if p.benchmark in lower_now else "+", p.benchmark) for p in planted)
    capsys.readouterr()
    machine, index, name = FAILED
    Compare.print_table(config(root), hashes[index - 1], hashes[index], 1.1, False, machine=machine, only_changed=True)
    rows = re.findall(r"^\| ([-+!]) .*\| (\S+)\(.*\) *\|$", capsys.readouterr().out, re.MULTILINE)
    assert rows and set(rows) == {("!", name)}, "the failed benchmark, and nothing else, is a new failure"
