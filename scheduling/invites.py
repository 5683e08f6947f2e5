"""Calendar invitations for booked interviews, as iCalendar (RFC 5545 / iTIP RFC 5546) bytes.

Why one function for three uses: the candidate's invite (METHOD:REQUEST), its cancellation
(METHOD:CANCEL) and the copy written into the interviewer's CalDAV calendar (no METHOD, as
CalDAV stores plain objects) describe the same event, and calendar programs only treat a later
file as an update of an earlier one when UID matches and SEQUENCE grows. Keeping them in one
place keeps UID, SEQUENCE and times consistent.

Times are written in UTC (…Z): every calendar program shows them in its user's own zone, and no
VTIMEZONE block is needed. Text comes from people (job titles, names), so it goes through
`icalendar`'s escaping, and control characters are removed before that; addresses that do not
look like e-mail addresses are left out rather than written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import icalendar

from scheduling.intervals import as_utc

__all__ = ["METHODS", "PRODID", "STATUSES", "event_ics"]

PRODID = "-//Parley//Scheduling//EN"
METHODS = (None, "REQUEST", "CANCEL", "PUBLISH")
STATUSES = ("CONFIRMED", "TENTATIVE", "CANCELLED")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]+")
_EMAIL = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\]+\.[^\s@<>()\[\],;:\"\\]+$")


def _text(value: str, *, multiline: bool = False, limit: int = 4000) -> str:
    """Human text without control characters (newlines kept where they make sense)."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    cleaned = _CONTROL.sub("", value) if multiline else _ONE_LINE.sub(" ", value)
    return cleaned.strip()[:limit]


def _email(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    return value if len(value) <= 254 and _EMAIL.match(value) else None


def event_ics(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    organizer_name: str,
    organizer_email: str | None,
    attendee_email: str | None = None,
    location: str | None = None,
    method: str | None = "REQUEST",
    status: str = "CONFIRMED",
    stamp: datetime | None = None,
) -> bytes:
    """One VEVENT in a VCALENDAR, CRLF-terminated UTF-8 bytes.

    `method` "REQUEST" is the candidate's invite, "CANCEL" its cancellation (which always
    carries STATUS:CANCELLED, whatever `status` says), None the interviewer's CalDAV copy.
    `sequence` must grow with every change of the same `uid`. ORGANIZER is written only with
    a usable `organizer_email` (its CN is `organizer_name`), ATTENDEE only with a usable
    `attendee_email`. `stamp` (DTSTAMP) defaults to now. `ValueError` for naive or reversed
    times, an empty UID, a negative sequence or an unknown method/status."""
    if method is not None:
        method = method.upper()
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    status = status.upper()
    if status not in STATUSES:
        raise ValueError(f"unknown event status {status!r}")
    if method == "CANCEL":
        status = "CANCELLED"
    uid = _text(uid, limit=255)
    if not uid:
        raise ValueError("an event needs a UID")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError("SEQUENCE must be a non-negative integer")
    start_utc, end_utc = as_utc(start), as_utc(end)
    if end_utc <= start_utc:
        raise ValueError("an event must end after it starts")
    stamp_utc = as_utc(stamp) if stamp is not None else datetime.now(UTC)

    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    if method is not None:
        cal.add("METHOD", method)

    event = icalendar.Event()
    event.add("UID", uid)
    event.add("SEQUENCE", sequence)
    event.add("DTSTAMP", stamp_utc.replace(microsecond=0))
    event.add("DTSTART", start_utc.replace(microsecond=0))
    event.add("DTEND", end_utc.replace(microsecond=0))
    event.add("SUMMARY", _text(summary, limit=500) or "Interview")
    description = _text(description, multiline=True)
    if description:
        event.add("DESCRIPTION", description)
    if location and _text(location, limit=500):
        event.add("LOCATION", _text(location, limit=500))
    event.add("STATUS", status)
    event.add("TRANSP", "TRANSPARENT" if status == "CANCELLED" else "OPAQUE")

    organizer = _email(organizer_email)
    if organizer is not None:
        address = icalendar.vCalAddress(f"mailto:{organizer}")
        # A double quote cannot appear in a parameter value; RFC 6868's ^' escape is shown
        # literally by older clients, so use an apostrophe.
        name = _text(organizer_name, limit=200).replace('"', "'")
        if name:
            address.params["CN"] = name
        event.add("ORGANIZER", address)
    attendee = _email(attendee_email)
    if attendee is not None:
        address = icalendar.vCalAddress(f"mailto:{attendee}")
        address.params["ROLE"] = "REQ-PARTICIPANT"
        address.params["PARTSTAT"] = "ACCEPTED" if method is None else "NEEDS-ACTION"
        address.params["RSVP"] = "FALSE"
        event.add("ATTENDEE", address)

    cal.add_component(event)
    return cal.to_ical()
