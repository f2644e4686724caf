"""Thin ``st.cache_data`` wrappers over :mod:`bncvl.track.results`, :mod:`bncvl.track.changes` and
:mod:`bncvl.analysis.rundir`.

The cache key includes a fingerprint of the files (names, sizes, mtimes), so
new results appear on the next rerun without a stale cache. Filters are
applied by the pages to what these return, outside the cache.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import streamlit as st

from bncvl.analysis.rundir import Run, load_runs
from bncvl.track.asv import DataDirs, find_conf, read_conf, resolve_dirs
from bncvl.track.changes import find_changes
from bncvl.track.results import ResultsSet, load_results

__all__ = ["changes", "data_dirs", "fingerprint", "results", "runs", "show_commit_url"]


def fingerprint(directories: Iterable[str | os.PathLike[str]], suffix: str = "") -> tuple[tuple[str, int, int], ...]:
    """Name, size and mtime of every file ending in ``suffix`` under ``directories``: a cache key that changes
    while asv or a training run writes. Directories that do not exist add nothing, nor does a file that
    vanishes between the listing and its ``stat`` (asv replaces a result file by renaming another over it)."""
    entries = []
    for root in directories:
        for dirpath, _dirnames, filenames in os.walk(root):
            for name in filenames:
                if name.endswith(suffix):
                    path = os.path.join(dirpath, name)
                    try:
                        stat = os.stat(path)
                    except FileNotFoundError:
                        continue  # gone since the listing: the next scan sees what replaced it
                    entries.append((path, stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(entries))


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
    return _results(tuple(map(str, directories)), hash(fingerprint(directories, ".json")))


def changes() -> pd.DataFrame:
    """Every step found in the results (:func:`bncvl.track.changes.find_changes`), cached likewise."""
    directories = data_dirs().results_dirs
    return _changes(tuple(map(str, directories)), hash(fingerprint(directories, ".json")))


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
