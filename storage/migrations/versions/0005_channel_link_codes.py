"""channel link codes: one-time codes that link a second channel to a candidate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("issued_on", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_on", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_channel_link_codes_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_channel_link_codes_code_hash")),
    )
    with op.batch_alter_table("channel_link_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_link_codes_candidate_id"), ["candidate_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_link_codes_candidate_id"))
    op.drop_table("channel_link_codes")
