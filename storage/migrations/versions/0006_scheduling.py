"""scheduling: interviewers, booking invitations, bookings, reminders, calendar cleanups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 14:08:44.652880
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "interviewers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("jobs", sa.JSON(), nullable=False),
        sa.Column("calendar_kind", sa.String(length=10), nullable=False),
        sa.Column("calendar_url", sa.String(length=1000), nullable=True),
        sa.Column("calendar_username", sa.String(length=200), nullable=True),
        sa.Column("calendar_secret", sa.Text(), nullable=True),
        sa.Column("calendar_name", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_interviewers_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interviewers")),
        sa.UniqueConstraint("slug", name=op.f("uq_interviewers_slug")),
    )
    with op.batch_alter_table("interviewers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interviewers_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "calendar_cleanups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interviewer_id", sa.Integer(), nullable=False),
        sa.Column("event_uid", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["interviewer_id"],
            ["interviewers.id"],
            name=op.f("fk_calendar_cleanups_interviewer_id_interviewers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_cleanups")),
    )
    with op.batch_alter_table("calendar_cleanups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_cleanups_interviewer_id"), ["interviewer_id"], unique=False
        )

    op.create_table(
        "booking_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("timezone_guess", sa.String(length=64), nullable=True),
        sa.Column("offers", sa.JSON(), nullable=True),
        sa.Column("offered_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending_slot", sa.JSON(), nullable=True),
        sa.Column("employer_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_booking_invitations_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_booking_invitations_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_invitations")),
        sa.UniqueConstraint("application_id", name=op.f("uq_booking_invitations_application_id")),
    )
    with op.batch_alter_table("booking_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_invitations_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booking_invitations_status"), ["status"], unique=False)

    op.create_table(
        "bookings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("application_id", sa.String(length=32), nullable=False),
        sa.Column("interviewer_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("candidate_timezone", sa.String(length=64), nullable=False),
        sa.Column("sender_id", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("calendar_state", sa.String(length=20), nullable=False),
        sa.Column("calendar_attempts", sa.Integer(), nullable=False),
        sa.Column("calendar_error", sa.String(length=200), nullable=True),
        sa.Column("calendar_next_try", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_bookings_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_bookings_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["interviewer_id"],
            ["interviewers.id"],
            name=op.f("fk_bookings_interviewer_id_interviewers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bookings_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bookings_calendar_state"), ["calendar_state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bookings_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bookings_interviewer_id"), ["interviewer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bookings_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_bookings_active_application",
            ["application_id"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.create_index(
            "uq_bookings_active_slot",
            ["interviewer_id", "starts_at"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )

    op.create_table(
        "booking_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_reminders_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_booking_reminders_candidate_id_candidates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_reminders")),
        sa.UniqueConstraint(
            "booking_id", "sequence", "offset_minutes", name=op.f("uq_booking_reminders_booking_id")
        ),
    )
    with op.batch_alter_table("booking_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_booking_reminders_booking_id"), ["booking_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_booking_reminders_candidate_id"), ["candidate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_booking_reminders_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_reminders_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("booking_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_reminders_status"))
        batch_op.drop_index(batch_op.f("ix_booking_reminders_due_at"))
        batch_op.drop_index(batch_op.f("ix_booking_reminders_candidate_id"))
        batch_op.drop_index(batch_op.f("ix_booking_reminders_booking_id"))

    op.drop_table("booking_reminders")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bookings_active_slot",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(
            "uq_bookings_active_application",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(batch_op.f("ix_bookings_status"))
        batch_op.drop_index(batch_op.f("ix_bookings_interviewer_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_candidate_id"))
        batch_op.drop_index(batch_op.f("ix_bookings_calendar_state"))
        batch_op.drop_index(batch_op.f("ix_bookings_application_id"))

    op.drop_table("bookings")
    with op.batch_alter_table("booking_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_booking_invitations_status"))
        batch_op.drop_index(batch_op.f("ix_booking_invitations_candidate_id"))

    op.drop_table("booking_invitations")
    with op.batch_alter_table("calendar_cleanups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_cleanups_interviewer_id"))

    op.drop_table("calendar_cleanups")
    with op.batch_alter_table("interviewers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interviewers_organization_id"))

    op.drop_table("interviewers")
