"""Retention: recordings after 12 months (24 when the candidate chose so), application data
after the organization's retention period, expired export files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from privacy.holds import place_hold
from privacy.purge import run_purge
from privacy.retention import months_before, recording_months
from storage.db import Database
from storage.files import FileStore
from storage.models import Answer, Application, Candidate, Erasure, ExportArchive, Organization
from tests.erasure_support import Person, make_settings, seed_person

DAY = timedelta(days=1)


def _recording(db: Database, files: FileStore, person: Person) -> str | None:
    with db.transaction() as s:
        answer = s.get(Answer, person.answer_id)
        assert answer is not None
        return answer.audio_ref


def _set_months(db: Database, person: Person, months: int) -> None:
    with db.transaction() as s:
        s.get(Candidate, person.candidate_id).recording_retention_months = months  # type: ignore[union-attr]


def test_recordings_are_kept_12_months_by_default_and_24_when_chosen(
    db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    young = seed_person(db, files, recording_days_ago=335, tag="y")  # 11 months
    old = seed_person(db, files, recording_days_ago=380, tag="o")  # 12.5 months
    extended = seed_person(db, files, recording_days_ago=600, tag="e")  # 19.7 months
    expired_24 = seed_person(db, files, recording_days_ago=760, tag="x")  # 25 months
    _set_months(db, extended, 24)
    _set_months(db, expired_24, 24)
    report = run_purge(db, settings, files)
    assert report.retention["recordings"] == 2
    for kept in (young, extended):
        ref = _recording(db, files, kept)
        assert ref and ref in files.refs_for(kept.candidate_id)
    for gone in (old, expired_24):
        assert _recording(db, files, gone) is None
        assert not any("/recordings/" in r for r in files.refs_for(gone.candidate_id))
        with db.transaction() as s:
            answer = s.get(Answer, gone.answer_id)
            assert answer is not None and answer.raw_text == gone.answer  # the text stays


def test_a_held_candidate_keeps_recordings(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    old = seed_person(db, files, recording_days_ago=400)
    place_hold(db, old.candidate_id, "litigation", "admin:dpo")
    assert run_purge(db, settings, files).retention["recordings"] == 0
    assert _recording(db, files, old)


def test_retention_months_arithmetic() -> None:
    moment = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert months_before(moment, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert months_before(moment, 12) == datetime(2025, 3, 31, 12, tzinfo=UTC)
    assert months_before(moment, 24) == datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert recording_months(None) == 12 and recording_months(99) == 24
    assert recording_months(-3) == 0


@pytest.mark.parametrize("days", [30, 365])
def test_application_data_follows_the_organization_policy(
    db: Database, tmp_path: Path, days: int
) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    with db.transaction() as s:
        for org in s.scalars(select(Organization)):
            org.retention_days = days
    expired = seed_person(db, files, finished_days_ago=days + 1, tag="e")
    recent = seed_person(db, files, finished_days_ago=days - 1, tag="r")
    running = seed_person(db, files, status="in_progress", tag="p")
    held = seed_person(db, files, finished_days_ago=days + 5, tag="h")
    place_hold(db, held.candidate_id, "audit", "admin:dpo")
    report = run_purge(db, settings, files)
    assert report.retention["applications"] == 1
    assert report.retention["candidates"] == 1  # nothing left: erased, purged in the same run
    assert report.purged == 1 and report.ok
    with db.transaction() as s:
        assert s.get(Application, expired.application_id) is None
        assert s.get(Candidate, expired.candidate_id) is None
        assert files.refs_for(expired.candidate_id) == []
        tomb = s.scalar(select(Erasure))
        assert tomb is not None and tomb.reason == "retention" and tomb.status == "purged"
        for kept in (recent, running, held):
            assert s.get(Application, kept.application_id) is not None


def test_a_candidate_with_other_applications_stays(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files, finished_days_ago=400)
    with db.transaction() as s:
        app = s.get(Application, person.application_id)
        assert app is not None
        s.add(Application(candidate_id=person.candidate_id, job_id=app.job_id,
                          status="in_progress", mode="practice"))  # fmt: skip
    report = run_purge(db, settings, files)
    assert report.retention["applications"] == 1 and report.retention["candidates"] == 0
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is not None


def test_expired_export_files_are_deleted(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files)
    with db.transaction() as s:
        archive = s.scalar(select(ExportArchive))
        assert archive is not None
        archive.expires_at = datetime.now(UTC) - DAY
        path = archive.path
    assert path in files.refs_for(person.candidate_id)
    assert run_purge(db, settings, files).retention["exports"] == 1
    assert path not in files.refs_for(person.candidate_id)
