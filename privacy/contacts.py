"""Contacts for the second factor: add an email address (or phone number) and verify it.

Why contacts must be verified: a code sent to an address the person does not control would
either reach a stranger (a typo) or prove nothing (an attacker's own address). So a new
contact gets a code, and only once that code is typed back in the chat is it `verified_at`
and used as a second factor by `privacy.verification`.

The code lives on a rights-request row (`privacy_requests`, kind "rectification", detail
`{"target": "contact", "contact_id": …}`) with the same rules as every other code: HMAC only,
10-minute lifetime, 3 wrong tries lock it. `privacy.requests.pending_for` therefore returns
this request while it waits; `is_contact_verification(row)` tells the chat to route the next
message to `verify_contact`.

Phone numbers are validated (E.164) but not stored: there is no SMS or voice channel yet, so
a number could never be verified or used, and keeping personal data that serves no purpose
is what data minimisation forbids. The reply says so and suggests an email address.

Known limit (trust on first use): whoever controls the chat can add and verify an address.
The second factor protects against someone who gets hold of *one* path later; it cannot
protect a profile whose only path was already someone else's.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from privacy.mail import MailError, send_mail
from privacy.requests import Kind, RequestStatus, complete, open_request
from privacy.verification import (
    VerificationSettings,
    aware,
    format_code,
    is_locked,
    issue_code,
    locked_request,
    mask_email,
    mask_phone,
    now,
    verify,
)
from storage.db import Database
from storage.models import Contact, PrivacyRequest
from storage.repositories import CandidateRepository, channel_of

logger = logging.getLogger("parley.privacy.contacts")

TARGET = "contact"
MAX_CONTACTS = 5
MAX_VERIFICATIONS_PER_DAY = 5  # codes to new addresses: no mail-bombing strangers via us
EMAIL_MAX = 254
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_JUNK = re.compile(r"[\s().\-/]")
_KINDS = {"email": "email", "e-mail": "email", "mail": "email", "phone": "phone",
          "mobile": "phone", "sms": "phone", "tel": "phone"}  # fmt: skip

NOTHING_STORED = (
    "I have nothing stored about you yet, so there is no profile to add a contact to. "
    "Start an interview first (send /jobs to see the open jobs)."
)


def normalise_email(value: str) -> str | None:
    """A plausible address, with the domain lower-cased; None when it is not one."""
    value = (value or "").strip().strip("<>").strip()
    if len(value) > EMAIL_MAX or not _EMAIL.match(value) or ".." in value:
        return None
    local, _, domain = value.rpartition("@")
    if local.startswith(".") or local.endswith("."):
        return None
    return f"{local}@{domain.lower()}"


def normalise_phone(value: str) -> str | None:
    """E.164 (`+4915112345678`): spaces, dashes, dots and brackets are ignored; a leading 00
    is read as +. None when it is not an international number."""
    compact = _PHONE_JUNK.sub("", (value or "").strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.match(compact) else None


def is_contact_verification(row: PrivacyRequest) -> bool:
    return (row.detail or {}).get("target") == TARGET


def _contacts(s: Session, candidate_id: str) -> list[Contact]:
    return list(
        s.scalars(select(Contact).where(Contact.candidate_id == candidate_id).order_by(Contact.id))
    )


def _verifications(s: Session, candidate_id: str) -> list[PrivacyRequest]:
    """The candidate's contact-verification requests, newest first (detail is sealed, so the
    target is checked in Python)."""
    rows = s.scalars(
        select(PrivacyRequest)
        .where(
            PrivacyRequest.candidate_id == candidate_id,
            PrivacyRequest.kind == str(Kind.RECTIFICATION),
        )
        .order_by(PrivacyRequest.received_at.desc())
    )
    return [r for r in rows if is_contact_verification(r)]


def add_contact(
    db: Database, settings: VerificationSettings, sender_id: str, kind: str, value: str
) -> str:
    """Add an email address (verification code sent to it) or explain why a phone number
    cannot be added yet. Returns the reply for the chat."""
    kind_key = _KINDS.get((kind or "").strip().lower())
    if kind_key is None:
        return "I can add an email address (or, later, a phone number). Which one is it?"
    if kind_key == "phone":
        phone = normalise_phone(value)
        if phone is None:
            return (
                "That doesn't look like a phone number in international format. Please "
                "write it with the country code, like +44 20 7946 0958."
            )
        return (
            f"Thanks — but I can't verify phone numbers yet: text messages (SMS) are not "
            f"available, so I have not saved {mask_phone(phone)}. Please add an email address "
            "instead; it works as a second factor for exporting or deleting your data."
        )
    email = normalise_email(value)
    if email is None:
        return "That doesn't look like an email address. Please check it and send it again."
    try:
        return _add_email(db, settings, sender_id, email)
    except _MailFailed:
        return (
            "I couldn't send an email just now, so nothing was saved. Please try again "
            "in a few minutes."
        )


class _MailFailed(Exception):
    """Raised inside the transaction so that nothing of the attempt is kept."""


def _add_email(db: Database, settings: VerificationSettings, sender_id: str, email: str) -> str:
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return NOTHING_STORED
        contacts = _contacts(s, candidate.id)
        same = [
            c for c in contacts if c.kind == "email" and (c.value or "").lower() == email.lower()
        ]
        if same and same[0].verified_at is not None:
            return f"{mask_email(email)} is already verified. Nothing to do."
        if not same and len(contacts) >= MAX_CONTACTS:
            return (
                f"You already have {MAX_CONTACTS} contact details stored, the most I keep. "
                "Remove one before adding another."
            )
        earlier = _verifications(s, candidate.id)
        day_ago = now() - timedelta(days=1)
        recent = [r for r in earlier if aware(r.received_at) > day_ago]
        if len(recent) >= MAX_VERIFICATIONS_PER_DAY:
            return (
                "You've asked for several verification codes today already. Please try again "
                "tomorrow, or use the last code you received."
            )
        for row in earlier:  # a new verification supersedes the older ones still waiting
            if row.status == RequestStatus.AWAITING_CODE:
                complete(row, RequestStatus.CANCELLED)
                row.code_hash = None
                row.code_expires_at = None
        if same:
            contact = same[0]
        else:
            contact = Contact(candidate_id=candidate.id, kind="email", value=email)
            s.add(contact)
            s.flush()
        # Unverified addresses of superseded verifications are dropped: unused personal data.
        for other in contacts:
            if other is not contact and other.verified_at is None:
                s.delete(other)
        request = open_request(
            s,
            candidate,
            Kind.RECTIFICATION,
            channel_of(sender_id),
            detail={"target": TARGET, "contact_id": contact.id},
        )
        code = issue_code(s, request)
        body = (
            f"Your Parley verification code is {format_code(code)}. It is valid for 10 "
            "minutes. Type it in the chat where you added this email address. If that was "
            "not you, ignore this message: the address will not be used."
        )
        try:
            send_mail(settings, email, "Confirm your email address for Parley", body)
        except MailError as exc:
            logger.warning("verification mail for request %s not sent: %s", request.id, exc)
            raise _MailFailed from None
    return (
        f"I sent a 6-digit code to {mask_email(email)}. Type it here within 10 minutes to "
        "confirm the address. (No email? Check the spam folder.)"
    )


def verify_contact(db: Database, sender_id: str, code: str) -> str:
    """Check the code typed for the newest pending contact verification; the reply text."""
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return NOTHING_STORED
        waiting = [
            r for r in _verifications(s, candidate.id) if r.status == RequestStatus.AWAITING_CODE
        ]
        if not waiting:
            return "There is no email address waiting for a code. Add one first."
        row = locked_request(s, waiting[0].id)
        assert row is not None
        contact = s.get(Contact, (row.detail or {}).get("contact_id"))
        if contact is None or contact.candidate_id != candidate.id:
            complete(row, RequestStatus.CANCELLED)
            return "That email address is no longer stored. Please add it again."
        result = verify(s, row, code)
        masked = mask_email(contact.value or "")
        if result.status == "ok":
            contact.verified_at = now()
            complete(row)
            return (
                f"Thanks — {masked} is verified. Codes for exporting or deleting your data "
                "can now go there."
            )
        if result.status == "wrong":
            left = result.attempts_left
            return f"That code doesn't match. You have {left} more {_tries(left)}."
        if result.status == "invalid":
            return f"Please type the 6-digit code from the email sent to {masked}."
        if result.status == "locked" or is_locked(row):
            if contact.verified_at is None:
                s.delete(contact)
            return (
                "That was the third wrong code, so I stopped this verification and did not "
                "save the address. Add it again to get a new code."
            )
        return "That code has expired. Add the address again to get a new code."


def _tries(n: int) -> str:
    return "try" if n == 1 else "tries"


__all__ = [
    "add_contact",
    "is_contact_verification",
    "normalise_email",
    "normalise_phone",
    "verify_contact",
]
