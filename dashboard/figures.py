"""Figure builders: plain functions from tables to plotly figures, free of Streamlit.

Every name that comes from the data (benchmark, machine, parameter values, run names) reaches plotly
HTML-escaped (:func:`text`): plotly draws a subset of HTML in titles, legends, ticks and hovers (links among
it), so a benchmark named ``<a href=...>`` would otherwise become a link. Plotly shows the escaped text as typed.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bncvl.track.changes import fit_steps, noise_levels

__all__ = [
    "ReaderUnit",
    "TrendSeries",
    "bar_figure",
    "change_markers",
    "commit_axis",
    "histogram_figure",
    "iqr_band",
    "line_figure",
    "noise_band",
    "reader_unit",
    "small_multiples",
    "step_fit",
    "text",
    "trend_figure",
    "value_line",
]

# asv unit -> (what the axis measures, [(size of one display unit in the asv unit, its name)], largest first)
_SCALES: dict[str, tuple[str, tuple[tuple[float, str], ...]]] = {
    "seconds": ("time", ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))),
    "bytes": ("size", ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B"))),
    "bytes/s": ("throughput", ((1e9, "GB/s"), (1e6, "MB/s"), (1e3, "kB/s"), (1.0, "B/s"))),
    "FLOP/s": ("throughput", ((1e12, "TFLOP/s"), (1e9, "GFLOP/s"), (1e6, "MFLOP/s"), (1.0, "FLOP/s"))),
    "J": ("energy", ((1.0, "J"), (1e-3, "mJ"), (1e-6, "µJ"))),
}
# Decimal prefixes, as asv prints bytes (asv.util.human_value: 12.3M, 4.62k).


@dataclass(frozen=True)
class ReaderUnit:
    """How to show values of one asv unit on an axis: divide by ``scale``, name the axis ``title``.

    >>> reader_unit("seconds", [0.0021, 0.0019]).title
    'time (ms)'
    """

    scale: float
    symbol: str
    title: str

    def apply(self, values: pd.Series) -> pd.Series:
        return values / self.scale


def text(value: object) -> str:
    """``value`` as plotly must be given a name from the data: HTML-escaped, so that it is shown as typed.

    >>> text("<b>fused</b> & co")
    '&lt;b&gt;fused&lt;/b&gt; &amp; co'
    """
    return html.escape(str(value), quote=False)


def reader_unit(unit: str | None, values: Iterable[float] = ()) -> ReaderUnit:
    """The display unit for ``values`` measured in asv's ``unit``: the largest unit in which their median is >= 1.

    Seconds become s, ms, µs or ns; bytes B, kB, MB or GB (decimal, as asv prints them); bytes/s and FLOP/s
    likewise; joules J, mJ or µJ. Any other unit (%, W, MHz, fraction, …) is kept as it is, unscaled.

    Args:
        unit: the benchmark's asv unit (``benchmarks.json``), or None if unknown.
        values: the values the axis will show (NaN ignored).

    Returns:
        Scale, unit symbol and axis title, e.g. ``ReaderUnit(1e-3, "ms", "time (ms)")``.
    """
    if unit not in _SCALES:
        return ReaderUnit(1.0, unit or "", unit or "value")
    quantity, steps = _SCALES[unit]
    finite = sorted(abs(float(v)) for v in values if v is not None and math.isfinite(float(v)))
    typical = finite[len(finite) // 2] if finite else 0.0
    scale, symbol = next(((size, name) for size, name in steps if typical >= size), steps[-1])
    return ReaderUnit(scale, symbol, f"{quantity} ({symbol})")


def commit_axis(table: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Commit labels (short hash) for the rows of ``table``, and every label once, oldest first.

    Plotly then draws the commits as categories in that order: one tick per commit, labelled by its hash,
    never a fractional position.

    Args:
        table: rows with ``commit_hash`` and ``order`` (:attr:`bncvl.track.results.ResultsSet.points`).
    """
    labels = table["commit_hash"].astype(str).str[:8]
    ordered = pd.DataFrame({"label": labels, "order": table["order"]}).sort_values("order")
    return labels, list(dict.fromkeys(ordered["label"]))


_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


_CHANGE_COLORS = {"regression": "#d62728", "improvement": "#2ca02c"}


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


@dataclass(frozen=True)
class TrendSeries:
    """One series of a trend figure (a machine and parameter set): its rows in commit order and how to draw them.

    Attributes:
        rows: rows of :attr:`ResultsSet.points` in commit order, with ``_x`` (the x position of each).
        name: the legend name, machine and parameters.
        color: the line's colour.
        shown: the display unit of the y axis.
    """

    rows: pd.DataFrame
    name: str
    color: str
    shown: ReaderUnit

    @property
    def x(self) -> list:
        return list(self.rows["_x"])


def value_line(series: TrendSeries) -> go.Scatter:
    """The series' values; hover shows commit hash, date and value with its unit."""
    rows = series.rows
    hover = list(zip(rows["commit_hash"].astype(str).str[:8], rows["date"].dt.strftime("%Y-%m-%d %H:%M"), strict=True))
    return go.Scatter(
        x=series.x,
        y=series.shown.apply(rows["value"]),
        mode="lines+markers",
        name=series.name,
        line={"color": series.color},
        customdata=hover,
        hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{y:.4g} "
        + series.shown.symbol
        + "<extra>"
        + series.name
        + "</extra>",
    )


def _band(
    series: TrendSeries, low: pd.Series, high: pd.Series, name: str, fill: str, **edge: object
) -> list[go.Scatter]:
    """A region filled between ``low`` and ``high`` (in asv units) along the series: its upper edge, then its lower
    edge named ``name``; out of the legend and the hover."""
    line = {"width": 0, **edge}
    common = {"x": series.x, "mode": "lines", "showlegend": False, "hoverinfo": "skip", "line": line}
    return [
        go.Scatter(y=series.shown.apply(high), name=f"upper edge of {name}", **common),
        go.Scatter(y=series.shown.apply(low), fill="tonexty", fillcolor=fill, name=name, **common),
    ]


def iqr_band(series: TrendSeries) -> list[go.Scatter]:
    """The interquartile range of each commit's samples (``stats_q_25`` to ``stats_q_75``); none without quartiles."""
    if not series.rows["q_25"].notna().any():
        return []
    rows = series.rows
    return _band(series, rows["q_25"], rows["q_75"], f"IQR {series.name}", _rgba(series.color, 0.2))


def noise_band(series: TrendSeries, factor: float) -> list[go.Scatter]:
    """÷``factor`` to ×``factor`` around the series' level: where values of the same code land, for a noise of
    ``factor``. The level is asv's step fit with adjacent levels within ``factor`` of one another merged
    (:func:`bncvl.track.changes.noise_levels`), so a step inside the noise does not move the band."""
    rows = series.rows
    levels = noise_levels(rows["value"], fit_steps(rows["value"], rows["weight"]), factor)
    if not levels:
        return []
    level = pd.Series(float("nan"), index=rows.index)
    for step in levels:
        level.iloc[step.start : step.stop] = step.value
    name = f"noise ×{factor:g} {series.name}"
    fill = _rgba(series.color, 0.07)
    return _band(series, level / factor, level * factor, name, fill, width=1, dash="dot", color=series.color)


def step_fit(series: TrendSeries) -> go.Scatter | None:
    """asv's piecewise-constant fit of the series (:func:`bncvl.track.changes.fit_steps`), dashed; None if empty."""
    steps = fit_steps(series.rows["value"], series.rows["weight"])
    if not steps:
        return None
    xs: list = []
    ys: list = []
    for step in steps:
        xs += [series.x[step.start], series.x[step.stop - 1], None]
        ys += [step.value / series.shown.scale, step.value / series.shown.scale, None]
    return go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line={"color": series.color, "dash": "dash", "width": 1},
        name=f"step fit {series.name}",
        showlegend=False,
        hoverinfo="skip",
    )


def change_markers(series: TrendSeries, changes: pd.DataFrame) -> list[go.Scatter]:
    """A cross at the first commit at the new level of each of the series' ``changes`` (rows of
    :func:`bncvl.track.changes.find_changes` for its machine and parameters), coloured by kind."""
    at = series.rows.set_index(series.rows["commit_hash"].astype(str))
    markers = []
    for _, change in changes.iterrows():
        row = at.loc[change["commit_after"]]
        label = f"{change['kind']} ×{change['factor']:.2f}"
        markers.append(
            go.Scatter(
                x=[row["_x"]],
                y=[row["value"] / series.shown.scale],
                mode="markers",
                marker={"symbol": "x", "size": 14, "color": _CHANGE_COLORS.get(change["kind"], "#7f7f7f")},
                name=label,
                hovertemplate=f"{label}<br>"
                f"{str(change['commit_before'])[:8]}..{str(change['commit_after'])[:8]}<extra></extra>",
            )
        )
    return markers


def trend_figure(
    points: pd.DataFrame,
    changes: pd.DataFrame | None = None,
    x_axis: str = "order",
    log_y: bool = False,
    unit: str | None = None,
    title: str | None = None,
    noise_factor: float | None = None,
) -> go.Figure:
    """One benchmark over commits: per series (machine and parameters) its line, IQR band, step fit and markers.

    Args:
        points: rows of :attr:`ResultsSet.points`, one or more series.
        changes: rows of :func:`bncvl.track.changes.find_changes` for the same
            series; each gets a marker at its first commit at the new level.
        x_axis: ``"order"`` (one category per commit, labelled by its short
            hash, oldest first) or ``"date"`` (the commit date).
        log_y: logarithmic y axis.
        unit: the benchmark's asv unit; values are shown in a unit chosen by
            :func:`reader_unit` (e.g. ms for seconds), named in the y axis title.
        title: the figure title.
        noise_factor: when given, each series also gets :func:`noise_band`
            (e.g. :data:`bncvl.track.decision.ABSOLUTE_TIME_FACTOR` for an
            absolute time); the y axis always takes in the bands.

    Returns:
        The figure; hover shows commit hash, date and value with its unit.
    """
    figure = go.Figure()
    shown = reader_unit(unit, points.loc[points["status"] == "ok", "value"] if "status" in points else points["value"])
    labels, categories = commit_axis(points) if not points.empty else (pd.Series(dtype=str), [])
    points = points.assign(_x=points["date"] if x_axis == "date" else labels)
    for number, ((machine, params), rows) in enumerate(points.groupby(["machine", "params"], observed=True)):
        color = _PALETTE[number % len(_PALETTE)]
        series = TrendSeries(rows.sort_values("order"), text(f"{machine} {params}".strip()), color, shown)
        if noise_factor is not None:
            figure.add_traces(noise_band(series, noise_factor))
        figure.add_traces(iqr_band(series))
        figure.add_trace(value_line(series))
        fit = step_fit(series)
        if fit is not None:
            figure.add_trace(fit)
        if changes is not None and not changes.empty:
            mine = changes[(changes["machine"] == machine) & (changes["params"] == params)]
            figure.add_traces(change_markers(series, mine))
    if x_axis == "date":
        xaxis = {"title": {"text": "commit date"}, "type": "date"}
    else:
        xaxis = {
            "title": {"text": "commit (oldest first)"},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": categories,
        }
    figure.update_layout(
        title=None if title is None else text(title),
        xaxis=xaxis,
        yaxis_title=shown.title,
        yaxis_type="log" if log_y else "linear",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def bar_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    color: str | None = None,
    title: str | None = None,
    log_y: bool = False,
    unit: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
) -> go.Figure:
    """Grouped bars of ``y`` per ``x``, one group member per ``color`` value.

    Args:
        unit: the asv unit of ``y``; the bars are shown in :func:`reader_unit`'s unit (e.g. kB for bytes).
        x_title: the x axis title (default: ``x``).
        y_title: the y axis title (default: the reader unit's title, or ``y`` without a unit).
    """
    shown = reader_unit(unit, table[y]) if unit else ReaderUnit(1.0, "", y)
    figure = go.Figure()
    groups = table.groupby(color, observed=True) if color else [("", table)]
    for number, (name, group) in enumerate(groups):
        label = text(name[0] if isinstance(name, tuple) else name)
        figure.add_trace(
            go.Bar(
                x=group[x].astype(str).map(text),
                y=shown.apply(group[y]),
                name=label,
                marker_color=_PALETTE[number % len(_PALETTE)],
                hovertemplate="%{x}: %{y:.4g} " + shown.symbol + "<extra>" + label + "</extra>",
            )
        )
    figure.update_layout(
        title=None if title is None else text(title),
        barmode="group",
        xaxis_title=x_title or x,
        yaxis_title=y_title or shown.title,
        yaxis_type="log" if log_y else "linear",
    )
    return figure


def line_figure(
    table: pd.DataFrame,
    x: str,
    y: str,
    color: str,
    title: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    y_format: str | None = None,
) -> go.Figure:
    """One line of ``y`` against ``x`` per ``color`` value (missing values leave gaps).

    Args:
        x_title, y_title: the axis titles (default: the column names).
        y_format: a d3 tick format for the y axis, e.g. ``".0%"`` for fractions shown as percentages.
    """
    figure = go.Figure()
    for number, (name, group) in enumerate(table.groupby(color, observed=True, sort=True)):
        figure.add_trace(_line_trace(group, x, y, name, number))
    figure.update_layout(
        title=None if title is None else text(title),
        xaxis_title=x_title or x,
        yaxis_title=y_title or y,
        yaxis_tickformat=y_format,
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def _line_trace(group: pd.DataFrame, x: str, y: str, name: object, number: int, **extra: object) -> go.Scatter:
    """The line of one ``groupby`` group, coloured by its position ``number``."""
    label = text(name[0] if isinstance(name, tuple) else name)
    group = group.sort_values(x)
    return go.Scatter(
        x=group[x],
        y=group[y],
        mode="lines+markers",
        name=label,
        line={"color": _PALETTE[number % len(_PALETTE)]},
        **extra,
    )


def small_multiples(
    table: pd.DataFrame,
    x: str,
    panels: list[tuple[str, str]],
    color: str,
    columns: int = 2,
    title: str | None = None,
    x_title: str | None = None,
    x_categories: list[str] | None = None,
) -> go.Figure:
    """One panel per ``(column, panel title)`` in ``panels``, each with a line of that column against ``x`` per
    ``color`` value; one figure, so a page with many curves stays quick to draw.

    Args:
        x_title: the title of every panel's x axis (default: ``x``); each panel's title names its y.
        x_categories: when given, ``x`` holds these labels (e.g. short commit hashes), drawn as categories in
            this order, one tick each; otherwise ``x`` is numeric and lines follow its sorted values.
    """
    rows = max(1, -(-len(panels) // columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=[text(t) for _, t in panels], vertical_spacing=0.12)
    groups = list(table.groupby(color, observed=True, sort=True))
    if x_categories is not None:
        position = {label: index for index, label in enumerate(x_categories)}
        groups = [(name, group.iloc[group[x].map(position).argsort()]) for name, group in groups]
    for number, (column, _title) in enumerate(panels):
        row, col = divmod(number, columns)
        for index, (name, group) in enumerate(groups):
            label = text(name[0] if isinstance(name, tuple) else name)
            trace = (
                go.Scatter(
                    x=group[x],
                    y=group[column],
                    mode="lines+markers",
                    name=label,
                    line={"color": _PALETTE[index % len(_PALETTE)]},
                    legendgroup=label,
                    showlegend=number == 0,
                )
                if x_categories is not None
                else _line_trace(group, x, column, name, index, legendgroup=label, showlegend=number == 0)
            )
            figure.add_trace(trace, row=row + 1, col=col + 1)
    axis = {"title_text": x_title or x}
    if x_categories is not None:
        axis.update(type="category", categoryorder="array", categoryarray=x_categories)
    figure.update_xaxes(**axis)
    # plain decimals: plotly's default SI suffixes read "300µ" for a fraction of 0.0003
    figure.update_yaxes(tickformat="~g")
    figure.update_layout(
        title=None if title is None else text(title), height=320 * rows, legend={"orientation": "h", "y": -0.08}
    )
    return figure


def histogram_figure(
    edges: list[float],
    counts: list[int],
    threshold: float | None,
    title: str | None,
    x_title: str = "value",
    y_title: str = "count",
) -> go.Figure:
    """A histogram from its bin edges and counts, with the binarisation threshold as a vertical line."""
    centers = [(left + right) / 2 for left, right in itertools.pairwise(edges)]
    widths = [right - left for left, right in itertools.pairwise(edges)]
    figure = go.Figure(go.Bar(x=centers, y=counts, width=widths, name="count", marker_color=_PALETTE[0]))
    if threshold is not None:
        figure.add_vline(x=threshold, line_dash="dash", line_color="#d62728", annotation_text="threshold")
    figure.update_layout(
        title=None if title is None else text(title), xaxis_title=x_title, yaxis_title=y_title, bargap=0
    )
    return figure
