"""The shortlist's job match: how one application's answers fit the job's `matching:`
requirements (nlu.matching), shown per row with a reason per factor — and computed only from
what the candidate told *this* organization, never from answers to another one."""

from __future__ import annotations

from sqlalchemy import select

from employers.shortlist import ShortlistQuery, ShortlistService
from screening.catalog import import_jobs
from storage.db import Database
from storage.models import Answer, Application, Job
from tests.employers.employer_support import make_application, organization_id
from tests.support import ROOT

ACTOR = "slack:T0TEST0001:U0RECRUIT01"


def _set_answer(db: Database, app_id: str, question_id: str, value: object, text: str) -> None:
    with db.transaction() as s:
        answer = s.scalar(
            select(Answer).where(Answer.application_id == app_id, Answer.question_id == question_id)
        )
        assert answer is not None, question_id
        answer.raw_text = text
        answer.normalized = {"value": value, "display": text}


def _other_org_application(db: Database, app_id: str) -> None:
    """The same candidate also applied to Northwind's warehouse job and said 0 years there."""
    with db.transaction() as s:
        mine = s.get(Application, app_id)
        assert mine is not None
        job = s.scalar(select(Job).where(Job.slug == "warehouse-associate", Job.is_current))
        assert job is not None
        other = Application(
            candidate_id=mine.candidate_id, job_id=job.id, status="completed", current_index=0
        )
        s.add(other)
        s.flush()
        s.add(
            Answer(
                application_id=other.id, question_id="years_experience", question_kind="number",
                status="answered", raw_text="0", normalized={"value": 0, "display": "0 years"},
                channel="web",
            )
        )  # fmt: skip


def test_job_match_uses_only_this_applications_answers(db: Database) -> None:
    import_jobs(db, ROOT / "jobs")
    app_id = make_application(db, "backend-engineer", score=0.8)
    _set_answer(db, app_id, "years_backend", 6, "6 years")
    _set_answer(db, app_id, "preferred_stack", "Python", "Python")
    _set_answer(db, app_id, "tools", "PostgreSQL, Docker, Redis", "PostgreSQL, Docker, Redis")
    _set_answer(db, app_id, "salary_expectation", 70000, "70,000 EUR per year")
    _other_org_application(db, app_id)

    shortlist = ShortlistService(db).build(
        organization_id(db, "fabrikam-software"), ShortlistQuery("backend-engineer"), actor=ACTOR
    )
    (row,) = shortlist.rows
    assert row.job_match is not None and 0 < row.job_match <= 100
    reasons = " ".join(row.job_match_reasons)
    assert "4 of 5 skills" in reasons and "Kubernetes" in reasons
    assert "6 years" in reasons and "0 years" not in reasons
    assert shortlist.to_json()["rows"][0]["job_match_reasons"] == row.job_match_reasons


def test_no_job_match_without_requirements_or_for_opted_out(db: Database) -> None:
    # The fixture job has no `matching:` section: nothing to match against.
    plain = make_application(db, score=0.7)
    import_jobs(db, ROOT / "jobs")
    opted_out = make_application(db, "backend-engineer", score=None, ai_opt_out=True)
    _set_answer(db, opted_out, "years_backend", 6, "6 years")
    service = ShortlistService(db)
    (row,) = service.build(
        organization_id(db), ShortlistQuery("test-role"), actor=ACTOR
    ).rows
    assert row.application_id == plain and row.job_match is None and row.job_match_reasons == []
    (row,) = service.build(
        organization_id(db, "fabrikam-software"), ShortlistQuery("backend-engineer"), actor=ACTOR
    ).rows
    assert row.application_id == opted_out and row.ai_opt_out and row.job_match is None
