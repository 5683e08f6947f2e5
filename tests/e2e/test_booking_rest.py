"""Booking the next interview through the real Rasa and action servers, on a real CalDAV
calendar (Radicale): invitation after a passing interview, time-zone guess from the
gateway's metadata, offered slots, booking with an .ics invite, reschedule and cancel — with
the interviewer's calendar following each step.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from sqlalchemy import select

from bot.inbound import prepare
from scheduling.calendars import CalDavCalendar
from scheduling.interviewers import Interviewers, InterviewerSpec
from storage.models import Booking, BookingReminder, ChannelIdentity
from tests.e2e.conftest import Stack, new_sender
from tests.scheduling.radicale_support import make_calendar, running_radicale

pytestmark = pytest.mark.e2e

START = '/start{"job_id":"test-role"}'
REFERENCE = "I enjoy the work and the team, and I want to grow my skills."
ANSWERS = [REFERENCE, "yes", "6 years", "Afternoon", "1 March 2027"]
LAST = "Nothing else, thanks."


def post(stack: Stack, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list:
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    response = stack.http.post(stack.settings.rasa_url + "/webhooks/rest/webhook", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def joined(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def slot_buttons(messages: list[dict[str, Any]]) -> list[str]:
    return [
        b["payload"]
        for m in messages
        for b in m.get("buttons") or []
        if str(b.get("payload", "")).startswith("slot ")
    ]


def invite_of(messages: list[dict[str, Any]]) -> icalendar.Calendar:
    files = [m["custom"] for m in messages if (m.get("custom") or {}).get("parley") == "attachment"]
    assert len(files) == 1, messages
    assert files[0]["mime"] == "text/calendar"
    return icalendar.Calendar.from_ical(base64.b64decode(files[0]["data"]))


def booking_of(stack: Stack, sender: str) -> Booking:
    with stack.db.transaction() as s:
        row = s.scalars(
            select(Booking)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Booking.candidate_id)
            .where(ChannelIdentity.sender_id == sender)
        ).one()
        s.expunge(row)
        return row


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_book_reschedule_cancel_through_rasa_on_caldav(stack: Stack, tmp_path: Path) -> None:
    slug = f"e2e-{secrets.token_hex(3)}"
    with running_radicale(tmp_path / "radicale") as server:
        calendar_url = make_calendar(server.url, user=slug, name="interviews")
        Interviewers(stack.db).add(
            InterviewerSpec(
                slug=slug, organization="test-org", name="Erin Example",
                timezone="Europe/Berlin", hours="mon-sun 08:00-20:00", jobs=("test-role",),
                calendar_kind="caldav", calendar_url=calendar_url, calendar_username=slug,
                calendar_password="x", min_notice_minutes=60,
            )
        )
        try:
            sender = new_sender()
            post(stack, sender, START)
            post(stack, sender, "yes")
            post(stack, sender, "yes")
            for answer in ANSWERS:
                post(stack, sender, answer)
            end = post(stack, sender, LAST, {"timezone": "Europe/London"})
            text = joined(end)
            assert "interview for Test Role is complete" in text
            assert "Good news: Test Organization would like to talk with you" in text
            assert "it looks like Europe/London" in text

            offers = post(stack, sender, "yes")
            assert "I'll show times in Europe/London" in joined(offers)
            payloads = slot_buttons(offers)
            assert 3 <= len(payloads) <= 5

            booked = post(stack, sender, payloads[0])
            assert joined(booked).startswith("Booked: your interview is on")
            event = next(iter(invite_of(booked).walk("VEVENT")))
            first = booking_of(stack, sender)
            assert first.status == "booked" and first.candidate_timezone == "Europe/London"
            assert first.calendar_state == "synced"
            assert event.decoded("DTSTART") == aware(first.starts_at)
            cal = CalDavCalendar(calendar_url, username=slug, password="x")
            window = (datetime.now(UTC), datetime.now(UTC) + timedelta(days=15))
            busy = cal.busy(*window, "Europe/Berlin")
            assert [(b.start, b.end) for b in busy] == [
                (aware(first.starts_at), aware(first.ends_at))
            ]
            with stack.db.transaction() as s:
                planned = s.scalars(
                    select(BookingReminder).where(BookingReminder.booking_id == first.id)
                ).all()
                assert {r.status for r in planned} <= {"pending"}

            moved_offers = post(stack, sender, prepare("/reschedule").text or "")
            assert "new time" in joined(moved_offers)
            moved = post(stack, sender, "2")
            assert joined(moved).startswith("Moved: your interview is on")
            second = booking_of(stack, sender)
            assert second.id == first.id and second.sequence == 1
            assert second.starts_at != first.starts_at
            busy = cal.busy(*window, "Europe/Berlin")
            assert [(b.start, b.end) for b in busy] == [
                (aware(second.starts_at), aware(second.ends_at))
            ]

            ask = post(stack, sender, prepare("/cancel_interview").text or "")
            assert "Cancel your interview on" in joined(ask)
            cancelled = post(stack, sender, "yes")
            assert joined(cancelled).startswith("Cancelled your interview on")
            assert str(invite_of(cancelled)["METHOD"]) == "CANCEL"
            assert booking_of(stack, sender).status == "cancelled"
            assert cal.busy(*window, "Europe/Berlin") == []
        finally:
            Interviewers(stack.db).deactivate(slug)
