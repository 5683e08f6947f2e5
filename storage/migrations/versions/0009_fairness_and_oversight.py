"""fairness and oversight: voluntary self-identification with its own keys, the decision
log, and a person's knockout and rank overrides

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "self_identifications",
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.Text(), nullable=True),
        sa.Column("race_ethnicity", sa.Text(), nullable=True),
        sa.Column("step", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_self_identifications_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_self_identifications")),
    )
    op.create_table(
        "self_id_keys",
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("master_key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_self_id_keys_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_self_id_keys")),
    )
    op.create_table(
        "decision_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=30), nullable=False),
        sa.Column("automated", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=80), nullable=True),
        sa.Column("scorer_version", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_decision_log_application_id_applications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_decision_log_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_decision_log_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_log")),
    )
    op.create_index(op.f("ix_decision_log_at"), "decision_log", ["at"], unique=False)
    op.create_index(
        op.f("ix_decision_log_application_id"), "decision_log", ["application_id"], unique=False
    )
    op.create_index(op.f("ix_decision_log_job_id"), "decision_log", ["job_id"], unique=False)
    with op.batch_alter_table("application_reviews") as batch:
        batch.add_column(
            sa.Column("knockout_overridden_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("knockout_override_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("pinned_rank", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rank_pinned_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("application_reviews") as batch:
        batch.drop_column("rank_pinned_by")
        batch.drop_column("pinned_rank")
        batch.drop_column("knockout_override_by")
        batch.drop_column("knockout_overridden_at")
    op.drop_index(op.f("ix_decision_log_job_id"), table_name="decision_log")
    op.drop_index(op.f("ix_decision_log_application_id"), table_name="decision_log")
    op.drop_index(op.f("ix_decision_log_at"), table_name="decision_log")
    op.drop_table("decision_log")
    op.drop_table("self_id_keys")
    op.drop_table("self_identifications")
