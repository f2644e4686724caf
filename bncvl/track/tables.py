"""The tables the dashboard's pages show, shaped from the store's values, steps and failures as plain functions.

The pages only render what these return; the comparisons between variants and devices, and what the pickers
offer, are :mod:`bncvl.track.comparisons`.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["setting_labels"]


def setting_labels(rows: pd.DataFrame) -> pd.Series:
    """Each row's machine and device, e.g. ``"lab-h100 cuda"`` (one colour per setting in a chart); the machine
    alone where the row has no device.

    >>> list(setting_labels(pd.DataFrame({"machine": ["box", "lab"], "device": [None, "cuda"]})))
    ['box', 'lab cuda']
    """
    machine = rows["machine"].astype("string")
    if "device" not in rows:
        return machine
    return (machine + " " + rows["device"].astype("string").fillna("")).str.strip()
