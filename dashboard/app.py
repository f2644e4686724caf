"""The dashboard's entry point: only the router. Run it with ``bncvl dashboard``."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the checkout
# that holds the `dashboard` package the pages import from.
_CHECKOUT = str(Path(__file__).resolve().parent.parent)
if _CHECKOUT not in sys.path:
    sys.path.insert(0, _CHECKOUT)

st.set_page_config(page_title="bncvl dashboard", layout="wide")
page = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", default=True),
        st.Page("views/regressions.py", title="Regressions"),
        st.Page("views/trends.py", title="Trends"),
        st.Page("views/devices.py", title="Devices & variants"),
        st.Page("views/memory_gpu.py", title="Memory & GPU"),
        st.Page("views/quantization.py", title="Quantization"),
    ]
)
page.run()
