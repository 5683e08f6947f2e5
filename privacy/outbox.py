"""Proactive messages to candidates (notices, one-time codes, export links).

Why an outbox table instead of sending at once: the message must survive a restart, reach the
candidate on the channel they use (each gateway delivers its own channel's messages), and
never go through Rasa (which would put it in the conversation's tracker). The text is sealed
like any personal data.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import OutboundMessage

MAX_ATTEMPTS = 10


def enqueue(s: Session, candidate_id: str, sender_id: str, kind: str, text: str) -> OutboundMessage:
    row = OutboundMessage(candidate_id=candidate_id, sender_id=sender_id, kind=kind, text=text)
    s.add(row)
    s.flush()
    return row


def pending(s: Session, sender_id: str, limit: int = 20) -> list[OutboundMessage]:
    """Undelivered messages for one sender id, oldest first."""
    return list(
        s.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.sender_id == sender_id,
                OutboundMessage.sent_at.is_(None),
                OutboundMessage.attempts < MAX_ATTEMPTS,
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    )


def pending_for_channel(s: Session, channel_prefix: str, limit: int = 100) -> list[OutboundMessage]:
    """Undelivered messages for every sender of one channel (`telegram:`, `slack:` …)."""
    return list(
        s.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.sender_id.startswith(channel_prefix),
                OutboundMessage.sent_at.is_(None),
                OutboundMessage.attempts < MAX_ATTEMPTS,
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
    )


def mark_sent(row: OutboundMessage) -> None:
    row.sent_at = datetime.now(UTC)
    row.attempts += 1


def mark_failed(row: OutboundMessage) -> None:
    row.attempts += 1
