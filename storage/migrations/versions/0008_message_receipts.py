"""message receipts: the idempotency key of each handled interview message

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_message_receipts_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_receipts")),
        sa.UniqueConstraint(
            "application_id", "message_id", name=op.f("uq_message_receipts_application_id")
        ),
    )
    op.create_index(
        op.f("ix_message_receipts_application_id"),
        "message_receipts",
        ["application_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_message_receipts_created_at"), "message_receipts", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_message_receipts_created_at"), table_name="message_receipts")
    op.drop_index(op.f("ix_message_receipts_application_id"), table_name="message_receipts")
    op.drop_table("message_receipts")
