"""Thin ``st.cache_data`` wrappers over :mod:`bncvl.results` and :mod:`bncvl.runs`.

The cache key includes a fingerprint of the files (names, sizes, mtimes), so
new results appear on the next rerun without a stale cache. Filters are
applied by the pages to what these return, outside the cache.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from bncvl.dashboard import DataDirs, find_asv_conf, read_asv_conf, resolve_dirs
from bncvl.results import ResultsSet, find_changes, load_results, results_fingerprint
from bncvl.runs import Run, load_runs, runs_fingerprint

__all__ = ["changes", "data_dirs", "results", "runs", "show_commit_url"]


def data_dirs() -> DataDirs:
    """The directories to read: ``BNCVL_RESULTS_DIR``/``BNCVL_RUNS_DIR`` (set by ``bncvl dashboard``), else defaults."""
    return resolve_dirs()


@st.cache_data(show_spinner="Reading asv results…", max_entries=4)
def _results(results_dirs: tuple[str, ...], fingerprint: int) -> ResultsSet:
    return load_results(results_dirs)


@st.cache_data(show_spinner="Detecting steps with asv.step_detect…", max_entries=4)
def _changes(results_dirs: tuple[str, ...], fingerprint: int) -> pd.DataFrame:
    return find_changes(_results(results_dirs, fingerprint).points)


@st.cache_data(show_spinner="Reading analysis runs…", max_entries=4)
def _runs(runs_dir: str, fingerprint: int) -> list[Run]:
    return load_runs(runs_dir)


def results() -> ResultsSet:
    """The results directories' :class:`ResultsSet`, cached until a file changes."""
    directories = data_dirs().results_dirs
    return _results(tuple(map(str, directories)), hash(results_fingerprint(directories)))


def changes() -> pd.DataFrame:
    """Every step found in the results (:func:`bncvl.results.find_changes`), cached likewise."""
    directories = data_dirs().results_dirs
    return _changes(tuple(map(str, directories)), hash(results_fingerprint(directories)))


def runs() -> list[Run]:
    """Every analysis run under the runs directory, cached until a file changes."""
    directory = data_dirs().runs_dir
    return _runs(str(directory), hash(runs_fingerprint(directory)))


@st.cache_data(max_entries=4)
def _commit_url(conf_path: str | None) -> str | None:
    if conf_path is None:
        return None
    return read_asv_conf(Path(conf_path)).get("show_commit_url") or None


def show_commit_url() -> str | None:
    """asv.conf.json's ``show_commit_url`` (commit links on the Regressions page), or None."""
    conf = data_dirs().asv_conf or find_asv_conf()
    return _commit_url(None if conf is None else str(conf))
