"""Outbound phone screens: `parley call <candidate> --job <id>` rings the candidate.

Twilio's REST client places the call; when the candidate answers, Twilio requests our
`/voice/incoming?job=<id>` webhook and the call runs exactly like an inbound one (AI
disclosure and consent first). Refused before dialling: an unknown job, a number that is not
E.164, a candidate who withdrew consent or asked to be deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from storage.db import Database
from storage.models import Candidate, ChannelIdentity
from storage.repositories import JobRepository

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


class CallError(ValueError):
    """The call cannot be placed; the message says why, for the person running the command."""


@dataclass(frozen=True)
class PlacedCall:
    sid: str
    number: str
    job: str


def resolve_number(db: Database, candidate: str) -> str:
    """A phone number (E.164) as given, or the phone identity of a candidate id."""
    with db.transaction() as s:
        if E164.match(candidate):
            row = s.scalar(
                select(Candidate)
                .join(ChannelIdentity)
                .where(ChannelIdentity.sender_id == "voice:" + candidate)
            )
            number = candidate
        else:
            row = s.get(Candidate, candidate) if len(candidate) <= 32 else None
            if row is None:
                raise CallError(
                    "Give a phone number in E.164 form (+15551234567) or a candidate id."
                )
            phones = [i.sender_id[6:] for i in row.identities if i.sender_id.startswith("voice:")]
            if not phones:
                raise CallError("That candidate has no phone number on record.")
            number = phones[0]
        if row is not None and (row.erased_at or row.consent_withdrawn_at):
            raise CallError(
                "That candidate withdrew consent or asked to be deleted: they are not called."
            )
        return number


def place_call(settings: Any, db: Database, candidate: str, job: str) -> PlacedCall:
    """Ask Twilio to ring the candidate; the interview runs when they answer."""
    from twilio.base.exceptions import TwilioException
    from twilio.rest import Client

    if not settings.voice_enabled or not settings.twilio_number:
        raise CallError(
            "The phone gateway is not configured: set PARLEY_TWILIO_ACCOUNT_SID, "
            "PARLEY_TWILIO_AUTH_TOKEN, PARLEY_TWILIO_NUMBER and PARLEY_VOICE_PUBLIC_URL."
        )
    with db.transaction() as s:
        if JobRepository(s).current(job) is None:
            raise CallError(f"No open job with the id {job!r}. `parley jobs list` shows them.")
    number = resolve_number(db, candidate)
    base = settings.voice_public_base
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
    client.api.base_url = settings.twilio_api_url.rstrip("/")
    try:
        call = client.calls.create(
            to=number,
            from_=settings.twilio_number,
            url=f"{base}/voice/incoming?" + urlencode({"job": job}),
            method="POST",
            status_callback=f"{base}/voice/status",
            status_callback_method="POST",
            status_callback_event=["completed"],
        )
    except TwilioException as exc:
        raise CallError(f"Twilio refused the call: {exc}") from None
    return PlacedCall(sid=str(call.sid), number=number, job=job)
