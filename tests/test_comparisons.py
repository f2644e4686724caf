"""bncvl.track.comparisons, tables and trends: what the dashboard's pages show, shaped without Streamlit."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")

from bncvl.track.comparisons import (  # noqa: E402
    compared_commits,
    distinct,
    filled_columns,
    measured_machines,
    unit_of,
)
from bncvl.track.tables import (  # noqa: E402
    broken_by_series,
    latest_regressions,
    machine_table,
    metric_group,
    select,
    setting_labels,
    status_counts,
    step_counts,
    step_rows,
    tracks_by_commit,
    weight_storage,
)
from bncvl.track.trends import first_series, trend_parameter_options  # noqa: E402


def test_unit_of_prefers_the_known_unit_then_the_first_a_row_carries() -> None:
    rows = pd.DataFrame({"unit": pd.Categorical([None, "seconds", "bytes"])})
    assert unit_of(rows) == "seconds"
    assert unit_of(rows, known="FLOP/s") == "FLOP/s"
    assert unit_of(rows, known="") == "seconds", "an empty benchmarks.json unit says nothing"
    assert unit_of(rows.iloc[:1]) is None
    assert unit_of(rows.iloc[:0]) is None


def test_filled_columns_keeps_the_given_order_and_drops_absent_or_empty_ones() -> None:
    rows = pd.DataFrame({"variant": ["fast"], "device": [None], "machine": ["box"]})
    assert filled_columns(rows, ("machine", "device", "variant", "preset")) == ["machine", "variant"]
    assert filled_columns(rows.iloc[:0], ("machine",)) == []


def points(*rows: tuple[str, str, int, str, float]) -> pd.DataFrame:
    """Rows of one benchmark: (machine, commit, order, status, value), machines as the store's categoricals."""
    table = pd.DataFrame(rows, columns=["machine", "commit_hash", "order", "status", "value"])
    return table.assign(machine=table["machine"].astype("category"))


def test_machines_are_compared_at_their_newest_common_commit() -> None:
    rows = points(
        ("a", "c1", 1, "ok", 1.0),
        ("a", "c2", 2, "ok", 2.0),
        ("b", "c1", 1, "ok", 3.0),
        ("b", "c2", 2, "failed", float("nan")),
        ("c", "c1", 1, "skipped", float("nan")),
    )
    assert measured_machines(rows) == ["a", "b"]
    compared = compared_commits(rows, ["a", "b"])
    assert compared.commit == "c1" and compared.commits == {"a": "c1", "b": "c1"}
    assert list(compared.rows["value"]) == [1.0, 3.0]
    alone = compared_commits(rows, ["a"])
    assert alone.commit == "c2" and list(alone.rows["value"]) == [2.0]


def test_without_a_common_commit_each_machine_is_compared_at_its_newest() -> None:
    rows = points(("b", "c1", 1, "ok", 3.0), ("a", "c2", 2, "ok", 2.0), ("a", "c3", 3, "ok", 4.0))
    compared = compared_commits(rows, ["a", "b"])
    assert compared.commit is None
    assert compared.commits == {"b": "c1", "a": "c3"}, "in the order of the rows"
    assert sorted(compared.rows["value"]) == [3.0, 4.0]


def test_setting_labels_name_machine_and_device_and_never_a_missing_device() -> None:
    rows = pd.DataFrame(
        {"machine": pd.Categorical(["box", "lab", "lab"]), "device": pd.Categorical([None, "cuda", ""])}
    )
    assert list(setting_labels(rows)) == ["box", "lab cuda", "lab"]
    assert list(setting_labels(rows.drop(columns="device"))) == ["box", "lab", "lab"]


def values(*rows: dict) -> pd.DataFrame:
    """Rows of the store's values from dicts: every absent column is missing, status ``ok`` and order 1 unless
    given; ``params`` is the row's variant, device and preset."""
    columns = ("machine", "benchmark", "variant", "device", "preset", "commit_hash", "value")
    table = pd.DataFrame([{"status": "ok", "order": 1, **{c: None for c in columns}, **row} for row in rows])
    combos = zip(table["variant"], table["device"], table["preset"], strict=True)
    table["params"] = [", ".join(str(value) for value in combo) for combo in combos]
    return table.astype({c: "category" for c in ("machine", "benchmark", "variant", "device", "preset", "status")})


PEAK, SAVED = "bench_memory.Memory.track_peak_bytes", "bench_memory.Memory.track_saved_bytes"


def test_a_metric_group_tables_the_newest_values_and_draws_the_reference_over_commits() -> None:
    box = {"machine": "box", "device": "cpu"}
    rows = values(
        {**box, "benchmark": PEAK, "variant": "reference", "value": 10.0},
        {**box, "benchmark": PEAK, "variant": "reference", "value": 12.0, "order": 2},
        {**box, "benchmark": PEAK, "variant": "fast", "value": 6.0, "order": 2},
        {**box, "benchmark": SAVED, "variant": "reference", "value": 5.0},
        {**box, "benchmark": "bench_memory.Memory.track_skipped", "variant": "reference", "status": "skipped"},
    )
    group = metric_group(rows, (SAVED, "bench_memory.Memory.track_skipped", PEAK, "bench_memory.Memory.track_gone"))
    assert group.names == [SAVED, PEAK], "those with a value, in the group's order"
    table = group.table().set_index(["machine", "device", "variant"])
    assert table.loc[("box", "cpu", "reference"), "peak_bytes"] == 12.0, "the newest commit's"
    assert table.loc[("box", "cpu", "reference"), "saved_bytes"] == 5.0
    assert table.loc[("box", "cpu", "fast"), "peak_bytes"] == 6.0
    assert pd.isna(table.loc[("box", "cpu", "fast"), "saved_bytes"])
    assert list(group.over_commits(PEAK)["value"]) == [10.0, 12.0], "the reference variant's"
    newest, x = group.across_settings(PEAK)
    assert x == "variant" and set(newest["setting"]) == {"box cpu"}
    assert sorted(newest["value"]) == [6.0, 12.0]
    fast_only = metric_group(rows[rows["variant"] == "fast"], (PEAK,))
    assert list(fast_only.over_commits(PEAK)["value"]) == [6.0], "every row where the reference has none"


def test_a_metric_group_without_variants_is_drawn_along_presets_and_tabled_per_machine() -> None:
    rows = values({"machine": "box", "benchmark": PEAK, "preset": "tiny", "value": 1.0})
    group = metric_group(rows, (PEAK,))
    assert list(group.table().columns) == ["machine", "peak_bytes"]
    assert group.across_settings(PEAK)[1] == "preset"
    assert metric_group(rows.assign(status="failed"), (PEAK,)).names == []


def test_weight_storage_compares_float_and_packed_bytes_per_preset() -> None:
    storage = "bench_memory.WeightStorage.track_"
    rows = values(
        {"machine": "box", "benchmark": storage + "float_weight_bytes", "preset": "small", "value": 4096.0},
        {"machine": "box", "benchmark": storage + "packed_weight_bytes", "preset": "small", "value": 128.0},
        {"machine": "box", "benchmark": storage + "packed_weight_bytes", "preset": "large", "value": 512.0},
    )
    stored = weight_storage(rows)
    assert stored.x == "preset" and set(stored.bars["kind"]) == {"float_weight_bytes", "packed_weight_bytes"}
    table = stored.table().set_index(["machine", "preset"])
    assert table.loc[("box", "small"), "compression"] == pytest.approx(32.0)
    assert pd.isna(table.loc[("box", "large"), "compression"]), "no float bytes to compare"
    without_presets = weight_storage(rows.iloc[:2].assign(preset=None))
    assert without_presets.x == "machine"
    assert without_presets.table().set_index("machine").loc["box", "compression"] == pytest.approx(32.0)
    assert weight_storage(rows.assign(status="skipped")).bars.empty


def test_trends_offer_measured_parameter_values_and_open_on_the_reference() -> None:
    rows = values(
        {"machine": "box", "variant": "fast", "preset": "small"},
        {"machine": "box", "variant": "reference", "preset": "large", "status": "failed"},
        {"machine": "box", "variant": "half", "preset": "medium", "status": "skipped"},
    )
    assert trend_parameter_options(rows, "variant") == (["fast"], ["fast"]), "the reference was never measured"
    assert trend_parameter_options(rows.assign(status="ok"), "variant") == (
        ["fast", "half", "reference"],
        ["reference"],
    )
    assert trend_parameter_options(rows, "preset") == (["small"], ["small"])
    nothing = rows.assign(status="skipped")
    assert trend_parameter_options(nothing, "preset") == (["large", "medium", "small"], ["large"]), "all, sorted"
    assert trend_parameter_options(nothing, "device") == ([], [])


def test_first_series_keeps_the_first_ones_and_counts_them_all() -> None:
    rows = values(
        {"machine": "b", "variant": "fast", "value": 1.0},
        {"machine": "a", "variant": "fast", "value": 2.0},
        {"machine": "b", "variant": "fast", "value": 3.0, "order": 2},
        {"machine": "b", "variant": "reference", "value": 4.0},
    )
    kept, count = first_series(rows, 2)
    assert count == 3
    assert list(kept["value"]) == [1.0, 2.0, 3.0], "b's and a's fast, the first two series to appear, in row order"
    whole, count = first_series(rows, 3)
    assert count == 3 and whole is rows


def test_select_keeps_the_chosen_values_and_ignores_a_column_with_nothing_chosen() -> None:
    rows = values({"machine": "a", "device": "cpu"}, {"machine": "b", "device": "cuda"}, {"machine": "b"})
    assert list(select(rows, {"machine": ["b"], "device": []}).index) == [1, 2]
    assert select(rows, {"machine": ["b"], "device": ["cpu"]}).empty
    assert len(select(rows, {})) == 3


def test_the_health_counts_and_the_broken_values_per_series() -> None:
    health = pd.DataFrame({"machine": ["a", "b"], "ok": [5, 1], "skipped": [2, 0], "failed": [0, 3], "invalid": [1, 0]})
    assert status_counts(health) == {"ok": 6, "skipped": 2, "failed": 3, "invalid": 1}
    broken = pd.DataFrame(
        {
            "machine": ["b", "b", "b", "a"],
            "benchmark": ["x", "x", "x", "y"],
            "status": ["failed", "failed", "failed", "invalid"],
            "commit_hash": ["c1", "c1", "c2", "c1"],
            "path": ["b/c1.json", "b/c1.json", "b/c2.json", "a/c1.json"],
        }
    )
    table = broken_by_series(broken).set_index(["machine", "benchmark", "status"])
    assert table.loc[("b", "x", "failed"), "commits"] == 2
    assert table.loc[("b", "x", "failed"), "first_file"] == "b/c1.json"
    assert table.loc[("a", "y", "invalid"), "commits"] == 1


def test_steps_name_their_commit_range_and_link_it() -> None:
    before, after = "a" * 40, "b" * 40
    changes = pd.DataFrame(
        {
            "kind": ["improvement", "regression", "regression"],
            "commit_before": [before] * 3,
            "commit_after": [after] * 3,
        }
    )
    rows = step_rows(changes, "https://github.com/o/r/commit/")
    assert set(rows["commits"]) == {"aaaaaaaa..bbbbbbbb"}
    assert set(rows["link"]) == {f"https://github.com/o/r/commit/../compare/{before}...{after}"}
    assert "link" not in step_rows(changes)
    assert list(latest_regressions(changes, count=1).index) == [1], "the newest regression alone"
    assert step_counts(changes) == {"regression": 2, "improvement": 1}


def test_the_machine_table_shows_the_compared_facts_in_their_order() -> None:
    machines = pd.DataFrame(
        {"os": ["Linux"], "commits": [3], "cpu_model": ["EPYC"], "machine": ["box"], "gpu_model": ["none"]}
    )
    assert list(machine_table(machines).columns) == ["machine", "gpu_model", "cpu_model", "commits"]


def test_tracks_by_commit_put_each_method_in_a_column_with_its_unit() -> None:
    error, gap = "bench_quantization.Quantization.track_test_error", "bench_quantization.Quantization.track_gap"
    rows = values(
        {"machine": "box", "benchmark": error, "value": 0.1},
        {"machine": "box", "benchmark": error, "value": 0.2, "order": 2},
        {"machine": "box", "benchmark": gap, "value": 0.05},
        {"machine": "lab", "benchmark": gap, "value": 0.07, "order": 2},
        {"machine": "lab", "benchmark": "bench_quantization.Quantization.track_none", "status": "failed"},
    ).assign(unit=["fraction", "fraction", None, "accuracy", None])
    wide, units = tracks_by_commit(rows, pd.Series(["c1", "c2", "c1", "c2", "c2"], index=rows.index))
    assert units == {"track_gap": "accuracy", "track_test_error": "fraction"}, "a method with no value has no column"
    table = wide.set_index(["series", "commit"])
    assert table.loc[("box", "c2"), "track_test_error"] == 0.2
    assert table.loc[("lab", "c2"), "track_gap"] == 0.07
    assert pd.isna(table.loc[("box", "c2"), "track_gap"])


def test_distinct_offers_each_value_once_as_sorted_text() -> None:
    rows = pd.DataFrame({"machine": pd.Categorical(["b", "a", None, "b"]), "number": [2, "2", 10, None]})
    assert distinct(rows, "machine") == ["a", "b"]
    assert distinct(rows, "number") == ["10", "2"], "once as text, sorted as text"
