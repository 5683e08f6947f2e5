"""The decision log (oversight/decision_log.py) on both databases: an entry for every kind of
decision — knockout, score, rank, each employer decision — with who decided, the versions
and the inputs by reference; the reason sealed and shredded with the candidate; the
application link cleared on deletion; and the retention purge that never goes under six
months and keeps what a legal hold holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text

from employers.decisions import DecisionService
from employers.orgs import Employer, OrgDirectory
from employers.shortlist import ShortlistQuery, ShortlistService
from oversight import decision_log
from oversight.decision_log import (
    MIN_DAYS,
    entries,
    purge_expired,
    record,
    record_knockout,
    retention_days,
    to_json,
)
from privacy.holds import place_hold
from screening.assessment import AssessmentService
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    CandidateKey,
    DecisionLogEntry,
)
from tests.employers.employer_support import TEAM, make_application, make_org_member
from tests.erasure_support import db_orm_hits, db_raw_hits, make_settings, seed_person


def member(db: Database, role: str = "recruiter", user: str = "U0RECRUIT") -> Employer:
    make_org_member(db, "test-org", TEAM, user, role)
    employer = OrgDirectory(db).resolve(TEAM, user)
    assert employer is not None
    return employer


def logged(db: Database, application_id: str | None = None) -> list[DecisionLogEntry]:
    with db.transaction() as s:
        return entries(s, application_id=application_id)


def test_employer_decisions_are_mirrored_with_the_sealed_reason(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.72)
    service = DecisionService(db)
    assert service.request_review(boss, app_id, "Check the motivation answer").changed
    assert service.resolve_review(boss, app_id, "Looked fine", override_score=81).changed
    assert service.advance(boss, app_id).changed
    rows = logged(db, app_id)
    assert [r.decision for r in rows] == [
        "review_requested",
        "review_resolved",
        "score_override",
        "advanced",
    ]
    assert {r.decided_by for r in rows} == {"employer:" + boss.actor}
    assert not any(r.automated for r in rows)
    override = rows[2]
    assert override.outcome["old_score"] == pytest.approx(0.72)
    assert override.outcome["new_score"] == pytest.approx(0.81)
    assert override.inputs["employer_decision_id"] is not None
    assert override.reason == "Looked fine"
    assert rows[3].outcome["stage"] == "advanced"
    assert all(r.organization_id == boss.organization_id for r in rows)
    with db.engine.connect() as conn:  # sealed at rest: a dump shows a token, not the note
        raw = conn.execute(
            text("SELECT reason FROM decision_log WHERE id = :id"), {"id": rows[0].id}
        ).scalar_one()
    assert raw.startswith("pk1:") and "motivation" not in raw


def test_a_knockout_is_logged_by_the_rules_with_its_answer(db: Database) -> None:
    app_id = make_application(db, score=None, knocked_out=True)
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        entry = record_knockout(s, app)
        assert entry is not None
    [row] = logged(db, app_id)
    assert (row.decision, row.decided_by, row.automated) == ("knockout", "rules:knockout", True)
    assert row.inputs["question_id"] == "right_to_work"
    assert isinstance(row.inputs["answer_id"], int)
    assert row.inputs["job_version"] == 1
    assert row.outcome == {"knocked_out": True, "status": "knocked_out"}


@pytest.mark.parametrize(
    ("status", "mode"), [("completed", "application"), ("knocked_out", "practice")]
)
def test_no_knockout_entry_for_other_endings_or_practice(
    db: Database, status: str, mode: str
) -> None:
    app_id = make_application(db, score=0.5, status=status, mode=mode)
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        assert record_knockout(s, app) is None
    assert logged(db, app_id) == []


def test_a_score_snapshot_is_logged_with_versions_and_answer_score_ids(db: Database) -> None:
    app_id = make_application(db, score=0.6)
    snapshot = AssessmentService(db).refresh_application(app_id)
    assert snapshot is not None
    [row] = logged(db, app_id)
    assert (row.decision, row.decided_by, row.automated) == ("score", "model:test-model", True)
    assert (row.model_name, row.model_version, row.scorer_version) == ("test-model", "1", "1")
    with db.transaction() as s:
        score_ids = sorted(
            s.scalars(select(AnswerScore.id).where(AnswerScore.application_id == app_id))
        )
        newest = s.scalar(
            select(ApplicationScore.id)
            .where(ApplicationScore.application_id == app_id)
            .order_by(ApplicationScore.id.desc())
        )
    assert row.inputs["answer_score_ids"] == score_ids and score_ids
    assert row.inputs["application_score_id"] == newest
    assert row.outcome["overall"] == pytest.approx(0.6)
    assert row.outcome["complete"] is True


def test_a_practice_run_score_is_not_logged(db: Database) -> None:
    app_id = make_application(db, score=0.6, mode="practice")
    assert AssessmentService(db).refresh_application(app_id) is not None
    assert logged(db, app_id) == []


def test_a_shortlist_logs_one_rank_per_row_shown(db: Database) -> None:
    boss = member(db)
    ids = [make_application(db, score=s) for s in (0.9, 0.5, 0.7)]
    query = ShortlistQuery(job="test-role", page_size=2)
    shortlist = ShortlistService(db).build(boss.organization_id, query, actor=boss.actor)
    with db.transaction() as s:
        ranks = entries(s, decision="rank")
    assert [(r.application_id, r.outcome) for r in ranks] == [
        (ids[0], {"rank": 1, "of": 3, "score": 90}),
        (ids[2], {"rank": 2, "of": 3, "score": 70}),
    ]
    assert {r.decided_by for r in ranks} == {"system:ranking"}
    assert all(r.inputs["application_score_id"] is not None for r in ranks)
    assert ranks[0].inputs["query"]["job"] == "test-role"
    assert [row.application_id for row in shortlist.rows] == [ids[0], ids[2]]


def test_filters_and_json(db: Database) -> None:
    boss = member(db)
    first = make_application(db, score=0.4)
    second = make_application(db, score=0.8)
    DecisionService(db).advance(boss, first)
    DecisionService(db).reject(boss, second, "Not now")
    with db.transaction() as s:
        assert [r.application_id for r in entries(s, application_id=second)] == [second]
        assert len(entries(s, job_slug="test-role")) == 2
        assert entries(s, job_slug="no-such-job") == []
        assert entries(s, since=datetime.now(UTC) + timedelta(days=1)) == []
        assert len(entries(s, until=datetime.now(UTC) + timedelta(minutes=1))) == 2
        assert entries(s, organization_id=boss.organization_id + 999) == []
        data = to_json(entries(s, application_id=second)[0])
    assert data["decision"] == "rejected" and data["reason"] == "Not now"
    assert data["application_id"] == second and data["automated"] is False
    assert data["at"].endswith("+00:00")


def test_a_reason_needs_an_application(db: Database) -> None:
    with db.transaction() as s, pytest.raises(ValueError):
        record(
            s,
            decision="score",
            decided_by="x",
            automated=True,
            outcome={},
            inputs={},
            reason="no one to seal it for",
        )


def test_deleting_the_candidate_keeps_the_entry_without_link_or_reason(
    db: Database, tmp_path: Path
) -> None:
    files = FileStore(make_settings(tmp_path, db).files_dir, db)
    person = seed_person(db, files)
    with db.transaction() as s:
        app = s.get(Application, person.application_id)
        assert app is not None
        entry_id = record(
            s,
            application=app,
            decision="rejected",
            decided_by="employer:slack:T1:U1",
            automated=False,
            outcome={"stage": "rejected"},
            inputs={"employer_decision_id": 1},
            reason=f"{person.name} lacks {person.answer[:20]}",
        ).id
    assert not db_raw_hits(db, [person.name])  # sealed at rest
    with db.transaction() as s:  # the purge's last step: shred the key, delete the person
        s.execute(delete(CandidateKey).where(CandidateKey.candidate_id == person.candidate_id))
        db.keyring.forget(person.candidate_id)
        s.execute(delete(Candidate).where(Candidate.id == person.candidate_id))
    with db.transaction() as s:
        entry = s.get(DecisionLogEntry, entry_id)
        assert entry is not None
        assert entry.application_id is None and entry.reason is None
        assert entry.decided_by == "employer:slack:T1:U1"
        assert to_json(entry)["reason"] is None
    with db.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT reason FROM decision_log WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
    assert raw.startswith("pk1:")  # still there, but no key opens it any more
    assert not db_orm_hits(db, person.secrets)


def _entry_at(db: Database, at: datetime, application_id: str | None = None) -> int:
    with db.transaction() as s:
        entry = record(
            s,
            application_id=application_id,
            decision="score",
            decided_by="t",
            automated=True,
            outcome={},
            inputs={},
        )
        entry.at = at
        return entry.id


def test_purge_keeps_six_months_whatever_the_setting(db: Database) -> None:
    now = datetime(2027, 6, 1, tzinfo=UTC)
    old = _entry_at(db, now - timedelta(days=MIN_DAYS + 1))
    recent = _entry_at(db, now - timedelta(days=MIN_DAYS - 1))
    assert purge_expired(db, now, 30) == 1  # 30 days is raised to the 183-day floor
    with db.transaction() as s:
        assert s.get(DecisionLogEntry, old) is None
        assert s.get(DecisionLogEntry, recent) is not None
    assert purge_expired(db, now, 365) == 0
    assert retention_days(30) == MIN_DAYS
    assert retention_days("junk") == decision_log.DEFAULT_DAYS
    assert retention_days(400) == 400


def test_purge_keeps_a_held_candidates_entries(db: Database) -> None:
    now = datetime.now(UTC)
    app_id = make_application(db, score=0.5)
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        candidate_id = app.candidate_id
    held = _entry_at(db, now - timedelta(days=800), app_id)
    free = _entry_at(db, now - timedelta(days=800))
    place_hold(db, candidate_id, "litigation", "admin:test")
    assert purge_expired(db, now, 365) == 1
    with db.transaction() as s:
        assert s.get(DecisionLogEntry, held) is not None
        assert s.get(DecisionLogEntry, free) is None
