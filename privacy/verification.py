"""The second factor for export and delete-everything: a one-time code on another path.

Why a second factor: a chat identity alone is weak — a shared family tablet, an unlocked
phone or a leaked web session id would let someone else download or destroy a person's data.
So the code goes to *another* verified contact (email) or to a *second linked channel* of the
candidate (delivered by that channel's gateway through the outbox), never back to the chat
that asked, and the person proves they control both by typing it where they asked.

Rules (the issue's acceptance criteria):

* 6 digits from `secrets`; stored only as an HMAC-SHA256 keyed by the master key
  (`storage.encryption.hmac_hex`, over the request id and the code) in
  `privacy_requests.code_hash` — never in clear, never logged — so a raw database dump cannot
  brute-force the million possible codes. (Rotating the master key invalidates codes issued
  in the 10 minutes before: they read as wrong; a rotation is rare and announced.)
* valid for 10 minutes (`code_expires_at`); a new `send_code` replaces the old code.
* 3 wrong codes lock the request (`status = "locked"`, `locked_at`); a locked request never
  accepts a code again, even the right one. At most `MAX_CODES_PER_REQUEST` codes are sent per
  request, so "send me a new code" cannot be used to get unlimited guesses.

What counts as an attempt (documented decision): spaces, dashes and dots are ignored
("123 456", "123-456"). Exactly 6 digits is compared. Anything else that *contains a digit*
and is at most 12 characters long (after removing spaces/dashes/dots) is a mistyped code —
"12345", "1234567", "12E456" — and counts as a wrong attempt. Text without any digit, or
longer than that ("cancel", "what code?", a sentence) is not an attempt at all: `check_code`
answers `invalid` and the attempt counter is untouched, so the person can ask a question
without burning one of their three tries.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy import outbox
from privacy.mail import MailError, MailSettings, send_mail
from privacy.requests import RequestStatus
from storage.db import Database
from storage.encryption import hmac_hex
from storage.models import ChannelIdentity, Contact, PrivacyRequest
from storage.repositories import CandidateRepository, channel_of

logger = logging.getLogger("parley.privacy.verification")

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
MAX_CODES_PER_REQUEST = 5
_SENDS_FIELD = "_codes_sent"  # in `detail`; export leaves `_` keys out
_HMAC_PURPOSE = "privacy-code"
_ATTEMPT_MAX_LEN = 12
_SEPARATORS = re.compile(r"[\s\-.\u2010-\u2015\u2212]+")

CHANNEL_NAMES = {
    "web": "web chat",
    "telegram": "Telegram chat",
    "slack": "Slack",
    "whatsapp": "WhatsApp chat",
    "sms": "text messages",
    "voice": "phone",
    "rest": "terminal chat",
}

Status = Literal["ok", "wrong", "locked", "expired", "invalid"]


class VerificationSettings(MailSettings, Protocol):
    pass


class RequestNotFound(LookupError):
    """No such request, or it belongs to someone else (answered alike: no probing)."""


class RequestLocked(RuntimeError):
    """The request is locked (three wrong codes, or too many codes sent)."""


class DeliveryFailed(RuntimeError):
    """A second factor exists but no code could be delivered (e.g. the mail server is down)."""


@dataclass(frozen=True)
class Delivery:
    """Where the code went, in words fit for the chat ("your email j•••@example.com")."""

    kind: Literal["email", "channel"]
    description: str
    expires_at: datetime


@dataclass(frozen=True)
class CodeCheck:
    """`status`: ok | wrong | locked | expired | invalid (not a code attempt; not counted).
    `attempts_left`: wrong codes still allowed before the request locks."""

    status: Status
    attempts_left: int


# --------------------------------------------------------------------------- helpers
def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def format_code(code: str) -> str:
    """ "123456" → "123 456": easier to read and type; typed back with or without the space."""
    return f"{code[:3]} {code[3:]}"


def hash_code(s: Session, row_id: str, code: str) -> str:
    """HMAC-SHA256 (master-key derived) over the row id and the code: a hash from one request
    is useless for another."""
    return hmac_hex(s, _HMAC_PURPOSE, f"{row_id}:{code}")


def normalise_attempt(text: str) -> tuple[str | None, bool]:
    """(the 6-digit code or None, whether the text counts as an attempt). See module doc."""
    # NFKC: full-width digits typed on some phone keyboards become ASCII digits.
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text or ""))
    if len(compact) == CODE_DIGITS and compact.isascii() and compact.isdigit():
        return compact, True
    looks_like_code = 0 < len(compact) <= _ATTEMPT_MAX_LEN and any(c.isdigit() for c in compact)
    return None, looks_like_code


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def mask_phone(value: str) -> str:
    digits = value.lstrip("+")
    if len(digits) <= 4:
        return "•••"
    return f"+{digits[:2]}{'•' * max(3, len(digits) - 4)}{digits[-2:]}"


def mask_contact(kind: str, value: str) -> str:
    return mask_email(value) if kind == "email" else mask_phone(value)


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, f"{channel} chat")


def issue_code(s: Session, row: PrivacyRequest) -> str:
    """Put a fresh code on a request row (hash, expiry, attempts reset) and return it.

    Shared by export/erasure confirmation and contact verification. The caller delivers the
    code; only its HMAC stays here."""
    detail: dict[str, Any] = dict(row.detail or {})
    sent = int(detail.get(_SENDS_FIELD, 0))
    if is_locked(row) or sent >= MAX_CODES_PER_REQUEST:
        raise RequestLocked("the request is locked")  # callers check first (and lock)
    code = new_code()
    detail[_SENDS_FIELD] = sent + 1
    row.detail = detail  # a new dict: the change is flushed (and sealed) as a whole
    row.code_hash = hash_code(s, row.id, code)
    row.code_expires_at = now() + CODE_TTL
    row.code_attempts = 0
    row.status = str(RequestStatus.AWAITING_CODE)
    return code


def is_locked(row: PrivacyRequest) -> bool:
    return row.status == RequestStatus.LOCKED or row.locked_at is not None


def sends_exhausted(row: PrivacyRequest) -> bool:
    return int((row.detail or {}).get(_SENDS_FIELD, 0)) >= MAX_CODES_PER_REQUEST


def lock(row: PrivacyRequest) -> None:
    row.status = str(RequestStatus.LOCKED)
    row.locked_at = now()
    row.code_hash = None
    row.code_expires_at = None


def verify(s: Session, row: PrivacyRequest, text: str) -> CodeCheck:
    """Check a typed code against a request row (locked by the caller) and update it."""
    if is_locked(row):
        return CodeCheck("locked", 0)
    attempts_left = max(0, MAX_ATTEMPTS - row.code_attempts)
    code, is_attempt = normalise_attempt(text)
    if not is_attempt:
        return CodeCheck("invalid", attempts_left)
    if row.code_hash is None or row.code_expires_at is None or aware(row.code_expires_at) <= now():
        return CodeCheck("expired", attempts_left)
    if code is not None:
        expected = hash_code(s, row.id, code)
        if hmac.compare_digest(expected, row.code_hash):
            row.detail = {**(row.detail or {}), "verified_at": now().isoformat()}
            row.code_hash = None  # one-time: the same code never works twice
            row.code_expires_at = None
            row.status = str(RequestStatus.OPEN)  # verified; the caller carries it out
            return CodeCheck("ok", attempts_left)
    row.code_attempts += 1
    if row.code_attempts >= MAX_ATTEMPTS:
        lock(row)
        logger.info("privacy request %s locked after %d wrong codes", row.id, MAX_ATTEMPTS)
        return CodeCheck("locked", 0)
    return CodeCheck("wrong", MAX_ATTEMPTS - row.code_attempts)


def locked_request(s: Session, request_id: str) -> PrivacyRequest | None:
    """The request row, locked for update (PostgreSQL; SQLite transactions are serialised by
    BEGIN IMMEDIATE), so two concurrent attempts both count."""
    return s.scalar(
        select(PrivacyRequest)
        .where(PrivacyRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


# --------------------------------------------------------------------------- second factor
@dataclass(frozen=True)
class _Route:
    kind: Literal["email", "channel"]
    target: str  # an email address or a sender id
    description: str


def second_factors(s: Session, candidate_id: str, asking_sender: str) -> list[_Route]:
    """Where a code may go, best first: verified email addresses, then linked channels of a
    *different kind* than the one asking. Two identities on the same channel (two web
    sessions, say) are usually the same device or account, so they do not count as a second
    factor; phones wait for the SMS channel."""
    routes: list[_Route] = []
    contacts = s.scalars(
        select(Contact)
        .where(
            Contact.candidate_id == candidate_id,
            Contact.verified_at.is_not(None),
            Contact.kind == "email",
        )
        .order_by(Contact.verified_at.desc(), Contact.id.desc())
    )
    for contact in contacts:
        routes.append(_Route("email", contact.value, f"your email {mask_email(contact.value)}"))
    asking_channel = channel_of(asking_sender)
    identities = s.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.candidate_id == candidate_id)
        .order_by(ChannelIdentity.created_at, ChannelIdentity.id)
    )
    for identity in identities:
        if identity.sender_id == asking_sender or identity.channel == asking_channel:
            continue
        if channel_of(identity.sender_id) == asking_channel:
            continue
        routes.append(
            _Route("channel", identity.sender_id, f"your {channel_name(identity.channel)}")
        )
    return routes


def code_text(code: str, purpose: str) -> str:
    return (
        f"Your Parley verification code is {format_code(code)}. It is valid for 10 minutes. "
        f"Type it in the chat where you asked to {purpose}. If that was not you, ignore this "
        "message: nothing happens without the code."
    )


_PURPOSES = {"export": "export your data", "erasure": "delete all your data"}


def send_code(
    db: Database, settings: VerificationSettings, request_id: str, sender_id: str
) -> Delivery | None:
    """Send a fresh one-time code for the request to the candidate's second factor.

    Returns where it went, or None when the candidate has no second factor (no verified
    email, no second linked channel): the caller then explains how to add one. Raises
    `RequestNotFound` (unknown request or another candidate's), `RequestLocked`, or
    `DeliveryFailed` (a factor exists but every delivery failed; no code then exists)."""
    locked_now = False
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        row = locked_request(s, request_id)
        if candidate is None or row is None or row.candidate_id != candidate.id:
            raise RequestNotFound("no such request for this sender")
        if is_locked(row):
            raise RequestLocked("the request is locked")
        routes = second_factors(s, candidate.id, sender_id)
        if not routes:
            return None
        if sends_exhausted(row):
            lock(row)  # committed when the block ends normally; raised below
            locked_now = True
        else:
            return _deliver(s, settings, row, routes)
    assert locked_now
    raise RequestLocked("too many codes were sent for this request")


def _deliver(
    s: Session, settings: VerificationSettings, row: PrivacyRequest, routes: list[_Route]
) -> Delivery:
    """Issue the code and hand it to the first route that takes it. Runs inside the request's
    transaction: if every route fails, the exception rolls the new code back."""
    code = issue_code(s, row)
    expires_at = aware(row.code_expires_at)  # type: ignore[arg-type]
    text = code_text(code, _PURPOSES.get(row.kind, "confirm your request"))
    for route in routes:
        if route.kind == "channel":
            outbox.enqueue(s, row.candidate_id, route.target, "code", text)
            return Delivery("channel", route.description, expires_at)
        try:
            send_mail(settings, route.target, "Your Parley verification code", text)
        except MailError as exc:
            logger.warning("code for request %s not mailed: %s", row.id, exc)
            continue
        return Delivery("email", route.description, expires_at)
    raise DeliveryFailed("the code could not be delivered")


def check_code(
    db: Database, request_id: str, code: str, *, sender_id: str | None = None
) -> CodeCheck:
    """Check a typed code. With `sender_id`, the request must belong to that sender's
    candidate (`RequestNotFound` otherwise) — pass it whenever the text comes from a chat."""
    with db.transaction() as s:
        row = locked_request(s, request_id)
        if row is None:
            raise RequestNotFound("no such request")
        if sender_id is not None:
            candidate = CandidateRepository(s).by_sender(sender_id)
            if candidate is None or candidate.id != row.candidate_id:
                raise RequestNotFound("no such request for this sender")
        return verify(s, row, code)
