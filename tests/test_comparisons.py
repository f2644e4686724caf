"""bncvl.track.comparisons and bncvl.track.tables: what the dashboard's pages show, shaped without Streamlit."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")

from bncvl.track.comparisons import (  # noqa: E402
    compared_commits,
    filled_columns,
    measured_machines,
    unit_of,
)
from bncvl.track.tables import setting_labels  # noqa: E402


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
