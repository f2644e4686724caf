"""Measure the embedded store's candidate engines, SQLite and DuckDB, on the store's hot path.

Both engines get the same tables (the store's ``series``, ``results`` and
``points``, with explicit ids: DuckDB has no ``SERIAL``), the same ingest
(one transaction per result file, its values by SQLAlchemy Core
``executemany``, as ``bncvl publish`` writes them) and the dashboard's
typical queries; then a second process tries to write while the first
holds the store open. Needs ``pip install duckdb duckdb-engine`` (not a
dependency of bncvl). Figures: docs/measurements/2026-12-03-store-engine.md.

    .venv/bin/python -m tools.store_engine_bench --workdir /tmp/engines --machines 4 --commits 250 --series 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import struct
import time
from pathlib import Path

import sqlalchemy as sa

QUERIES = {
    # The store's queries select points by `series_id IN (...)` and `result_id IN (...)` subqueries, as
    # bncvl.store.query does: SQLite then ranges over the primary key. (Written as joins, SQLite without ANALYZE
    # statistics scanned every point instead: 1.4 s instead of 3 ms for the trends query at 800,000 values.)
    "trends: 1 benchmark, 8 variants, every machine and commit": (
        "SELECT p.series_id, p.result_id, p.status, p.value, p.q_25, p.q_75 FROM points p "
        "WHERE p.series_id IN (SELECT id FROM series WHERE benchmark = :benchmark AND preset = 'medium' "
        "AND device = 'cpu' AND dtype = 'float32') AND p.result_id IN (SELECT id FROM results)"
    ),
    "devices: 1 benchmark, all parameters, every machine, 1 commit": (
        "SELECT p.series_id, p.result_id, p.value FROM points p "
        "WHERE p.series_id IN (SELECT id FROM series WHERE benchmark = :benchmark) "
        "AND p.result_id IN (SELECT id FROM results WHERE commit_id = :commit)"
    ),
    "step detection: 1 machine, 1 layer setting, every commit": (
        "SELECT p.series_id, p.result_id, p.value, p.ci_99_a, p.ci_99_b FROM points p "
        "WHERE p.series_id IN (SELECT id FROM series WHERE variant = 'fused' AND preset = 'medium' AND device = 'cpu') "
        "AND p.result_id IN (SELECT id FROM results WHERE machine_id = 0)"
    ),
    # A whole-table aggregate: why the store keeps each result file's counts by status in `results` instead.
    "values per machine and status, over the whole table": (
        "SELECT r.machine_id, p.status, count(*) FROM points p JOIN results r ON r.id = p.result_id "
        "GROUP BY r.machine_id, p.status"
    ),
}
_VARIANTS = ["reference", "cached", "fused", "channels_last", "half", "cuda_graph", "fast", "conv_limit"]
_PRESETS = ["tiny", "small", "medium", "large"]
_DEVICES = ["cpu", "cuda"]
_DTYPES = ["float32", "float16", "bfloat16"]


def _metadata() -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    series = sa.Table(
        "series",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("benchmark", sa.Integer, nullable=False),
        *(sa.Column(name, sa.Text) for name in ("variant", "preset", "device", "dtype")),
    )
    results = sa.Table(
        "results",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("machine_id", sa.Integer, nullable=False),
        sa.Column("commit_id", sa.Integer, nullable=False),
    )
    points = sa.Table(
        "points",
        metadata,
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("result_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        *(sa.Column(name, sa.Double) for name in ("value", "q_25", "q_75", "ci_99_a", "ci_99_b")),
        sa.Column("samples", sa.LargeBinary),
        sa.Index("ix_points_result", "result_id"),
        sqlite_with_rowid=False,
    )
    return metadata, series, results, points


def _engine(kind: str, path: Path) -> sa.Engine:
    if kind == "sqlite":
        engine = sa.create_engine(f"sqlite:///{path}")

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection, _record) -> None:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA busy_timeout = 120000")

        return engine
    return sa.create_engine(f"duckdb:///{path}")


def _rows(series_count: int, result_id: int, rng: random.Random) -> list[dict]:
    rows = []
    for series_id in range(series_count):
        value = rng.lognormvariate(-6, 1)
        skipped = series_id % 3 == 0  # about a third of a GPU host's grid cannot run (cpu half precision...)
        rows.append(
            {
                "series_id": series_id,
                "result_id": result_id,
                "status": 1 if skipped else 0,
                "value": None if skipped else value,
                "q_25": None if skipped else value * 0.99,
                "q_75": None if skipped else value * 1.01,
                "ci_99_a": None if skipped else value * 0.97,
                "ci_99_b": None if skipped else value * 1.03,
                "samples": struct.pack("<7d", *[value] * 7) if series_id % 20 == 1 else None,
            }
        )
    return rows


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def measure(kind: str, workdir: Path, machines: int, commits: int, series_count: int) -> dict:
    path = workdir / f"store.{kind}"
    for old in workdir.glob(path.name + "*"):
        old.unlink()
    metadata, series, results, points = _metadata()
    engine = _engine(kind, path)
    metadata.create_all(engine)
    grid = [(v, p, d, t) for v in _VARIANTS for p in _PRESETS for d in _DEVICES for t in _DTYPES]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(series),
            [
                {
                    "id": i,
                    "benchmark": i // len(grid),
                    **dict(zip(("variant", "preset", "device", "dtype"), grid[i % len(grid)], strict=True)),
                }
                for i in range(series_count)
            ],
        )
    rng = random.Random(0)
    start = time.perf_counter()
    result_id = 0
    for commit in range(commits):
        for machine in range(machines):
            rows = _rows(series_count, result_id, rng)
            with engine.begin() as connection:  # one transaction per result file, as bncvl publish
                connection.execute(sa.insert(results), [{"id": result_id, "machine_id": machine, "commit_id": commit}])
                connection.execute(sa.insert(points), rows)
            result_id += 1
    ingest = time.perf_counter() - start
    engine.dispose()
    out = {"values": result_id * series_count, "ingest_s": ingest, "size": _size(path)}
    engine = _engine(kind, path)
    for name, sql in QUERIES.items():
        times, count = [], 0
        for _ in range(4):
            began = time.perf_counter()
            with engine.connect() as connection:
                count = len(connection.execute(sa.text(sql), {"benchmark": 2, "commit": commits - 1}).all())
            times.append(time.perf_counter() - began)
        out[name] = (times[0], statistics.median(times[1:]), count)
    engine.dispose()
    out["second_writer"] = _second_writer(kind, path)
    return out


def _hold_open(kind: str, path: str, ready, stop) -> None:
    engine = _engine(kind, Path(path))
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT count(*) FROM results")).all()
        ready.set()
        stop.wait(60)


def _second_writer(kind: str, path: Path) -> str:
    """What a second process that inserts a result while another process holds the store open gets."""
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_open, args=(kind, str(path), ready, stop))
    holder.start()
    ready.wait(60)
    try:
        engine = _engine(kind, path)
        results = _metadata()[2]
        with engine.begin() as connection:
            connection.execute(sa.insert(results), [{"id": 10**9, "machine_id": 99, "commit_id": 99}])
        engine.dispose()
        return "committed"
    except Exception as error:  # the message is the measurement
        return " ".join(str(getattr(error, "orig", error)).split())[:160]
    finally:
        stop.set()
        holder.join(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--machines", type=int, default=4)
    parser.add_argument("--commits", type=int, default=250)
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,duckdb")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for kind in args.engines.split(","):
        figures = measure(kind, args.workdir, args.machines, args.commits, args.series)
        print(f"\n## {kind}")
        print(f"- values: {figures['values']:,}; ingest {figures['ingest_s']:.1f} s = "
              f"{figures['values'] / figures['ingest_s']:,.0f} values/s; size {figures['size'] / 1e6:.1f} MB "
              f"({figures['size'] / figures['values']:.0f} B/value)")  # fmt: skip
        for name in QUERIES:
            first, warm, count = figures[name]
            print(f"- {name}: first {first * 1000:.0f} ms, warm {warm * 1000:.0f} ms ({count:,} rows)")
        print(f"- a second process writing while one holds the store open: {figures['second_writer']}")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    print(f"the stores are kept in {args.workdir}")


if __name__ == "__main__":
    main()
