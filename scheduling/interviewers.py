"""Interviewers and their calendars: who can hold an interview for which job, and when.

Why a small service of its own: the CLI (`parley calendars add|list|remove`), the booking
service and the worker all need the same three things — the interviewers of a job, their slot
rules, and a calendar client built from stored settings. The CalDAV password is sealed under
the system key (it belongs to no candidate) and is only unsealed to open the calendar.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.availability import SlotRules, WorkingHours
from scheduling.calendars import CalendarSource, open_calendar
from scheduling.intervals import Interval
from storage.db import Database
from storage.encryption import INTERVIEWER_CALENDAR_SECRET, keyring_of
from storage.models import Interviewer, Job, Organization

CALENDAR_KINDS = ("caldav", "ics", "none")
# Busy times read for offers are reused this long; a booking always re-reads its own slot.
BUSY_CACHE_S = 60.0


class InterviewerError(ValueError):
    """Bad interviewer settings, with a message for the operator."""


@dataclass(frozen=True)
class InterviewerSpec:
    """What `parley calendars add` asks for."""

    slug: str
    organization: str
    name: str
    timezone: str
    hours: str
    email: str | None = None
    jobs: tuple[str, ...] = ()
    slot_minutes: int = 45
    buffer_minutes: int = 15
    min_notice_minutes: int = 720
    horizon_days: int = 14
    calendar_kind: str = "none"
    calendar_url: str | None = None
    calendar_username: str | None = None
    calendar_password: str | None = None
    calendar_name: str | None = None


def rules_for(person: Interviewer) -> SlotRules:
    return SlotRules(
        timezone=person.timezone,
        hours=WorkingHours.from_json(person.working_hours),
        slot_minutes=person.slot_minutes,
        buffer_minutes=person.buffer_minutes,
        min_notice_minutes=person.min_notice_minutes,
        horizon_days=person.horizon_days,
    )


def public_url(url: str | None) -> str:
    """The calendar URL without any user:password part (what listings and logs show)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def _check(spec: InterviewerSpec) -> WorkingHours:
    import re

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", spec.slug):
        raise InterviewerError(
            "the interviewer id must be 1-64 lowercase letters, digits, '-' or '_'"
        )
    if not spec.name.strip() or len(spec.name) > 200:
        raise InterviewerError("the name must be 1-200 characters")
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InterviewerError(
            f"unknown time zone {spec.timezone!r}: use an IANA name such as Europe/Berlin"
        ) from None
    try:
        hours = WorkingHours.parse(spec.hours)
    except ValueError as exc:
        raise InterviewerError(f"working hours: {exc}") from None
    for label, value, low, high in (
        ("slot length", spec.slot_minutes, 10, 480),
        ("buffer", spec.buffer_minutes, 0, 240),
        ("minimum notice", spec.min_notice_minutes, 0, 60 * 24 * 14),
        ("horizon", spec.horizon_days, 1, 90),
    ):
        if not low <= value <= high:
            raise InterviewerError(f"{label} must be between {low} and {high}")
    if spec.calendar_kind not in CALENDAR_KINDS:
        raise InterviewerError("calendar kind must be caldav, ics or none")
    if spec.calendar_kind != "none" and not spec.calendar_url:
        raise InterviewerError(f"a {spec.calendar_kind} calendar needs a URL (or file path)")
    if spec.email is not None and ("@" not in spec.email or len(spec.email) > 254):
        raise InterviewerError("the email address does not look valid")
    return hours


class Interviewers:
    """Interviewer rows and calendar clients (busy times cached briefly per interviewer)."""

    def __init__(self, db: Database, *, timeout_s: float = 10.0) -> None:
        self.db = db
        self.timeout_s = timeout_s
        self._cache: dict[tuple[int, str, str, str], tuple[float, list[Interval]]] = {}
        self._sources: dict[tuple[Any, ...], CalendarSource] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ settings
    def add(self, spec: InterviewerSpec, *, replace: bool = False) -> Interviewer:
        hours = _check(spec)
        with self.db.transaction() as s:
            org = s.scalars(select(Organization).where(Organization.slug == spec.organization))
            org_row = org.first()
            if org_row is None:
                raise InterviewerError(
                    f"no organization {spec.organization!r}: import a job of it first "
                    "(parley jobs import)"
                )
            known = set(
                s.scalars(select(Job.slug).where(Job.organization_id == org_row.id)).all()
            )
            unknown = [j for j in spec.jobs if j not in known]
            if unknown:
                raise InterviewerError(
                    f"{spec.organization} has no job {', '.join(unknown)} "
                    f"(its jobs: {', '.join(sorted(known)) or 'none'})"
                )
            row = s.scalars(select(Interviewer).where(Interviewer.slug == spec.slug)).first()
            if row is not None and not replace:
                raise InterviewerError(
                    f"interviewer {spec.slug!r} exists already (use --replace to change it)"
                )
            if row is None:
                row = Interviewer(slug=spec.slug)
                s.add(row)
            row.organization_id = org_row.id
            row.name = spec.name.strip()
            row.email = spec.email
            row.timezone = spec.timezone
            row.working_hours = hours.to_json()
            row.slot_minutes = spec.slot_minutes
            row.buffer_minutes = spec.buffer_minutes
            row.min_notice_minutes = spec.min_notice_minutes
            row.horizon_days = spec.horizon_days
            row.jobs = list(spec.jobs)
            row.calendar_kind = spec.calendar_kind
            row.calendar_url = spec.calendar_url
            row.calendar_username = spec.calendar_username
            row.calendar_name = spec.calendar_name
            row.calendar_secret = (
                keyring_of(s).system_seal(spec.calendar_password, INTERVIEWER_CALENDAR_SECRET)
                if spec.calendar_password
                else None
            )
            row.active = True
            s.flush()
            s.expunge(row)
            return row

    def deactivate(self, slug: str) -> bool:
        """Stop offering this interviewer's time (their bookings stay)."""
        with self.db.transaction() as s:
            row = s.scalars(select(Interviewer).where(Interviewer.slug == slug)).first()
            if row is None:
                return False
            row.active = False
            return True

    def listing(self) -> list[dict[str, Any]]:
        with self.db.transaction() as s:
            rows = s.scalars(select(Interviewer).order_by(Interviewer.slug)).all()
            return [
                {
                    "id": r.slug,
                    "name": r.name,
                    "organization": r.organization.slug,
                    "jobs": list(r.jobs or []) or ["*"],
                    "timezone": r.timezone,
                    "hours": WorkingHours.from_json(r.working_hours).compact(),
                    "slot_minutes": r.slot_minutes,
                    "buffer_minutes": r.buffer_minutes,
                    "calendar": r.calendar_kind,
                    "calendar_url": public_url(r.calendar_url),
                    "active": r.active,
                }
                for r in rows
            ]

    @staticmethod
    def for_job(s: Session, job: Job) -> list[Interviewer]:
        """Active interviewers of the job's organization who hold interviews for it."""
        rows = s.scalars(
            select(Interviewer)
            .where(Interviewer.organization_id == job.organization_id, Interviewer.active)
            .order_by(Interviewer.id)
        ).all()
        return [r for r in rows if not r.jobs or job.slug in r.jobs]

    # ------------------------------------------------------------------ calendars
    def calendar(self, person: Interviewer) -> CalendarSource | None:
        """The interviewer's calendar client, reused while their settings stay the same (a
        CalDAV client keeps its connection and the calendar it found)."""
        if person.calendar_kind == "none" or not person.calendar_url:
            return None
        key = (person.id, person.calendar_kind, person.calendar_url, person.calendar_username,
               person.calendar_secret, person.calendar_name)
        with self._lock:
            cached = self._sources.get(key)
        if cached is not None:
            return cached
        password = None
        if person.calendar_secret:
            password = keyring_of(self.db).system_unseal(
                person.calendar_secret, INTERVIEWER_CALENDAR_SECRET
            )
        source = open_calendar(
            person.calendar_kind,
            person.calendar_url,
            username=person.calendar_username,
            password=password,
            calendar_name=person.calendar_name,
            timeout=self.timeout_s,
        )
        with self._lock:
            if len(self._sources) > 256:
                self._sources.clear()
            self._sources[key] = source
        return source

    def busy(
        self, person: Interviewer, start: datetime, end: datetime, *, fresh: bool = False
    ) -> list[Interval]:
        """The interviewer's busy times from their calendar (none without one). Raises
        `CalendarUnavailable` when the calendar cannot be read."""
        source = self.calendar(person)
        if source is None:
            return []
        key = (person.id, start.isoformat(), end.isoformat(), person.calendar_url or "")
        now = time.monotonic()
        if not fresh:
            with self._lock:
                hit = self._cache.get(key)
            if hit is not None and now - hit[0] < BUSY_CACHE_S:
                return hit[1]
        intervals = source.busy(start, end, person.timezone)
        with self._lock:
            if len(self._cache) > 512:
                self._cache.clear()
            self._cache[key] = (now, intervals)
        return intervals

    def forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()
