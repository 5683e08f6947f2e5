"""One candidate, several channels: link a second channel with a one-time code.

A candidate who started on the web chat can continue on Telegram (or Slack, or the other way
round). On the channel they already use they send `/link`; Parley answers with a code; on the
new channel they send `/link <code>`, and from then on both sender ids belong to the same
candidate, so the open application continues where it stopped.

Decisions (README, "One candidate, several channels"):

* The code is 8 characters from an alphabet without look-alikes (32^8 ≈ 10^12 codes), valid
  for 10 minutes, usable once; only its HMAC (keyed by the master key) is stored. A person
  asking again gets a new code and the old one stops working.
* The code proves that the same person controls both chats, so it is shown only on the
  channel that asked, and it must be typed on the other one.
* A channel that already holds an application, an answer or a consent of its own is never
  merged into another candidate (that would mix two people's data, or one person's two
  applications to the same job): the person is told to finish or delete it first. A channel
  that has only just said hello (no data) is simply moved over.
* The candidate's other channels are told that a new one was linked (through the outbox), so
  someone who links an account without the candidate's knowledge does not go unnoticed.
* Every link is written to the access log.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from privacy import access_log, outbox
from privacy.verification import CHANNEL_NAMES
from storage.db import Database
from storage.encryption import hmac_hex
from storage.models import (
    Application,
    Candidate,
    ChannelIdentity,
    ChannelLinkCode,
    ConsentRecord,
)
from storage.repositories import CandidateRepository, channel_of

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)
_HMAC_PURPOSE = "channel-link"
_SEPARATORS = re.compile(r"[\s\-.]+")

LinkStatus = Literal["linked", "already", "invalid", "expired", "used", "has_data", "closed"]


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, formatted "ABCD-EFGH"
    expires_at: datetime


@dataclass(frozen=True)
class LinkResult:
    status: LinkStatus
    channel: str = ""  # the channel that issued the code (for the message)


class NoCandidate(LookupError):
    """The sender has nothing to link yet (no application, no data)."""


def normalize_code(text: str) -> str:
    return _SEPARATORS.sub("", text).upper()


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(s: Session, code: str) -> str:
    return hmac_hex(s, _HMAC_PURPOSE, code)


def channel_name(sender_id: str) -> str:
    channel = channel_of(sender_id)
    return CHANNEL_NAMES.get(channel, channel)


def issue_code(db: Database, sender_id: str, *, now: datetime | None = None) -> IssuedCode:
    """A new one-time code for the sender's candidate; earlier unused codes stop working."""
    now = now or datetime.now(UTC)
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None or candidate.erased_at is not None:
            raise NoCandidate(sender_id)
        s.execute(
            delete(ChannelLinkCode).where(
                ChannelLinkCode.candidate_id == candidate.id, ChannelLinkCode.used_at.is_(None)
            )
        )
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        s.add(
            ChannelLinkCode(
                candidate_id=candidate.id,
                issued_on=channel_of(sender_id),
                code_hash=_hash(s, code),
                expires_at=now + CODE_TTL,
            )
        )
        return IssuedCode(format_code(code), now + CODE_TTL)


def looks_like_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def _has_data(s: Session, candidate_id: str) -> bool:
    return bool(
        s.scalar(select(exists().where(Application.candidate_id == candidate_id)))
        or s.scalar(select(exists().where(ConsentRecord.candidate_id == candidate_id)))
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def redeem_code(
    db: Database, sender_id: str, text: str, *, now: datetime | None = None
) -> LinkResult:
    """Link `sender_id` to the candidate whose code `text` is."""
    now = now or datetime.now(UTC)
    code = normalize_code(text)
    if not looks_like_code(code):
        return LinkResult("invalid")
    with db.transaction() as s:
        row = s.scalar(
            select(ChannelLinkCode)
            .where(ChannelLinkCode.code_hash == _hash(s, code))
            .with_for_update()
        )
        if row is None:
            return LinkResult("invalid")
        issued_on = CHANNEL_NAMES.get(row.issued_on, row.issued_on)
        if row.used_at is not None:
            return LinkResult("used", issued_on)
        if _aware(row.expires_at) <= now:
            return LinkResult("expired", issued_on)
        target = s.get(Candidate, row.candidate_id)
        if target is None or target.erased_at is not None:
            return LinkResult("closed", issued_on)
        current = CandidateRepository(s).by_sender(sender_id)
        if current is not None and current.id == target.id:
            row.used_at, row.used_on = now, channel_of(sender_id)
            return LinkResult("already", issued_on)
        if current is not None:
            if _has_data(s, current.id):
                return LinkResult("has_data", issued_on)
            # An empty candidate (said hello, nothing more): move the identity, drop the rest.
            s.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.sender_id == sender_id)
                .values(candidate_id=target.id)
            )
            s.flush()
            s.execute(delete(Candidate).where(Candidate.id == current.id))
        else:
            s.add(
                ChannelIdentity(
                    candidate_id=target.id, sender_id=sender_id, channel=channel_of(sender_id)
                )
            )
        row.used_at, row.used_on = now, channel_of(sender_id)
        access_log.record(
            s,
            target.id,
            actor="candidate",
            actor_kind=access_log.SYSTEM,
            action="link_channel",
            resource=f"channel:{channel_of(sender_id)}",
            purpose="the candidate linked another chat to their application",
        )
        others = s.scalars(
            select(ChannelIdentity.sender_id).where(
                ChannelIdentity.candidate_id == target.id,
                ChannelIdentity.sender_id != sender_id,
            )
        ).all()
        notice = (
            f"Your {channel_name(sender_id)} was just linked to your Parley application with "
            "a one-time code. If that wasn't you, send /human and a person will help."
        )
        for other in others:
            if channel_of(other) in ("voice", "rest"):
                continue  # no way to deliver a written notice there
            outbox.enqueue(s, target.id, other, "channel_linked", notice)
        return LinkResult("linked", issued_on)
