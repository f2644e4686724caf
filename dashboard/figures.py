"""Figure builders: plain functions from tables to plotly figures, free of Streamlit."""

from __future__ import annotations

import itertools

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bncvl.results import fit_steps

__all__ = ["bar_figure", "histogram_figure", "line_figure", "small_multiples", "trend_figure"]

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


def trend_figure(
    points: pd.DataFrame,
    changes: pd.DataFrame | None = None,
    x_axis: str = "order",
    log_y: bool = False,
    unit: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """One benchmark over commits: a line per series (machine and parameters), its IQR band and step fit.

    Args:
        points: rows of :attr:`ResultsSet.points`, one or more series.
        changes: rows of :func:`bncvl.results.find_changes` for the same
            series; each gets a marker at its first commit at the new level.
        x_axis: ``"order"`` (commit position) or ``"date"``.
        log_y: logarithmic y axis.
        unit: the y axis title.
        title: the figure title.

    Returns:
        The figure; hover shows commit hash, date and value.
    """
    figure = go.Figure()
    for number, ((machine, params), series) in enumerate(points.groupby(["machine", "params"], observed=True)):
        series = series.sort_values("order")
        color = _PALETTE[number % len(_PALETTE)]
        name = f"{machine} {params}".strip()
        x = series["date"] if x_axis == "date" else series["order"]
        hashes = series["commit_hash"].astype(str).str[:8]
        hover = list(zip(hashes, series["date"].dt.strftime("%Y-%m-%d %H:%M"), strict=True))
        if series["q_25"].notna().any():
            figure.add_trace(
                go.Scatter(x=x, y=series["q_75"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip")
            )
            figure.add_trace(
                go.Scatter(
                    x=x,
                    y=series["q_25"],
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(color, 0.2),
                    name=f"IQR {name}",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=series["value"],
                mode="lines+markers",
                name=name,
                line={"color": color},
                customdata=hover,
                hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{y:.4g}<extra>" + name + "</extra>",
            )
        )
        steps = fit_steps(series["value"], series["weight"])
        if steps:
            xs, ys = [], []
            positions = list(x)
            for step in steps:
                xs += [positions[step.start], positions[step.stop - 1], None]
                ys += [step.value, step.value, None]
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": color, "dash": "dash", "width": 1},
                    name=f"step fit {name}",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        if changes is not None and not changes.empty:
            mine = changes[(changes["machine"] == machine) & (changes["params"] == params)]
            at = series.set_index(series["commit_hash"].astype(str))
            for _, change in mine.iterrows():
                row = at.loc[change["commit_after"]]
                figure.add_trace(
                    go.Scatter(
                        x=[row["date"] if x_axis == "date" else row["order"]],
                        y=[row["value"]],
                        mode="markers",
                        marker={
                            "symbol": "x",
                            "size": 14,
                            "color": _CHANGE_COLORS.get(change["kind"], "#7f7f7f"),
                        },
                        name=f"{change['kind']} ×{change['factor']:.2f}",
                        hovertemplate=f"{change['kind']} ×{change['factor']:.2f}<br>"
                        f"{str(change['commit_before'])[:8]}..{str(change['commit_after'])[:8]}<extra></extra>",
                    )
                )
    figure.update_layout(
        title=title,
        xaxis_title="commit (oldest first)" if x_axis == "order" else "commit date",
        yaxis_title=unit or "value",
        yaxis_type="log" if log_y else "linear",
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
    )
    return figure


def bar_figure(
    table: pd.DataFrame, x: str, y: str, color: str | None = None, title: str | None = None, log_y: bool = False
) -> go.Figure:
    """Grouped bars of ``y`` per ``x``, one group member per ``color`` value."""
    figure = go.Figure()
    groups = table.groupby(color, observed=True) if color else [("", table)]
    for number, (name, group) in enumerate(groups):
        label = name[0] if isinstance(name, tuple) else name
        figure.add_trace(
            go.Bar(x=group[x].astype(str), y=group[y], name=str(label), marker_color=_PALETTE[number % len(_PALETTE)])
        )
    figure.update_layout(
        title=title, barmode="group", xaxis_title=x, yaxis_title=y, yaxis_type="log" if log_y else "linear"
    )
    return figure


def line_figure(table: pd.DataFrame, x: str, y: str, color: str, title: str | None = None) -> go.Figure:
    """One line of ``y`` against ``x`` per ``color`` value (missing values leave gaps)."""
    figure = go.Figure()
    for number, (name, group) in enumerate(table.groupby(color, observed=True, sort=True)):
        figure.add_trace(_line_trace(group, x, y, name, number))
    figure.update_layout(title=title, xaxis_title=x, yaxis_title=y, legend={"orientation": "h", "y": -0.25})
    return figure


def _line_trace(group: pd.DataFrame, x: str, y: str, name: object, number: int, **extra: object) -> go.Scatter:
    """The line of one ``groupby`` group, coloured by its position ``number``."""
    label = str(name[0] if isinstance(name, tuple) else name)
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
    table: pd.DataFrame, x: str, panels: list[tuple[str, str]], color: str, columns: int = 2, title: str | None = None
) -> go.Figure:
    """One panel per ``(column, panel title)`` in ``panels``, each with a line of that column against ``x`` per
    ``color`` value; one figure, so a page with many curves stays quick to draw."""
    rows = max(1, -(-len(panels) // columns))
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=[t for _, t in panels], vertical_spacing=0.12)
    groups = list(table.groupby(color, observed=True, sort=True))
    for number, (column, _title) in enumerate(panels):
        row, col = divmod(number, columns)
        for index, (name, group) in enumerate(groups):
            label = str(name[0] if isinstance(name, tuple) else name)
            figure.add_trace(
                _line_trace(group, x, column, name, index, legendgroup=label, showlegend=number == 0),
                row=row + 1,
                col=col + 1,
            )
    figure.update_layout(title=title, height=320 * rows, legend={"orientation": "h", "y": -0.08})
    return figure


def histogram_figure(edges: list[float], counts: list[int], threshold: float | None, title: str | None) -> go.Figure:
    """A histogram from its bin edges and counts, with the binarisation threshold as a vertical line."""
    centers = [(left + right) / 2 for left, right in itertools.pairwise(edges)]
    widths = [right - left for left, right in itertools.pairwise(edges)]
    figure = go.Figure(go.Bar(x=centers, y=counts, width=widths, name="count", marker_color=_PALETTE[0]))
    if threshold is not None:
        figure.add_vline(x=threshold, line_dash="dash", line_color="#d62728", annotation_text="threshold")
    figure.update_layout(title=title, xaxis_title="value", yaxis_title="count", bargap=0)
    return figure
