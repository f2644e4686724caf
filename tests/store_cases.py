"""What the store tests check on both deployments (embedded SQLite and PostgreSQL): equality with the files,
all-or-nothing files after a SIGKILL, and concurrent publishers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from bncvl.store import schema as t
from bncvl.store.engine import SCHEMA_VERSION, STORE_FILE, open_store, resolve_url
from bncvl.store.query import load_changes, load_commits, load_health, load_points, load_store
from bncvl.testing.results import write_results_set
from bncvl.track.changes import find_changes
from bncvl.track.results import load_results

KEYS = ["machine", "env_name", "commit_hash", "benchmark", "params"]
HOSTILE = "<script>alert('x')</script>\"; DROP TABLE points; --"
"""HTML and SQL metacharacters: must be stored, and read back, as they are."""
NEWER = f"{int(SCHEMA_VERSION) + 1:04d}"
"""A schema version newer than this bncvl's."""


def publish_command(store: str, results_dir: Path, *more: str) -> list[str]:
    """``bncvl publish`` of one results directory (no runs; commit messages from no repository)."""
    command = [sys.executable, "-m", "bncvl.cli", "publish", "--store", store, "--results-dir", str(results_dir)]
    return [*command, "--no-runs", "--repo", str(results_dir), *more]


def plain(frame: pd.DataFrame, keys: Sequence[str] = KEYS) -> pd.DataFrame:
    """``frame`` with categoricals and strings as objects, sorted by ``keys``: two frames with the same content
    compare equal."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype | pd.StringDtype):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out.sort_values(list(keys), ignore_index=True)


def assert_same_points(store_points: pd.DataFrame, file_points: pd.DataFrame) -> None:
    """Every value, statistic, sample, parameter, unit, date and commit position equal (NaN equal to NaN)."""
    assert sorted(store_points.columns) == sorted(file_points.columns)
    assert len(store_points) == len(file_points)
    pd.testing.assert_frame_equal(plain(store_points)[list(file_points.columns)], plain(file_points))


def assert_store_equals_files(store: str, results_dirs: Sequence[Path], step_rtol: float = 0.0) -> None:
    """The store holds exactly what load_results reads from ``results_dirs``: values, machines, benchmarks, steps
    (their levels within ``step_rtol``: a step found over a window has its levels from fewer commits)."""
    files = load_results(results_dirs)
    engine = open_store(resolve_url(store, results_dirs[0]), write=False)
    try:
        stored = load_store(engine)
        assert_same_points(stored.points, files.points)
        machines = ["machine", *sorted(set(files.machines.columns) - {"machine"})]
        pd.testing.assert_frame_equal(
            plain(stored.machines[machines], ["machine"]), plain(files.machines[machines], ["machine"])
        )
        assert stored.benchmarks == files.benchmarks
        statuses = files.points.groupby(["machine", "status"], observed=False).size().unstack(fill_value=0)
        health = load_health(engine).set_index("machine")
        for machine, counts in statuses.iterrows():
            assert (
                health.loc[machine, ["ok", "skipped", "failed", "invalid"]].tolist()
                == counts[["ok", "skipped", "failed", "invalid"]].tolist()
            )
        found = find_changes(files.points)
        kept = load_changes(engine)
        step_keys = [*KEYS[:2], "benchmark", "params", "commit_before", "kind"]
        assert len(kept) == len(found)
        # find_changes' own dtypes vary with its input (an empty table's dates are objects): compare the content
        pd.testing.assert_frame_equal(
            plain(kept, step_keys),
            plain(found[kept.columns], step_keys),
            check_dtype=False,
            check_exact=not step_rtol,
            rtol=step_rtol or 1e-5,
        )
    finally:
        engine.dispose()


def assert_each_file_whole(store: str, results_dir: Path) -> int:
    """Every result file in the store has all of its values there (as many as its file holds), and no value is
    without its file. Returns how many files the store holds."""
    engine = open_store(resolve_url(store, results_dir), write=False)
    try:
        with engine.connect() as connection:
            per_result = dict(
                connection.execute(
                    sa.select(t.points.c.result_id, sa.func.count()).group_by(t.points.c.result_id)
                ).all()
            )
            results = connection.execute(sa.select(t.results.c.id, t.results.c.path, t.results.c.value_count)).all()
    finally:
        engine.dispose()
    assert set(per_result) <= {row.id for row in results}, "values without their file"
    for row in results:
        expected = len(load_results_of_file(results_dir, row.path).points)
        assert per_result.get(row.id, 0) == row.value_count == expected, row.path
    return len(results)


def load_results_of_file(results_dir: Path, key: str):
    """load_result_file of the one file ``key`` (``<machine folder>/<name>``) of ``results_dir``."""
    from bncvl.track.results import load_benchmark_catalogue, load_machine_record, load_result_file

    folder, _name = key.split("/")
    loaded = load_result_file(
        results_dir / key, load_benchmark_catalogue(results_dir)[0], load_machine_record(results_dir / folder)[0]
    )
    assert not loaded.points.empty
    return loaded


def count_results(store_file: Path) -> int:
    """Result files committed to an SQLite store so far (0 while it has no tables), read with sqlite3 itself."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{store_file}?mode=ro", uri=True, timeout=30) as connection:
            return connection.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def kill_mid_publish(store: str, results_dir: Path, committed, total: int) -> int:
    """Start a publish, SIGKILL it once ``committed()`` files are in the store and before all ``total`` are;
    returns how many files it had committed."""
    process = subprocess.Popen(publish_command(store, results_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if committed() >= 3:
                break
            time.sleep(0.005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"the publish ended before it was killed: {process.returncode}"
    done = committed()
    assert 3 <= done < total, f"killed after {done} of {total} files"
    return done


def write_fleet(root: Path, machines: int, commits: int = 4) -> list[Path]:
    """One results directory per machine (``m0``, ``m1``...), the same commits, as a fleet's runners keep them."""
    dirs = []
    for index in range(machines):
        directory = root / f"m{index}" / "results"
        write_results_set(directory, commits=commits, machines=[f"m{index}"], seed=0)
        dirs.append(directory)
    return dirs


def publish_concurrently(store: str, jobs: Sequence[tuple[Path, Sequence[str]]]) -> None:
    """Run one ``bncvl publish`` per job (results directory, extra options) at once; each must exit 0."""
    processes = [
        subprocess.Popen(publish_command(store, directory, *more), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for directory, more in jobs
    ]
    for process in processes:
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"{process.args}: exit {process.returncode}: {err.decode()}"


def assert_fleet_exactly_once(store: str, dirs: Sequence[Path]) -> None:
    """Every value of every machine's files is in the store exactly once: by count, and by content."""
    files = load_results(dirs)
    engine = open_store(resolve_url(store, dirs[0]), write=False)
    try:
        with engine.connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(t.points)).scalar_one()
            result_files = connection.execute(sa.select(sa.func.count()).select_from(t.results)).scalar_one()
    finally:
        engine.dispose()
    assert result_files == sum(len(list(d.glob("*/*-*.json"))) for d in dirs)
    assert count == len(files.points)
    assert_store_equals_files(store, dirs)


def write_hostile_results(root: Path, commit: str) -> None:
    """One machine, one commit, a benchmark whose name and parameter values hold HTML and SQL metacharacters."""
    columns = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b"]
    params = [[repr(HOSTILE), "'plain'"]]
    (root / "box").mkdir(parents=True)
    (root / "benchmarks.json").write_text(
        json.dumps(
            {HOSTILE: {"params": params, "param_names": ["variant"], "unit": "seconds", "version": "v1"}, "version": 2}
        )
    )
    (root / "box" / "machine.json").write_text(json.dumps({"machine": "box", "gpu_model": HOSTILE, "version": 1}))
    (root / "box" / f"{commit[:8]}-env.json").write_text(
        json.dumps(
            {
                "commit_hash": commit,
                "env_name": "env",
                "date": 1_767_225_600_000,
                "params": {"machine": "box"},
                "python": "3.11",
                "requirements": {},
                "env_vars": {},
                "result_columns": columns,
                "results": {HOSTILE: [[1.5, 2.5], params, "v1", 0, 1.0, [1.4, 2.4], [1.6, 2.6]]},
                "durations": {},
                "version": 2,
            }
        )
    )


def check_metacharacters_verbatim(tmp_path: Path, store: str | None) -> None:
    """A benchmark name, parameter value, machine fact and commit message with HTML and SQL metacharacters are
    stored and read back as they are (``store`` None: the embedded default)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    message = f"{HOSTILE}\n\nbody with {HOSTILE}"
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    results = tmp_path / "results"
    write_hostile_results(results, commit)
    command = publish_command(store or str(results / STORE_FILE), results)
    completed = subprocess.run([*command, "--repo", str(repo)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    engine = open_store(resolve_url(store, results), write=False)
    try:
        stored = load_store(engine)
        assert list(stored.points["benchmark"].astype(str)) == [HOSTILE, HOSTILE]
        # a parameter value is asv's repr, shown without its quotes and never evaluated: as the dashboard reads it
        shown = repr(HOSTILE)[1:-1]
        assert list(load_results(results).points["variant"].astype(str)) == [shown, "plain"]
        assert list(stored.points["variant"].astype(str)) == [shown, "plain"]
        assert list(stored.points["value"]) == [1.5, 2.5]
        assert stored.machines.loc[0, "gpu_model"] == HOSTILE
        commits = load_commits(engine)
        assert commits.loc[0, "subject"] == HOSTILE
        assert commits.loc[0, "message"] == message
        assert set(load_points(engine, benchmarks=[HOSTILE], params={"variant": [shown]})["value"]) == {1.5}
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(t.points)).scalar_one() == 2
    finally:
        engine.dispose()


def publish_into(store: Path, results_dir: Path, runs: Path | None = None) -> Path:
    """``bncvl publish`` of ``results_dir`` (and the runs of ``runs``) into the SQLite store ``store``; ``store``."""
    from bncvl.cli import main as bncvl

    options = ["--runs-dir", str(runs)] if runs is not None else ["--no-runs"]
    code = bncvl(
        ["publish", "--store", str(store), "--results-dir", str(results_dir), "--repo", str(store.parent), *options]
    )
    assert code in (0, 1), f"bncvl publish exited {code}"
    return store
