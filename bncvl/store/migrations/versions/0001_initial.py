"""The first schema: machines, environments, commits, benchmarks, series, results, points, steps, analysis runs.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEVICE_FACTS = (
    "arch",
    "cpu",
    "num_cpu",
    "ram",
    "os",
    "gpu_model",
    "gpu_count",
    "gpu_driver",
    "cuda_version",
    "torch_version",
    "cudnn_version",
    "cpu_model",
    "torch_threads",
    "benchmark_seed",
    "mig_mode",
)


def upgrade() -> None:
    op.create_table(
        "machines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("facts", sa.Text, nullable=False),
        *(sa.Column(name, sa.Text) for name in _DEVICE_FACTS),
        sa.Column("published_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
    )
    op.create_table(
        "commits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.Text, nullable=False, unique=True),
        sa.Column("date", sa.BigInteger, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("message", sa.Text),
    )
    op.create_index("ix_commits_date", "commits", ["date", "hash"])
    op.create_table(
        "benchmarks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("unit", sa.Text),
        sa.Column("version", sa.Text),
        sa.Column("meta", sa.Text, nullable=False),
    )
    op.create_table(
        "series",
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
    op.create_table(
        "results",
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
        sa.Column("published_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("machine_id", "commit_id", "env_id", name="uq_results_machine_commit_env"),
    )
    op.create_index("ix_results_path", "results", ["path"])
    op.create_index("ix_results_commit", "results", ["commit_id"])
    op.create_table(
        "points",
        sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), primary_key=True),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id"), primary_key=True),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("q_25", sa.Double),
        sa.Column("q_75", sa.Double),
        sa.Column("ci_99_a", sa.Double),
        sa.Column("ci_99_b", sa.Double),
        sa.Column("samples", sa.LargeBinary),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_points_result", "points", ["result_id"])
    op.create_table(
        "steps",
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
    )
    op.create_index("ix_steps_series", "steps", ["machine_id", "env_id", "series_id"])
    op.create_table(
        "analysis_runs",
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


def downgrade() -> None:
    for table in ("analysis_runs", "steps", "points", "results", "series", "benchmarks", "commits"):
        op.drop_table(table)
    op.drop_table("environments")
    op.drop_table("machines")
