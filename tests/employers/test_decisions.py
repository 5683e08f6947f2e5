"""Decisions by people at the employer (employers/decisions.py): advance, reject (with the
candidate's message), schedule, request and resolve reviews with an override — and every way
they must refuse: another organization, a viewer, stale buttons, bad input, double clicks
(also two at once, in threads, on both databases)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text

from employers.decisions import (
    MAX_REASON_CHARS,
    REJECTION_MESSAGE,
    REVIEW_OUTCOME_MESSAGE,
    STALE,
    DecisionService,
    Outcome,
    clean_text,
    parse_override,
)
from employers.orgs import Employer, OrgDirectory
from privacy.reviews import EMPLOYER_REVIEW, open_reviews
from privacy.summary import summarize
from storage.db import Database
from storage.models import (
    Application,
    ApplicationReview,
    Booking,
    BookingInvitation,
    Candidate,
    ChannelIdentity,
    EmployerAudit,
    EmployerDecision,
    HumanReview,
    OutboundMessage,
)
from tests.employers.employer_support import (
    OTHER_JOB,
    OTHER_ORG,
    TEAM,
    make_application,
    make_booking,
    make_org_member,
    make_other_org_job,
    open_human_review,
    set_candidate,
    set_status,
)
from tests.scheduling.booking_support import add_interviewer

OTHER_TEAM = "T0OTHERORG"


def member(db: Database, role: str = "recruiter", user: str = "U0RECRUIT",
           org: str = "test-org", team: str = TEAM) -> Employer:
    make_org_member(db, org, team, user, role)
    employer = OrgDirectory(db).resolve(team, user)
    assert employer is not None
    return employer


def decisions(db: Database, application_id: str) -> list[EmployerDecision]:
    with db.transaction() as s:
        return list(s.scalars(select(EmployerDecision).where(
            EmployerDecision.application_id == application_id).order_by(EmployerDecision.id)))


def audits(db: Database, actor: str | None = None) -> list[EmployerAudit]:
    with db.transaction() as s:
        stmt = select(EmployerAudit).order_by(EmployerAudit.id)
        if actor is not None:
            stmt = stmt.where(EmployerAudit.actor == actor)
        return list(s.scalars(stmt))


def stage(db: Database, application_id: str) -> str | None:
    with db.transaction() as s:
        row = s.get(ApplicationReview, application_id)
        return None if row is None else row.stage


def outbox(db: Database, kind: str | None = None) -> list[OutboundMessage]:
    with db.transaction() as s:
        stmt = select(OutboundMessage).order_by(OutboundMessage.id)
        if kind is not None:
            stmt = stmt.where(OutboundMessage.kind == kind)
        return list(s.scalars(stmt))


def add_identity(db: Database, application_id: str, sender: str) -> None:
    with db.transaction() as s:
        app = s.get(Application, application_id)
        assert app is not None
        s.add(ChannelIdentity(candidate_id=app.candidate_id, sender_id=sender,
                              channel=sender.split(":")[0]))


# --------------------------------------------------------------------------- advance
def test_advance_records_one_decision_and_repeats_change_nothing(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.72)
    service = DecisionService(db)

    first = service.advance(boss, app_id)
    assert first.ok and first.changed and not first.denied
    assert app_id[:8] in first.message
    assert stage(db, app_id) == "advanced"
    [decision] = decisions(db, app_id)
    assert (decision.kind, decision.actor, decision.organization_id) == (
        "advanced", boss.actor, boss.organization_id)

    again = service.advance(boss, app_id)
    assert again == Outcome(True, again.message, changed=False, denied=False)
    assert "Already advanced" in again.message
    assert len(decisions(db, app_id)) == 1
    rows = audits(db, boss.actor)
    assert [(r.action, r.outcome, r.application_id) for r in rows] == [
        ("advance", "allowed", app_id), ("advance", "allowed", app_id)]
    assert rows[0].job_slug == "test-role"


def test_advance_refuses_unfinished_and_rejected_applications(db: Database) -> None:
    boss = member(db)
    service = DecisionService(db)
    running = make_application(db, score=None, status="in_progress")
    outcome = service.advance(boss, running)
    assert not outcome.ok and "not finished yet (in progress)" in outcome.message
    assert decisions(db, running) == []

    done = make_application(db, score=0.4)
    assert service.reject(boss, done).changed
    outcome = service.advance(boss, done)
    assert not outcome.ok and "already rejected" in outcome.message
    assert stage(db, done) == "rejected"
    assert [d.kind for d in decisions(db, done)] == ["rejected"]


# --------------------------------------------------------------------------- reject
def test_reject_tells_the_candidate_courteously_on_their_text_channel(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.31, name="Zelda Quux", sender="web:zelda-chat-01")
    add_identity(db, app_id, "voice:+4915550001")  # newest, but a call can't take a text
    note = "Not enough <b>forklift</b> experience\x00 for *this* role  "

    outcome = DecisionService(db).reject(boss, app_id, note)
    assert outcome.ok and outcome.changed and "courteous message" in outcome.message
    assert stage(db, app_id) == "rejected"
    [message] = outbox(db)
    assert (message.kind, message.sender_id) == (REJECTION_MESSAGE, "web:zelda-chat-01")
    for words in ("Test Role", "Test Organization", "Thank you", "/review", "/mydata",
                  "/export", "/delete", "made by a person"):
        assert words in message.text, words
    for leak in ("31", "forklift", "score", "Zelda"):
        assert leak not in message.text, leak
    [decision] = decisions(db, app_id)
    assert decision.kind == "rejected"
    assert decision.reason == "Not enough <b>forklift</b> experience for *this* role"
    with db.transaction() as s:  # the employer's note is sealed at rest
        stored = s.execute(text("SELECT reason FROM employer_decisions")).scalar_one()
    assert stored.startswith("pk1:") and "forklift" not in stored

    again = DecisionService(db).reject(boss, app_id, note)
    assert again.ok and not again.changed and "Already rejected" in again.message
    assert len(outbox(db)) == 1 and len(decisions(db, app_id)) == 1


def test_reject_closes_the_invitation_and_cancels_a_booked_interview(db: Database) -> None:
    boss = member(db)
    add_interviewer(db)
    app_id = make_application(db, score=0.8, sender="web:booked-0001")
    service = DecisionService(db)
    assert service.schedule(boss, app_id).changed
    booking_id = make_booking(db, app_id, starts_at=datetime.now(UTC) + timedelta(days=3))

    outcome = service.reject(boss, app_id)
    assert outcome.ok and "booked interview is cancelled" in outcome.message
    with db.transaction() as s:
        invitation = s.scalar(select(BookingInvitation))
        booking = s.get(Booking, booking_id)
        assert invitation is not None and invitation.status == "closed"
        assert booking is not None
        assert (booking.status, booking.cancelled_by) == ("cancelled", "employer")
    [message] = outbox(db, REJECTION_MESSAGE)
    assert "The interview that was booked for you is cancelled." in message.text


def test_reject_without_a_text_channel_still_records_and_says_so(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.2, sender="voice:+4915550002", channel="voice")
    outcome = DecisionService(db).reject(boss, app_id)
    assert outcome.ok and outcome.changed and "another way" in outcome.message
    assert outbox(db) == []
    [decision] = decisions(db, app_id)
    assert decision.reason is None


@pytest.mark.parametrize("reason", ["x" * (MAX_REASON_CHARS + 1), "y" * 1_000_000, 42])
def test_reject_refuses_a_huge_or_odd_reason(db: Database, reason: object) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.5)
    outcome = DecisionService(db).reject(boss, app_id, reason)  # type: ignore[arg-type]
    assert not outcome.ok and "at most 1,000 characters" in outcome.message
    assert stage(db, app_id) is None and decisions(db, app_id) == [] and outbox(db) == []
    [row] = audits(db, boss.actor)
    assert (row.outcome, row.detail) == ("invalid", "bad reason")


def test_reject_waits_for_an_open_human_review(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.4)
    review_id = open_human_review(db, app_id, "decision_review", statement="Please look again")
    service = DecisionService(db)

    blocked = service.reject(boss, app_id)
    assert not blocked.ok and "human review is open" in blocked.message
    assert "resolve it first" in blocked.message
    assert stage(db, app_id) == "new" and decisions(db, app_id) == [] and outbox(db) == []
    assert audits(db, boss.actor)[-1].detail == "blocked: open review"

    resolved = service.resolve_review(boss, app_id, "Looked again: the answers are too thin.")
    assert resolved.ok and resolved.changed
    with db.transaction() as s:
        review = s.get(HumanReview, review_id)
        assert review is not None
        assert (review.status, review.resolved_by) == ("resolved", boss.actor)
        assert review.resolution == "Looked again: the answers are too thin."
    # The candidate asked for that review: they hear the conclusion on their chat.
    [told] = outbox(db, REVIEW_OUTCOME_MESSAGE)
    assert "Looked again" in told.text and "Test Organization" in told.text

    done = service.reject(boss, app_id)
    assert done.ok and done.changed
    assert [d.kind for d in decisions(db, app_id)] == ["review_resolved", "rejected"]


def test_a_review_of_another_organizations_application_does_not_block(db: Database) -> None:
    boss = member(db)
    make_other_org_job(db)
    app_id = make_application(db, score=0.4, sender="web:two-jobs-0001")
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        candidate_id = app.candidate_id
    other_id = make_application(db, OTHER_JOB, score=0.6)
    with db.transaction() as s:  # the same person applied there too
        other = s.get(Application, other_id)
        assert other is not None
        other.candidate_id = candidate_id
    open_human_review(db, other_id, "decision_review")
    outcome = DecisionService(db).reject(boss, app_id)
    assert outcome.ok and outcome.changed


# --------------------------------------------------------------------------- reviews
@pytest.mark.parametrize("reason", [None, "", "   \n\t ", "\x00\x01", "r" * 1001, 7])
def test_request_review_needs_a_reason(db: Database, reason: object) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.6)
    outcome = DecisionService(db).request_review(boss, app_id, reason)  # type: ignore[arg-type]
    assert not outcome.ok and outcome.message.startswith("Please give a reason")
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(HumanReview)) == 0
    assert decisions(db, app_id) == []


def test_request_review_opens_one_employer_review_that_blocks_rejection(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.6, sender="web:reviewed-0001")
    service = DecisionService(db)
    outcome = service.request_review(boss, app_id, "  Strong answers but a short one: check  ")
    assert outcome.ok and outcome.changed
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        [review] = open_reviews(s, app.candidate_id)
        assert (review.reason, review.application_id) == (EMPLOYER_REVIEW, app_id)
        assert review.statement is None  # the candidate's own words go there, not ours
        review_id = review.id
    [decision] = decisions(db, app_id)
    assert (decision.kind, decision.review_id) == ("review_requested", review_id)
    assert decision.reason == "Strong answers but a short one: check"

    again = service.request_review(boss, app_id, "another reason")
    assert again.ok and not again.changed and "already open" in again.message
    assert len(decisions(db, app_id)) == 1
    assert not service.reject(boss, app_id).ok

    # The candidate sees the review in their /mydata summary in words, with our decision.
    text_out = "\n".join(summarize(db, "web:reviewed-0001"))
    assert "the employer asked a second person to review your application — open" in text_out
    assert "WHAT EMPLOYERS DECIDED" in text_out
    assert "Test Organization asked a second person to review your application" in text_out
    assert "employer_review" not in text_out

    resolved = service.resolve_review(boss, app_id, "Checked: fine.")
    assert resolved.ok and resolved.changed
    assert outbox(db, REVIEW_OUTCOME_MESSAGE) == []  # the candidate did not ask for this one


@pytest.mark.parametrize("score", [101, -1, "abc", "7.5", True, 50.5, "1000"])
def test_resolve_review_refuses_an_override_out_of_range(db: Database, score: object) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.65)
    open_human_review(db, app_id, "knockout_review")
    outcome = DecisionService(db).resolve_review(boss, app_id, "ok", score)  # type: ignore[arg-type]
    assert not outcome.ok and "whole number from 0 to 100" in outcome.message
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(HumanReview)
                        .where(HumanReview.status == "open")) == 1
    assert decisions(db, app_id) == [] and stage(db, app_id) is None


def test_resolve_review_with_override_records_who_why_and_the_ai_score(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.65)
    first = open_human_review(db, app_id, "knockout_review")
    second = open_human_review(db, app_id, "correction", statement="My score is wrong")
    service = DecisionService(db)

    outcome = service.resolve_review(boss, app_id, "Re-read both answers.", "72")
    assert outcome.ok and outcome.changed
    assert "Resolved 2 open review(s)" in outcome.message
    assert "72/100 (AI score: 65/100)" in outcome.message
    with db.transaction() as s:
        for review_id in (first, second):
            review = s.get(HumanReview, review_id)
            assert review is not None and review.status == "resolved"
        standing = s.get(ApplicationReview, app_id)
        assert standing is not None
        assert standing.override_score == pytest.approx(0.72)
        assert standing.override_by == boss.actor
    kinds = [(d.kind, d.review_id) for d in decisions(db, app_id)]
    assert kinds == [("review_resolved", first), ("review_resolved", second),
                     ("score_override", None)]
    override = decisions(db, app_id)[-1]
    assert override.old_score == pytest.approx(0.65)
    assert override.new_score == pytest.approx(0.72)
    assert override.reason == "Re-read both answers."
    assert len(outbox(db, REVIEW_OUTCOME_MESSAGE)) == 1  # the correction was the candidate's

    # No review left: without a score there is nothing to do; the same score is a repeat.
    nothing = service.resolve_review(boss, app_id, "again")
    assert not nothing.ok and "No open review to resolve" in nothing.message
    same = service.resolve_review(boss, app_id, "again", 72)
    assert same.ok and not same.changed
    lower = service.resolve_review(boss, app_id, "Second look", 60)
    assert lower.ok and lower.changed
    assert decisions(db, app_id)[-1].new_score == pytest.approx(0.6)


def test_resolve_review_needs_a_resolution(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.5)
    open_human_review(db, app_id)
    for bad in ("", "  ", None, "z" * 5000):
        outcome = DecisionService(db).resolve_review(boss, app_id, bad)  # type: ignore[arg-type]
        assert not outcome.ok and "describe the outcome" in outcome.message
    assert decisions(db, app_id) == []


def test_override_for_an_opted_out_candidate_has_no_ai_score(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=None, ai_opt_out=True)
    outcome = DecisionService(db).resolve_review(boss, app_id, "Scored by hand.", 80)
    assert outcome.ok and "AI score: none" in outcome.message
    [decision] = decisions(db, app_id)
    assert (decision.kind, decision.old_score) == ("score_override", None)


# --------------------------------------------------------------------------- schedule
def test_schedule_invites_once_through_the_candidates_channel(db: Database) -> None:
    boss = member(db)
    add_interviewer(db)
    app_id = make_application(db, score=0.8, sender="web:sched-me-0001")
    service = DecisionService(db)
    outcome = service.schedule(boss, app_id)
    assert outcome.ok and outcome.changed and "Invited" in outcome.message
    with db.transaction() as s:
        invitation = s.scalar(select(BookingInvitation))
        assert invitation is not None
        assert (invitation.application_id, invitation.reason) == (app_id, "employer")
    [message] = outbox(db, "booking_invitation")
    assert message.sender_id == "web:sched-me-0001" and "/book" in message.text

    again = service.schedule(boss, app_id)
    assert again.ok and not again.changed and "Already invited" in again.message
    assert [d.kind for d in decisions(db, app_id)] == ["invited"]
    assert len(outbox(db, "booking_invitation")) == 1


def test_schedule_says_why_it_could_not_invite(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.8)
    outcome = DecisionService(db).schedule(boss, app_id)  # no interviewer yet
    assert not outcome.ok and "no active interviewer" in outcome.message
    assert decisions(db, app_id) == []
    assert audits(db, boss.actor)[-1].outcome == "invalid"

    assert DecisionService(db).reject(boss, app_id).changed
    add_interviewer(db)
    refused = DecisionService(db).schedule(boss, app_id)
    assert not refused.ok and "was rejected" in refused.message


# --------------------------------------------------------------------------- who may act
def _every_action(service: DecisionService) -> list[Callable[[Employer, str], Outcome]]:
    return [
        service.advance,
        service.reject,
        service.schedule,
        lambda e, a: service.request_review(e, a, "a reason"),
        lambda e, a: service.resolve_review(e, a, "a resolution", 50),
    ]


def test_a_viewer_can_look_but_not_act(db: Database) -> None:
    viewer = member(db, "viewer", user="U0VIEWER")
    app_id = make_application(db, score=0.5)
    open_human_review(db, app_id)
    for action in _every_action(DecisionService(db)):
        outcome = action(viewer, app_id)
        assert not outcome.ok and outcome.denied
        assert outcome.message.startswith("Viewers can look, not act")
        assert "ask an admin of Test Organization" in outcome.message
    assert decisions(db, app_id) == [] and stage(db, app_id) is None and outbox(db) == []
    rows = audits(db, viewer.actor)
    assert len(rows) == 5
    assert {(r.outcome, r.application_id, r.detail) for r in rows} == {
        ("denied", app_id, "denied: role viewer")}
    assert [r.action for r in rows] == ["advance", "reject", "schedule", "request_review",
                                        "resolve_review"]


def test_another_organization_is_denied_and_audited(db: Database) -> None:
    make_other_org_job(db)
    stranger = member(db, "admin", user="U0STRANGER", org=OTHER_ORG, team=OTHER_TEAM)
    app_id = make_application(db, score=0.9)
    for action in _every_action(DecisionService(db)):
        outcome = action(stranger, app_id)
        assert not outcome.ok and outcome.denied
        assert "not in your organization" in outcome.message
        assert "Test Role" not in outcome.message  # nothing about the application leaks
    assert decisions(db, app_id) == [] and stage(db, app_id) is None and outbox(db) == []
    rows = audits(db, stranger.actor)
    assert len(rows) == 5
    assert {(r.outcome, r.organization_id, r.application_id) for r in rows} == {
        ("denied", stranger.organization_id, app_id)}


def test_a_practice_run_is_never_acted_on(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.9, mode="practice")
    outcome = DecisionService(db).advance(boss, app_id)
    assert outcome.denied and "not in your organization" in outcome.message
    assert audits(db, boss.actor)[-1].detail == "denied: practice run"


# --------------------------------------------------------------------------- stale buttons
def _stale_withdrawn(db: Database, app_id: str) -> None:
    set_status(db, app_id, "withdrawn")


def _stale_erased(db: Database, app_id: str) -> None:
    set_candidate(db, app_id, erased_at=datetime.now(UTC))


def _stale_consent(db: Database, app_id: str) -> None:
    set_candidate(db, app_id, consent_withdrawn_at=datetime.now(UTC))


def _stale_deleted(db: Database, app_id: str) -> None:
    with db.transaction() as s:  # the purge deletes the candidate; rows go by cascade
        app = s.get(Application, app_id)
        assert app is not None
        s.execute(delete(Candidate).where(Candidate.id == app.candidate_id))


@pytest.mark.parametrize(
    "make_stale", [_stale_withdrawn, _stale_erased, _stale_consent, _stale_deleted],
    ids=["withdrawn", "erased", "consent-withdrawn", "deleted"],
)
def test_stale_buttons_change_nothing(db: Database, make_stale: Callable[..., None]) -> None:
    boss = member(db)
    add_interviewer(db)
    app_id = make_application(db, score=0.7)
    make_stale(db, app_id)
    for action in _every_action(DecisionService(db)):
        outcome = action(boss, app_id)
        assert outcome == Outcome(False, STALE)
    assert decisions(db, app_id) == [] and outbox(db) == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(BookingInvitation)) == 0
        assert s.scalar(select(func.count()).select_from(ApplicationReview)) == 0
    rows = audits(db, boss.actor)
    assert len(rows) == 5 and {r.outcome for r in rows} == {"invalid"}
    assert all((r.detail or "").startswith("stale:") for r in rows)


@pytest.mark.parametrize("bad_id", ["", "x" * 500, "1; DROP TABLE applications", None,
                                    "<@U123>", "../../etc"])
def test_a_malformed_application_id_is_invalid(db: Database, bad_id: object) -> None:
    boss = member(db)
    outcome = DecisionService(db).advance(boss, bad_id)  # type: ignore[arg-type]
    assert not outcome.ok and not outcome.denied and "not valid" in outcome.message
    [row] = audits(db, boss.actor)
    assert (row.outcome, row.application_id, row.detail) == (
        "invalid", None, "malformed application id")


# --------------------------------------------------------------------------- concurrency
def _race(calls: list[Callable[[], Outcome]]) -> list[Outcome]:
    """Run the calls at the same moment in threads; returns their outcomes."""
    barrier = threading.Barrier(len(calls))
    results: list[Outcome | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    return [r for r in results if isinstance(r, Outcome)]


def test_simultaneous_clicks_make_one_decision(db: Database) -> None:
    boss = member(db)
    colleague = member(db, "admin", user="U0COLLEAGUE")
    service = DecisionService(db)

    advanced = make_application(db, score=0.8)
    outcomes = _race([lambda e=e: service.advance(e, advanced)
                      for e in (boss, colleague) * 3])
    assert all(o.ok for o in outcomes)
    assert sum(o.changed for o in outcomes) == 1
    assert [d.kind for d in decisions(db, advanced)] == ["advanced"]

    rejected = make_application(db, score=0.2)
    outcomes = _race([lambda e=e: service.reject(e, rejected) for e in (boss, colleague) * 3])
    assert sum(o.changed for o in outcomes) == 1
    assert [d.kind for d in decisions(db, rejected)] == ["rejected"]
    assert len(outbox(db, REJECTION_MESSAGE)) == 1

    reviewed = make_application(db, score=0.5)
    outcomes = _race([lambda e=e: service.request_review(e, reviewed, "look again")
                      for e in (boss, colleague) * 2])
    assert sum(o.changed for o in outcomes) == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(HumanReview)) == 1


# --------------------------------------------------------------------------- helpers
def test_clean_text_and_parse_override() -> None:
    assert clean_text("  a\x00b\tc\n ") == "ab\tc"
    assert clean_text("") is None and clean_text(None) is None and clean_text(3) is None
    assert clean_text("a" * 1000) == "a" * 1000 and clean_text("a" * 1001) is None
    assert parse_override(None) == (None, None) and parse_override(" ") == (None, None)
    assert parse_override(0) == (0, None) and parse_override(" 100 ") == (100, None)
    for bad in (101, -1, "1e2", 3.0, False, "0x10"):
        assert parse_override(bad)[1] is not None, bad
