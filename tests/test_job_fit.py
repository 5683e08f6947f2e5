"""Job matching: factors, unknowns, and "which jobs fit me?" from a candidate's answers."""

from __future__ import annotations

from datetime import date

from nlu.matching import CandidateProfile, match
from screening.catalog import import_jobs
from screening.commands import MessageNlu
from screening.interview import InterviewService
from screening.job_fit import JobFitService
from screening.job_schema import Matching
from storage.db import Database
from tests.support import ROOT
from tests.test_interview_service import Conversation

BACKEND = Matching(skills=["Python", "PostgreSQL", "Kubernetes"], min_years=4,
                   work_mode="hybrid", city="Utrecht", salary_max=70000)  # fmt: skip


def test_every_factor_is_explained() -> None:
    profile = CandidateProfile(
        skills=["python, postgres and some docker"],
        years_experience=2,
        location="Utrecht",
        salary_expectation=77000,
    )
    result = match(profile, "be", "Backend", BACKEND)
    factors = {f.name: f for f in result.factors}
    assert factors["skills"].score == 2 / 3
    assert "Python, PostgreSQL" in factors["skills"].reason
    assert "Kubernetes" in factors["skills"].reason
    assert factors["experience"].score == 0.5 and "asks for 4" in factors["experience"].reason
    assert factors["place"].score == 1.0
    assert factors["salary"].score == 0.8 and "10% above" in factors["salary"].reason
    expected = (0.4 * 2 / 3 + 0.25 * 0.5 + 0.2 * 1 + 0.15 * 0.8) / 1.0
    assert abs(result.score - expected) < 1e-3


def test_unknown_factors_do_not_count_against_the_candidate() -> None:
    result = match(CandidateProfile(years_experience=5), "be", "Backend", BACKEND)
    factors = {f.name: f for f in result.factors}
    assert factors["skills"].score is None and "haven't told us" in factors["skills"].reason
    assert result.score == 1.0  # only the known factor (experience) counts


def test_remote_preference_against_an_onsite_job() -> None:
    onsite = Matching(work_mode="onsite", city="Rotterdam")
    result = match(CandidateProfile(work_mode="remote"), "wh", "Warehouse", onsite)
    assert {f.name: f.score for f in result.factors}["place"] == 0.2


def test_which_jobs_fit_me_uses_the_interview_answers(db: Database) -> None:
    import_jobs(db, ROOT / "jobs")
    fit = JobFitService(db)
    service = InterviewService(db, today=date(2026, 11, 22), job_fit=fit.replies)
    assert "don't know enough about you" in fit.replies("web:fit")[0].text
    convo = Conversation(service, "web:fit", "backend-engineer")
    convo.begin()
    for text in ["yes", "6", "Python"]:
        convo.send(text)
    replies = convo.send("which jobs fit me?", "job_fit", 0.95)
    assert "Backend Engineer" in replies[0] and "match" in replies[0]
    assert "6 years of experience meets the requirement" in replies[0]
    assert any("backend-engineer" in p for _, p in service.job_menu("x")[0].buttons)
    assert "back to the interview" in replies[1] and "Question 4 of 10" in replies[-1]
    profile, ranked = fit.matches("web:fit")
    assert profile.years_experience == 6 and profile.skills == ["Python"]
    assert ranked[0].job_id == "backend-engineer"
    # The same request outside an interview (what action_route calls).
    assert "Backend Engineer" in fit.replies("web:fit")[0].text
    assert fit.replies("web:fit")[0].buttons[0][1] == '/start{"job_id":"backend-engineer"}'


def test_job_fit_command_is_recognised() -> None:
    from screening.commands import Command, recognise_command

    assert recognise_command("which jobs fit me?", MessageNlu("job_fit", 0.9)) == Command.JOB_FIT
    assert recognise_command("/fit", MessageNlu()) == Command.JOB_FIT
