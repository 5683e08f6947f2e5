"""`parley calendars …` and `parley bookings …` on both backends, with a real CalDAV server;
and the calendar write-back retried after an outage without writing anything twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from parley.cli import app
from scheduling.booking import BookingService
from scheduling.interviewers import Interviewers
from storage.db import Database
from storage.models import AccessLogEntry, Booking, Interviewer, OutboundMessage
from tests.scheduling.booking_support import Clock, add_interviewer, seed_application
from tests.scheduling.radicale_support import (
    RadicaleServer,
    event_uids,
    make_calendar,
    running_radicale,
)

runner = CliRunner()


@pytest.fixture
def env(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("PARLEY_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    return db


def test_calendars_add_checks_the_calendar_seals_the_password_and_lists(
    env: Database, radicale: RadicaleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_calendar(radicale.url, user="anna", name="interviews")
    monkeypatch.setenv("ANNA_CALDAV", "s3cret-pass")
    result = runner.invoke(app, [
        "calendars", "add", "anna", "--org", "test-org", "--name", "Anna Schmidt",
        "--timezone", "Europe/Berlin", "--hours", "mon-thu 09:00-17:00; fri 09:00-13:00",
        "--job", "test-role", "--caldav", url, "--username", "anna",
        "--password-env", "ANNA_CALDAV", "--email", "anna@test-org.example",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "calendar read: 0 busy period(s)" in result.output
    with env.transaction() as s:
        row = s.scalars(select(Interviewer)).one()
        assert row.calendar_secret and "s3cret" not in row.calendar_secret
        assert row.working_hours["fri"] == [["09:00", "13:00"]]
    listed = runner.invoke(app, ["calendars", "list", "--json"])
    assert listed.exit_code == 0
    [entry] = json.loads(listed.output)
    assert entry["id"] == "anna" and entry["calendar"] == "caldav" and entry["jobs"] == [
        "test-role"
    ]
    assert "s3cret" not in listed.output
    again = runner.invoke(app, ["calendars", "add", "anna", "--org", "test-org", "--name", "A",
                                "--timezone", "Europe/Berlin", "--no-check"])  # fmt: skip
    assert again.exit_code == 2 and "exists already" in again.output
    assert runner.invoke(app, ["calendars", "remove", "anna"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["calendars", "list", "--json"]).output)[0][
        "active"
    ] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--timezone", "Europe/Berlin", "--hours", "mon 17-9"], "working hours: 17:00-09:00"),
        (["--timezone", "Europe/Berlin", "--org", "nope-org"], "no organization"),
        (["--timezone", "Europe/Berlin", "--job", "no-such-job"], "has no job"),
        (["--timezone", "Europe/Berlin", "--slot", "5"], "slot length"),
        (["--timezone", "Europe/Berlin", "--caldav", "ftp://x", "--ics", "y"], "not both"),
        (["--timezone", "Europe/Berlin", "--password-env", "UNSET_VAR_XYZ"], "not set"),
    ],
)
def test_calendars_add_bad_input(env: Database, args: list[str], message: str) -> None:
    base = ["calendars", "add", "bert", "--org", "test-org", "--name", "Bert"]
    if "--org" in args:
        base = base[:3] + base[5:]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    with env.transaction() as s:
        assert s.scalars(select(Interviewer)).first() is None


def test_calendars_add_with_an_unreachable_calendar_saves_nothing(env: Database) -> None:
    result = runner.invoke(app, [
        "calendars", "add", "cleo", "--org", "test-org", "--name", "Cleo", "--timezone",
        "Europe/Berlin", "--caldav", "http://127.0.0.1:9/cal/",
    ])  # fmt: skip
    assert result.exit_code == 1 and "cannot read the calendar" in result.output
    assert "nothing saved" in result.output


def test_bookings_list_invite_and_cancel(env: Database) -> None:
    add_interviewer(env)
    sender, candidate_id, app_id = seed_application(env)
    service = BookingService(env, clock=Clock())
    slot = service.free_slots(service_job(env))[0]
    booking = service.book(app_id, slot, sender_id=sender, candidate_tz="Europe/London")
    # The clock of the CLI is real: list everything.
    listed = runner.invoke(app, ["bookings", "list", "--job", "test-role", "--all", "--json",
                                 "--reason", "weekly planning"])  # fmt: skip
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["booking"] == booking.id and row["application"] == app_id
    assert row["candidate_timezone"] == "Europe/London" and row["status"] == "booked"
    assert "Test Person" not in listed.output
    with env.transaction() as s:
        entry = s.scalars(
            select(AccessLogEntry).where(AccessLogEntry.candidate_id == candidate_id)
        ).one()
        assert entry.purpose == "bookings list: weekly planning"
    assert runner.invoke(app, ["bookings", "list", "--job", "x'; --"]).exit_code == 2
    empty = runner.invoke(app, ["bookings", "list", "--job", "backend-engineer", "--all"])
    assert empty.exit_code == 0 and "no bookings" in empty.output

    cancelled = runner.invoke(app, ["bookings", "cancel", booking.id[:10]])
    assert cancelled.exit_code == 0, cancelled.output
    with env.transaction() as s:
        assert s.get(Booking, booking.id).status == "cancelled"  # type: ignore[union-attr]
        told = s.scalars(select(OutboundMessage)).one()
        assert told.sender_id == sender and told.kind == "booking_cancelled"
    assert runner.invoke(app, ["bookings", "cancel", booking.id]).exit_code == 1
    assert runner.invoke(app, ["bookings", "cancel", "zz"]).exit_code == 2

    other_sender, _, other_app = seed_application(env)
    invited = runner.invoke(app, ["bookings", "invite", other_app])
    assert invited.exit_code == 0, invited.output
    again = runner.invoke(app, ["bookings", "invite", other_app])
    assert again.exit_code == 1 and "already invited" in again.output
    assert runner.invoke(app, ["bookings", "invite", "0" * 32]).exit_code == 1
    with env.transaction() as s:
        kinds = [m.kind for m in s.scalars(
            select(OutboundMessage).where(OutboundMessage.sender_id == other_sender))]  # fmt: skip
    assert kinds == ["booking_invitation"]


def service_job(db: Database) -> int:
    from storage.models import Job

    with db.transaction() as s:
        return s.scalars(select(Job.id).where(Job.slug == "test-role", Job.is_current)).one()


def test_calendar_write_back_survives_an_outage_without_duplicates(
    env: Database, tmp_path: Path
) -> None:
    """Booked while CalDAV answers; moved and then cancelled while it is down: the booking
    stands, the worker's retries later bring the calendar up to date, one event at most."""
    folder = tmp_path / "radicale"
    with running_radicale(folder) as server:
        url = make_calendar(server.url, user="anna", name="interviews")
        add_interviewer(env, calendar_kind="caldav", calendar_url=url)
        sender, _, app_id = seed_application(env)
        clock = Clock()
        service = BookingService(env, Interviewers(env), clock=clock)
        slots = service.free_slots(service_job(env))
        booking = service.book(app_id, slots[0], sender_id=sender, candidate_tz="Europe/Berlin")
        assert booking.calendar_state == "synced"
        assert event_uids(url, user="anna") == [f"{booking.id}@parley"]
    # CalDAV is down now: a cancellation frees the slot at once, the removal waits.
    done = service.cancel(booking.id, by="candidate")
    assert done is not None and done.status == "cancelled"
    assert done.calendar_state == "cancel_pending" and done.calendar_error
    assert service.retry_calendar_writes()["written"] == 0  # not due yet (back-off)
    with running_radicale(folder) as server:
        new_url = url.replace(url.split("/")[2], server.url.split("/")[2])
        with env.transaction() as s:
            s.scalars(select(Interviewer)).one().calendar_url = new_url
        clock.advance(hours=2)
        counts = service.retry_calendar_writes()
        assert counts["written"] == 1, counts
        assert event_uids(new_url, user="anna") == []
        assert service.get(booking.id).calendar_state == "removed"  # type: ignore[union-attr]
