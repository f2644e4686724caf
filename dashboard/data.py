"""Thin Streamlit caches over the results store (:mod:`dashboard.loads`, :mod:`bncvl.store.query`) and the
analysis runs (:mod:`bncvl.analysis.rundir`).

The pages read the store named by ``BNCVL_STORE`` (``bncvl dashboard`` sets it), else the embedded store in the
first results directory. Every cache is keyed by the store's state (:func:`bncvl.store.query.store_state`, asked
at most once a second), so what a publish adds appears on the next rerun. Filters the pages apply to what these
return are applied outside the cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from bncvl.analysis.rundir import Run, load_runs
from bncvl.store.engine import StoreError, describe, open_store, resolve_url
from bncvl.store.query import load_broken, load_changes, load_points, store_state
from bncvl.track.asv import DataDirs, find_conf, read_conf, resolve_dirs
from dashboard import loads

__all__ = [
    "broken",
    "changes",
    "data_dirs",
    "fingerprint",
    "memory_points",
    "points",
    "quantization_points",
    "runs",
    "show_commit_url",
    "store_url",
    "summary",
]


def fingerprint(directories: Iterable[str | os.PathLike[str]]) -> tuple[tuple[str, int, int], ...]:
    """Name, size and mtime of every file under ``directories``: a cache key that changes while a training run
    writes. Directories that do not exist add nothing, nor does a file that vanishes between the listing and its
    ``stat`` (a writer may replace a file by renaming another over it)."""
    entries = []
    for root in directories:
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue  # gone since the listing: the next scan sees what replaced it
                entries.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


def data_dirs() -> DataDirs:
    """The directories: ``BNCVL_RESULTS_DIR``/``BNCVL_RUNS_DIR`` (set by ``bncvl dashboard``), else defaults."""
    return resolve_dirs()


def store_url() -> sa.URL:
    """The store the pages read: ``BNCVL_STORE``, else the embedded store in the first results directory.

    Raises:
        StoreError: ``BNCVL_STORE`` is not a store URL.
    """
    return resolve_url(None, data_dirs().results_dirs[0])


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> sa.Engine:
    return open_store(sa.make_url(url), write=False)


def _store() -> tuple[str, sa.Engine]:
    url = store_url().render_as_string(hide_password=False)
    return url, _engine(url)


@st.cache_data(ttl=1, show_spinner=False)
def _state(url: str) -> tuple:
    return store_state(_engine(url))


@st.cache_data(show_spinner="Reading the results store…", max_entries=4)
def _summary(url: str, state: tuple) -> loads.StoreSummary:
    return loads.summary(_engine(url))


def summary() -> loads.StoreSummary:
    """The store's small tables (:class:`dashboard.loads.StoreSummary`), or why it cannot be read."""
    try:
        url, _ = _store()
        return _summary(url, _state(url))
    except StoreError as error:
        return loads.StoreSummary(_where(), error=str(error))
    except sa.exc.DBAPIError as error:
        detail = " ".join(str(error.orig).split())
        return loads.StoreSummary(_where(), error=f"cannot read the store {_where()}: {detail}")


def _where() -> str:
    try:
        return describe(store_url())
    except StoreError as error:
        return str(error)


@st.cache_data(show_spinner="Reading values…", max_entries=16)
def _points(url: str, state: tuple, filters: tuple) -> pd.DataFrame:
    return load_points(_engine(url), **dict(filters))


def points(**filters: object) -> pd.DataFrame:
    """The values ``filters`` select (those of :func:`bncvl.store.query.load_points`), cached per store state."""
    url, _ = _store()
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items()))
    return _points(url, _state(url), frozen)


@st.cache_data(show_spinner=False, max_entries=4)
def _memory_points(url: str, state: tuple) -> pd.DataFrame:
    return loads.memory_points(_engine(url))


def memory_points() -> pd.DataFrame:
    """Memory & GPU's values (:func:`dashboard.loads.memory_points`)."""
    url, _ = _store()
    return _memory_points(url, _state(url))


@st.cache_data(show_spinner=False, max_entries=4)
def _quantization_points(url: str, state: tuple, names: tuple[str, ...]) -> pd.DataFrame:
    return loads.quantization_points(_engine(url), list(names))


def quantization_points(names: list[str]) -> pd.DataFrame:
    """The quantization tracks' values (:func:`dashboard.loads.quantization_points`)."""
    url, _ = _store()
    return _quantization_points(url, _state(url), tuple(names))


@st.cache_data(show_spinner="Reading the steps found at publish time…", max_entries=4)
def _changes(url: str, state: tuple) -> pd.DataFrame:
    return load_changes(_engine(url))


def changes() -> pd.DataFrame:
    """Every step stored at publish time (:func:`bncvl.store.query.load_changes`), newest first."""
    url, _ = _store()
    return _changes(url, _state(url))


@st.cache_data(show_spinner=False, max_entries=4)
def _broken(url: str, state: tuple) -> pd.DataFrame:
    return load_broken(_engine(url))


def broken() -> pd.DataFrame:
    """Every failed or invalid value (:func:`bncvl.store.query.load_broken`)."""
    url, _ = _store()
    return _broken(url, _state(url))


@st.cache_data(show_spinner="Reading analysis runs…", max_entries=4)
def _runs(runs_dir: str, fingerprint: int) -> list[Run]:
    return load_runs(runs_dir)


def runs() -> list[Run]:
    """Every analysis run under the runs directory, cached until a file changes."""
    directory = data_dirs().runs_dir
    return _runs(str(directory), hash(fingerprint([directory])))


@st.cache_data(max_entries=4)
def _commit_url(conf_path: str | None) -> str | None:
    if conf_path is None:
        return None
    return read_conf(Path(conf_path)).get("show_commit_url") or None


def show_commit_url() -> str | None:
    """asv.conf.json's ``show_commit_url`` (commit links on the Regressions page), or None."""
    conf = data_dirs().asv_conf or find_conf()
    return _commit_url(None if conf is None else str(conf))
