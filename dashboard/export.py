"""CSV downloads that a spreadsheet opens as text, never as a formula.

A benchmark name, parameter or commit subject comes from files anyone can
write. A cell beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some spreadsheets skip before reading one of those) is
run as a formula when the CSV is opened: ``=HYPERLINK(...)`` sends data away
at a click. OWASP's rule (CSV injection) is applied to every text cell: such a
cell gets a leading apostrophe, which spreadsheets read as "this is text" and
do not display. Numbers are left as numbers (``-1.5`` is a value, not a formula).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["FORMULA_STARTS", "csv_bytes", "neutralise"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection)."""


def neutralise(cell: object) -> object:
    """``cell`` with a leading apostrophe if it is text that a spreadsheet would run as a formula.

    >>> neutralise('=HYPERLINK("http://x")'), neutralise("bench_latency"), neutralise(-1.5)
    ('\\'=HYPERLINK("http://x")', 'bench_latency', -1.5)
    """
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_bytes(table: pd.DataFrame) -> bytes:
    """``table`` as UTF-8 CSV (RFC 4180) without its index, every text cell passed through :func:`neutralise`."""
    safe = table.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]) and not pd.api.types.is_datetime64_any_dtype(safe[column]):
            safe[column] = safe[column].astype(object).map(neutralise)
    return safe.to_csv(index=False, lineterminator="\r\n").encode()  # RFC 4180; a cell holding CR is quoted
