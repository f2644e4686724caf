"""The results store's tables, as SQLAlchemy Core metadata (one schema for SQLite and PostgreSQL).

One row per value lives in :data:`points`; everything a value shares with
thousands of others is a small table it points to by integer id, so the
wide table stays narrow (about 60 bytes a row in SQLite, see
docs/measurements/2026-12-03-store-engine.md)::

    machines      one per asv machine: asv's record (facts, JSON) and the device facts as columns
    environments  one per asv environment name
    commits       one per commit: hash, date (asv's, ms since the epoch), subject and message from git
    benchmarks    one per benchmark name: unit, version, params, param_names (benchmarks.json)
    series        one per benchmark and parameter combination: the ``params`` label and the layer parameters
    results       one per asv result file (machine, commit, environment): its path, size, mtime and sha256, and
                  how many values it holds, skipped, failed and invalid (a health summary without scanning points)
    points        one per value: series, result, status, value, quartiles, 99 % CI, samples
    steps         the steps found per series (machine, environment, series) at the last publish that touched it
    problems      what the reader warned about when the files were published (a skipped file, an invalid value, a
                  missing machine.json...): one line each, naming the file, replaced when it is read again
    analysis_runs one per ``bncvl analyze`` run: config, summary and model summary (JSON)

``points`` is keyed by (series, result): in SQLite it is a ``WITHOUT ROWID``
table, so the rows of one series over every commit lie together on disk
and a chart of one benchmark reads a contiguous range. Statuses are
:data:`STATUS_CODES`; samples are little-endian float64 bytes.

The tables are created and changed only by the migrations in
``bncvl/store/migrations`` (Alembic); a test checks that they build exactly
this metadata.
"""

from __future__ import annotations

from bncvl._extras import needs_extra
from bncvl.measure.facts import DEVICE_FACT_COLUMNS

with needs_extra("store", "bncvl.store.schema"):
    import sqlalchemy as sa

__all__ = [
    "BROKEN",
    "DEVICE_FACT_COLUMNS",
    "STATUS_CODES",
    "analysis_runs",
    "benchmarks",
    "commits",
    "environments",
    "machines",
    "metadata",
    "points",
    "problems",
    "results",
    "series",
    "steps",
]

STATUS_CODES = {"ok": 0, "skipped": 1, "failed": 2, "invalid": 3}
"""``points.status``: the statuses of :attr:`bncvl.track.results.ResultsSet.points`."""
BROKEN = 2
"""``points.status >= BROKEN``: failed or invalid values, the few rows the partial index ``ix_points_broken`` holds
(the Overview lists them without scanning every value)."""

metadata = sa.MetaData()

machines = sa.Table(
    "machines",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("facts", sa.Text, nullable=False),
    *(sa.Column(name, sa.Text) for name in DEVICE_FACT_COLUMNS),  # text, as asv keeps them
    sa.Column("published_at", sa.BigInteger, nullable=False),
)

environments = sa.Table(
    "environments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
)

commits = sa.Table(
    "commits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("hash", sa.Text, nullable=False, unique=True),
    sa.Column("date", sa.BigInteger, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("message", sa.Text),
    sa.Index("ix_commits_date", "date", "hash"),
)

benchmarks = sa.Table(
    "benchmarks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("unit", sa.Text),
    sa.Column("version", sa.Text),
    sa.Column("meta", sa.Text, nullable=False),
)

series = sa.Table(
    "series",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("benchmark_id", sa.Integer, sa.ForeignKey("benchmarks.id"), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("variant", sa.Text),
    sa.Column("preset", sa.Text),
    sa.Column("device", sa.Text),
    sa.Column("dtype", sa.Text),
    sa.Column("param_values", sa.Text, nullable=False),
    sa.UniqueConstraint("benchmark_id", "params", name="uq_series_benchmark_params"),
)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("machine_id", sa.Integer, sa.ForeignKey("machines.id"), nullable=False),
    sa.Column("commit_id", sa.Integer, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("env_id", sa.Integer, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("value_count", sa.Integer, nullable=False),
    sa.Column("skipped_count", sa.Integer, nullable=False),
    sa.Column("failed_count", sa.Integer, nullable=False),
    sa.Column("invalid_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("published_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("machine_id", "commit_id", "env_id", name="uq_results_machine_commit_env"),
    sa.Index("ix_results_path", "path"),
    sa.Index("ix_results_commit", "commit_id"),
)

points = sa.Table(
    "points",
    metadata,
    sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), primary_key=True),
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), primary_key=True),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("value", sa.Double),
    sa.Column("q_25", sa.Double),
    sa.Column("q_75", sa.Double),
    sa.Column("ci_99_a", sa.Double),
    sa.Column("ci_99_b", sa.Double),
    sa.Column("samples", sa.LargeBinary),
    sa.Index("ix_points_result", "result_id"),
    sqlite_with_rowid=False,
)
_broken = points.c.status >= sa.literal_column(str(BROKEN))  # a literal: SQLite matches a partial index's WHERE as text
sa.Index("ix_points_broken", points.c.status, sqlite_where=_broken, postgresql_where=_broken)

steps = sa.Table(
    "steps",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("machine_id", sa.Integer, sa.ForeignKey("machines.id"), nullable=False),
    sa.Column("env_id", sa.Integer, sa.ForeignKey("environments.id"), nullable=False),
    sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), nullable=False),
    sa.Column("direction", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("commit_before_id", sa.Integer, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("commit_after_id", sa.Integer, sa.ForeignKey("commits.id"), nullable=False),
    sa.Column("value_before", sa.Double, nullable=False),
    sa.Column("value_after", sa.Double, nullable=False),
    sa.Column("factor", sa.Double, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),
    sa.Index("ix_steps_series", "machine_id", "env_id", "series_id"),
)

problems = sa.Table(
    "problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id")),
    sa.Column("line", sa.Text, nullable=False),
    sa.Column("published_at", sa.BigInteger, nullable=False),
    sa.Index("ix_problems_source", "source"),
    sa.Index("ix_problems_result", "result_id"),
)

analysis_runs = sa.Table(
    "analysis_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("complete", sa.Boolean, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("model_summary", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("published_at", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("host", "name", name="uq_analysis_runs_host_name"),
)
