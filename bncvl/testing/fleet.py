"""A synthetic fleet's results store, built fast, for measuring the store at scale (tools/store_scale.py and
benchmarks/bench_store.py).

:func:`build_store` writes a fresh store's tables directly, in bulk, through
the store's own schema (:mod:`bncvl.store.schema`): the rows ``bncvl
publish`` would write for ``commits`` commits of every machine of a fleet
of CPU-only and GPU hosts, each result file holding one value per
benchmark and parameter combination of a catalogue (the suite's real list
and grid: :func:`suite_catalogue` in tools/store_scale.py). Points go in
by the DBAPI's ``executemany`` of the compiled INSERT on SQLite and by
``COPY`` on PostgreSQL: publishing 10⁸ values file by file from asv's JSON
would take days on a 2-core machine. :func:`write_result_file` writes one
more commit of a machine through asv's own writers, with the values of the
same model, for ``bncvl publish`` to add.

The values follow a seeded model: each (machine, series) has a level; each
commit multiplies it by 1 + Gaussian noise of :func:`noise_of` its unit (2 % for times, ratios and rates, none
for bytes, 0.1 % for instruction counts); a fraction of the series has
one planted step (×1.3 or ×0.7), stored in ``steps`` as found; a value is
skipped where the suite skips it (CUDA on a CPU-only host, half precision,
the CUDA-only variants and the large preset on the CPU) and, rarely (noise
beyond 3.9 σ), failed.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.store import schema as t
from bncvl.track.directions import Direction, direction

with needs_extra("store", "bncvl.testing.fleet"):
    import numpy as np
    import sqlalchemy as sa

__all__ = ["BenchmarkSpec", "BuildReport", "Fleet", "build_store", "store_bytes", "write_result_file"]

ENV_NAME = "existing-py3.11"
FIRST_DATE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
COMMIT_SPACING_MS = 3_600_000
NOISE = 0.02
"""Relative noise of a measured value (times, relative timings, rates, GPU figures); exact units have none."""
_EXACT_UNITS = frozenset({"bytes", "filters"})
FAIL_SIGMA = 3.9
_CPU_SKIPPED_VARIANTS = frozenset({"half", "cuda_graph"})
_BLOCK = 25
"""Commits of one machine written per transaction."""


@dataclass(frozen=True)
class BenchmarkSpec:
    """One benchmark as asv's benchmarks.json describes it: name, unit, params (asv's reprs) and their names."""

    name: str
    unit: str
    params: tuple[tuple[str, ...], ...] = ()
    param_names: tuple[str, ...] = ()

    def combinations(self) -> list[tuple[str, dict[str, str]]]:
        """Each parameter combination in asv's order: its ``params`` label and values, as the store keeps them."""
        out = []
        for combo in itertools.product(*self.params):
            values = {name: value.strip("'\"") for name, value in zip(self.param_names, combo, strict=True)}
            out.append((", ".join(f"{k}={v}" for k, v in values.items()), values))
        return out


@dataclass(frozen=True)
class Fleet:
    """``cpu_hosts`` CPU-only and ``gpu_hosts`` GPU machines with ``commits`` commits each.

    Attributes:
        cpu_catalogue, gpu_catalogue: the benchmarks a CPU-only and a CUDA build of the suite list.
        step_fraction: the share of (machine, series) with one planted step.
        valued_commits: see the attribute.
    """

    cpu_catalogue: tuple[BenchmarkSpec, ...]
    gpu_catalogue: tuple[BenchmarkSpec, ...]
    cpu_hosts: int
    gpu_hosts: int
    commits: int
    seed: int = 0
    step_fraction: float = 0.2
    valued_commits: int | None = None
    """Write the values of only the newest this many commits (every commit keeps its result files' rows): the
    store's small tables at full scale, its values at a fraction of it. None: every commit's."""

    def machines(self) -> list[tuple[str, bool]]:
        """``(name, has a GPU)`` of every machine."""
        return [(f"cpu-{i:02d}", False) for i in range(self.cpu_hosts)] + [
            (f"gpu-{i:02d}", True) for i in range(self.gpu_hosts)
        ]

    def commit_hash(self, index: int) -> str:
        return hashlib.sha1(f"bncvl-fleet-{self.seed}-{index}".encode()).hexdigest()

    def commit_date(self, index: int) -> int:
        return FIRST_DATE_MS + index * COMMIT_SPACING_MS


@dataclass
class BuildReport:
    """What :func:`build_store` wrote: ``values`` in ``files`` result files and ``steps``, in ``seconds``."""

    values: int = 0
    files: int = 0
    steps: int = 0
    seconds: float = 0.0
    per_machine: dict[str, int] = field(default_factory=dict)

    @property
    def values_per_second(self) -> float:
        return self.values / self.seconds if self.seconds else 0.0


def noise_of(unit: str) -> float:
    """The relative noise of the model's values of ``unit``: none for exact counts, little for instructions."""
    if unit in _EXACT_UNITS:
        return 0.0
    return NOISE / 20 if unit == "instructions" else NOISE


def _skipped(values: dict[str, str], gpu: bool) -> bool:
    """Where the suite skips (benchmarks.common.check_applicable and the variants' own refusals)."""
    device = values.get("device")
    if device == "cuda":
        return not gpu
    if device == "cpu":
        return (
            values.get("dtype", "float32") != "float32"
            or values.get("variant") in _CPU_SKIPPED_VARIANTS
            or values.get("preset") == "large"
        )
    return False


@dataclass(frozen=True)
class _Layout:
    """One machine's series: their store ids, whether each is measured, its statistics' kind, its level and step."""

    series_ids: np.ndarray
    measured: np.ndarray
    noise: np.ndarray
    timed: np.ndarray
    sampled: np.ndarray
    level: np.ndarray
    step_at: np.ndarray
    step_factor: np.ndarray


def _layout(fleet: Fleet, machine: int, gpu: bool, series_id: dict[tuple[str, str], int]) -> _Layout:
    catalogue = fleet.gpu_catalogue if gpu else fleet.cpu_catalogue
    ids, measured, noise, timed, sampled = [], [], [], [], []
    for spec in catalogue:
        for label, values in spec.combinations():
            ids.append(series_id[(spec.name, label)])
            measured.append(not _skipped(values, gpu))
            noise.append(noise_of(spec.unit))
            timed.append(spec.unit == "seconds")
            sampled.append(spec.unit == "time ratio")
    rng = np.random.default_rng([fleet.seed, machine, 0])
    count = len(ids)
    stepped = rng.random(count) < fleet.step_fraction
    return _Layout(
        np.asarray(ids, dtype=np.int64),
        np.asarray(measured),
        np.asarray(noise),
        np.asarray(timed),
        np.asarray(sampled),
        rng.lognormal(0.0, 2.0, count),
        np.where(stepped, rng.integers(1, max(fleet.commits, 2), count), np.iinfo(np.int64).max),
        np.where(rng.random(count) < 0.5, 1.3, 0.7),
    )


def _values(fleet: Fleet, machine: int, layout: _Layout, commit: int) -> tuple[np.ndarray, np.ndarray]:
    """The values of one machine's series at one commit (NaN where skipped or failed), and their status codes."""
    noise = np.random.default_rng([fleet.seed, machine, commit + 1]).standard_normal(len(layout.series_ids))
    value = layout.level * np.where(commit >= layout.step_at, layout.step_factor, 1.0) * (1.0 + layout.noise * noise)
    failed = layout.measured & (noise > FAIL_SIGMA)
    status = np.where(~layout.measured, t.STATUS_CODES["skipped"], t.STATUS_CODES["ok"])
    status = np.where(failed, t.STATUS_CODES["failed"], status)
    return np.where(status == t.STATUS_CODES["ok"], value, np.nan), status


def _point_rows(layout: _Layout, result_id: int, value: np.ndarray, status: np.ndarray) -> list[tuple]:
    ok = ~np.isnan(value)
    spread = np.where(layout.timed, 0.01, 0.0)
    q_25, q_75 = value * (1 - spread), value * (1 + spread)
    ci_a = np.where(layout.timed, value * 0.97, np.where(ok, -np.inf, np.nan))
    ci_b = np.where(layout.timed, value * 1.03, np.where(ok, np.inf, np.nan))
    samples = [
        np.asarray(v * (1 + NOISE * np.linspace(-1, 1, 7)), dtype="<f8").tobytes() if s and o else None
        for v, s, o in zip(value.tolist(), layout.sampled.tolist(), ok.tolist(), strict=True)
    ]

    def plain(array: np.ndarray) -> list:
        return [None if v != v else v for v in array.tolist()]

    return list(
        zip(
            layout.series_ids.tolist(),
            itertools.repeat(result_id),
            status.tolist(),
            plain(value),
            plain(q_25),
            plain(q_75),
            plain(ci_a),
            plain(ci_b),
            samples,
            strict=False,
        )
    )


_POINT_COLUMNS = ("series_id", "result_id", "status", "value", "q_25", "q_75", "ci_99_a", "ci_99_b", "samples")


def _write_points(connection: sa.Connection, rows: list[tuple]) -> None:
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {t.points.name} ({', '.join(_POINT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = sa.insert(t.points).compile(dialect=connection.dialect, column_keys=list(_POINT_COLUMNS))
    connection.connection.driver_connection.cursor().executemany(str(statement), rows)


def _catalogue_rows(fleet: Fleet) -> tuple[list[dict], list[dict]]:
    specs: dict[str, BenchmarkSpec] = {}
    for spec in (*fleet.cpu_catalogue, *fleet.gpu_catalogue):
        known = specs.get(spec.name)
        if known is None or len(spec.combinations()) > len(known.combinations()):
            specs[spec.name] = spec
    benchmarks, series = [], []
    for benchmark_id, spec in enumerate(sorted(specs.values(), key=lambda s: s.name), start=1):
        meta = {"name": spec.name, "unit": spec.unit, "params": [list(p) for p in spec.params]}
        meta.update({"param_names": list(spec.param_names), "version": "1", "type": "track"})
        benchmarks.append({"id": benchmark_id, "name": spec.name, "unit": spec.unit, "version": "1"})
        benchmarks[-1]["meta"] = json.dumps(meta)
        for label, values in spec.combinations():
            layer = {key: values.get(key) for key in ("variant", "preset", "device", "dtype")}
            series.append(
                {"id": len(series) + 1, "benchmark_id": benchmark_id, "params": label, **layer, "param_values": "{}"}
            )
            series[-1]["param_values"] = json.dumps(values)
    return benchmarks, series


def _machine_facts(name: str, gpu: bool) -> dict[str, str]:
    facts = {"machine": name, "arch": "x86_64", "os": "Linux 6.1.0", "num_cpu": "16" if gpu else "2"}
    facts.update({"torch_version": "2.13.0", "torch_threads": "1", "benchmark_seed": "0"})
    facts.update(
        {"gpu_model": "NVIDIA H100 80GB HBM3", "gpu_count": "1", "cuda_version": "12.4", "mig_mode": "Disabled"}
        if gpu
        else {"gpu_model": "none", "gpu_count": "0", "cuda_version": "none", "mig_mode": "n/a"}
    )
    return facts


def _steps(fleet: Fleet, machine_id: int, layout: _Layout, names: dict[int, tuple[str, str | None]]) -> list[dict]:
    rows = []
    for index in np.flatnonzero(layout.measured & (layout.step_at < fleet.commits)).tolist():
        series_id = int(layout.series_ids[index])
        factor = float(layout.step_factor[index])
        verdict = direction(*names[series_id])
        worse = (factor > 1) == (verdict is Direction.LOWER_IS_BETTER)
        kind = "change" if verdict is Direction.INFORMATIVE else "regression" if worse else "improvement"
        after = int(layout.step_at[index])
        level = float(layout.level[index])
        rows.append(
            {
                "machine_id": machine_id,
                "env_id": 1,
                "series_id": series_id,
                "direction": verdict.value,
                "kind": kind,
                "commit_before_id": after,  # commit ids are 1 + the commit's index
                "commit_after_id": after + 1,
                "value_before": level,
                "value_after": level * factor,
                "factor": max(factor, 1 / factor),
                "evidence": "planted by bncvl.testing.fleet",
            }
        )
    return rows


def build_store(engine: sa.Engine, fleet: Fleet, log: Callable[[str], None] | None = None) -> BuildReport:
    """Write ``fleet``'s results into the empty store of ``engine`` (opened for writing), in bulk; see the module.

    Raises:
        ValueError: the store already holds results.
    """
    started = time.perf_counter()
    report = BuildReport()
    benchmarks, series = _catalogue_rows(fleet)
    series_id = {(benchmarks[s["benchmark_id"] - 1]["name"], s["params"]): s["id"] for s in series}
    names = {
        s["id"]: (benchmarks[s["benchmark_id"] - 1]["name"], benchmarks[s["benchmark_id"] - 1]["unit"]) for s in series
    }
    now = time.time_ns() // 1_000_000
    with engine.begin() as connection:
        if connection.execute(sa.select(sa.func.count()).select_from(t.results)).scalar_one():
            raise ValueError(f"{engine.url.render_as_string(hide_password=True)} already holds results")
        connection.execute(sa.insert(t.benchmarks), benchmarks)
        connection.execute(sa.insert(t.series), series)
        connection.execute(sa.insert(t.environments), [{"id": 1, "name": ENV_NAME}])
        connection.execute(
            sa.insert(t.commits),
            [
                {
                    "id": i + 1,
                    "hash": fleet.commit_hash(i),
                    "date": fleet.commit_date(i),
                    "subject": f"Commit {i}",
                    "message": f"Commit {i}\n\nSynthetic.",
                }
                for i in range(fleet.commits)
            ],
        )
        connection.execute(
            sa.insert(t.machines),
            [
                {"id": m + 1, "name": name, "facts": json.dumps(facts), "published_at": now}
                | {key: facts.get(key) for key in t.DEVICE_FACT_COLUMNS}
                for m, (name, gpu) in enumerate(fleet.machines())
                for facts in [_machine_facts(name, gpu)]
            ],
        )
    result_id = 0
    for machine, (name, gpu) in enumerate(fleet.machines()):
        layout = _layout(fleet, machine, gpu, series_id)
        for start in range(0, fleet.commits, _BLOCK):
            results, points = [], []
            for commit in range(start, min(start + _BLOCK, fleet.commits)):
                result_id += 1
                value, status = _values(fleet, machine, layout, commit)
                if commit >= fleet.commits - (fleet.valued_commits or fleet.commits):
                    points.extend(_point_rows(layout, result_id, value, status))
                key = f"{name}/{fleet.commit_hash(commit)[:8]}-{ENV_NAME}.json"
                results.append(
                    {
                        "id": result_id,
                        "machine_id": machine + 1,
                        "commit_id": commit + 1,
                        "env_id": 1,
                        "path": key,
                        "size": 0,
                        "mtime_ns": 0,
                        "sha256": hashlib.sha256(key.encode()).hexdigest(),
                        "value_count": len(status),
                        "skipped_count": int((status == t.STATUS_CODES["skipped"]).sum()),
                        "failed_count": int((status == t.STATUS_CODES["failed"]).sum()),
                        "invalid_count": 0,
                        "published_at": now,
                    }
                )
            with engine.begin() as connection:
                connection.execute(sa.insert(t.results), results)
                _write_points(connection, points)
            report.files += len(results)
            report.values += len(points)
            report.per_machine[name] = report.per_machine.get(name, 0) + len(points)
        steps = _steps(fleet, machine + 1, layout, names)
        if steps:
            with engine.begin() as connection:
                connection.execute(sa.insert(t.steps), steps)
        report.steps += len(steps)
        if log is not None:
            elapsed = time.perf_counter() - started
            log(f"{name}: {report.values:,} values in {elapsed:.0f} s ({report.values / elapsed:,.0f} values/s)")
    _finish(engine)
    report.seconds = time.perf_counter() - started
    return report


def _finish(engine: sa.Engine) -> None:
    """Advance PostgreSQL's id sequences past the explicit ids, and refresh the planner's statistics."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            for table in (t.benchmarks, t.series, t.environments, t.commits, t.machines, t.results, t.steps):
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                connection.execute(
                    sa.select(sa.func.setval(sequence, sa.select(sa.func.max(table.c.id)).scalar_subquery()))
                )
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        connection.exec_driver_sql("ANALYZE")


def store_bytes(engine: sa.Engine) -> int:
    """The store's size on disk: the SQLite file and its WAL, or the PostgreSQL database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            return connection.execute(sa.select(sa.func.pg_database_size(sa.func.current_database()))).scalar_one()
    path = Path(engine.url.database or "")
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def write_result_file(results_dir: Path, fleet: Fleet, machine: int, commit: int) -> Path:
    """Write commit ``commit`` (0-based; it may be past ``fleet.commits``) of machine number ``machine`` as asv's
    files (benchmarks.json, machine.json and the result file, through asv's writers); return the result file."""
    from asv.benchmarks import Benchmarks
    from asv.config import Config
    from asv.machine import Machine
    from asv.results import Results
    from asv.runner import BenchmarkResult

    name, gpu = fleet.machines()[machine]
    catalogue = fleet.gpu_catalogue if gpu else fleet.cpu_catalogue
    benchmarks, series = _catalogue_rows(fleet)
    series_id = {(benchmarks[s["benchmark_id"] - 1]["name"], s["params"]): s["id"] for s in series}
    config = Config()
    config.results_dir = str(results_dir)
    described = [
        {"name": s.name, "unit": s.unit, "params": [list(p) for p in s.params], "param_names": list(s.param_names)}
        | {"version": "1", "type": "track", "timeout": 60.0}
        for s in catalogue
    ]
    Benchmarks(config, described).save()
    facts = _machine_facts(name, gpu)
    record = Machine()
    vars(record).update(facts)
    record.save(str(results_dir))
    layout = _layout(fleet, machine, gpu, series_id)
    value, _status = _values(fleet, machine, layout, commit)
    date = fleet.commit_date(commit)
    results = Results({**facts, "python": "3.11"}, {}, fleet.commit_hash(commit), date, "3.11", ENV_NAME, {})
    started = datetime.datetime.fromtimestamp(date / 1000 + 1, tz=datetime.UTC)
    offset = 0
    for spec, meta in zip(catalogue, described, strict=True):
        count = len(spec.combinations())
        chunk = [
            None if v != v and s == t.STATUS_CODES["failed"] else v
            for v, s in zip(
                value[offset : offset + count].tolist(), _status[offset : offset + count].tolist(), strict=True
            )
        ]
        samples = [None if v is None or v != v else [v] for v in chunk]
        outcome = BenchmarkResult(chunk, samples, [1] * count, errcode=0, stderr="", profile=None)
        results.add_result(meta, outcome, started_at=started, duration=1.0)
        offset += count
    results.save(str(results_dir))
    (path,) = (Path(results_dir) / name).glob(f"{fleet.commit_hash(commit)[:8]}-*.json")
    return path
