"""The candidate's AI notice (issue 10, "Notices"): it says what this job's interview
assesses (computed from the job's questions), that AI is used, how to ask for an
accommodation or an alternative process, and where the latest bias-audit summary is; and
/accommodation really reaches a person (a handoff request row)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlalchemy import select

from bot.inbound import prepare
from fairness.publication import summary_url
from privacy.notice import NO_AUDIT_URL, ai_disclosure
from screening.assessed import assessed_items
from screening.commands import Command, MessageNlu, recognise_command
from screening.interview import InterviewService, definition_of
from storage.db import Database
from storage.models import HandoffRequest, Job

AUDIT_URL = "https://jobs.example.org/audit-summary"


def _job(db: Database, slug: str = "test-role") -> Job:
    with db.transaction() as s:
        job = s.scalars(select(Job).where(Job.slug == slug, Job.is_current)).one()
        s.expunge(job)
        return job


def test_what_is_assessed_comes_from_the_jobs_questions(db: Database) -> None:
    text = assessed_items(definition_of(_job(db)))
    # test-role: knockouts right_to_work, years and shift; one scored free-text answer
    # (motivation); start_date and anything_else are passed on.
    assert text.startswith("whether you meet 3 requirements (checked by fixed rules)")
    assert "how well your 1 written answer covers what the job asks for" in text
    assert "(scored by an AI model)" in text
    assert text.endswith("2 other answers are passed on as you give them")


def test_an_empty_definition_assesses_nothing_automatically() -> None:
    assert assessed_items(SimpleNamespace(questions=[])) == "nothing automatically"
    assert assessed_items(object()) == "nothing automatically"


def test_the_notice_names_ai_the_accommodation_route_and_the_audit_summary() -> None:
    text = ai_disclosure("Acme", assesses="whether you meet 1 requirement", audit_url=AUDIT_URL)
    assert "AI is used" in text
    assert "whether you meet 1 requirement" in text
    assert "/accommodation" in text and "/optout" in text
    assert "alternative process" in text
    assert text.endswith(AUDIT_URL)
    assert "never assesses your voice, face, emotions or personality" in text
    assert ai_disclosure("Acme").endswith(NO_AUDIT_URL)


def test_the_interview_intro_shows_this_jobs_notice(db: Database) -> None:
    service = InterviewService(db, today=date(2026, 11, 22), audit_summary_url=AUDIT_URL)
    sender = "web:notice-test"
    stage = service.stage(sender, "test-role", None, None)
    texts = [r.text for r in service.prompt(sender, "test-role", stage)]
    notice = next(t for t in texts if "AI is used" in t)
    assert "whether you meet 3 requirements" in notice
    assert notice.endswith(AUDIT_URL)


def test_the_audit_summary_url_follows_the_settings() -> None:
    base = SimpleNamespace(audit_summary_url="", public_base_url="https://jobs.example.org/")
    assert summary_url(base) == AUDIT_URL
    own = SimpleNamespace(audit_summary_url=" https://acme.example/fairness ", public_base_url="x")
    assert summary_url(own) == "https://acme.example/fairness"


def test_accommodation_reaches_a_person(db: Database) -> None:
    assert prepare("/accommodation").text == "/" + str(Command.HUMAN)
    assert prepare("/alternative").text == "/" + str(Command.HUMAN)
    nlu = MessageNlu(str(Command.HUMAN), 0.9)  # as Rasa's NLU classifies these (data/)
    assert recognise_command("I need an accommodation", nlu) == Command.HUMAN
    assert recognise_command("is there an alternative process?", nlu) == Command.HUMAN
    service = InterviewService(db, today=date(2026, 11, 22))
    sender = "web:accommodation-test"
    slug = "test-role"
    service.prompt(sender, slug, service.stage(sender, slug, None, None))
    consent = service.handle_consent(sender, slug, "yes", MessageNlu("affirm", 0.9)).slot_value
    age = service.handle_age(sender, slug, "yes", MessageNlu("affirm", 0.9)).slot_value
    assert service.stage(sender, slug, consent, age).value == "question"
    out = service.handle_answer(sender, slug, "/accommodation", MessageNlu(None, 0.0))
    assert any("asked a person" in r.text for r in out.replies)
    with db.transaction() as s:
        assert len(s.scalars(select(HandoffRequest)).all()) == 1
