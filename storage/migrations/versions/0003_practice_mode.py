"""practice mode: applications.mode and applications.practice_feedback

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:00:00.000000

Practice runs are stored as applications with mode "practice", so a candidate may have many
of them for one job version (and a real application beside them). The unique constraint on
(candidate_id, job_id) therefore becomes a partial unique index that only covers real
applications. On SQLite dropping a constraint rebuilds the table (Alembic batch mode);
storage.migrate runs migrations with foreign keys off on SQLite so that dropping the old table
does not cascade into answers, sessions and scores.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

REAL = sa.text("mode = 'application'")


def upgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=20), server_default="application", nullable=False)
        )
        batch_op.add_column(sa.Column("practice_feedback", sa.String(length=10), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_applications_candidate_id"), type_="unique")
    op.create_index(
        "uq_applications_real_candidate_job",
        "applications",
        ["candidate_id", "job_id"],
        unique=True,
        sqlite_where=REAL,
        postgresql_where=REAL,
    )


def downgrade() -> None:
    # Practice runs cannot be represented without the mode column: they are deleted with
    # everything that hangs off them. Explicitly, because SQLite migrates with foreign keys off.
    practice = "SELECT id FROM applications WHERE mode = 'practice'"
    for child in (
        "answer_scores",
        "application_scores",
        "answers",
        "interview_sessions",
        "handoff_requests",
    ):
        op.execute(f"DELETE FROM {child} WHERE application_id IN ({practice})")
    op.execute("DELETE FROM applications WHERE mode = 'practice'")
    op.drop_index("uq_applications_real_candidate_job", table_name="applications")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_applications_candidate_id"), ["candidate_id", "job_id"]
        )
        batch_op.drop_column("practice_feedback")
        batch_op.drop_column("mode")
