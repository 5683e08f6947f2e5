"""Legal holds: they block the purge (not the removal from use) until released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from privacy.erasure import erase_candidate
from privacy.holds import (
    HOLD_NOTICE,
    MAX_REASON,
    RELEASE_NOTICE,
    HoldError,
    active_hold,
    place_hold,
    release_hold,
)
from privacy.purge import run_purge
from privacy.tombstones import NoSuchCandidate
from storage.db import Database
from storage.files import FileStore
from storage.models import Candidate, Erasure, LegalHold, OutboundMessage, PrivacyRequest
from tests.erasure_support import make_settings, seed_person

REASON = "Employment tribunal claim 2026/117 against ACME Ltd"


def test_hold_blocks_the_purge_and_release_lets_it_run(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    person = seed_person(db, files)
    with db.transaction() as s:
        request = PrivacyRequest(
            candidate_id=person.candidate_id, kind="erasure", status="open", law="gdpr",
            channel="web", due_at=datetime.now(UTC) + timedelta(days=30),
        )  # fmt: skip
        s.add(request)
        s.flush()
        request_id = request.id
    erase_candidate(db, settings, person.candidate_id, request_id)
    place_hold(db, person.candidate_id, REASON, "admin:dpo")
    with db.transaction() as s:
        told = list(s.scalars(select(OutboundMessage).where(OutboundMessage.sent_at.is_(None))))
        assert sorted(m.sender_id for m in told) == sorted(person.senders)  # every channel
        assert all(m.text == HOLD_NOTICE and "ACME" not in m.text for m in told)
        assert s.scalar(select(Erasure.status)) == "held"

    later = datetime.now(UTC) + timedelta(days=40)
    report = run_purge(db, settings, files, now=later)
    assert report.purged == 0 and len(report.held) == 1
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is not None
    assert files.refs_for(person.candidate_id)

    released = release_hold(db, person.candidate_id, "Claim settled", "admin:dpo")
    assert len(released) == 1 and released[0].released_by == "admin:dpo"
    with db.transaction() as s:
        assert s.scalar(select(Erasure.status)) == "pending"
        texts = [m.text for m in s.scalars(select(OutboundMessage))]
        assert RELEASE_NOTICE in texts
    report = run_purge(db, settings, files, now=later)
    assert report.purged == 1 and report.ok
    with db.transaction() as s:
        assert s.get(Candidate, person.candidate_id) is None
        assert s.scalar(select(LegalHold)) is None  # went with the candidate


def test_hold_on_a_candidate_without_erasure_tells_nobody(db: Database, tmp_path: Path) -> None:
    files = FileStore(make_settings(tmp_path, db).files_dir, db)
    person = seed_person(db, files)
    hold = place_hold(db, person.candidate_id, REASON, "admin:dpo")
    with db.transaction() as s:
        assert active_hold(s, person.candidate_id).id == hold.id  # type: ignore[union-attr]
        notices = select(OutboundMessage).where(OutboundMessage.kind == "erasure_hold")
        assert s.scalar(notices) is None
    second = place_hold(db, person.candidate_id, "A second matter", "admin:dpo")
    with db.transaction() as s:
        assert active_hold(s, person.candidate_id).id == second.id  # type: ignore[union-attr]
    assert len(release_hold(db, person.candidate_id, "both over", "admin:dpo")) == 2
    with db.transaction() as s:
        assert active_hold(s, person.candidate_id) is None


@pytest.mark.parametrize(
    ("reason", "by"),
    [("", "admin:x"), ("   \n ", "admin:x"), ("x" * (MAX_REASON + 1), "admin:x"),
     ("ok", ""), ("bad\x00reason", "admin:x")],
)  # fmt: skip
def test_hold_input_is_validated(db: Database, tmp_path: Path, reason: str, by: str) -> None:
    files = FileStore(make_settings(tmp_path, db).files_dir, db)
    person = seed_person(db, files)
    with pytest.raises(HoldError):
        place_hold(db, person.candidate_id, reason, by)
    with db.transaction() as s:
        assert s.scalar(select(LegalHold)) is None


def test_hold_edge_cases(db: Database, tmp_path: Path) -> None:
    files = FileStore(make_settings(tmp_path, db).files_dir, db)
    person = seed_person(db, files)
    assert place_hold(db, person.candidate_id, "x" * MAX_REASON, "admin:x").id
    with pytest.raises(NoSuchCandidate):
        place_hold(db, "f" * 32, REASON, "admin:x")
    with pytest.raises(NoSuchCandidate):
        release_hold(db, "f" * 32, "done", "admin:x")
    release_hold(db, person.candidate_id, "done", "admin:x")
    with pytest.raises(HoldError, match="no active legal hold"):
        release_hold(db, person.candidate_id, "again", "admin:x")
