"""employers: workspaces, members and roles, decisions, application reviews, notifications, audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("notify_channel", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_org_workspaces_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_workspaces")),
        sa.UniqueConstraint("slack_team_id", name=op.f("uq_org_workspaces_slack_team_id")),
    )
    op.create_index(
        op.f("ix_org_workspaces_organization_id"),
        "org_workspaces",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "org_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("slack_team_id", sa.String(length=32), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_org_members_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_members")),
        sa.UniqueConstraint(
            "slack_team_id", "slack_user_id", name=op.f("uq_org_members_slack_team_id")
        ),
    )
    op.create_index(
        op.f("ix_org_members_organization_id"), "org_members", ["organization_id"], unique=False
    )
    op.create_table(
        "employer_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("old_score", sa.Float(), nullable=True),
        sa.Column("new_score", sa.Float(), nullable=True),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_employer_decisions_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_employer_decisions_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_employer_decisions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_decisions")),
    )
    op.create_index(
        op.f("ix_employer_decisions_application_id"),
        "employer_decisions",
        ["application_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_employer_decisions_candidate_id"),
        "employer_decisions",
        ["candidate_id"],
        unique=False,
    )
    op.create_table(
        "application_reviews",
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("override_score", sa.Float(), nullable=True),
        sa.Column("override_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_application_reviews_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_application_reviews")),
    )
    op.create_index(
        op.f("ix_application_reviews_stage"), "application_reviews", ["stage"], unique=False
    )
    op.create_table(
        "employer_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_employer_notifications_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_employer_notifications_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_notifications")),
        sa.UniqueConstraint("event_key", name=op.f("uq_employer_notifications_event_key")),
    )
    op.create_index(
        op.f("ix_employer_notifications_application_id"),
        "employer_notifications",
        ["application_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_employer_notifications_created_at"),
        "employer_notifications",
        ["created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_employer_notifications_organization_id"),
        "employer_notifications",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "employer_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("job_slug", sa.String(length=64), nullable=True),
        sa.Column("application_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_employer_audit_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_employer_audit_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employer_audit")),
    )
    op.create_index(
        op.f("ix_employer_audit_application_id"),
        "employer_audit",
        ["application_id"],
        unique=False,
    )
    op.create_index(op.f("ix_employer_audit_at"), "employer_audit", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_employer_audit_at"), table_name="employer_audit")
    op.drop_index(op.f("ix_employer_audit_application_id"), table_name="employer_audit")
    op.drop_table("employer_audit")
    for name in ("organization_id", "created_at", "application_id"):
        op.drop_index(
            op.f(f"ix_employer_notifications_{name}"), table_name="employer_notifications"
        )
    op.drop_table("employer_notifications")
    op.drop_index(op.f("ix_application_reviews_stage"), table_name="application_reviews")
    op.drop_table("application_reviews")
    op.drop_index(op.f("ix_employer_decisions_candidate_id"), table_name="employer_decisions")
    op.drop_index(op.f("ix_employer_decisions_application_id"), table_name="employer_decisions")
    op.drop_table("employer_decisions")
    op.drop_index(op.f("ix_org_members_organization_id"), table_name="org_members")
    op.drop_table("org_members")
    op.drop_index(op.f("ix_org_workspaces_organization_id"), table_name="org_workspaces")
    op.drop_table("org_workspaces")
