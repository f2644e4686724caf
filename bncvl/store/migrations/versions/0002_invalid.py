"""Invalid values and the reader's warnings: each result file counts its invalid values, a partial index finds
failed and invalid values, and ``problems`` keeps what the reader warned about at publish time.

A value that bncvl.track.validity finds absurd or corrupt is stored with the status ``invalid`` (code 3); before
this revision a file holding one was not published, so every existing row counts 0.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BROKEN = sa.text("status >= 2")


def upgrade() -> None:
    op.add_column("results", sa.Column("invalid_count", sa.Integer, nullable=False, server_default="0"))
    op.create_index("ix_points_broken", "points", ["status"], sqlite_where=_BROKEN, postgresql_where=_BROKEN)
    op.create_table(
        "problems",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("result_id", sa.Integer, sa.ForeignKey("results.id")),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("published_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_problems_source", "problems", ["source"])
    op.create_index("ix_problems_result", "problems", ["result_id"])


def downgrade() -> None:
    op.drop_table("problems")
    op.drop_index("ix_points_broken", "points")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("invalid_count")
