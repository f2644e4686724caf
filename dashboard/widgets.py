"""Page furniture shared by the views: empty states, load warnings, filters, number formats."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from bncvl.track.comparisons import PREFERRED_SETTING, distinct, measured_options
from bncvl.track.tables import select
from dashboard.loads import WINDOW, WINDOWS, StoreSummary

__all__ = ["commit_window", "filter_multiselect", "pick_setting", "require_results", "show_warnings"]

_RESULTS_HOWTO = """\
bncvl machine                 # register this machine with its device facts
asv run HEAD~2..HEAD --quick  # benchmark the last commits (GPU hosts: bncvl history HEAD~2..HEAD --existing)
bncvl publish                 # put the results into the store (bncvl dashboard does it for the embedded store)
bncvl dashboard"""

RUNS_HOWTO = """\
bncvl analyze                 # train a small BNCVL network and its float twin, writing runs/<name>/
bncvl dashboard --runs-dir runs"""


def show_warnings(warnings: Sequence[str], what: str = "results") -> None:
    """One visible warning listing every problem met while reading, each line naming its file."""
    if not warnings:
        return
    listed = "\n".join(f"- `{line}`" for line in warnings[:20])
    more = f"\n- … and {len(warnings) - 20} more" if len(warnings) > 20 else ""
    st.warning(f"{len(warnings)} problem(s) reading the {what}; the rest loaded:\n{listed}{more}")


def require_results(summary: StoreSummary) -> bool:
    """Say why the store cannot be read, or show the warnings of its publishes; if it holds no value, say which
    commands produce some. False when the page has nothing to show."""
    if summary.error is not None:
        st.error(summary.error)
        st.code(_RESULTS_HOWTO, language="bash")
        return False
    show_warnings(summary.problems, what="results when they were published")
    if summary.empty:
        st.info(f"No results in the store `{summary.where}`. To produce some:")
        st.code(_RESULTS_HOWTO, language="bash")
        return False
    return True


def commit_window(key: str, default: int = WINDOW) -> int:
    """A picker of how many of the store's newest commits to read (:data:`dashboard.loads.WINDOWS`)."""
    return st.selectbox(
        "Newest commits",
        WINDOWS,
        index=WINDOWS.index(default),
        key=key,
        help="How many of the store's newest commits to read: more draws a longer history, and takes longer.",
    )


def filter_multiselect(label: str, table: pd.DataFrame, column: str, key: str) -> list[str]:
    """A multiselect over the values of ``column`` (empty selection = all); [] when the column is absent or empty."""
    if column not in table:
        return []
    options = distinct(table, column)
    if not options:
        return []
    return st.multiselect(label, options, key=key, placeholder="all")


def pick_setting(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """A picker per parameter of :data:`bncvl.track.comparisons.PREFERRED_SETTING` (preset, then dtype), side by
    side and keyed ``{key}_preset`` and ``{key}_dtype``; ``rows`` narrowed to the values picked.

    Each offers the values ``rows`` measured (:func:`bncvl.track.comparisons.measured_options`), the preferred one
    first when it was measured: after ``make run`` only the tiny preset has values. A parameter that ``rows`` lack
    gets no picker."""
    for column, (name, preferred) in zip(st.columns(3), PREFERRED_SETTING.items(), strict=False):
        options, index = measured_options(rows, name, preferred)
        if options:
            value = column.selectbox(name, options, index=index, key=f"{key}_{name}")
            rows = select(rows, {name: [value]})
    return rows
