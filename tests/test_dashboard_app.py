"""Every dashboard page run from the entry point (Streamlit's AppTest) on a results set with planted steps."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit", reason="needs the dashboard extra")

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from bncvl.commands import dashboard as dashboard_cli
from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, write_results_set
from bncvl.testing.runs import write_run
from bncvl.testing.steps import (
    FAILED,
    PLANTED_AT,
    PLANTED_FLOPS,
    PLANTED_FLOPS_EVIDENCE,
    PLANTED_TIME,
    PLANTED_TIME_EVIDENCE,
    PLANTED_UTILIZATION,
)
from tests.store_cases import publish_into

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
GITHUB = "https://github.com/example/bncvl/commit/"


@pytest.fixture
def served_options() -> Iterator[None]:
    """Streamlit's options as `bncvl dashboard` serves every page (magic off), for the AppTest runs."""
    with patch_config_options(dashboard_cli.page_options()):
        yield


@pytest.fixture
def app(
    results_store: Path, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served_options: None
) -> AppTest:
    """The dashboard on the store published from the fixture results, and the runs, with an asv.conf.json that
    sets show_commit_url. The results directory it is given does not exist: the pages read the store."""
    (tmp_path / "asv.conf.json").write_text('{\n  // asv allows comments\n  "show_commit_url": "' + GITHUB + '"\n}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", str(results_store))
    monkeypatch.setenv("BNCVL_RESULTS_DIR", str(tmp_path / "no-results"))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
    test = AppTest.from_file(str(APP), default_timeout=120)
    test.run()
    assert not test.exception, [e.value for e in test.exception]
    return test


def open_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in app.get("plotly_chart")]


def values(trace: dict, axis: str) -> list:
    """A trace's ``x`` or ``y`` as a list (plotly sends numbers as a base64 typed array)."""
    data = trace[axis]
    if isinstance(data, dict):
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def trace_names(spec: dict) -> list[str]:
    return [trace.get("name", "") for trace in spec["data"]]


def test_overview_shows_machines_commits_health_and_latest_regressions(
    app: AppTest, results_set: tuple[Path, list[str]]
) -> None:
    hashes = results_set[1]
    assert app.title[0].value == "BNCVL performance"
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Machines": "2", "Commits covered": "8", "Benchmarks": "27"}
    machines = app.dataframe[0].value.set_index("machine")
    assert machines.loc[GPU_MACHINE, "gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert machines.loc[GPU_MACHINE, "gpu_driver"] == "550.90.07"
    assert machines.loc[CPU_MACHINE, "gpu_model"] == "none"
    assert machines.loc[CPU_MACHINE, "commits"] == 8
    health = app.error[0].value
    assert health.endswith("16 failed, 0 invalid. Each is listed below with its result file.")
    broken = app.dataframe[1].value
    assert list(broken["benchmark"]) == ["bench_latency.Latency.time_backward"]
    assert list(broken["status"]) == ["failed"] and list(broken["commits"]) == [1]
    assert list(broken["first_file"]) == [f"{CPU_MACHINE}/{hashes[FAILED[1]][:8]}-virtualenv-py3.11-torch2.13.0.json"]
    latest = app.dataframe[2].value
    evidence = {PLANTED_TIME_EVIDENCE.benchmark, PLANTED_FLOPS_EVIDENCE.benchmark}
    assert set(latest["benchmark"]) == {PLANTED_TIME.benchmark, PLANTED_FLOPS.benchmark, *evidence}
    assert f"{hashes[PLANTED_AT - 1][:8]}..{hashes[PLANTED_AT][:8]}" in set(latest["commits"])
    assert latest.set_index("benchmark").loc[PLANTED_TIME.benchmark, "evidence"].startswith("RelativeCpuTime")
    assert "1 step(s) within noise" in app.caption[-1].value and "1 unconfirmed" in app.caption[-1].value
    assert "3 analysis run(s)" in app.markdown[-1].value


def test_regressions_lists_the_planted_steps_with_range_and_direction(
    app: AppTest, results_set: tuple[Path, list[str]]
) -> None:
    hashes = results_set[1]
    open_page(app, "regressions")
    table = app.dataframe[0].value
    assert set(table["kind"]) == {"regression"}
    planted = table[table["benchmark"] == PLANTED_TIME.benchmark]
    assert len(planted) == 1
    row = planted.iloc[0]
    assert row["params"] == "variant=fused, preset=medium, device=cpu, dtype=float32"
    assert row["machine"] == CPU_MACHINE
    assert row["direction"] == "lower"
    assert row["commits"] == f"{hashes[PLANTED_AT - 1][:8]}..{hashes[PLANTED_AT][:8]}"
    assert row["factor"] == pytest.approx(1.5, rel=0.05)
    assert row["link"] == f"{GITHUB}../compare/{hashes[PLANTED_AT - 1]}...{hashes[PLANTED_AT]}"
    assert set(table[table["benchmark"] == PLANTED_FLOPS.benchmark]["direction"]) == {"higher"}
    assert PLANTED_UTILIZATION.benchmark not in set(table["benchmark"]), "informative: not a regression"
    csv = app.get("download_button")[0]
    assert csv.proto.label == "Download CSV"

    app.multiselect(key="regressions_machine").set_value([GPU_MACHINE]).run()
    assert app.dataframe[0].value.empty
    app.multiselect(key="regressions_kind").set_value(["regression", "change"]).run()
    shown = app.dataframe[0].value
    assert set(shown["benchmark"]) == {PLANTED_UTILIZATION.benchmark}
    assert set(shown["direction"]) == {"informative"} and set(shown["kind"]) == {"change"}
    app.multiselect(key="regressions_machine").set_value([]).run()
    app.multiselect(key="regressions_variant").set_value(["fused"]).run()
    app.multiselect(key="regressions_device").set_value(["cpu"]).run()
    assert set(app.dataframe[0].value["benchmark"]) == {PLANTED_TIME.benchmark, PLANTED_TIME_EVIDENCE.benchmark}
    app.multiselect(key="regressions_kind").set_value(["within noise"]).run()
    assert app.dataframe[0].value.empty, "the within-noise step is the reference's, not fused's"
    app.multiselect(key="regressions_variant").set_value([]).run()
    noise = app.dataframe[0].value
    assert list(noise["benchmark"]) == ["bench_latency.Latency.time_train_step"]
    assert "Instructions.track_train_step x1.00" in noise["evidence"].iloc[0]


def test_trends_opens_on_relative_timing_with_absolute_time_one_click_away(app: AppTest) -> None:
    open_page(app, "trends")
    measure = app.radio(key="trends_measure")
    assert measure.options == ["relative timing", "instruction counts", "absolute time", "other"]
    assert measure.value == "relative timing", "a benchmark that can confirm a change"
    benchmark = app.selectbox(key="trends_benchmark_relative_timing").value
    assert benchmark == "bench_relative.RelativeCpuTime.track_eval_forward"
    assert app.multiselect(key="trends_param_variant").value == ["reference"]
    assert not [caption.value for caption in app.caption if "×1.6" in caption.value], "no noise band: evidence"
    (spec,) = chart_specs(app)
    assert spec["layout"]["yaxis"]["title"]["text"] == "time ratio"
    assert not [name for name in trace_names(spec) if name.startswith("noise")]
    app.radio(key="trends_measure").set_value("absolute time").run()
    assert app.selectbox(key="trends_benchmark_absolute_time").value == "bench_latency.Latency.time_eval_forward"
    (spec,) = chart_specs(app)
    assert f"noise ×1.6 {CPU_MACHINE} variant=reference, preset=medium, device=cpu, dtype=float32" in trace_names(spec)
    (note,) = [caption.value for caption in app.caption if "×1.6" in caption.value]
    assert "same code" in note and "docs/ci-check.md" in note


def test_trends_draws_band_step_fit_and_regression_marker(app: AppTest, results_set: tuple[Path, list[str]]) -> None:
    hashes = results_set[1]
    open_page(app, "trends")
    app.radio(key="trends_measure").set_value("absolute time").run()
    assert app.selectbox(key="trends_benchmark_absolute_time").value == "bench_latency.Latency.time_eval_forward"
    app.multiselect(key="trends_machines").set_value([CPU_MACHINE])
    app.multiselect(key="trends_param_variant").set_value(["fused"])
    app.multiselect(key="trends_param_preset").set_value(["medium"]).run()
    (spec,) = chart_specs(app)
    names = trace_names(spec)
    series = f"{CPU_MACHINE} variant=fused, preset=medium, device=cpu, dtype=float32"
    assert series in names
    assert f"IQR {series}" in names and f"step fit {series}" in names
    (marker,) = [name for name in names if name.startswith("regression ×")]
    assert float(marker.removeprefix("regression ×")) == pytest.approx(1.5, rel=0.05), "the planted 1.5x step"
    line = next(trace for trace in spec["data"] if trace.get("name") == series)
    assert "%{customdata[0]}" in line["hovertemplate"] and "%{customdata[1]}" in line["hovertemplate"]
    xaxis = spec["layout"]["xaxis"]
    assert xaxis["title"]["text"] == "commit (oldest first)"
    # one category per commit, labelled by its short hash, oldest first: never a fractional position
    assert xaxis["type"] == "category" and xaxis["categoryarray"] == [h[:8] for h in hashes]
    assert values(line, "x") == [h[:8] for h in hashes]
    # seconds shown in ms (the fused medium eval forward is about 1.25 ms, 1.9 ms after the planted step)
    assert spec["layout"]["yaxis"]["title"]["text"] == "time (ms)"
    assert 1.0 < values(line, "y")[0] < 1.5 and line["hovertemplate"].count(" ms<extra>") == 1
    app.toggle(key="trends_log").set_value(True)
    app.radio(key="trends_x").set_value("date").run()
    (spec,) = chart_specs(app)
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert spec["layout"]["xaxis"]["title"]["text"] == "commit date"
    assert spec["layout"]["xaxis"]["type"] == "date"


def test_devices_compares_variants_and_gpu_against_cpu(app: AppTest, results_set: tuple[Path, list[str]]) -> None:
    hashes = results_set[1]
    open_page(app, "devices")
    assert f"Common commit: `{hashes[-1][:8]}`" in app.markdown[0].value
    speedups = app.dataframe[0].value.set_index(["machine", "device", "variant"])
    assert speedups.loc[(GPU_MACHINE, "cuda", "reference"), "speedup_vs_reference"] == pytest.approx(1.0)
    assert speedups.loc[(GPU_MACHINE, "cuda", "fast"), "speedup_vs_reference"] == pytest.approx(2.1, rel=0.05)
    assert speedups.loc[(CPU_MACHINE, "cpu", "conv_limit"), "speedup_vs_limit"] == pytest.approx(1.0)
    gpu = app.dataframe[1].value.set_index("variant")
    assert gpu.loc["reference", "gpu_speedup"] == pytest.approx(25.0, rel=0.05)
    assert gpu.loc["reference", "cuda_machine"] == GPU_MACHINE
    (spec,) = chart_specs(app)
    assert spec["layout"]["xaxis"]["title"]["text"] == "variant"
    assert spec["layout"]["yaxis"]["title"]["text"] == "speed-up over reference (×, higher is better)"
    assert app.selectbox(key="devices_preset").value == "medium", "the preferred preset, since it was measured"


def test_memory_and_gpu_page_shows_bytes_storage_and_gpu(app: AppTest) -> None:
    open_page(app, "memory_gpu")
    assert [header.value for header in app.header] == ["Memory", "GPU"]
    memory, storage, gpu = (frame.value for frame in app.dataframe)
    assert {"peak_forward_bytes", "peak_train_step_bytes", "saved_activation_bytes"} <= set(memory.columns)
    fused = memory.set_index(["machine", "device", "variant"]).loc[(CPU_MACHINE, "cpu", "fused")]
    assert fused["saved_activation_bytes"] == pytest.approx(1.2e7 / 1.5, rel=0.05)
    assert storage["compression"].to_numpy() == pytest.approx(147456 / 4616, rel=0.05)
    assert set(gpu.reset_index()["machine"]) == {GPU_MACHINE}, "the CPU machine's GPU benchmarks are all skipped"
    assert gpu["gpu_utilization"].notna().all() and gpu["energy_per_forward"].notna().all()
    specs = chart_specs(app)
    axes = [(s["layout"]["title"]["text"], s["layout"]["yaxis"]["title"]["text"]) for s in specs]
    assert axes == [
        ("peak_forward_bytes over commits", "size (MB)"),
        ("peak_forward_bytes across devices", "size (MB)"),
        ("bytes at rest", "size (kB)"),
        ("gpu_utilization over commits", "%"),
        ("gpu_utilization across devices", "%"),
    ]
    storage_bars = {trace["name"]: values(trace, "y") for trace in specs[2]["data"]}
    # the table's bytes, drawn in kB
    assert sorted(storage_bars["packed_weight_bytes"]) == pytest.approx(sorted(storage["packed_weight_bytes"] / 1e3))
    assert specs[0]["layout"]["xaxis"]["type"] == "category"
    assert (app.selectbox(key="memory_preset").value, app.selectbox(key="gpu_preset").value) == ("medium", "medium")
    app.radio(key="gpu_metric").set_value("bench_gpu.GPU.track_energy_per_forward").run()
    specs = chart_specs(app)
    axes = [(s["layout"]["title"]["text"], s["layout"]["yaxis"]["title"]["text"]) for s in specs]
    assert axes[-2:] == [
        ("energy_per_forward over commits", "energy (mJ)"),
        ("energy_per_forward across devices", "energy (mJ)"),
    ]


def test_quantization_compares_runs_and_tracks_benchmarks(app: AppTest, results_set: tuple[Path, list[str]]) -> None:
    open_page(app, "quantization")
    summary = app.dataframe[0].value.set_index("run")
    assert list(summary.index) == ["digits-seed0", "digits-seed1", "interrupted"]
    assert summary.loc["digits-seed1", "accuracy_gap"] == pytest.approx(0.06)
    assert not summary.loc["interrupted", "complete"]
    assert "truncated last line" in app.warning[0].value and "interrupted/metrics.jsonl" in app.warning[0].value
    specs = {spec["layout"]["title"]["text"]: spec for spec in chart_specs(app)}
    assert list(specs) == [
        "test accuracy, BNCVL vs float",
        "conv1: binarisation while training",
        "digits-seed0 conv1 latent_weight at step 29",
        "by commit (oldest first)",
    ]
    panels = [a["text"] for a in specs["conv1: binarisation while training"]["layout"]["annotations"]]
    assert panels == [
        "Flip ratio",
        "Oscillating fraction",
        "Mean oscillation frequency",
        "Fraction of ones",
        "Threshold drift",
        "Dead filters",
    ]
    accuracy = trace_names(specs["test accuracy, BNCVL vs float"])
    assert "digits-seed0 bncvl" in accuracy and "digits-seed0 float" in accuracy
    histogram = specs["digits-seed0 conv1 latent_weight at step 29"]
    assert histogram["layout"]["shapes"][0]["type"] == "line", "the threshold is marked"
    tracks = [a["text"] for a in specs["by commit (oldest first)"]["layout"]["annotations"]]
    assert {"track_test_error (fraction)", "track_dead_filters (filters)"} <= set(tracks)
    commits = specs["by commit (oldest first)"]["layout"]["xaxis"]
    assert commits["type"] == "category" and commits["categoryarray"] == [h[:8] for h in results_set[1]]
    assert commits["title"]["text"] == "commit"
    accuracy_axes = specs["test accuracy, BNCVL vs float"]["layout"]
    assert (accuracy_axes["xaxis"]["title"]["text"], accuracy_axes["yaxis"]["title"]["text"]) == (
        "optimizer step",
        "test accuracy",
    )
    assert accuracy_axes["yaxis"]["tickformat"] == ".0%"
    assert specs["conv1: binarisation while training"]["layout"]["xaxis"]["title"]["text"] == "optimizer step"
    histogram_axes = specs["digits-seed0 conv1 latent_weight at step 29"]["layout"]
    assert (histogram_axes["xaxis"]["title"]["text"], histogram_axes["yaxis"]["title"]["text"]) == (
        "latent weight",
        "weights",
    )
    app.select_slider(key="quantization_hist_step").set_value(10).run()
    assert "digits-seed0 conv1 latent_weight at step 10" in [s["layout"]["title"]["text"] for s in chart_specs(app)]
    app.selectbox(key="quantization_layer").set_value("conv2").run()
    assert "conv2: binarisation while training" in [s["layout"]["title"]["text"] for s in chart_specs(app)]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """What a first `make run` leaves: one CPU machine, 2 commits, every preset in the params but only tiny measured,
    one process per relative timing (a --quick run), published into the embedded store; and one analysis run."""
    root = tmp_path_factory.mktemp("quick")
    variants = ("reference", "cached", "fused", "channels_last", "half", "cuda_graph", "fast", "conv_limit")
    hashes = write_results_set(
        root / "results",
        commits=2,
        machines=[CPU_MACHINE],
        variants=variants,
        presets=("tiny", "small", "medium", "large"),
        devices=("cpu", "cuda"),
        measured_presets=["tiny"],
        processes=1,
    )
    write_run(root / "runs", "default")
    publish_into(root / "results" / "bncvl-store.sqlite", root / "results", root / "runs")
    return root / "results", root / "runs", hashes


@pytest.fixture
def quick_app(
    quick_results: tuple[Path, Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served_options: None
) -> AppTest:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BNCVL_STORE", raising=False)  # the embedded store of the results directory
    monkeypatch.setenv("BNCVL_RESULTS_DIR", str(quick_results[0]))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(quick_results[1]))
    test = AppTest.from_file(str(APP), default_timeout=120)
    test.run()
    assert not test.exception, [e.value for e in test.exception]
    return test


@pytest.mark.parametrize("page", ["overview", "regressions", "trends", "devices", "memory_gpu", "quantization"])
def test_after_a_first_make_run_no_page_is_empty(page: str, quick_app: AppTest) -> None:
    open_page(quick_app, page)
    empty_states = [block.value for block in quick_app.code if "asv run" in block.value or "analyze" in block.value]
    assert empty_states == []
    notes = " ".join(element.value for element in [*quick_app.info, *quick_app.warning])
    assert "Pick at least one" not in notes and "No measured value" not in notes, notes
    assert len(quick_app.dataframe) + len(chart_specs(quick_app)) >= 1, f"{page} shows neither a chart nor a table"
    if page == "overview":
        metrics = {metric.label: metric.value for metric in quick_app.metric}
        assert (metrics["Machines"], metrics["Commits covered"]) == ("1", "2")
    elif page != "regressions":
        assert chart_specs(quick_app), f"{page} draws no chart"


def test_devices_defaults_to_the_measured_tiny_preset(
    quick_app: AppTest, quick_results: tuple[Path, Path, list[str]]
) -> None:
    open_page(quick_app, "devices")
    preset = quick_app.selectbox(key="devices_preset")
    assert (preset.value, preset.options) == ("tiny", ["tiny"]), "medium is in the params but was never measured"
    assert quick_app.multiselect(key="devices_machines").value == [CPU_MACHINE]
    assert f"Common commit: `{quick_results[2][-1][:8]}`" in quick_app.markdown[0].value
    speedups = quick_app.dataframe[0].value.set_index("variant")
    assert speedups.loc["fast", "speedup_vs_reference"] == pytest.approx(2.1, rel=0.05)
    assert "half" not in speedups.index, "CUDA-only variants are skipped on the CPU"
    (spec,) = chart_specs(quick_app)
    assert len(values(spec["data"][0], "y")) == len(speedups)


def test_memory_defaults_to_the_measured_tiny_preset(quick_app: AppTest) -> None:
    open_page(quick_app, "memory_gpu")
    assert quick_app.selectbox(key="memory_preset").value == "tiny"
    memory = quick_app.dataframe[0].value.set_index("variant")
    assert memory.loc["reference", "saved_activation_bytes"] == pytest.approx(1.2e7, rel=0.05)
    assert memory.loc["fused", "peak_forward_bytes"] == pytest.approx(8.0e6 / 1.5, rel=0.05)
    titles = [spec["layout"]["title"]["text"] for spec in chart_specs(quick_app)]
    assert titles == ["peak_forward_bytes over commits", "peak_forward_bytes across devices", "bytes at rest"]
    assert "No GPU measurements" in quick_app.info[0].value


def test_trends_of_two_commits_labels_each_commit_once(
    quick_app: AppTest, quick_results: tuple[Path, Path, list[str]]
) -> None:
    open_page(quick_app, "trends")
    assert quick_app.selectbox(key="trends_benchmark_relative_timing").value == (
        "bench_relative.RelativeCpuTime.track_eval_forward"
    )
    assert quick_app.multiselect(key="trends_param_variant").value == ["reference"]
    assert quick_app.multiselect(key="trends_param_preset").value == ["tiny"]
    (spec,) = chart_specs(quick_app)
    assert spec["layout"]["xaxis"]["categoryarray"] == [h[:8] for h in quick_results[2]]
    line = next(trace for trace in spec["data"] if trace.get("mode") == "lines+markers")
    assert values(line, "x") == [h[:8] for h in quick_results[2]]


@pytest.mark.parametrize("page", ["overview", "regressions", "trends", "devices", "memory_gpu", "quantization"])
def test_empty_directories_show_the_command_to_run(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served_options: None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BNCVL_STORE", raising=False)
    monkeypatch.setenv("BNCVL_RESULTS_DIR", str(tmp_path / "no-results"))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(tmp_path / "no-runs"))
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    open_page(app, page)
    commands = " ".join(block.value for block in app.code)
    assert "asv run" in commands or "bncvl analyze" in commands
    assert not app.exception
    (error,) = app.error  # on Quantization, under the runs' own empty state
    assert (
        error.value == f"no store at {tmp_path / 'no-results' / 'bncvl-store.sqlite'}: run `bncvl publish` to create it"
    )
    assert "bncvl publish" in commands


def test_cli_directories_come_from_flags_then_environment_then_asv_conf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "asv.conf.json").write_text('{\n  // comment\n  "results_dir": "out/results"\n}')
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    dirs = dashboard_cli.resolve_dirs(environ={})
    assert dirs.results_dirs == (tmp_path / "out" / "results",)
    assert dirs.runs_dir == tmp_path / "runs"
    assert dirs.asv_conf == tmp_path / "asv.conf.json"
    environ = {"BNCVL_RESULTS_DIR": str(tmp_path / "env-results"), "BNCVL_RUNS_DIR": str(tmp_path / "env-runs")}
    dirs = dashboard_cli.resolve_dirs(environ=environ)
    assert (dirs.results_dirs, dirs.runs_dir) == ((tmp_path / "env-results",), tmp_path / "env-runs")
    dirs = dashboard_cli.resolve_dirs([str(tmp_path / "a"), str(tmp_path / "b")], None, environ=environ)
    assert dirs.results_dirs == (tmp_path / "a", tmp_path / "b")
    (tmp_path / "examples" / "results").mkdir(parents=True)
    dirs = dashboard_cli.resolve_dirs(environ={})
    assert dirs.results_dirs == (tmp_path / "out" / "results", tmp_path / "examples" / "results")


def test_cli_binds_localhost_and_checks_its_port(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    dashboard_cli.configure(parser)
    args = parser.parse_args(["--results-dir", str(tmp_path)])
    dirs = dashboard_cli.resolve_dirs(args.results_dir, str(tmp_path / "runs"), environ={})
    assert dirs.results_dirs == (tmp_path,)
    command, environ = dashboard_cli.streamlit_command(dirs, args.port, args.address, store="postgresql://u:pw@h/db")
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert environ["BNCVL_STORE"] == "postgresql://u:pw@h/db" and not [c for c in command if "pw" in c]
    assert command[command.index("--server.port") + 1] == "8501"
    assert command[command.index("run") + 1] == str(APP)
    assert environ["BNCVL_RESULTS_DIR"] == str(tmp_path)
    with pytest.raises(ValueError, match="--port must be between 1 and 65535, got 0"):
        dashboard_cli.main(parser.parse_args(["--port", "0"]))


def test_cli_turns_streamlit_magic_off_and_hides_the_deploy_button(tmp_path: Path) -> None:
    dirs = dashboard_cli.resolve_dirs([str(tmp_path)], str(tmp_path / "runs"), environ={})
    command, _environ = dashboard_cli.streamlit_command(dirs, 8501, "127.0.0.1", store="sqlite:///x")
    # Magic would write any bare expression of a page, such as a constant's docstring, onto the page.
    assert command[command.index("--runner.magicEnabled") + 1] == "false"
    assert command[command.index("--client.toolbarMode") + 1] == "viewer"


def test_streamlit_run_of_the_app_reads_the_same_options_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`streamlit run dashboard/app.py` without the launcher: Streamlit's script-level config file."""
    from streamlit import config

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "_main_script_path", str(APP))
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.magicEnabled") is False
        assert config.get_option("client.toolbarMode") == "viewer"
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


def test_trends_says_when_relative_timings_are_too_few_to_confirm_anything(quick_app: AppTest) -> None:
    open_page(quick_app, "trends")
    (note,) = [caption.value for caption in quick_app.caption if "process" in caption.value]
    assert "1 process per commit" in note and "7 or more" in note and "rounds=7" in note


def test_trends_of_relative_timings_from_seven_processes_need_no_such_note(app: AppTest) -> None:
    open_page(app, "trends")
    assert app.radio(key="trends_measure").value == "relative timing"
    assert not [caption.value for caption in app.caption if "process per commit" in caption.value]


def test_devices_speed_ups_of_absolute_times_name_their_noise_and_no_empty_gpu_table(quick_app: AppTest) -> None:
    open_page(quick_app, "devices")
    (note,) = [caption.value for caption in quick_app.caption if "1.6×" in caption.value]
    assert "between 0.62 and 1.6" in note and "bench_relative" in note
    assert "Both devices are needed" in quick_app.info[0].value
    assert len(quick_app.dataframe) == 1, "no GPU-vs-CPU table of empty cells on a CPU-only machine"
    quick_app.selectbox(key="devices_benchmark").set_value("bench_memory.Memory.track_peak_forward_bytes").run()
    assert not [caption.value for caption in quick_app.caption if "1.6×" in caption.value], "bytes are exact"


def test_quantization_says_its_benchmarks_train_apart_from_the_runs(app: AppTest) -> None:
    open_page(app, "quantization")
    (note,) = [caption.value for caption in app.caption if "bench_quantization" in caption.value]
    assert "not the runs above" in note


PAGES = ("overview", "regressions", "trends", "devices", "memory_gpu", "quantization")


@pytest.mark.parametrize("page", PAGES)
def test_a_pages_load_at_fleet_scale_reads_the_values_the_page_opens_on(
    page: str, app: AppTest, results_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dashboard.loads.PAGES``, which tools/store_scale.py and benchmarks/bench_store.py time, reads the same
    values from the store as the page does when it opens on its defaults; bench_store times each of them."""
    import sqlalchemy as sa
    import streamlit as st

    from benchmarks import bench_store
    from dashboard import data, loads

    def spy(into: list) -> object:
        def load_points(engine: sa.Engine, **filters: object) -> object:
            benchmarks = filters.get("benchmarks")
            into.append({**filters, "benchmarks": [benchmarks] if isinstance(benchmarks, str) else list(benchmarks)})
            return real(engine, **filters)

        return load_points

    real = loads.load_points
    by_page: list[dict] = []
    monkeypatch.setattr(data, "load_points", spy(by_page))
    monkeypatch.setattr(loads, "load_points", spy(by_page))
    st.cache_data.clear()
    open_page(app, page)
    by_load: list[dict] = []
    monkeypatch.setattr(loads, "load_points", spy(by_load))
    loads.PAGES[page](sa.create_engine(f"sqlite:///{results_store}"))

    assert by_load == by_page
    assert page in bench_store.PAGES and list(bench_store.PAGES) == list(loads.PAGES)


def test_every_page_reads_the_store_not_the_files(
    results_store: Path, runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With asv's reader made to fail and no results directory, every page shows what a store copy holds, a fact
    changed in the store included."""
    import shutil
    import sqlite3

    import bncvl.track.results

    store = tmp_path / "copy.sqlite"
    shutil.copy(results_store, store)
    with sqlite3.connect(store) as connection:
        facts = json.loads(
            connection.execute("SELECT facts FROM machines WHERE name = ?", (GPU_MACHINE,)).fetchone()[0]
        )
        facts["gpu_model"] = "NVIDIA H200 (edited in the store)"
        connection.execute("UPDATE machines SET facts = ? WHERE name = ?", (json.dumps(facts), GPU_MACHINE))

    def no_files(*args: object, **kwargs: object) -> None:
        raise AssertionError("a page read asv's files")

    for name in ("load_results", "load_result_file", "_load_directory"):
        monkeypatch.setattr(bncvl.track.results, name, no_files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", str(store))
    monkeypatch.setenv("BNCVL_RESULTS_DIR", str(tmp_path / "no-results"))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    machines = app.dataframe[0].value.set_index("machine")
    assert machines.loc[GPU_MACHINE, "gpu_model"] == "NVIDIA H200 (edited in the store)"
    for page in PAGES:
        open_page(app, page)
        assert len(app.dataframe) + len(chart_specs(app)) >= 1, page
        assert not [e.value for e in app.error if "store" in e.value], page


def test_a_publish_shows_on_the_next_rerun(
    results_set: tuple[Path, list[str]], runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    results = tmp_path / "results"
    shutil.copytree(results_set[0], results)
    newest = sorted(results.glob(f"{CPU_MACHINE}/*-*.json"), key=lambda p: json.loads(p.read_text())["date"])[-1]
    aside = tmp_path / newest.name
    newest.rename(aside)
    store = publish_into(tmp_path / "store.sqlite", results)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", str(store))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    assert app.dataframe[0].value.set_index("machine").loc[CPU_MACHINE, "commits"] == 7
    aside.rename(newest)
    publish_into(store, results)
    import time

    time.sleep(1.1)  # the store's state is asked at most once a second
    app.run()
    assert app.dataframe[0].value.set_index("machine").loc[CPU_MACHINE, "commits"] == 8


def test_html_in_names_and_commit_messages_is_shown_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark name, parameter value, machine fact and commit message holding HTML: stored verbatim, shown as
    text in tables, escaped for plotly (which draws a subset of HTML, links included), never as HTML."""
    import subprocess

    from tests.store_cases import HOSTILE, write_hostile_results

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", HOSTILE], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    results = tmp_path / "results"
    write_hostile_results(results, commit)
    from bncvl.cli import main as bncvl

    store = tmp_path / "store.sqlite"
    assert (
        bncvl(["publish", "--store", str(store), "--results-dir", str(results), "--no-runs", "--repo", str(repo)]) == 0
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", str(store))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    assert app.dataframe[0].value.loc[0, "gpu_model"] == HOSTILE, "a table cell is text"
    escaped = HOSTILE.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    seen_escaped = False
    for page in PAGES:
        open_page(app, page)
        for element in app.markdown:
            if "<script>" in element.value:
                assert not element.proto.allow_html, (page, element.value)
        for spec in chart_specs(app):
            dumped = json.dumps(spec)
            assert "<script>" not in dumped, page
            seen_escaped |= escaped[:20] in dumped
    open_page(app, "trends")
    (picker,) = [box for box in app.selectbox if box.label == "Benchmark"]
    assert picker.value == HOSTILE
    (spec,) = chart_specs(app)
    assert spec["layout"]["title"]["text"] == escaped
    assert seen_escaped


def run_dashboard_cli(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> list[dict[str, str]]:
    """``bncvl dashboard argv`` with Streamlit's start recorded instead of run: the environments it would get."""
    import subprocess

    started: list[dict[str, str]] = []

    def record(command: list[str], env: dict[str, str]) -> int:
        started.append(env)
        return 0

    monkeypatch.setattr(subprocess, "call", record)
    from bncvl.cli import main as bncvl

    code = bncvl(["dashboard", *argv])
    assert code in (0, 2)
    return started if code == 0 else [{"exit": "2"}]


def test_cli_publishes_into_the_embedded_store_then_serves_it(
    results_set: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import shutil

    results = tmp_path / "results"
    shutil.copytree(results_set[0], results)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BNCVL_STORE", raising=False)
    (started,) = run_dashboard_cli(monkeypatch, ["--results-dir", str(results), "--runs-dir", str(tmp_path / "runs")])
    embedded = results / "bncvl-store.sqlite"
    assert started["BNCVL_STORE"] == f"sqlite:///{embedded}"
    out, err = capsys.readouterr()
    assert "16 result file(s) published (16 new, 0 replaced)" in out
    assert f"bncvl dashboard: store sqlite:///{embedded}; runs {tmp_path / 'runs'}" in err
    run_dashboard_cli(monkeypatch, ["--results-dir", str(results)])
    assert "0 result file(s) published (0 new, 0 replaced), 16 unchanged" in capsys.readouterr().out
    run_dashboard_cli(monkeypatch, ["--results-dir", str(results), "--no-publish"])
    assert "published" not in capsys.readouterr().out


def test_cli_reads_a_given_store_without_publishing_and_never_shows_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://reader:s3cret-pw@127.0.0.1:{port}/bncvl"
    monkeypatch.chdir(tmp_path)
    (started,) = run_dashboard_cli(monkeypatch, ["--store", url])
    assert started["BNCVL_STORE"] == f"postgresql+psycopg://reader:s3cret-pw@127.0.0.1:{port}/bncvl"
    out, err = capsys.readouterr()
    assert out == "" and "s3cret" not in err
    assert f"bncvl dashboard: store postgresql://reader:***@127.0.0.1:{port}/bncvl;" in err
    monkeypatch.setenv("BNCVL_STORE", url)
    (started,) = run_dashboard_cli(monkeypatch, [])
    assert "s3cret" not in "".join(capsys.readouterr())
    (failed,) = run_dashboard_cli(monkeypatch, ["--results-dir", str(tmp_path)])
    assert failed == {"exit": "2"}, "publishing into an unreachable store: nothing served"
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith(
        "bncvl dashboard: error: cannot use the store postgresql://reader:***@"
    )
    assert "s3cret" not in out + err


def test_a_page_never_shows_the_store_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", f"postgresql://reader:s3cret-pw@127.0.0.1:{port}/bncvl")
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    for page in PAGES:
        open_page(app, page)
        shown = [e.value for e in (*app.error, *app.markdown, *app.caption, *app.info, *app.warning, *app.code)]
        assert not [text for text in shown if "s3cret" in text], page
        assert any(f"cannot use the store postgresql://reader:***@127.0.0.1:{port}/bncvl" in t for t in shown), page
