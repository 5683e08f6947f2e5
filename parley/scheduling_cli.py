"""`parley calendars …` and `parley bookings …`: the operator's side of interview booking.

`calendars add` registers an interviewer with working hours, time zone, slot length, buffers
and a calendar (CalDAV, read and written; an ICS feed, read only; or none). `bookings list`
shows bookings without naming candidates (an application reference instead) and still writes
one access-log entry per candidate shown, because a booking is the candidate's data.

Exit codes: 0 done; 1 not found or refused; 2 bad input.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from parley.cli_support import fail, open_db
from parley.settings import load_settings

calendars_app = typer.Typer(
    help="Interviewers and their calendars (working hours, time zone, CalDAV or ICS).",
    no_args_is_help=True,
)
bookings_app = typer.Typer(help="Booked interviews.", no_args_is_help=True)

_APP_REF = re.compile(r"^[a-f0-9]{4,32}$")


@calendars_app.command("add")
def calendars_add(
    interviewer: Annotated[str, typer.Argument(help="short id, e.g. anna")],
    org: Annotated[str, typer.Option("--org", help="organization id (from its job files)")],
    name: Annotated[str, typer.Option("--name", help="the interviewer's name")],
    timezone: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Europe/Berlin")],
    hours: Annotated[
        str, typer.Option("--hours", help='working hours, e.g. "mon-fri 09:00-17:00"')
    ] = "mon-fri 09:00-17:00",
    job: Annotated[
        list[str] | None, typer.Option("--job", help="a job id (repeat); none: every job")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="organizer address")] = None,
    slot: Annotated[int, typer.Option("--slot", help="interview length, minutes")] = 45,
    buffer: Annotated[int, typer.Option("--buffer", help="free minutes around each")] = 15,
    notice: Annotated[
        int, typer.Option("--notice", help="minimum notice before a slot, minutes")
    ] = 720,
    horizon: Annotated[int, typer.Option("--horizon", help="days ahead to offer")] = 14,
    caldav: Annotated[str | None, typer.Option("--caldav", help="CalDAV URL")] = None,
    ics: Annotated[
        str | None, typer.Option("--ics", help="ICS feed URL or file (busy times only)")
    ] = None,
    username: Annotated[str | None, typer.Option("--username", help="CalDAV user")] = None,
    password_env: Annotated[
        str | None,
        typer.Option(
            "--password-env",
            help="name of an environment variable holding the CalDAV password (stored "
            "encrypted; never typed on the command line)",
        ),
    ] = None,
    calendar: Annotated[
        str | None, typer.Option("--calendar", help="calendar name on the CalDAV server")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="change an existing one")] = False,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="read the calendar once before saving")
    ] = True,
) -> None:
    """Add (or with --replace change) an interviewer and their calendar."""
    from scheduling.calendars import CalendarUnavailable, open_calendar
    from scheduling.interviewers import InterviewerError, Interviewers, InterviewerSpec

    if caldav and ics:
        fail("give --caldav or --ics, not both", 2)
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            fail(f"the environment variable {password_env} is not set", 2)
    kind, url = ("caldav", caldav) if caldav else (("ics", ics) if ics else ("none", None))
    spec = InterviewerSpec(
        slug=interviewer, organization=org, name=name, timezone=timezone, hours=hours,
        email=email, jobs=tuple(job or ()), slot_minutes=slot, buffer_minutes=buffer,
        min_notice_minutes=notice, horizon_days=horizon, calendar_kind=kind,
        calendar_url=url, calendar_username=username, calendar_password=password,
        calendar_name=calendar,
    )
    if check and url:
        now = datetime.now(UTC)
        try:
            source = open_calendar(kind, url, username=username, password=password,
                                   calendar_name=calendar, timeout=10.0)
            busy = source.busy(now, now + timedelta(days=14), timezone)
        except CalendarUnavailable as exc:
            fail(f"cannot read the calendar: {exc} (nothing saved; --no-check to save anyway)")
        except ValueError as exc:
            fail(str(exc), 2)
        typer.echo(f"calendar read: {len(busy)} busy period(s) in the next 14 days")
    settings = load_settings()
    db = open_db(settings)
    try:
        Interviewers(db).add(spec, replace=replace)
    except InterviewerError as exc:
        fail(str(exc), 2)
    finally:
        db.dispose()
    typer.echo(f"interviewer {interviewer} saved ({kind} calendar)")


@calendars_app.command("list")
def calendars_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Interviewers, their hours and calendars (never passwords)."""
    from scheduling.interviewers import Interviewers

    db = open_db(load_settings())
    try:
        rows = Interviewers(db).listing()
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no interviewers yet: parley calendars add …")
        return
    for r in rows:
        state = "" if r["active"] else "  (inactive)"
        typer.echo(
            f"{r['id']:<16} {r['name']:<24} {r['organization']:<20} {r['timezone']:<20} "
            f"{r['hours']}  {r['slot_minutes']}+{r['buffer_minutes']} min  "
            f"{r['calendar']} {r['calendar_url']}  jobs: {','.join(r['jobs'])}{state}"
        )


@calendars_app.command("remove")
def calendars_remove(interviewer: Annotated[str, typer.Argument()]) -> None:
    """Stop offering an interviewer's time (their booked interviews stay)."""
    from scheduling.interviewers import Interviewers

    db = open_db(load_settings())
    try:
        found = Interviewers(db).deactivate(interviewer)
    finally:
        db.dispose()
    if not found:
        fail(f"no interviewer {interviewer!r}")
    typer.echo(f"interviewer {interviewer} will not be offered any more")


@bookings_app.command("list")
def bookings_list(
    job: Annotated[str | None, typer.Option("--job", help="only this job id")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="cancelled and past bookings too")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="why you look (kept in the access log)")
    ] = None,
) -> None:
    """Booked interviews (UTC and the interviewer's local time); access-logged."""
    from sqlalchemy import select

    from privacy.audit import log_admin_read
    from scheduling.intervals import stored_utc
    from storage.models import Application, Booking, Job

    if job is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", job):
        fail("--job must be a job id such as backend-engineer", 2)
    db = open_db(load_settings())
    now = datetime.now(UTC)
    try:
        with db.transaction() as s:
            query = (
                select(Booking, Application, Job)
                .join(Application, Application.id == Booking.application_id)
                .join(Job, Job.id == Application.job_id)
                .order_by(Booking.starts_at)
            )
            if job:
                query = query.where(Job.slug == job)
            if not all_:
                query = query.where(Booking.status == "booked", Booking.ends_at >= now)
            rows = []
            for booking, app, job_row in s.execute(query).all():
                start, end = stored_utc(booking.starts_at), stored_utc(booking.ends_at)
                local = start.astimezone(ZoneInfo(booking.interviewer.timezone))
                rows.append(
                    {
                        "booking": booking.id,
                        "application": app.id,
                        "job": job_row.slug,
                        "interviewer": booking.interviewer.slug,
                        "starts_at": start.isoformat(),
                        "ends_at": end.isoformat(),
                        "interviewer_local": local.strftime("%Y-%m-%d %H:%M %Z"),
                        "candidate_timezone": booking.candidate_timezone,
                        "status": booking.status,
                        "calendar": booking.calendar_state,
                    }
                )
                log_admin_read(s, booking.candidate_id, [app.id], purpose="bookings list",
                               reason=reason)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no bookings" + (f" for {job}" if job else ""))
        return
    for r in rows:
        typer.echo(
            f"{r['starts_at'][:16].replace('T', ' ')} UTC  ({r['interviewer_local']})  "
            f"{r['job']:<20} {r['interviewer']:<12} application {r['application'][:8]}  "
            f"{r['status']}  calendar {r['calendar']}"
        )


@bookings_app.command("invite")
def bookings_invite(
    application: Annotated[str, typer.Argument(help="application id (or its first 8+ chars)")],
) -> None:
    """Invite a candidate to book an interview (any completed application)."""
    from sqlalchemy import select

    from scheduling.chat import SchedulingChat
    from storage.models import Application

    if not _APP_REF.fullmatch(application) or len(application) < 8:
        fail("give an application id (at least its first 8 characters)", 2)
    db = open_db(load_settings())
    try:
        with db.transaction() as s:
            ids = list(s.scalars(select(Application.id).where(
                Application.id.startswith(application))).all())
        if len(ids) != 1:
            fail("no such application" if not ids else "that reference is ambiguous")
        outcome = SchedulingChat(db).invite(ids[0])
    finally:
        db.dispose()
    if outcome != "invited":
        fail(f"not invited: {outcome}")
    typer.echo("invited: the candidate gets the invitation on their chat channel")


@bookings_app.command("cancel")
def bookings_cancel(
    booking: Annotated[str, typer.Argument(help="booking id (or its first 8+ chars)")],
) -> None:
    """Cancel a booking for the employer: the slot is freed, the calendar event removed and
    the candidate told on their channel."""
    from sqlalchemy import select

    from privacy.outbox import enqueue
    from scheduling.booking import BookingService
    from scheduling.chat import INVITED
    from storage.models import Booking, BookingInvitation

    if not _APP_REF.fullmatch(booking) or len(booking) < 8:
        fail("give a booking id (at least its first 8 characters)", 2)
    db = open_db(load_settings())
    try:
        with db.transaction() as s:
            ids = list(s.scalars(select(Booking.id).where(Booking.id.startswith(booking))).all())
        if len(ids) != 1:
            fail("no such booking" if not ids else "that reference is ambiguous")
        done = BookingService(db).cancel(ids[0], by="employer")
        if done is None:
            fail("that booking is not active")
        with db.transaction() as s:
            for invitation in s.scalars(select(BookingInvitation).where(
                    BookingInvitation.application_id == done.application_id)):
                invitation.status = INVITED
            enqueue(s, done.candidate_id, done.sender_id, "booking_cancelled",
                    "Your interview has been cancelled by the employer. We're sorry for the "
                    "change; send /book to choose another time.")
    finally:
        db.dispose()
    typer.echo("cancelled")
