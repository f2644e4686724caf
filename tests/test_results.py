"""bncvl.track.results and bncvl.track.changes: reading asv results v2, warnings for bad files, and direction-aware
step detection."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")

from asv._stats import get_weight  # noqa: E402 - after the extra's guard; the weight asv publish gives a point
from asv.results import Results  # noqa: E402

from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, PlantedStep, write_results_set  # noqa: E402
from bncvl.testing.steps import (  # noqa: E402
    FAILED,
    PLANTED_AT,
    PLANTED_FLOPS,
    PLANTED_FLOPS_EVIDENCE,
    PLANTED_NOISE,
    PLANTED_TIME,
    PLANTED_TIME_EVIDENCE,
    PLANTED_UNSUPPORTED,
    PLANTED_UTILIZATION,
)
from bncvl.track.changes import commit_url, find_changes, fit_steps, noise_levels  # noqa: E402
from bncvl.track.comparisons import (  # noqa: E402
    device_comparison,
    latest_common_commit,
    measured_options,
    variant_speedups,
)
from bncvl.track.decision import ABSOLUTE_TIME_FACTOR  # noqa: E402
from bncvl.track.results import (  # noqa: E402
    load_benchmark_catalogue,
    load_machine_record,
    load_result_file,
    load_results,
)
from bncvl.track.trends import fewest_processes, trend_choices  # noqa: E402
from dashboard.data import fingerprint  # noqa: E402

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b"]
COLUMNS += ["stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples", "profile"]


def write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def handmade_set(root: Path) -> Path:
    """One machine, one commit, a 2×2 parameterised benchmark and a plain one, with every special value asv writes."""
    params = [["'a'", "'b'"], ["1", "2"]]
    write_json(
        root / "benchmarks.json",
        {
            "mod.Cls.time_grid": {
                "params": params,
                "param_names": ["letter", "number"],
                "unit": "seconds",
                "version": "v1",
            },
            "mod.track_plain": {"params": [], "param_names": [], "unit": "bytes", "version": "v1"},
            "version": 2,
        },
    )
    write_json(root / "box" / "machine.json", {"machine": "box", "gpu_model": "none", "version": 1})
    write_json(
        root / "box" / "aaaaaaaa-env.json",
        {
            "commit_hash": "a" * 40,
            "env_name": "env",
            "date": 1_767_225_600_000,
            "params": {"machine": "box", "torch": "2.13.0"},
            "python": "3.11",
            "requirements": {},
            "env_vars": {},
            "result_columns": COLUMNS,
            "results": {
                # product order: (a,1) (a,2) (b,1) (b,2); NaN = skipped, null = failed
                "mod.Cls.time_grid": [
                    [1.0, math.nan, None, 4.0],
                    params,
                    "v1",
                    0,
                    1.0,
                    [0.9, None, None, -math.inf],
                    [1.1, None, None, math.inf],
                    [0.95, None, None, 3.9],
                    [1.05, None, None, 4.1],
                ],
                "mod.track_plain": [[7.0], [], "v1"],
            },
            "durations": {},
            "version": 2,
        },
    )
    return root


def test_rows_follow_the_product_order_of_params(tmp_path: Path) -> None:
    results = load_results(handmade_set(tmp_path))
    assert results.warnings == ()
    grid = results.points[results.points["benchmark"] == "mod.Cls.time_grid"].set_index("params")
    assert list(grid.index) == ["letter=a, number=1", "letter=a, number=2", "letter=b, number=1", "letter=b, number=2"]
    assert list(grid["status"]) == ["ok", "skipped", "failed", "ok"]
    assert grid.loc["letter=a, number=1", "value"] == 1.0
    assert grid.loc["letter=b, number=2", "value"] == 4.0
    assert math.isnan(grid.loc["letter=a, number=2", "value"])
    assert grid.loc["letter=b, number=2", "q_25"] == 3.9
    assert grid.loc["letter=b, number=2", "q_75"] == 4.1
    assert grid.loc["letter=a, number=1", "weight"] == pytest.approx(2 / 0.2)
    assert math.isnan(grid.loc["letter=b, number=2", "weight"]), "an infinite confidence interval carries no weight"
    assert grid.loc["letter=a, number=1", "unit"] == "seconds"
    assert grid.loc["letter=a, number=1", "letter"] == "a"
    plain = results.points[results.points["benchmark"] == "mod.track_plain"]
    assert list(plain["value"]) == [7.0]
    assert list(plain["params"]) == [""]
    assert results.machines.set_index("machine").loc["box", "gpu_model"] == "none"


def test_every_value_and_statistic_matches_asv_own_reader(results_set: tuple[Path, list[str]]) -> None:
    root, hashes = results_set
    results = load_results(root)
    assert results.warnings == ()
    assert list(results.commits["commit_hash"]) == hashes, "commit order is date order"
    keys = ["machine", "commit_hash", "benchmark"]
    series = dict(iter(results.points.groupby(keys, observed=True, sort=False)))  # keeps file order within
    checked = 0
    for path in sorted(root.glob("*/*-*.json")):
        asv_result = Results.load(str(path))
        machine = asv_result.params["machine"]
        for name in asv_result.get_all_result_keys():
            params = asv_result.get_result_params(name)
            values = asv_result.get_result_value(name, params)
            stats = asv_result.get_result_stats(name, params)
            mine = series[(machine, asv_result.commit_hash, name)]
            assert len(mine) == len(values)
            for (_, row), value, stat in zip(mine.iterrows(), values, stats, strict=True):
                if value is None:
                    assert row["status"] == "failed" and math.isnan(row["value"])
                elif math.isnan(value):
                    assert row["status"] == "skipped" and math.isnan(row["value"])
                else:
                    assert row["status"] == "ok" and row["value"] == value
                weight = get_weight(stat)
                assert (weight is None and math.isnan(row["weight"])) or row["weight"] == pytest.approx(weight)
                for key in ("q_25", "q_75"):
                    expected = (stat or {}).get(key)
                    assert (expected is None and math.isnan(row[key])) or row[key] == expected
                checked += 1
    assert checked == len(results.points)


def test_skipped_and_failed_are_told_apart(results_set: tuple[Path, list[str]]) -> None:
    root, hashes = results_set
    points = load_results(root).points
    machine, commit, benchmark = FAILED
    cpu = points[
        (points["machine"] == CPU_MACHINE)
        & ~((points["benchmark"] == benchmark) & (points["commit_hash"] == hashes[commit]))
    ]
    assert set(cpu[cpu["device"] == "cuda"]["status"]) == {"skipped"}, "no GPU on the CPU machine"
    failed = points[(points["machine"] == machine) & (points["benchmark"] == benchmark)]
    assert set(failed[failed["commit_hash"] == hashes[commit]]["status"]) == {"failed"}
    assert set(points[points["status"] == "failed"]["benchmark"]) == {benchmark}


def test_missing_directory_is_empty_with_a_warning(tmp_path: Path) -> None:
    results = load_results(tmp_path / "nowhere")
    assert results.empty
    assert results.warnings == (f"{tmp_path / 'nowhere'}: no such results directory",)
    assert results.commits.empty


def test_each_bad_file_is_named_and_the_rest_loads(results_set: tuple[Path, list[str]], tmp_path: Path) -> None:
    source, hashes = results_set
    root = tmp_path / "results"
    shutil.copytree(source, root)
    cpu_files = sorted((root / CPU_MACHINE).glob("*-*.json"))
    truncated, newer, renamed, stale = cpu_files[:4]
    truncated.write_text(truncated.read_text()[:500])
    document = json.loads(newer.read_text())
    newer.write_text(json.dumps({**document, "version": 3}))
    document = json.loads(renamed.read_text())
    document["results"]["bench_latency.Latency.time_forward_old"] = document["results"].pop(
        "bench_latency.Latency.time_backward"
    )
    renamed.write_text(json.dumps(document))
    document = json.loads(stale.read_text())
    document["results"]["bench_memory.Memory.track_peak_forward_bytes"][2] = "an-older-version"
    stale.write_text(json.dumps(document))
    (root / GPU_MACHINE / "machine.json").unlink()

    results = load_results(root)

    def warning_for(path: Path) -> str:
        found = [w for w in results.warnings if w.startswith(str(path))]
        assert len(found) == 1, (path, results.warnings)
        return found[0]

    assert "Error parsing JSON" in warning_for(truncated)
    assert "newer than what this version of asv understands" in warning_for(newer)
    assert "'bench_latency.Latency.time_forward_old' is not in benchmarks.json" in warning_for(renamed)
    assert "another version of its code" in warning_for(stale)
    assert "the machine's facts are taken from its result files" in warning_for(root / GPU_MACHINE / "machine.json")
    assert len(results.warnings) == 5
    loaded = set(results.points["commit_hash"][results.points["machine"] == CPU_MACHINE])
    assert len(loaded) == len(hashes) - 2, "only the unreadable and the too-new file are dropped"
    gpu = results.machines.set_index("machine").loc[GPU_MACHINE]
    assert gpu["gpu_model"] == "NVIDIA H100 80GB HBM3", "facts come from the result files' params"
    renamed_rows = results.points[results.points["benchmark"] == "bench_latency.Latency.time_forward_old"]
    assert len(renamed_rows) == 16 and renamed_rows["unit"].isna().all()


def test_one_file_reads_as_in_its_directory_from_its_path_or_its_bytes(
    results_set: tuple[Path, list[str]], tmp_path: Path
) -> None:
    source, _hashes = results_set
    root = tmp_path / "results"
    shutil.copytree(source, root)
    truncated, newer, renamed = sorted((root / CPU_MACHINE).glob("*-*.json"))[:3]
    truncated.write_text(truncated.read_text()[:500])
    newer.write_text(json.dumps({**json.loads(newer.read_text()), "version": 3}))
    document = json.loads(renamed.read_text())
    document["results"]["bench_latency.Latency.time_old"] = document["results"].pop(
        "bench_latency.Latency.time_backward"
    )
    renamed.write_text(json.dumps(document))
    whole = load_results(root)
    benchmarks, catalogue_warnings = load_benchmark_catalogue(root)
    assert catalogue_warnings == [] and benchmarks == whole.benchmarks
    keys = ["machine", "commit_hash", "benchmark", "params"]
    for path in sorted(root.glob("*/*-*.json")):
        record, machine_warnings = load_machine_record(path.parent)
        assert machine_warnings == []
        from_path = load_result_file(path, benchmarks, record)
        from_bytes = load_result_file(path, benchmarks, record, path.read_bytes())
        assert from_path.warnings == from_bytes.warnings == tuple(w for w in whole.warnings if w.startswith(str(path)))
        pd.testing.assert_frame_equal(from_path.points, from_bytes.points)
        in_whole = whole.points[
            (whole.points["machine"] == path.parent.name) & whole.points["commit_hash"].str.startswith(path.name[:8])
        ]
        assert len(from_path.points) == len(in_whole)
        if in_whole.empty:
            continue
        mine = (
            from_path.points.drop(columns="order").astype({k: str for k in keys}).sort_values(keys, ignore_index=True)
        )
        theirs = in_whole.drop(columns="order").astype({k: str for k in keys}).sort_values(keys, ignore_index=True)
        pd.testing.assert_frame_equal(mine, theirs[mine.columns], check_categorical=False)
    assert "Error parsing JSON" in load_result_file(truncated, benchmarks, {}, truncated.read_bytes()).warnings[0]
    too_new = load_result_file(newer, benchmarks, {}, newer.read_bytes()).warnings[0]
    assert "newer than what this version of asv understands" in too_new
    assert load_machine_record(tmp_path)[1] == [
        f"{tmp_path / 'machine.json'}: missing; the machine's facts are taken from its result files"
    ]


def test_fingerprint_changes_when_a_file_changes(results_set: tuple[Path, list[str]], tmp_path: Path) -> None:
    root = tmp_path / "results"
    shutil.copytree(results_set[0], root)
    before = fingerprint([root])
    assert len(before) == 2 * 8 + 2 + 1
    path = next((root / CPU_MACHINE).glob("*-*.json"))
    os.utime(path, ns=(0, 0))
    assert fingerprint([root]) != before
    assert fingerprint([tmp_path / "nowhere"]) == ()


def test_planted_steps_are_found_the_right_way_round(results_set: tuple[Path, list[str]]) -> None:
    root, hashes = results_set
    changes = find_changes(load_results(root).points)
    regressions = changes[changes["kind"] == "regression"]
    evidence = {PLANTED_TIME_EVIDENCE.benchmark, PLANTED_FLOPS_EVIDENCE.benchmark}
    assert set(regressions["benchmark"]) == {PLANTED_TIME.benchmark, PLANTED_FLOPS.benchmark, *evidence}
    time_rows = regressions[regressions["benchmark"] == PLANTED_TIME.benchmark]
    assert list(time_rows["params"]) == ["variant=fused, preset=medium, device=cpu, dtype=float32"]
    row = time_rows.iloc[0]
    assert (row["machine"], row["direction"], row["variant"], row["device"]) == (CPU_MACHINE, "lower", "fused", "cpu")
    assert (row["commit_before"], row["commit_after"]) == (hashes[PLANTED_AT - 1], hashes[PLANTED_AT])
    assert row["value_after"] > row["value_before"]
    assert row["factor"] == pytest.approx(1.5, rel=0.05)
    flops = regressions[regressions["benchmark"] == PLANTED_FLOPS.benchmark]
    assert set(flops["variant"]) == {"fast"} and set(flops["preset"]) == {"small"}
    assert set(flops["direction"]) == {"higher"}
    assert (flops["value_after"] < flops["value_before"]).all(), "a drop in FLOP/s is the regression"
    assert flops["factor"].to_numpy() == pytest.approx(1 / 0.6, rel=0.05)
    utilization = changes[changes["benchmark"] == PLANTED_UTILIZATION.benchmark]
    assert set(utilization["kind"]) == {"change"} and set(utilization["direction"]) == {"informative"}
    assert len(utilization) == 1, "one informative step, at the planted commit"
    assert utilization["commit_after"].iloc[0] == hashes[PLANTED_AT]
    assert not (changes["kind"] == "improvement").any(), "1% noise makes no step"


def test_steps_are_regressions_only_with_evidence(results_set: tuple[Path, list[str]]) -> None:
    changes = find_changes(load_results(results_set[0]).points).set_index("benchmark")
    time_step = changes.loc[[PLANTED_TIME.benchmark]].iloc[0]
    assert time_step["kind"] == "regression"
    assert re.fullmatch(
        r"RelativeCpuTime\.track_eval_forward x1\.[45]\d*, p=0\.00029 \(one-sided Mann-Whitney U on per-process "
        r"values, 7\+7 processes\)",
        time_step["evidence"],
    ), "only the supporting evidence is named"
    flops_step = changes.loc[[PLANTED_FLOPS.benchmark]].iloc[0]
    assert flops_step["evidence"].startswith("Instructions.track_eval_forward x1.6"), flops_step["evidence"]
    noise = changes.loc[[PLANTED_NOISE.benchmark]].iloc[0]
    assert noise["kind"] == "within noise", "a 1.4x absolute step that the counts and ratios contradict"
    assert "Instructions.track_train_step x1.00" in noise["evidence"]
    assert "RelativeWallTime.track_train_step" in noise["evidence"]
    unsupported = changes.loc[[PLANTED_UNSUPPORTED.benchmark]].iloc[0]
    assert unsupported["kind"] == "unconfirmed"
    assert unsupported["evidence"] == "no instruction count or relative timing at these commits"


def test_unchanged_counts_alone_put_a_step_within_noise(results_set: tuple[Path, list[str]]) -> None:
    # As after a quick main job: relative timings with one process a commit cannot decide, the counts can.
    points = load_results(results_set[0]).points
    points = points[~points["benchmark"].astype(str).str.startswith("bench_relative.")]
    noise = find_changes(points).set_index("benchmark").loc[[PLANTED_NOISE.benchmark]].iloc[0]
    assert noise["kind"] == "within noise"
    assert noise["evidence"].startswith("Instructions.track_train_step x1.00"), noise["evidence"]


def test_a_speed_up_is_an_improvement(tmp_path: Path) -> None:
    step = PlantedStep(CPU_MACHINE, "bench_latency.Latency.time_train_step", 3, 0.5, {"variant": "reference"})
    counts = PlantedStep(
        CPU_MACHINE, "bench_instructions.Instructions.track_train_step", 3, 0.5, {"variant": "reference"}
    )
    hashes = write_results_set(tmp_path, commits=6, machines=[CPU_MACHINE], presets=["small"], steps=[step, counts])
    changes = find_changes(load_results(tmp_path).points, include_informative=False)
    assert set(changes["kind"]) == {"improvement"}
    assert set(changes["benchmark"]) == {step.benchmark, counts.benchmark}
    changes = changes[changes["benchmark"] == step.benchmark]
    assert list(changes["commit_after"]) == [hashes[3]]
    assert changes["factor"].iloc[0] == pytest.approx(2.0, rel=0.05)


def test_fit_steps_is_asv_piecewise_fit() -> None:
    steps = fit_steps([1.0, 1.0, math.nan, 1.0, 3.0, 3.0, 3.0])
    assert [(s.start, s.stop) for s in steps] == [(0, 4), (4, 7)]
    assert [s.value for s in steps] == pytest.approx([1.0, 3.0])
    assert fit_steps([math.nan, math.nan]) == []


def test_commit_url_like_asv() -> None:
    github = "https://github.com/o/bncvl/commit/"
    assert commit_url(github, "a1", "b2") == "https://github.com/o/bncvl/commit/../compare/a1...b2"
    assert commit_url("https://git.example/c/", "a1", "b2") == "https://git.example/c/b2"
    assert commit_url("", "a1", "b2") is None


def test_variant_speedups_over_reference_and_limit(results_set: tuple[Path, list[str]]) -> None:
    root, hashes = results_set
    points = load_results(root).points
    name = "bench_latency.Latency.time_eval_forward"
    rows = points[(points["benchmark"] == name) & (points["status"] == "ok") & (points["preset"] == "small")]
    assert latest_common_commit(rows, [CPU_MACHINE, GPU_MACHINE]) == hashes[-1]
    at = rows[rows["commit_hash"] == hashes[-1]]
    table = variant_speedups(at, name, "seconds").set_index(["machine", "device", "variant"])
    # synthetic speeds: reference 1, fast 2.1, conv_limit 2.3 (1% noise)
    assert table.loc[(CPU_MACHINE, "cpu", "reference"), "speedup_vs_reference"] == pytest.approx(1.0)
    assert table.loc[(CPU_MACHINE, "cpu", "fast"), "speedup_vs_reference"] == pytest.approx(2.1, rel=0.05)
    assert table.loc[(CPU_MACHINE, "cpu", "fast"), "speedup_vs_limit"] == pytest.approx(2.1 / 2.3, rel=0.05)
    flops = points[(points["benchmark"] == PLANTED_FLOPS.benchmark) & (points["status"] == "ok")]
    flops = flops[(flops["commit_hash"] == hashes[0]) & (flops["preset"] == "medium")]
    higher = variant_speedups(flops, PLANTED_FLOPS.benchmark, "FLOP/s").set_index(["machine", "device", "variant"])
    assert higher.loc[(CPU_MACHINE, "cpu", "fast"), "speedup_vs_reference"] == pytest.approx(2.1, rel=0.05)


def test_device_comparison_gpu_over_cpu(results_set: tuple[Path, list[str]]) -> None:
    root, hashes = results_set
    points = load_results(root).points
    name = "bench_latency.Latency.time_eval_forward"
    at = points[(points["benchmark"] == name) & (points["status"] == "ok") & (points["commit_hash"] == hashes[0])]
    table = device_comparison(at[at["preset"] == "medium"], name, "seconds").set_index("variant")
    assert table.loc["reference", "cuda_machine"] == GPU_MACHINE
    assert table.loc["reference", "gpu_speedup"] == pytest.approx(25.0, rel=0.05)
    assert latest_common_commit(at.iloc[0:0], [CPU_MACHINE]) is None


def test_a_short_row_reads_as_failed_like_asv_and_is_named(tmp_path: Path) -> None:
    root = handmade_set(tmp_path)
    path = root / "box" / "aaaaaaaa-env.json"
    document = json.loads(path.read_text())
    document["results"]["mod.Cls.time_grid"] = [[1.0, 2.0], document["results"]["mod.Cls.time_grid"][1], "v1"]
    path.write_text(json.dumps(document))
    results = load_results(root)
    assert results.warnings == (
        f"{path} (2 values for 4 parameter combinations): benchmark 'mod.Cls.time_grid' has a result row of "
        "another length than its parameter grid; a missing value reads as failed and an extra one is dropped, "
        "as asv reads them",
    )
    grid = results.points[results.points["benchmark"] == "mod.Cls.time_grid"]
    expected = Results.load(str(path)).get_result_value(
        "mod.Cls.time_grid", document["results"]["mod.Cls.time_grid"][1]
    )
    assert expected == [1.0, 2.0, None, None]
    assert list(grid["status"]) == ["ok", "ok", "failed", "failed"]


def test_several_directories_merge_into_one_set(tmp_path: Path) -> None:
    cpu_hashes = write_results_set(tmp_path / "mine", commits=4, machines=[CPU_MACHINE], presets=["small"])
    gpu_hashes = write_results_set(tmp_path / "examples", commits=3, machines=[GPU_MACHINE], presets=["small"])
    assert gpu_hashes == cpu_hashes[:3], "same seed: the GPU host measured the first three commits"
    results = load_results([tmp_path / "mine", tmp_path / "examples", tmp_path / "absent"])
    assert results.warnings == (f"{tmp_path / 'absent'}: no such results directory",)
    assert results.results_dirs == (tmp_path / "mine", tmp_path / "examples", tmp_path / "absent")
    assert list(results.commits["commit_hash"]) == cpu_hashes
    assert list(results.commits["machines"]) == [2, 2, 2, 1]
    assert set(results.machines["machine"]) == {CPU_MACHINE, GPU_MACHINE}
    assert results.points["machine"].dtype == "category"
    name = "bench_latency.Latency.time_eval_forward"
    rows = results.points[(results.points["benchmark"] == name) & (results.points["status"] == "ok")]
    assert latest_common_commit(rows, [CPU_MACHINE, GPU_MACHINE]) == cpu_hashes[2]
    assert fingerprint([tmp_path / "mine", tmp_path / "examples"]) != fingerprint([tmp_path / "mine"])


def test_a_file_that_fails_part_way_leaves_no_trace(results_set: tuple[Path, list[str]], tmp_path: Path) -> None:
    bad_root, clean_root = tmp_path / "bad", tmp_path / "clean"
    shutil.copytree(results_set[0], bad_root)
    shutil.copytree(results_set[0], clean_root)
    path = sorted((bad_root / CPU_MACHINE).glob("*-*.json"))[0]
    document = json.loads(path.read_text())
    index = document["result_columns"].index("stats_q_25")
    row = document["results"][list(document["results"])[-1]]  # the other benchmarks parse before it fails
    row.extend([None] * (index + 1 - len(row)))
    row[index] = 5  # a number where a column of quartiles belongs
    path.write_text(json.dumps(document))
    (clean_root / CPU_MACHINE / path.name).unlink()

    bad, clean = load_results(bad_root), load_results(clean_root)

    assert len(bad.warnings) == 1
    assert bad.warnings[0].startswith(f"{path}: skipped, not a readable asv results file")
    assert len(bad.points) == len(clean.points)
    pd.testing.assert_frame_equal(bad.points, clean.points)
    pd.testing.assert_frame_equal(bad.commits, clean.commits)


def test_measured_options_offer_only_measured_values_and_prefer_the_given_one(tmp_path: Path) -> None:
    write_results_set(
        tmp_path, commits=2, machines=[CPU_MACHINE], presets=("tiny", "small", "medium"), measured_presets=["tiny"]
    )
    points = load_results(tmp_path).points
    assert set(points.loc[points["status"] == "skipped", "preset"].dropna()) >= {"small", "medium"}
    assert measured_options(points, "preset", preferred="medium") == (["tiny"], 0)
    assert measured_options(points, "dtype", preferred="float32") == (["float32"], 0)
    assert measured_options(points, "no_such_column") == ([], 0)
    rows = pd.DataFrame(
        {"preset": ["large", "small", "small", "medium", "tiny"], "status": ["ok", "ok", "ok", "ok", "skipped"]}
    )
    assert measured_options(rows, "preset", preferred="medium") == (["small", "medium", "large"], 1)
    assert measured_options(rows, "preset", preferred="tiny") == (["small", "medium", "large"], 0), "most measured"
    nothing = rows.assign(status="skipped")
    assert measured_options(nothing, "preset") == (["tiny", "small", "medium", "large"], 0), "all, when none measured"


def test_noise_levels_merge_the_steps_that_a_noise_cannot_tell_apart() -> None:
    same_code = [500e-6, 800e-6]  # two processes of the same code, 1.58x apart (issue 20's first make run)
    (level,) = noise_levels(same_code, fit_steps(same_code), ABSOLUTE_TIME_FACTOR)
    assert (level.start, level.stop, level.value) == (0, 2, pytest.approx(650e-6))
    real = [1.0, 1.1, math.nan, 1.0, 2.5, 2.4, 2.6]
    steps = fit_steps(real)
    assert len(steps) == 2
    levels = noise_levels(real, steps, 1.6)
    assert [(s.start, s.stop) for s in levels] == [(0, 4), (4, 7)], "a 2.5x step is beyond a 1.6x noise"
    assert [s.value for s in levels] == pytest.approx([1.0, 2.5])
    drift = [1.0, 1.0, 1.4, 1.4, 2.0, 2.0]  # each step 1.4x, but 1.0 .. 2.0 is 2x: not one level
    assert [(s.start, s.stop) for s in noise_levels(drift, fit_steps(drift), 1.6)] == [(0, 4), (4, 6)]
    assert noise_levels([], [], 1.6) == []
    with pytest.raises(ValueError, match=re.escape("factor must be > 1, got 1.0")):
        noise_levels(real, steps, 1.0)


def _trend_points(measured: dict[str, str]) -> pd.DataFrame:
    """One row per benchmark name -> its unit, measured for the reference variant unless the unit says 'skipped:'."""
    rows = []
    for name, unit in measured.items():
        skipped = unit.startswith("skipped:")
        rows.append(
            {"benchmark": name, "unit": unit.removeprefix("skipped:"), "variant": "reference"}
            | {"status": "skipped" if skipped else "ok"}
        )
    return pd.DataFrame(rows)


def test_trends_open_on_evidence_relative_timing_first() -> None:
    everything = {
        "bench_latency.Latency.time_eval_forward": "seconds",
        "bench_latency.Latency.time_backward": "seconds",
        "bench_instructions.Instructions.track_eval_forward": "instructions",
        "bench_relative.RelativeWallTime.track_eval_forward": "time ratio",
        "bench_relative.RelativeCpuTime.track_train_step": "time ratio",
        "bench_relative.RelativeCpuTime.track_eval_forward": "time ratio",
        "bench_memory.Memory.track_peak_forward_bytes": "bytes",
    }
    choices = trend_choices(_trend_points(everything))
    assert list(choices.benchmarks) == ["relative timing", "instruction counts", "absolute time", "other"]
    assert choices.measure == "relative timing"
    assert choices.opening == {
        "relative timing": "bench_relative.RelativeCpuTime.track_eval_forward",
        "instruction counts": "bench_instructions.Instructions.track_eval_forward",
        "absolute time": "bench_latency.Latency.time_eval_forward",
        "other": "bench_memory.Memory.track_peak_forward_bytes",
    }
    assert choices.benchmarks["absolute time"] == [
        "bench_latency.Latency.time_backward",
        "bench_latency.Latency.time_eval_forward",
    ]
    no_relative = {name: unit for name, unit in everything.items() if unit != "time ratio"}
    assert trend_choices(_trend_points(no_relative)).measure == "instruction counts"
    skipped = {
        name: "skipped:" + unit if unit in ("time ratio", "instructions") else unit for name, unit in everything.items()
    }
    assert trend_choices(_trend_points(skipped)).measure == "absolute time", "evidence that was never measured"
    only_wall = {**everything, "bench_relative.RelativeCpuTime.track_eval_forward": "skipped:time ratio"}
    assert trend_choices(_trend_points(only_wall)).opening["relative timing"] == (
        "bench_relative.RelativeWallTime.track_eval_forward"
    )
    bytes_only = {"bench_memory.Memory.track_peak_forward_bytes": "bytes"}
    assert trend_choices(_trend_points(bytes_only)).measure == "other"


def test_fewest_processes_counts_the_per_process_samples(tmp_path: Path) -> None:
    write_results_set(tmp_path / "quick", commits=2, machines=[CPU_MACHINE], processes=1)
    write_results_set(tmp_path / "rounds", commits=2, machines=[CPU_MACHINE])
    name = "bench_relative.RelativeCpuTime.track_eval_forward"
    for where, processes in (("quick", 1), ("rounds", 7)):
        points = load_results(tmp_path / where).points
        assert fewest_processes(points[points["benchmark"] == name]) == processes
    plain = pd.DataFrame({"samples": [None, (1.0, 1.1), (1.0,)], "status": ["ok", "ok", "skipped"]})
    assert fewest_processes(plain) == 1, "asv keeps no samples of a plain run's single value"
    assert fewest_processes(plain.iloc[1:2]) == 2
    assert fewest_processes(plain.iloc[2:]) == 0, "nothing measured"


def test_relative_timings_without_per_process_values_are_judged_on_their_value(
    results_set: tuple[Path, list[str]],
) -> None:
    # A result file may record an empty list of samples: the point's value is then its one per-process value
    # (as bncvl check takes it), so one process a commit leaves the step unconfirmed; it was a ValueError.
    points = load_results(results_set[0]).points
    relative = points["benchmark"].astype(str).str.startswith("bench_relative.")
    points.loc[relative, "samples"] = pd.Series([()] * int(relative.sum()), index=points.index[relative], dtype=object)
    points = points[~points["benchmark"].astype(str).str.startswith("bench_instructions.")]
    time_step = find_changes(points).set_index("benchmark").loc[[PLANTED_TIME.benchmark]].iloc[0]
    assert time_step["kind"] == "unconfirmed"
    assert (
        "RelativeCpuTime.track_eval_forward: too few processes (1+1 processes; 7 each needed)"
        in (time_step["evidence"])
    )


def test_within_threshold_draws_the_edge_where_asv_does() -> None:
    from bncvl.track.changes import within_threshold

    assert within_threshold([3147.0, 3147.0 + 0.01 * 3147.0], 0.01)
    assert not within_threshold([3147.0, 3147.0 * 1.01], 0.01), "one ulp above: asv finds a jump here"
    assert not within_threshold([0.0, 1.0], 0.5) and not within_threshold([None], 0.5)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
    st.floats(1e-6, 1e6),
    st.sampled_from([0.0, 0.01, 0.05, 0.2]),
    st.booleans(),
)
@example(positions=[0.0, 1.0], scale=3147.0, threshold=0.01, weighted=False)  # (1 + t) * v rounds above v + t * v
def test_a_series_within_the_threshold_has_no_step_by_asv_own_rule(
    positions: list[float], scale: float, threshold: float, weighted: bool
) -> None:
    """within_threshold lets step detection skip a series only where asv itself reports no jump."""
    from asv import step_detect

    from bncvl.track.changes import within_threshold

    values = [scale * (1 + threshold * p) for p in positions]
    assume(within_threshold(values, threshold))  # all but the last ulp of the range
    weights = [1.0 + p for p in positions] if weighted else None
    _last, _best, jumps = step_detect.detect_regressions(step_detect.detect_steps(values, weights), threshold)
    assert not jumps
    inverted = [1 / v for v in values]
    assume(within_threshold(inverted, threshold * (1 + 1e-9)))
    _last, _best, jumps = step_detect.detect_regressions(step_detect.detect_steps(inverted, weights), threshold)
    assert not jumps


def test_within_threshold_refuses_what_it_cannot_vouch_for() -> None:
    from bncvl.track.changes import within_threshold

    assert not within_threshold([1.0, 1.06], 0.05), "a 6 % spread may hold a step"
    assert not within_threshold([0.0, 0.0], 0.05) and not within_threshold([-1.0, -1.0], 0.05), "not positive"
    assert not within_threshold([None, None], 0.05), "nothing to vouch for"
    assert within_threshold([None, 2.0, 2.1], 0.05)


def test_comparisons_of_a_benchmark_without_devices_are_empty_not_a_crash() -> None:
    """A benchmark with a ``variant`` but no ``device`` parameter (every device missing) has nothing to compare."""
    rows = pd.DataFrame(
        {
            "machine": pd.Categorical(["box", "box"]),
            "variant": pd.Categorical(["reference", "fast"]),
            "device": pd.Categorical([None, None]),
            "preset": pd.Categorical([None, None]),
            "dtype": pd.Categorical([None, None]),
            "value": [2.0, 1.0],
        }
    )
    assert device_comparison(rows, "bench_x.X.time_y", "seconds").empty
    speedups = variant_speedups(rows, "bench_x.X.time_y", "seconds").set_index("variant")
    assert speedups.loc["fast", "speedup_vs_reference"] == pytest.approx(2.0)
