"""Notifications to an organization's channel (employers/notifications.py): what is
collected, in which words (never a name or an answer), once per event even with concurrent
collectors, and how delivery is tracked (sent, failed, given up)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from employers.notifications import MAX_ATTEMPTS, collect, mark_failed, mark_sent, pending
from storage.db import Database
from storage.models import (
    AccessLogEntry,
    Application,
    Booking,
    BookingInvitation,
    EmployerNotification,
    HandoffRequest,
    HumanReview,
    OrgWorkspace,
)
from tests.employers.employer_support import (
    NOW,
    OTHER_JOB,
    TEAM,
    make_application,
    make_booking,
    make_org_member,
    make_other_org_job,
    open_human_review,
)

CHANNEL = "C0HIRING"
LATER = NOW + timedelta(hours=1)


def with_channel(db: Database, channel: str | None = CHANNEL) -> int:
    return make_org_member(db, "test-org", TEAM, "U0ADMIN", "admin", channel=channel)


def notes(db: Database) -> list[EmployerNotification]:
    with db.transaction() as s:
        return list(s.scalars(select(EmployerNotification).order_by(EmployerNotification.id)))


def texts(db: Database) -> dict[str, str]:
    return {n.event_key: n.text for n in notes(db)}


def candidate_of(db: Database, app_id: str) -> str:
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        return app.candidate_id


def test_nothing_is_collected_without_a_channel(db: Database) -> None:
    make_org_member(db, "test-org", TEAM, "U0ADMIN", "admin")  # linked, no channel
    make_application(db, score=0.7)
    assert collect(db, now=LATER) == 0
    assert notes(db) == [] and pending(db) == []


def test_completed_interviews_with_their_score_summary(db: Database) -> None:
    org_id = with_channel(db)
    scored = make_application(db, score=0.72, name="Zelda Quux",
                              questions={"motivation": 0.72})
    flagged = make_application(db, score=0.5, questions={"motivation": None})
    knocked = make_application(db, score=0.0, knocked_out=True)
    opted = make_application(db, score=None, ai_opt_out=True)

    assert collect(db, now=LATER) == 4
    found = texts(db)
    assert found[f"completed:{scored}"] == (
        f"Interview completed: Test Role · application `{scored[:8]}` · score 72/100 · "
        "1 of 1 answers scored"
    )
    assert found[f"completed:{flagged}"].endswith(
        "score 50/100 · 0 of 1 answers scored · 1 flagged for review")
    assert found[f"completed:{knocked}"].endswith("knocked out by right_to_work")
    assert found[f"completed:{opted}"].endswith(
        "AI scoring off (the candidate opted out): a person scores it")
    for row in notes(db):
        assert (row.organization_id, row.kind, row.sent_at, row.attempts) == (
            org_id, "completed", None, 0)
        assert "Zelda" not in row.text and "enjoy" not in row.text
    assert collect(db, now=LATER) == 0  # once per event
    assert len(notes(db)) == 4


def test_what_an_employer_never_hears_about(db: Database) -> None:
    with_channel(db)
    make_other_org_job(db)  # the other organization has no channel
    make_application(db, OTHER_JOB, score=0.9)
    make_application(db, score=0.9, mode="practice")
    make_application(db, score=0.9, status="withdrawn")
    make_application(db, score=0.9, erased=True)
    make_application(db, score=0.9, consent_withdrawn=True)
    make_application(db, score=None, status="in_progress")
    make_application(db, score=0.9, finished_at=NOW - timedelta(days=8))  # before the window
    assert collect(db, now=LATER) == 0


def test_an_unscored_interview_waits_for_its_score_then_says_so(db: Database) -> None:
    with_channel(db)
    app_id = make_application(db, score=None)  # finished 5 minutes before NOW, not scored
    assert collect(db, now=NOW) == 0
    assert collect(db, now=NOW + timedelta(minutes=20)) == 1
    assert texts(db)[f"completed:{app_id}"].endswith("· not scored yet")


def test_requests_for_a_person_and_for_reviews(db: Database) -> None:
    with_channel(db)
    app_id = make_application(db, score=0.6, finished_at=NOW - timedelta(days=6))
    practice = make_application(db, score=0.6, mode="practice")
    people = {target: candidate_of(db, target) for target in (app_id, practice)}
    with db.transaction() as s:
        for target, candidate_id in people.items():
            s.add(HandoffRequest(candidate_id=candidate_id, application_id=target,
                                 question_id="motivation", channel="web", created_at=NOW))
    review = open_human_review(db, app_id, "decision_review", statement="I disagree, Zelda")
    dispute = open_human_review(db, app_id, "correction", statement="Wrong score")
    open_human_review(db, app_id, "ai_opt_out")  # not a request to the employer
    with db.transaction() as s:
        for row in s.scalars(select(HumanReview)):
            row.created_at = NOW

    assert collect(db, now=LATER) == 4  # completed + handoff + two reviews
    found = texts(db)
    [handoff_key] = [k for k in found if k.startswith("handoff:")]
    assert found[handoff_key] == (
        f"A candidate asked to talk to a person: Test Role · application `{app_id[:8]}` · "
        "at question motivation"
    )
    assert found[f"review:{review}"].startswith(
        "A candidate asked for a human review of the decision: Test Role")
    assert "dispute" in found[f"review:{dispute}"]
    assert all("Zelda" not in t and "Wrong score" not in t for t in found.values())


def test_bookings_made_moved_and_cancelled(db: Database) -> None:
    with_channel(db)
    app_id = make_application(db, score=0.8, finished_at=NOW - timedelta(days=6))
    booking_id = make_booking(db, app_id, starts_at=NOW + timedelta(days=1))

    def touch(**values: object) -> None:
        with db.transaction() as s:
            booking = s.get(Booking, booking_id)
            assert booking is not None
            for key, value in values.items():
                setattr(booking, key, value)
            booking.updated_at = NOW

    touch()
    collect(db, now=LATER)
    assert texts(db)[f"booking:{booking_id}:0:booked"] == (
        f"Interview booked: Test Role · application `{app_id[:8]}` · "
        "Tue 24 Nov 2026 08:00 UTC with Anna Interviewer"
    )
    touch(sequence=1, starts_at=NOW + timedelta(days=2, hours=1),
          ends_at=NOW + timedelta(days=2, hours=2))
    assert collect(db, now=LATER) == 1
    assert texts(db)[f"booking:{booking_id}:1:booked"].startswith(
        "Interview rescheduled: Test Role")
    assert "Wed 25 Nov 2026 09:00 UTC" in texts(db)[f"booking:{booking_id}:1:booked"]
    touch(sequence=2, status="cancelled", cancelled_by="candidate", cancelled_at=NOW)
    assert collect(db, now=LATER) == 1
    assert texts(db)[f"booking:{booking_id}:2:cancelled"].startswith("Interview cancelled:")
    assert texts(db)[f"booking:{booking_id}:2:cancelled"].endswith("(by the candidate)")


def test_no_free_interview_time(db: Database) -> None:
    with_channel(db)
    app_id = make_application(db, score=0.8, finished_at=NOW - timedelta(days=6))
    candidate_id = candidate_of(db, app_id)
    with db.transaction() as s:
        invitation = BookingInvitation(
            candidate_id=candidate_id, application_id=app_id,
            sender_id="web:x", reason="employer", status="no_time", updated_at=NOW,
        )
        s.add(invitation)
        s.flush()
        invitation_id = invitation.id
    collect(db, now=LATER)
    text = texts(db)[f"no_time:{invitation_id}"]
    assert text.startswith(f"No free interview time: the candidate of application `{app_id[:8]}`")
    assert "parley calendars" in text


def test_concurrent_collectors_store_each_event_once(db: Database) -> None:
    with_channel(db)
    for i in range(12):
        make_application(db, score=0.3 + i / 20)
    barrier = threading.Barrier(4)
    counts: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            counts.append(collect(db, now=LATER))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sum(counts) == 12 and len(notes(db)) == 12


def test_delivery_sent_failed_and_given_up(db: Database) -> None:
    with_channel(db)
    first = make_application(db, score=0.7, finished_at=NOW - timedelta(minutes=30))
    second = make_application(db, score=0.6)
    collect(db, now=LATER)
    waiting = pending(db)
    assert [(channel, text.split("`")[1]) for _, channel, text in waiting] == [
        (CHANNEL, first[:8]), (CHANNEL, second[:8])]
    sent_id, failing_id = waiting[0][0], waiting[1][0]

    mark_sent(db, sent_id, channel=CHANNEL)
    mark_sent(db, sent_id, channel=CHANNEL)  # twice: still one access-log entry
    assert [row[0] for row in pending(db)] == [failing_id]
    with db.transaction() as s:  # the candidate can see that the employer was told
        (entry,) = s.scalars(select(AccessLogEntry)).all()
        assert entry.candidate_id == s.get(Application, first).candidate_id
        assert entry.actor == f"slack-channel:{CHANNEL}" and entry.actor_kind == "employer"
        assert entry.action == "was notified about your application"
        assert entry.resource == f"application:{first}"
        assert entry.purpose == "notification: completed"
    for attempt in range(1, MAX_ATTEMPTS):
        mark_failed(db, failing_id, "channel_not_found")
        assert [row[0] for row in pending(db)] == [failing_id], attempt
    mark_failed(db, failing_id, "ratelimited\nwith a very long tail " + "x" * 300)
    assert pending(db) == []  # given up after MAX_ATTEMPTS
    with db.transaction() as s:
        sent = s.get(EmployerNotification, sent_id)
        failed = s.get(EmployerNotification, failing_id)
        assert sent is not None and failed is not None
        assert sent.sent_at is not None and sent.attempts == 1
        assert failed.sent_at is None and failed.attempts == MAX_ATTEMPTS
        assert failed.last_error is not None and len(failed.last_error) <= 100
        assert "\n" not in failed.last_error
    mark_failed(db, sent_id, "late")  # a sent row stays sent
    mark_sent(db, 10_000_000)  # unknown ids are ignored


def test_turning_the_channel_off_stops_delivery(db: Database) -> None:
    with_channel(db)
    make_application(db, score=0.7)
    collect(db, now=LATER)
    assert len(pending(db)) == 1
    with db.transaction() as s:
        for ws in s.scalars(select(OrgWorkspace)):
            ws.notify_channel = None
    assert pending(db) == []
    assert collect(db, now=LATER) == 0
