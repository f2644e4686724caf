"""bncvl.track.comparisons and bncvl.track.tables: what the dashboard's pages show, shaped without Streamlit."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")

from bncvl.track.comparisons import filled_columns, unit_of  # noqa: E402


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
