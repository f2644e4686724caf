"""The dashboard's figure builders: axes in the reader's units, commits as labelled categories."""

from __future__ import annotations

import math

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")
pytest.importorskip("plotly", reason="needs the dashboard extra")

from bncvl.track.decision import ABSOLUTE_TIME_FACTOR  # noqa: E402
from dashboard import figures  # noqa: E402 - after the extra's guard


@pytest.mark.parametrize(
    ("unit", "values", "scale", "title"),
    [
        ("seconds", [2.1, 1.9], 1.0, "time (s)"),
        ("seconds", [0.0021, 0.0019, math.nan], 1e-3, "time (ms)"),
        ("seconds", [4.2e-4, 3.9e-4, 9.0], 1e-6, "time (µs)"),
        ("seconds", [3e-9, 5e-10], 1e-9, "time (ns)"),
        ("bytes", [147456, 4616, 4616], 1e3, "size (kB)"),
        ("bytes", [1.2e7], 1e6, "size (MB)"),
        ("bytes", [512], 1.0, "size (B)"),
        ("FLOP/s", [5e10], 1e9, "throughput (GFLOP/s)"),
        ("bytes/s", [4e9], 1e9, "throughput (GB/s)"),
        ("J", [0.02], 1e-3, "energy (mJ)"),
        ("%", [60.0], 1.0, "%"),
        ("fraction", [0.5], 1.0, "fraction"),
        (None, [3.0], 1.0, "value"),
        ("seconds", [], 1e-9, "time (ns)"),
    ],
)
def test_reader_unit_picks_the_largest_unit_the_median_fills(
    unit: str | None, values: list[float], scale: float, title: str
) -> None:
    shown = figures.reader_unit(unit, values)
    assert (shown.scale, shown.title) == (scale, title)


def test_commit_axis_labels_rows_by_short_hash_and_lists_commits_oldest_first() -> None:
    table = pd.DataFrame(
        {"commit_hash": ["b" * 40, "a" * 40, "c" * 40, "b" * 40], "order": [1, 0, 2, 1], "value": [1, 2, 3, 4]}
    )
    labels, commits = figures.commit_axis(table)
    assert list(labels) == ["bbbbbbbb", "aaaaaaaa", "cccccccc", "bbbbbbbb"]
    assert commits == ["aaaaaaaa", "bbbbbbbb", "cccccccc"]


def _points(values: list[float]) -> pd.DataFrame:
    """One series over ``len(values)`` commits, whose hashes are 'aaaa…', 'bbbb…', …"""
    count = len(values)
    return pd.DataFrame(
        {
            "machine": ["m"] * count,
            "params": ["variant=reference"] * count,
            "commit_hash": ["abcdef"[i] * 40 for i in range(count)],
            "order": list(range(count)),
            "date": pd.date_range("2026-01-01", periods=count, freq="D"),
            "value": values,
            "q_25": [v * 0.99 for v in values],
            "q_75": [v * 1.01 for v in values],
            "weight": [1.0] * count,
            "status": ["ok"] * count,
        }
    )


def test_trend_of_two_commits_has_two_labelled_categories_and_values_in_ms() -> None:
    figure = figures.trend_figure(_points([0.0021, 0.0019]), unit="seconds", title="t")
    line = next(trace for trace in figure.data if trace.mode == "lines+markers")
    assert list(line.x) == ["aaaaaaaa", "bbbbbbbb"]
    assert figure.layout.xaxis.type == "category"
    assert list(figure.layout.xaxis.categoryarray) == ["aaaaaaaa", "bbbbbbbb"]
    assert list(line.y) == pytest.approx([2.1, 1.9])
    (band,) = [trace for trace in figure.data if str(trace.name).startswith("IQR ")]
    assert list(band.y) == pytest.approx([2.1 * 0.99, 1.9 * 0.99]), "the IQR band is scaled like the values"
    assert figure.layout.yaxis.title.text == "time (ms)"


def test_trend_by_date_uses_a_date_axis() -> None:
    figure = figures.trend_figure(_points([1e6, 2e6]), x_axis="date", unit="bytes")
    assert figure.layout.xaxis.type == "date" and figure.layout.xaxis.title.text == "commit date"
    assert figure.layout.yaxis.title.text == "size (MB)"


def test_bar_figure_scales_its_unit_and_names_both_axes() -> None:
    table = pd.DataFrame({"preset": ["tiny", "medium"], "value": [4616.0, 147456.0], "kind": ["packed", "float"]})
    figure = figures.bar_figure(table, "preset", "value", color="kind", unit="bytes", x_title="preset")
    assert [list(trace.y) for trace in figure.data] == [pytest.approx([147.456]), pytest.approx([4.616])]
    assert (figure.layout.xaxis.title.text, figure.layout.yaxis.title.text) == ("preset", "size (kB)")
    plain = figures.bar_figure(table, "preset", "value", y_title="speed-up (×)")
    assert plain.layout.yaxis.title.text == "speed-up (×)" and list(plain.data[0].y) == [4616.0, 147456.0]


def test_small_multiples_on_commits_draws_categories_in_commit_order() -> None:
    table = pd.DataFrame(
        {"commit": ["cccccccc", "aaaaaaaa", "bbbbbbbb"], "series": ["m"] * 3, "track_x": [3.0, 1.0, 2.0]}
    )
    order = ["aaaaaaaa", "bbbbbbbb", "cccccccc"]
    figure = figures.small_multiples(table, "commit", [("track_x", "x (%)")], "series", x_categories=order)
    (trace,) = figure.data
    assert list(trace.x) == order and list(trace.y) == [1.0, 2.0, 3.0]
    assert figure.layout.xaxis.type == "category" and list(figure.layout.xaxis.categoryarray) == order
    assert figure.layout.yaxis.tickformat == "~g", "0.0003, not plotly's 300µ"


def _trace(figure: object, name: str) -> object:
    (trace,) = [trace for trace in figure.data if trace.name == name]
    return trace


def test_an_absolute_time_gets_the_measured_noise_band_around_its_level() -> None:
    # issue 20's first make run: the same code at two commits, 500 then 800 µs (+58%)
    figure = figures.trend_figure(_points([500e-6, 800e-6]), unit="seconds", noise_factor=ABSOLUTE_TIME_FACTOR)
    band = _trace(figure, "noise ×1.6 m variant=reference")
    upper = _trace(figure, "upper edge of noise ×1.6 m variant=reference")
    assert band.fill == "tonexty" and list(band.x) == ["aaaaaaaa", "bbbbbbbb"]
    # one level for both commits (the step is inside the noise), at their median, 650 µs
    assert list(band.y) == pytest.approx([650 / 1.6] * 2) and list(upper.y) == pytest.approx([650 * 1.6] * 2)
    line = next(trace for trace in figure.data if trace.mode == "lines+markers")
    assert all(low <= value <= high for low, value, high in zip(band.y, line.y, upper.y, strict=True))
    # the y axis is plotly's autorange over every trace, the band's edges included: no fixed range cuts it off
    assert figure.layout.yaxis.range is None and figure.layout.yaxis.autorange in (None, True)
    # the band is drawn first, behind the values
    assert list(figure.data).index(upper) == 0


def test_a_step_beyond_the_noise_moves_the_band_and_no_factor_draws_none() -> None:
    figure = figures.trend_figure(_points([1e-3, 1e-3, 3e-3, 3e-3]), unit="seconds", noise_factor=1.6)
    band = _trace(figure, "noise ×1.6 m variant=reference")
    assert list(band.y) == pytest.approx([1 / 1.6, 1 / 1.6, 3 / 1.6, 3 / 1.6]), "in ms, like the values"
    plain = figures.trend_figure(_points([1e-3, 1e-3, 3e-3, 3e-3]), unit="seconds")
    assert not [trace for trace in plain.data if "noise" in str(trace.name)]
    assert {"IQR m variant=reference", "step fit m variant=reference"} <= {trace.name for trace in plain.data}
