"""Page furniture shared by the views: empty states, load warnings, filters, number formats."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from bncvl.track.results import ResultsSet

__all__ = ["filter_multiselect", "human", "require_results", "show_warnings"]

_RESULTS_HOWTO = """\
bncvl machine                 # register this machine with its device facts
asv run HEAD~2..HEAD --quick  # benchmark the last commits (GPU hosts: bncvl history HEAD~2..HEAD --existing)
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


def require_results(results: ResultsSet) -> bool:
    """Show the warnings; if nothing loaded, say which commands produce results and return False."""
    show_warnings(results.warnings)
    if results.empty:
        where = ", ".join(f"`{d}`" for d in results.results_dirs)
        st.info(f"No asv results in {where}. To produce some:")
        st.code(_RESULTS_HOWTO, language="bash")
        return False
    return True


def filter_multiselect(label: str, table: pd.DataFrame, column: str, key: str) -> list[str]:
    """A multiselect over the values of ``column`` (empty selection = all); [] when the column is absent or empty."""
    if column not in table:
        return []
    options = sorted(str(v) for v in table[column].dropna().unique())
    if not options:
        return []
    return st.multiselect(label, options, key=key, placeholder="all")


def human(value: float, unit: str | None) -> str:
    """A value as asv prints it for seconds and bytes (1.23ms, 12M), else with 4 significant digits and its unit."""
    from asv.util import human_value

    if value != value:
        return "n/a"
    if unit in ("seconds", "bytes"):
        return human_value(value, unit)
    return f"{value:.4g} {unit or ''}".strip()
