"""Privacy-notice versions against real SQLite and PostgreSQL: publishing (validation, notice
period, telling active candidates), re-consent after a major change, and history."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from parley.settings import Settings
from privacy import notices, oversight
from privacy.chat import PrivacyChat
from privacy.notice import NOTICE_VERSION
from privacy.notices import NoticeError, publish
from screening.interview import InterviewService
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Answer,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    NoticeVersion,
    OutboundMessage,
)
from tests.practice_support import Chat
from tests.privacy.oversight_support import (
    JOB,
    TODAY,
    VALID,
    application,
    begin,
    candidate,
    count,
    wired,
)
from tests.support import ROOT


def _now() -> datetime:
    return datetime.now(UTC)


def _effective_major(db: Database, version: str = "2027-01") -> None:
    """A major version published 40 days ago that took effect yesterday."""
    publish(
        db,
        version,
        _now() - timedelta(days=1),
        True,
        "We now keep recordings for longer.",
        now=_now() - timedelta(days=40),
    )


def _consents(db: Database, sender: str) -> list[ConsentRecord]:
    cid = candidate(db, sender).id
    with db.transaction() as s:
        return list(
            s.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.candidate_id == cid)
                .order_by(ConsentRecord.id)
            )
        )


def _messages(db: Database) -> list[OutboundMessage]:
    with db.transaction() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_the_version_in_code_is_the_first_version(db: Database) -> None:
    with db.transaction() as s:
        assert notices.current_version(s) == NOTICE_VERSION
        assert notices.current_version(s) == NOTICE_VERSION  # seeded once
        assert [v.version for v in notices.versions(s)] == [NOTICE_VERSION]


@pytest.mark.parametrize(
    ("version", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("v" * 41, "at most 40"),
        ("v1<script>", "only contain"),
        ("v 2", "only contain"),
        ("v2+practice", "only contain"),
        ("'; DROP TABLE notice_versions;--", "only contain"),
        (NOTICE_VERSION, "already published"),
    ],
)
def test_invalid_versions_are_refused(db: Database, version: str, problem: str) -> None:
    with pytest.raises(NoticeError, match=problem):
        publish(db, version, _now(), False, "A change.")
    assert count(db, NoticeVersion) <= 1


def test_a_major_version_needs_thirty_days_notice_unless_overridden(db: Database) -> None:
    soon = _now() + timedelta(days=10)
    with pytest.raises(NoticeError, match="30 days"):
        publish(db, "2027-02", soon, True, "Big change.")
    assert publish(db, "2027-02", soon, True, "Big change.", allow_short_notice=True).major
    in_time = publish(db, "2027-03", date.today() + timedelta(days=31), True, "Another.")
    assert in_time.effective_at.tzinfo is not None
    with pytest.raises(NoticeError, match="already published"):
        publish(db, "2027-03", date.today() + timedelta(days=40), True, "Again.")
    with pytest.raises(NoticeError, match="at most"):
        publish(db, "2027-04", _now(), False, "x" * 10_000)


def test_publishing_tells_active_candidates_once_on_their_latest_channel(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:active")
    begin(service, "web:two-channels")
    begin(service, "web:erased")
    begin(service, "web:withdrawn")
    oversight.withdraw_consent(db, "web:withdrawn")
    with db.transaction() as s:
        erased = s.scalars(
            select(Candidate).join(ChannelIdentity).where(ChannelIdentity.sender_id == "web:erased")
        ).one()
        erased.erased_at = _now()
        person = s.scalars(
            select(Candidate)
            .join(ChannelIdentity)
            .where(ChannelIdentity.sender_id == "web:two-channels")
        ).one()
        s.add(
            ChannelIdentity(
                candidate_id=person.id,
                sender_id="telegram:42",
                channel="telegram",
                created_at=_now() + timedelta(seconds=5),
            )
        )
    result = publish(
        db, "2027-01", date.today() + timedelta(days=30), True, "We now keep recordings longer."
    )
    assert result.notified == 2
    sent = {m.sender_id: m for m in _messages(db)}
    assert set(sent) == {"web:active", "telegram:42"}
    text = sent["web:active"].text
    assert "2027-01" in text and "significant change" in text and "recordings longer" in text
    assert {m.kind for m in sent.values()} == {"notice"}

    minor = publish(db, "2027-01a", _now(), False, "Typo fixes.")
    assert minor.notified == 2
    assert "nothing you need to do" in _messages(db)[-1].text


def test_after_a_major_change_takes_effect_the_interview_asks_to_reconsent(
    db: Database,
) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:reconsent")
    chat.send(VALID["motivation"])
    publish(db, "2027-01", _now() + timedelta(days=31), True, "Announced, not in force.")
    with db.transaction() as s:  # announced but not yet effective: nothing to ask
        assert notices.reconsent_needed(s, candidate(db, "web:reconsent").id) is None
    _effective_major(db, "2027-02")

    asked = " ".join(chat.send("yes"))  # an answer to question 2: held, not stored
    assert "privacy notice changed" in asked and "2027-02" in asked
    assert "haven't stored the message" in asked
    with db.transaction() as s:
        assert s.scalars(select(Answer.question_id)).all() == ["motivation"]
    unclear = " ".join(chat.send("what?"))
    assert "yes or a no" in unclear
    agreed = chat.send("yes")
    assert "Thank you" in agreed[0] and "Question 2 of 6" in agreed[-1]
    assert [c.notice_version for c in _consents(db, "web:reconsent")][-1] == "2027-02"
    chat.send(VALID["right_to_work"])
    with db.transaction() as s:
        assert set(s.scalars(select(Answer.question_id))) == {"motivation", "right_to_work"}
    # Asked once: the next answers go straight through.
    assert "Question 4 of 6" in chat.send(VALID["years"])[-1]


def test_refusing_to_reconsent_stops_processing(db: Database) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:refuse")
    _effective_major(db)
    chat.send(VALID["motivation"])
    replies = " ".join(chat.send("no"))
    assert "stopped processing" in replies and "delete everything" in replies
    assert application(db, "web:refuse").status == "withdrawn"
    assert candidate(db, "web:refuse").consent_withdrawn_at is not None
    assert _consents(db, "web:refuse")[-1].granted is False
    assert not chat.in_form


def test_a_minor_change_needs_no_reconsent_and_new_consents_record_it(db: Database) -> None:
    service, _ = wired(db)
    chat = begin(service, "web:minor")
    publish(db, "2026-12", _now() - timedelta(minutes=1), False, "Clearer wording.")
    replies = chat.send(VALID["motivation"])
    assert "Question 2 of 6" in replies[-1]
    assert not any("privacy notice changed" in r for r in replies)
    newcomer = Chat(service, "web:newcomer")
    intro = " ".join(newcomer.start(JOB))
    assert "version 2026-12" in intro
    newcomer.send("yes")
    assert [c.notice_version for c in _consents(db, "web:newcomer")] == ["2026-12"]


def test_a_new_candidate_after_a_major_change_is_not_asked_twice(db: Database) -> None:
    service, _ = wired(db)
    _effective_major(db)
    chat = begin(service, "web:fresh")
    assert [c.notice_version for c in _consents(db, "web:fresh")] == ["2027-01"]
    assert "Question 2 of 6" in chat.send(VALID["motivation"])[-1]


def test_history_lists_versions_and_the_consent_history(db: Database) -> None:
    service, _ = wired(db)
    begin(service, "web:history")
    _effective_major(db)
    chat = Chat(service, "web:history")
    chat.send("hello")  # resumes: the re-consent question
    chat.send("yes")
    text = notices.history(db, "web:history")
    assert NOTICE_VERSION in text and "2027-01 (major change)" in text
    assert "minor change" in text and "in force now" in text
    assert f"agreed to version {NOTICE_VERSION} (application for Test Role)" in text
    assert "agreed to version 2027-01" in text
    unknown = notices.history(db, "web:nobody")
    assert "2027-01" in unknown and "no consent of yours" in unknown


def test_privacy_commands_still_work_while_reconsent_is_asked(db: Database, tmp_path: Path) -> None:
    settings = dataclasses.replace(Settings(root=ROOT), var_dir=tmp_path / "var")
    privacy = PrivacyChat(db, settings, FileStore(settings.files_dir, db))
    service = InterviewService(db, today=TODAY, privacy=privacy.in_interview)
    chat = begin(service, "web:reconsent-privacy")
    _effective_major(db)
    asked = " ".join(chat.send(VALID["motivation"]))
    assert "privacy notice changed" in asked
    settings_text = " ".join(chat.send("/settings"))
    assert "Your privacy settings" in settings_text
    assert "privacy notice changed" in settings_text  # and the question is asked again
    ended = " ".join(chat.send("/withdraw_consent"))
    assert "withdrawn your consent" in ended
    assert application(db, "web:reconsent-privacy").status == "withdrawn"
    assert not chat.in_form
