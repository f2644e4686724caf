"""Publish asv's results and the analysis runs' summaries into the store; asv's files stay the source of truth.

Each result file is published in one transaction of its own: its values,
its commit, environment and series, and the record of the file (path,
size, mtime, sha256) are written together or not at all, so a publish that
is killed leaves every file either fully in the store or absent, and the
next publish completes it. A file is keyed by its machine, commit and
environment; publishing it again is a no-op when its bytes are unchanged
(size and mtime first, then sha256), and replaces its values when they
changed. A file that cannot be read is named and skipped; everything else
is published.

Concurrent publishers: on SQLite each transaction takes the write lock when
it begins (``BEGIN IMMEDIATE``), so they queue; on PostgreSQL shared rows
(commits, series) are created with ``INSERT ... ON CONFLICT`` in one global
order, which cannot deadlock, and a deadlock or serialization failure is
retried anyway. After the files, the steps of every series the publish
touched are found again (:mod:`bncvl.store.steps`).

Every statement takes its values as bound parameters; no SQL text is built
from a name, a path or a commit message.
"""

from __future__ import annotations

import json
import socket
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bncvl._extras import needs_extra
from bncvl.analysis.rundir import CONFIG, MODEL_SUMMARY, SUMMARY, list_runs, read_json
from bncvl.store import schema as t
from bncvl.store.ingest import FileReader, FileValues, commit_messages, result_files, sha256

with needs_extra("store", "bncvl.store.publish"):
    import sqlalchemy as sa
    from sqlalchemy import exc

__all__ = ["PublishReport", "Publisher", "Touched"]

_RETRIES = 5
_RETRY_STATES = frozenset({"40P01", "40001"})  # PostgreSQL: deadlock detected, serialization failure
_BATCH = 100
"""Result files read before their commits' messages are asked of git in one call."""
ANALYSIS_LIMIT = 1000
"""Rows SQLite's ANALYZE samples per index after a publish (``PRAGMA analysis_limit``)."""
T = TypeVar("T")


@dataclass
class Touched:
    """What a publish wrote for one machine and environment: store ids of the series and commits."""

    series: set[int] = field(default_factory=set)
    commits: set[int] = field(default_factory=set)


@dataclass
class PublishReport:
    """What a publish did.

    Attributes:
        new, replaced, unchanged: result files published for the first time, published again with other
            bytes (their values replaced), and found already published.
        values: values written.
        skipped: one line per result file or run that was not published, naming it and why.
        warnings: the reader's warnings (missing machine.json, benchmarks unknown to benchmarks.json...).
        runs, runs_unchanged: analysis runs published, and found already published.
        series_detected, steps: series whose steps were found again, and the steps found in them.
    """

    new: int = 0
    replaced: int = 0
    unchanged: int = 0
    values: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    runs: int = 0
    runs_unchanged: int = 0
    series_detected: int = 0
    steps: int = 0

    def warn(self, lines: Iterable[str]) -> None:
        for line in lines:
            if line not in self.warnings:
                self.warnings.append(line)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _insert(connection: sa.Connection, table: sa.Table):
    """The dialect's INSERT, which has ``on_conflict_do_nothing``/``on_conflict_do_update`` (SQLite and PostgreSQL)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _retryable(error: exc.DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RETRY_STATES


def transaction(engine: sa.Engine, work: Callable[[sa.Connection], T]) -> T:
    """``work(connection)`` in one transaction, committed; tried again on a deadlock or serialization failure."""
    for attempt in range(_RETRIES):
        try:
            with engine.begin() as connection:
                return work(connection)
        except exc.DBAPIError as error:
            if not _retryable(error) or attempt == _RETRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class Publisher:
    """Publishes into one store; keeps the ids of rows it has seen committed, so each is looked up once.

    Args:
        engine: from :func:`bncvl.store.engine.open_store` with ``write=True``.
        repo: the git checkout to read commit subjects and messages from (None: none are read).
    """

    def __init__(self, engine: sa.Engine, repo: Path | None = None) -> None:
        self.engine = engine
        self.repo = repo
        self.report = PublishReport()
        self.host = socket.gethostname()
        self.git_problem: str | None = None
        self.touched: dict[tuple[int, int], Touched] = defaultdict(Touched)
        """(machine id, environment id) -> the series and commits whose values a publish wrote."""
        # Ids of committed rows. A transaction puts the ids it creates in the pending dicts, merged into these
        # only after it commits: a rolled-back id must not be used again.
        self._machines: dict[str, int] = {}
        self._benchmarks: dict[str, int] = {}
        self._series: dict[tuple[int, str], int] = {}
        self._pending_benchmarks: dict[str, int] = {}
        self._pending_series: dict[tuple[int, str], int] = {}

    # --- results -----------------------------------------------------------------------------------

    def publish_results(self, root: Path, machines: Iterable[str] | None = None) -> None:
        """Publish every result file under the results directory ``root`` (or only the ``machines`` folders)."""
        if not root.is_dir():
            raise FileNotFoundError(f"no results directory {root} (expected asv's results_dir)")
        reader = FileReader(root)
        if reader.benchmarks:
            transaction(self.engine, lambda c: self._upsert_benchmarks(c, reader.benchmarks))
        files = list(result_files(root, machines))
        if machines is not None:
            missing = sorted(set(machines) - {folder for folder, _ in files})
            if missing:
                self.report.skipped.append(f"{root}: no result files of machine(s) {', '.join(missing)}")
        for folder in sorted({folder for folder, _ in files}):
            stored = self._stored_files(folder)
            in_folder = [(f, path) for f, path in files if f == folder]
            skipped_before = len(self.report.skipped)
            for start in range(0, len(in_folder), _BATCH):
                self._publish_batch(reader, in_folder[start : start + _BATCH], stored)
            # skipped files are read again by every publish, so the folder's problems are always whole
            lines = reader.machine_record(folder)[1] + self.report.skipped[skipped_before:]
            transaction(
                self.engine, lambda c, s=f"{self.host}:{root / folder}", x=lines: self._replace_problems(c, s, x)
            )
        source = f"{self.host}:{root}"
        transaction(self.engine, lambda c: self._replace_problems(c, source, reader.catalogue_warnings))
        self.report.warn(reader.warnings)

    def _replace_problems(self, connection: sa.Connection, source: str, lines: list[str]) -> None:
        """The problems of ``source`` (a results directory or machine folder of this host) become ``lines``; left
        as they are when they are those already (so :func:`bncvl.store.query.store_state` stays)."""
        p = t.problems.c
        wanted = list(dict.fromkeys(lines))
        stored = connection.execute(sa.select(p.line).where(p.source == source).order_by(p.id)).scalars().all()
        if stored == wanted:
            return
        connection.execute(sa.delete(t.problems).where(p.source == source))
        if wanted:
            now = _now_ms()
            connection.execute(
                sa.insert(t.problems), [{"source": source, "line": line, "published_at": now} for line in wanted]
            )

    def _stored_files(self, folder: str) -> dict:
        """The stored record (size, mtime, sha256) of each result file of the machine folder ``folder``, by key."""
        r = t.results.c
        prefix = f"{folder}/"
        # an exact prefix whatever the collation (a range follows PostgreSQL's locale; SQLite's LIKE ignores case)
        in_folder = sa.func.substr(r.path, 1, len(prefix)) == prefix
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(r.path, r.size, r.mtime_ns, r.sha256).where(in_folder))
            return {row.path: row for row in rows}

    def _publish_batch(self, reader: FileReader, files: list[tuple[str, Path]], stored: dict) -> None:
        read: list[tuple[str, Path, FileValues, int, int, str]] = []
        for folder, path in files:
            key = f"{folder}/{path.name}"
            try:
                status = path.stat()
                known = stored.get(key)
                if known is not None and (known.size, known.mtime_ns) == (status.st_size, status.st_mtime_ns):
                    self.report.unchanged += 1
                    continue
                data = path.read_bytes()
            except OSError as error:
                self.report.skipped.append(f"{path}: skipped, cannot be read: {error}")
                continue
            digest = sha256(data)
            if known is not None and known.sha256 == digest:
                transaction(self.engine, lambda c, k=key, s=status: self._touch_file(c, k, s))
                self.report.unchanged += 1
                continue
            values, warnings = reader.read(folder, path.name, data)
            if values is None:
                reasons = [w.removeprefix(f"{path}: ") for w in warnings if w.startswith(f"{path}: ")]
                self.report.skipped.append(f"{path}: {'; '.join(reasons) or 'skipped, it holds no results'}")
                continue
            self.report.warn(warnings)
            read.append((key, path, values, status.st_size, status.st_mtime_ns, digest))
        messages, problem = commit_messages(self.repo, (values.commit_hash for _, _, values, *_ in read))
        self.git_problem = self.git_problem or problem
        for key, path, values, size, mtime_ns, digest in read:
            try:
                rows = values.rows()
            except ValueError as error:
                self.report.skipped.append(f"{path}: skipped, {error}")
                continue
            machine_id = self._machine_id(values)
            outcome = transaction(
                self.engine,
                lambda c, v=values, r=rows, k=key, s=size, m=mtime_ns, d=digest, i=machine_id: self._write_file(
                    c, i, v, r, k, s, m, d, messages.get(v.commit_hash)
                ),
            )
            self._benchmarks.update(self._pending_benchmarks)
            self._series.update(self._pending_series)
            if outcome is None:
                self.report.unchanged += 1
                continue
            env_id, commit_id, series_ids, replaced = outcome
            self.touched[(machine_id, env_id)].series.update(series_ids)
            self.touched[(machine_id, env_id)].commits.add(commit_id)
            self.report.values += len(rows)
            if replaced:
                self.report.replaced += 1
            else:
                self.report.new += 1

    def _touch_file(self, connection: sa.Connection, key: str, status) -> None:
        """The file's bytes are those already published: only its size and mtime are new."""
        connection.execute(
            sa.update(t.results).where(t.results.c.path == key).values(size=status.st_size, mtime_ns=status.st_mtime_ns)
        )

    def _upsert_benchmarks(self, connection: sa.Connection, catalogue: dict[str, dict]) -> None:
        rows = [
            {"name": name, "unit": meta.get("unit"), "version": meta.get("version"), "meta": json.dumps(meta)}
            for name, meta in sorted(catalogue.items())
        ]
        statement = _insert(connection, t.benchmarks)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "unit": statement.excluded.unit,
                    "version": statement.excluded.version,
                    "meta": statement.excluded.meta,
                },
            ),
            rows,
        )

    def _machine_id(self, values: FileValues) -> int:
        """The machine's id; its facts are written once per publish, from the first file published."""
        if values.machine not in self._machines:
            facts = values.facts
            row = {
                "name": values.machine,
                "facts": json.dumps(facts),
                **{key: None if facts.get(key) is None else str(facts[key]) for key in t.DEVICE_FACT_COLUMNS},
                "published_at": _now_ms(),
            }

            def upsert(connection: sa.Connection) -> int:
                statement = _insert(connection, t.machines).values(row)
                changed = {key: statement.excluded[key] for key in row if key != "name"}
                upserted = statement.on_conflict_do_update(index_elements=["name"], set_=changed)
                return connection.execute(upserted.returning(t.machines.c.id)).scalar_one()

            self._machines[values.machine] = transaction(self.engine, upsert)
        return self._machines[values.machine]

    def _id(self, connection: sa.Connection, table: sa.Table, key: str, value: str, extra: dict | None = None) -> int:
        """The id of the row of ``table`` whose ``key`` is ``value``, inserted (with ``extra``) if there is none."""
        found = connection.execute(sa.select(table.c.id).where(table.c[key] == value)).scalar()
        if found is not None:
            return found
        connection.execute(_insert(connection, table).values({key: value, **(extra or {})}).on_conflict_do_nothing())
        return connection.execute(sa.select(table.c.id).where(table.c[key] == value)).scalar_one()

    def _series_ids(self, connection: sa.Connection, values: FileValues) -> list[int]:
        """The series id of every row of ``values``; new benchmarks and series are inserted in name order."""
        self._pending_benchmarks, self._pending_series = {}, {}
        per_row = values.series()
        units = values.points["unit"].astype(object).tolist()
        benchmark_ids = {}
        for name, unit in sorted(
            {(name, unit) for (name, _, _), unit in zip(per_row, units, strict=True)}, key=lambda pair: pair[0]
        ):
            if name in self._benchmarks:
                benchmark_ids[name] = self._benchmarks[name]
                continue
            unit_text = None if unit is None or unit != unit else str(unit)
            benchmark_ids[name] = self._id(connection, t.benchmarks, "name", name, {"unit": unit_text, "meta": "{}"})
            self._pending_benchmarks[name] = benchmark_ids[name]
        wanted = {(benchmark_ids[name], label): params for name, label, params in per_row}
        missing = sorted(key for key in wanted if key not in self._series)
        if missing:
            statement = _insert(connection, t.series).on_conflict_do_nothing()
            connection.execute(
                statement,
                [
                    {
                        "benchmark_id": benchmark_id,
                        "params": label,
                        **{
                            key: wanted[(benchmark_id, label)].get(key)
                            for key in ("variant", "preset", "device", "dtype")
                        },
                        "param_values": json.dumps(wanted[(benchmark_id, label)]),
                    }
                    for benchmark_id, label in missing
                ],
            )
            chosen = sa.select(t.series.c.id, t.series.c.benchmark_id, t.series.c.params).where(
                t.series.c.benchmark_id.in_(sorted({b for b, _ in missing}))
            )
            known = {(row.benchmark_id, row.params): row.id for row in connection.execute(chosen)}
            self._pending_series = {key: known[key] for key in missing}
        lookup = {**self._series, **self._pending_series}
        return [lookup[(benchmark_ids[name], label)] for name, label, _ in per_row]

    def _write_file(
        self,
        connection: sa.Connection,
        machine_id: int,
        values: FileValues,
        rows: list[dict],
        key: str,
        size: int,
        mtime_ns: int,
        digest: str,
        message: tuple[str, str] | None,
    ) -> tuple[int, int, set[int], bool] | None:
        """One file's transaction: (environment id, commit id, series written, whether it replaced values), or None
        when the
        store already holds these bytes for the file's machine, commit and environment."""
        env_id = self._id(connection, t.environments, "name", values.env_name)
        commit_id = self._id(connection, t.commits, "hash", values.commit_hash, {"date": values.date})
        if message is not None:
            connection.execute(
                sa.update(t.commits)
                .where(t.commits.c.id == commit_id, t.commits.c.subject.is_(None))
                .values(subject=message[0], message=message[1])
            )
        series_ids = self._series_ids(connection, values)
        where = (t.results.c.machine_id == machine_id, t.results.c.commit_id == commit_id, t.results.c.env_id == env_id)
        existing = connection.execute(sa.select(t.results.c.id, t.results.c.sha256).where(*where)).first()
        record = {
            "path": key,
            "size": size,
            "mtime_ns": mtime_ns,
            "sha256": digest,
            "value_count": len(rows),
            "skipped_count": sum(row["status"] == t.STATUS_CODES["skipped"] for row in rows),
            "failed_count": sum(row["status"] == t.STATUS_CODES["failed"] for row in rows),
            "invalid_count": sum(row["status"] == t.STATUS_CODES["invalid"] for row in rows),
            "published_at": _now_ms(),
        }
        if existing is not None and existing.sha256 == digest:
            connection.execute(sa.update(t.results).where(t.results.c.id == existing.id).values(record))
            return None
        statement = _insert(connection, t.results).values(
            machine_id=machine_id, commit_id=commit_id, env_id=env_id, **record
        )
        upserted = statement.on_conflict_do_update(
            index_elements=["machine_id", "commit_id", "env_id"], set_={k: statement.excluded[k] for k in record}
        )
        result_id = connection.execute(upserted.returning(t.results.c.id)).scalar_one()
        # A concurrent publisher of the same file may have committed its values since the SELECT above.
        connection.execute(sa.delete(t.points).where(t.points.c.result_id == result_id))
        connection.execute(sa.delete(t.problems).where(t.problems.c.result_id == result_id))
        if values.warnings:
            connection.execute(
                sa.insert(t.problems),
                [
                    {"source": key, "result_id": result_id, "line": line, "published_at": record["published_at"]}
                    for line in dict.fromkeys(values.warnings)
                ],
            )
        connection.execute(
            sa.insert(t.points),
            [{"series_id": s, "result_id": result_id, **row} for s, row in zip(series_ids, rows, strict=True)],
        )
        return env_id, commit_id, set(series_ids), existing is not None

    def optimize(self) -> None:
        """Let SQLite refresh the query planner's statistics where they are stale (``PRAGMA optimize``, as SQLite
        advises after changes); the store's queries do not depend on them, other readers' may. Its ANALYZE samples
        (``analysis_limit``, as SQLite advises): a full one read every value, 1.5 s at 1.9 × 10⁷ values."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
                connection.exec_driver_sql("PRAGMA optimize")

    # --- analysis runs -----------------------------------------------------------------------------

    def publish_runs(self, runs_dir: Path, host: str | None = None) -> None:
        """Publish the config, summary and model summary of every run under ``runs_dir``, keyed by host and name."""
        host = host or socket.gethostname()
        for path in list_runs(runs_dir):
            documents = {}
            raw = b""
            try:
                for name in (CONFIG, SUMMARY, MODEL_SUMMARY):
                    if (path / name).exists():
                        documents[name] = read_json(path / name)
                        raw += (path / name).read_bytes()
                    else:
                        documents[name] = {}
            except (ValueError, OSError) as error:
                self.report.skipped.append(f"{error}; run {path.name} skipped")
                continue
            row = {
                "host": host,
                "name": path.name,
                "path": str(path),
                "complete": documents[SUMMARY].get("complete") is True,
                "config": json.dumps(documents[CONFIG]),
                "summary": json.dumps(documents[SUMMARY]),
                "model_summary": json.dumps(documents[MODEL_SUMMARY]),
                "sha256": sha256(raw),
                "published_at": _now_ms(),
            }
            if transaction(self.engine, lambda c, r=row: self._upsert_run(c, r)):
                self.report.runs += 1
            else:
                self.report.runs_unchanged += 1

    def _upsert_run(self, connection: sa.Connection, row: dict) -> bool:
        where = (t.analysis_runs.c.host == row["host"], t.analysis_runs.c.name == row["name"])
        known = connection.execute(sa.select(t.analysis_runs.c.sha256).where(*where)).scalar()
        if known == row["sha256"]:
            return False
        statement = _insert(connection, t.analysis_runs).values(row)
        changed = {key: statement.excluded[key] for key in row if key not in ("host", "name")}
        connection.execute(statement.on_conflict_do_update(index_elements=["host", "name"], set_=changed))
        return True
