"""Deletion: one answer, the recordings, everything (removal from use), and forget_sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from privacy.erasure import (
    NOTHING_STORED,
    delete_answer,
    delete_recordings,
    erase_candidate,
    forget_sender,
)
from privacy.holds import place_hold
from privacy.purge import run_purge
from privacy.tombstones import ErasureStatus, NoSuchCandidate
from screening.assessment import AssessmentService
from screening.reports import NotFound, interview_report
from storage.db import Database
from storage.encryption import is_token
from storage.files import FileStore
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    Erasure,
    ExportArchive,
    OutboundMessage,
    PrivacyRequest,
)
from tests.erasure_support import make_settings, seed_person, seed_tracker, tracker_hits


@pytest.fixture
def files(db: Database, tmp_path: Path) -> FileStore:
    return FileStore(make_settings(tmp_path, db).files_dir, db)


def _count(db: Database, model: type, *where: object) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --------------------------------------------------------------------------- everything
def test_erase_takes_the_candidate_out_of_use_at_once(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    person = seed_person(db, files, status="in_progress")
    with db.transaction() as s:
        candidate = s.get(Candidate, person.candidate_id)
        assert candidate is not None
        s.add(OutboundMessage(candidate_id=person.candidate_id, sender_id=person.senders[0],
                              kind="notice", text="sent", sent_at=datetime.now(UTC)))  # fmt: skip
        waiting = PrivacyRequest(
            candidate_id=person.candidate_id, kind="export", status="awaiting_code",
            law="gdpr", channel="web", due_at=datetime.now(UTC) + timedelta(days=30),
        )  # fmt: skip
        erasure_request = PrivacyRequest(
            candidate_id=person.candidate_id, kind="erasure", status="awaiting_code",
            law="gdpr", channel="web", due_at=datetime.now(UTC) + timedelta(days=30),
        )  # fmt: skip
        s.add_all([waiting, erasure_request])
        s.flush()
        waiting_id, request_id = waiting.id, erasure_request.id
    export_ref = next(r for r in person.files if "/exports/" in r)
    assert export_ref in files.refs_for(person.candidate_id)

    result = erase_candidate(db, settings, person.candidate_id, request_id)
    assert not result.held and not result.already_scheduled
    assert timedelta(days=29) < result.due_at - datetime.now(UTC) <= timedelta(days=30)
    assert "deleted completely by" in result.message()
    with db.transaction() as s:
        candidate = s.get(Candidate, person.candidate_id)
        assert candidate is not None and candidate.erased_at is not None
        assert candidate.purge_after is not None
        assert s.get(Application, person.application_id).status == "withdrawn"  # type: ignore[union-attr]
        texts = [m.text for m in s.scalars(select(OutboundMessage))]
        assert texts == ["sent"]  # the undelivered one is cancelled, history stays
        assert s.get(PrivacyRequest, waiting_id).status == "cancelled"  # type: ignore[union-attr]
        assert s.get(PrivacyRequest, request_id).status == "completed"  # type: ignore[union-attr]
        archive = s.scalar(select(ExportArchive))
        assert archive is not None and archive.expires_at is not None
        erasure = s.scalar(select(Erasure))
        assert erasure is not None and erasure.status == ErasureStatus.PENDING
        assert erasure.request_id == request_id and erasure.candidate_id == person.candidate_id
        assert is_token(erasure.sender_ids)  # sealed under the system key
        assert all(sid not in (erasure.sender_ids or "") for sid in person.senders)
        assert person.candidate_id not in erasure.subject_hash
    assert export_ref not in files.refs_for(person.candidate_id)  # export file gone at once
    assert any("/recordings/" in r for r in files.refs_for(person.candidate_id))  # purge's job

    # Repeated requests change nothing and say it is already scheduled.
    again = erase_candidate(db, settings, person.candidate_id)
    assert again.already_scheduled and again.erasure_id == result.erasure_id
    assert again.due_at == result.due_at
    assert "already scheduled" in again.message()
    assert _count(db, Erasure) == 1


def test_employer_views_skip_erased_candidates(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    person = seed_person(db, files)
    other = seed_person(db, files, tag="o")
    assert interview_report(db, person.senders[0])
    service = AssessmentService(db)
    assert person.application_id in service.applications_for("test-role")
    erase_candidate(db, settings, person.candidate_id)
    for ref in (person.senders[0], person.candidate_id, person.application_id):
        with pytest.raises(NotFound):
            interview_report(db, ref)
    assert service.applications_for(person.application_id) == []
    assert service.applications_for("test-role") == [other.application_id]
    assert interview_report(db, other.senders[1])


def test_erase_under_legal_hold_is_out_of_use_but_held(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    person = seed_person(db, files)
    place_hold(db, person.candidate_id, "Tribunal case 42 (opposing party: ACME)", "admin:dpo")
    result = erase_candidate(db, settings, person.candidate_id)
    assert result.held and result.hold_reason == "Tribunal case 42 (opposing party: ACME)"
    assert "legal hold" in result.message() and "ACME" not in result.message()
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id).erased_at is not None  # type: ignore[union-attr]
        assert s.scalar(select(Erasure.status)) == ErasureStatus.HELD
    with pytest.raises(NotFound):
        interview_report(db, person.senders[0])


def test_erase_unknown_candidate(db: Database, tmp_path: Path) -> None:
    with pytest.raises(NoSuchCandidate):
        erase_candidate(db, make_settings(tmp_path, db), "0" * 32)


# --------------------------------------------------------------------------- one answer
def test_delete_one_answer_removes_it_and_its_effect(db: Database, files: FileStore) -> None:
    person = seed_person(db, files)
    assert _count(db, ApplicationScore) == 1
    reply = delete_answer(db, files, person.senders[1], "1")
    assert "deleted your answer to question 1" in reply and "recording" in reply
    assert _count(db, Answer, Answer.id == person.answer_id) == 0
    assert _count(db, AnswerScore) == 0  # cascaded
    assert not any(str(person.answer_id) in r for r in files.refs_for(person.candidate_id)
                   if "/exports/" not in r)  # fmt: skip
    with db.transaction() as s:
        snapshots = list(s.scalars(select(ApplicationScore)))
        assert len(snapshots) == 1  # the old ones (with the answer's score) are replaced
        fresh = snapshots[0]
        assert fresh.overall is None  # no scored free-text answer left
        assert person.answer not in str(fresh.breakdown)
        assert all(q["status"] != "scored" for q in fresh.breakdown["questions"])
        request = s.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "partial_erasure"))
        assert request is not None and request.status == "completed"
        assert s.get(Application, person.application_id).status == "completed"  # type: ignore[union-attr]
    # The same question again: nothing stored any more.
    assert "no answer to question 1" in delete_answer(db, files, person.senders[0], "motivation")


@pytest.mark.parametrize("ref", ["", "   ", "0", "99", "x" * 5000, "'; DROP TABLE answers;--"])
def test_delete_answer_bad_references(db: Database, files: FileStore, ref: str) -> None:
    person = seed_person(db, files)
    reply = delete_answer(db, files, person.senders[0], ref)
    assert "couldn't find a question" in reply
    assert len(reply) < 300
    assert _count(db, Answer) == 2


def test_delete_answer_only_touches_the_senders_own_data(db: Database, files: FileStore) -> None:
    victim = seed_person(db, files)
    attacker = seed_person(db, files, tag="a")
    delete_answer(db, files, attacker.senders[0], "1")
    assert _count(db, Answer, Answer.application_id == victim.application_id) == 2
    assert _count(db, Answer, Answer.application_id == attacker.application_id) == 1
    assert delete_answer(db, files, "web:nobody-at-all", "1") == NOTHING_STORED


def test_deleting_the_knockout_answer_withdraws_the_application(
    db: Database, files: FileStore
) -> None:
    person = seed_person(db, files, status="knocked_out")
    with db.transaction() as s:
        app = s.get(Application, person.application_id)
        assert app is not None
        app.knocked_out_by = "right_to_work"
    reply = delete_answer(db, files, person.senders[0], "2")
    assert "withdrawn" in reply
    with db.transaction() as s:
        app = s.get(Application, person.application_id)
        assert app is not None and app.status == "withdrawn" and app.knocked_out_by is None
        snapshot = s.scalar(select(ApplicationScore))
        assert snapshot is not None and not snapshot.knocked_out


def test_delete_an_answer_of_an_open_interview_is_asked_again(
    db: Database, files: FileStore
) -> None:
    person = seed_person(db, files, status="in_progress")
    reply = delete_answer(db, files, person.senders[0], "question 1")
    assert "ask that question again" in reply


def test_delete_recordings(db: Database, files: FileStore) -> None:
    person = seed_person(db, files)
    assert "nothing stored" in delete_recordings(db, files, "web:unknown-sender").lower()
    reply = delete_recordings(db, files, person.senders[0])
    assert reply.startswith("Done — I deleted 1 recording.")
    refs = files.refs_for(person.candidate_id)
    assert not any("/recordings/" in r for r in refs)
    assert any("/transcripts/" in r for r in refs)  # transcripts stay
    with db.transaction() as s:
        answer = s.get(Answer, person.answer_id)
        assert answer is not None and answer.audio_ref is None
        assert answer.raw_text == person.answer
    assert "no recordings" in delete_recordings(db, files, person.senders[0])


# --------------------------------------------------------------------------- at once
def test_under_16_is_purged_at_once(db: Database, files: FileStore, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    person = seed_person(db, files, status="age_check")
    seed_tracker(settings, person)
    result = forget_sender(db, person.senders[0], "under_age")
    assert result.candidate_deleted and result.erasure_id is not None
    assert _count(db, Candidate) == 0 and _count(db, ChannelIdentity) == 0
    assert _count(db, ConsentRecord) == 0
    with db.transaction() as s:
        erasure = s.get(Erasure, result.erasure_id)
        assert erasure is not None and erasure.due_at is not None
    report = run_purge(db, settings, files)  # the next run: due now
    assert report.purged == 1 and report.ok
    assert tracker_hits(settings, [person.name, *person.senders]) == []
    assert files.refs_for(person.candidate_id) == []
    with db.transaction() as s:
        tomb = s.get(Erasure, result.erasure_id)
        assert tomb is not None and tomb.status == "purged" and tomb.candidate_id is None
        assert tomb.reason == "under_age"


def test_refused_consent_without_a_candidate_leaves_only_a_tombstone(
    db: Database, files: FileStore, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    result = forget_sender(db, "web:refuser-1", "consent_refused")
    assert result.erasure_id is not None and not result.candidate_deleted
    with db.transaction() as s:
        row = s.get(Erasure, result.erasure_id)
        assert row is not None and "web:refuser-1" not in (row.sender_ids or "")
    assert run_purge(db, settings, files).purged == 1


def test_refused_consent_keeps_earlier_consented_data(db: Database, files: FileStore) -> None:
    person = seed_person(db, files)  # consented to test-role before
    result = forget_sender(db, person.senders[0], "consent_refused")
    assert result.erasure_id is None and not result.candidate_deleted
    assert _count(db, Candidate) == 1 and _count(db, Erasure) == 0
