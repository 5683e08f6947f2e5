"""The shortlist (employers/shortlist.py) and the answers view (employers/answers.py) on both
backends: command parsing (including hostile input), ranking, filters, paging, visibility
(practice runs, withdrawn, erased, consent withdrawn, other organizations never shown),
access-log entries for the rows shown only, AI opt-out, overrides, and a volume check that
counts queries and decrypted rows instead of timing anything."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from employers.answers import answer_view
from employers.shortlist import (
    USAGE,
    NotVisible,
    ShortlistQuery,
    ShortlistService,
    UnknownJob,
    UsageError,
    parse_args,
)
from storage.db import Database
from storage.models import (
    AccessLogEntry,
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    EmployerDecision,
    HumanReview,
)
from tests.employers.employer_support import (
    NOW,
    OTHER_JOB,
    RICH_JOB,
    add_score,
    make_application,
    make_applications,
    make_booking,
    make_other_org_job,
    make_rich_job,
    new_job_version,
    open_human_review,
    organization_id,
    set_candidate,
    set_review,
    set_status,
)

ACTOR = "slack:T0TESTORG:U0RECRUIT"


def build(db: Database, text: str, org: int | None = None, **kw: object):  # type: ignore[no-untyped-def]
    query = parse_args(text)
    if kw:
        query = ShortlistQuery(**{**query.to_json(), **kw})  # type: ignore[arg-type]
    return ShortlistService(db).build(org or organization_id(db), query, actor=ACTOR)


def refs(shortlist) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.application_id for row in shortlist.rows]


def access_rows(db: Database) -> list[AccessLogEntry]:
    with db.transaction() as s:
        rows = list(s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)))
        s.expunge_all()
        return rows


# ------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("test-role", ShortlistQuery("test-role")),
        ("  Test-Role  ", ShortlistQuery("test-role")),
        ("test-role top 10", ShortlistQuery("test-role", top=10)),
        ("test-role top=10 min=70", ShortlistQuery("test-role", top=10, min_score=70)),
        ("test-role min 0.7", ShortlistQuery("test-role", min_score=70)),
        ("test-role min 72%", ShortlistQuery("test-role", min_score=72)),
        ("test-role min 1.0", ShortlistQuery("test-role", min_score=100)),
        ("test-role min 0", ShortlistQuery("test-role", min_score=0)),
        ("test-role status review min 50 top 3", ShortlistQuery("test-role", 3, 50, "review")),
        ("test-role status knocked_out", ShortlistQuery("test-role", status="knocked-out")),
        ("test-role STATUS=In-Progress", ShortlistQuery("test-role", status="in-progress")),
        ("test-role --top 5 --min-score 60", ShortlistQuery("test-role", top=5, min_score=60)),
        ("test-role page 3", ShortlistQuery("test-role", page=3)),
        ("test-role top 1000", ShortlistQuery("test-role", top=1000)),
    ],
)
def test_parse_args_accepts_the_documented_forms(text: str, expected: ShortlistQuery) -> None:
    assert parse_args(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Which job"),
        ("   \n\t ", "Which job"),
        ("help", ""),
        ("x" * 5000, "too long"),
        ("test-role " + "top 5 " * 100, "too long"),
        ("top 5", "Start with the job id"),
        ("test-role top", "needs a value"),
        ("test-role top=", "needs a value"),
        ("test-role top 0", "1 to 1000"),
        ("test-role top 1001", "1 to 1000"),
        ("test-role top -3", "1 to 1000"),
        ("test-role top 99999999999999999999999999", "1 to 1000"),
        ("test-role top 1e3", "1 to 1000"),
        ("test-role top ５", "1 to 1000"),  # a full-width digit is not a number here
        ("test-role top 5.5", "1 to 1000"),
        ("test-role min 101", "0 to 100"),
        ("test-role min -5", "0 to 100"),
        ("test-role min abc", "0 to 100"),
        ("test-role min 1.5.2", "0 to 100"),
        ("test-role min nan", "0 to 100"),
        ("test-role status bogus", "Unknown status"),
        ("test-role top 5 top 6", "given twice"),
        ("test-role top=5 top 6", "given twice"),
        ("test-role min 70 min=0.8", "given twice"),
        ("test-role min 70 score 80", "given twice"),
        ("test-role status all status review", "given twice"),
        ("test-role banana", "don't understand"),
        ("test-role top 5 extra", "don't understand"),
        ("test_role", "not a job id"),
        ("t", "not a job id"),
        ("../../etc/passwd", "not a job id"),
        ("<!channel> top 5", "not a job id"),
        ("test-role <@U123ABC|boss>", "don't understand"),
        ("test-role top 5; DROP TABLE applications", "don't understand"),
        ("test-role\x00 top 5", "not a job id"),
        ("test-role status `rm`", "Unknown status"),
        ("test-role status `rm -rf`", "don't understand"),
        ("*bold* _it_", "not a job id"),
        ("a" * 64 + "b", "not a job id"),
    ],
)
def test_parse_args_refuses_bad_input_with_the_usage(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_args(text)
    message = str(caught.value)
    assert problem in message
    assert USAGE in message
    # Nothing the user typed comes back as Slack markup (no pings, links or formatting).
    for hostile in ("<!channel>", "<@U123ABC", "*bold*", "\x00", "../"):
        assert hostile not in message.replace(USAGE, "")


def test_parse_args_refuses_a_non_string() -> None:
    with pytest.raises(UsageError):
        parse_args(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields",
    [
        {"job": "test-role", "top": 0},
        {"job": "test-role", "top": True},
        {"job": "test-role", "min_score": 101},
        {"job": "test-role", "min_score": "70"},
        {"job": "test-role", "page": 0},
        {"job": "test-role", "page_size": 500},
        {"job": "test-role", "status": "everything"},
        {"job": "Bad Job"},
        {"job": 5},
    ],
)
def test_a_query_is_validated_however_it_is_built(fields: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        ShortlistQuery(**fields)  # type: ignore[arg-type]


def test_a_query_round_trips_through_a_button_value_and_forged_ones_are_refused() -> None:
    query = ShortlistQuery("test-role", top=5, min_score=60, status="all", page=2)
    assert ShortlistQuery.from_json(json.loads(json.dumps(query.to_json()))) == query
    assert query.with_page(3).page == 3 and query.with_page(3).top == 5
    for forged in ([], "x", {"job": "test-role", "admin": True}, {"job": "test-role", "page": -1}):
        with pytest.raises(UsageError):
            ShortlistQuery.from_json(forged)


# ------------------------------------------------------------------------------ ranking


def test_ranking_score_then_knockouts_last_then_who_finished_first(db: Database) -> None:
    early = make_application(db, score=0.6, finished_at=NOW - timedelta(hours=3))
    late = make_application(db, score=0.6, finished_at=NOW - timedelta(hours=1))
    top = make_application(db, score=0.91)
    unscored = make_application(db, score=None)
    knocked = make_application(db, score=None, knocked_out=True)
    low = make_application(db, score=0.2)
    shortlist = build(db, "test-role")
    assert refs(shortlist) == [top, early, late, low, unscored, knocked]
    assert [r.rank for r in shortlist.rows] == [1, 2, 3, 4, 5, 6]
    assert [r.score for r in shortlist.rows] == [91, 60, 60, 20, None, 0]
    last = shortlist.rows[-1]
    assert last.knocked_out and last.knocked_out_by == "right_to_work"
    assert last.interview_status == "knocked_out"
    assert shortlist.rows[0].ref == top[:8] and shortlist.rows[0].stage == "new"
    assert shortlist.total == 6 and shortlist.pages == 1 and shortlist.cutoff is None
    assert shortlist.job_title == "Test Role" and shortlist.org_name == "Test Organization"


def test_the_newest_overall_score_counts_and_a_person_s_override_wins(db: Database) -> None:
    rescored = make_application(db, score=0.3)
    add_score(db, rescored, 0.8)  # a rescore: the newest snapshot is the one shown
    overridden = make_application(db, score=0.4)
    set_review(db, overridden, override_score=0.95, override_by="slack:T0TESTORG:U0ADMIN")
    plain = make_application(db, score=0.7)
    shortlist = build(db, "test-role")
    assert refs(shortlist) == [overridden, rescored, plain]
    first = shortlist.rows[0]
    assert (first.score, first.ai_score, first.overridden) == (95, 40, True)
    assert first.override_by == "slack:T0TESTORG:U0ADMIN"
    assert shortlist.rows[1].score == 80 and not shortlist.rows[1].overridden


def test_every_version_of_the_job_is_included(db: Database) -> None:
    old = make_application(db, score=0.5)
    new_job_version(db)
    new = make_application(db, score=0.6)
    assert refs(build(db, "test-role")) == [new, old]


# ------------------------------------------------------------------------------ filters


def test_status_filters_and_min_score(db: Database) -> None:
    advanced = make_application(db, score=0.8)
    set_review(db, advanced, stage="advanced")
    rejected = make_application(db, score=0.9)
    set_review(db, rejected, stage="rejected")
    reviewed = make_application(db, score=0.5)
    open_human_review(db, reviewed, "decision_review")
    flagged = make_application(db, score=0.45, questions={"motivation": None})
    knocked = make_application(db, score=None, knocked_out=True)
    running = make_application(db, score=None, status="in_progress")
    paused = make_application(db, score=None, status="paused")
    plain = make_application(db, score=0.65)

    assert refs(build(db, "test-role")) == [advanced, plain, reviewed, flagged, knocked]
    assert refs(build(db, "test-role status advanced")) == [advanced]
    assert refs(build(db, "test-role status rejected")) == [rejected]
    assert refs(build(db, "test-role status review")) == [reviewed, flagged]
    assert refs(build(db, "test-role status knocked-out")) == [knocked]
    assert set(refs(build(db, "test-role status in-progress"))) == {running, paused}
    everyone = build(db, "test-role status all")
    assert len(everyone.rows) == 8 and everyone.rows[0].application_id == rejected
    minimum = build(db, "test-role min 60")
    assert refs(minimum) == [advanced, plain] and minimum.cutoff == 60
    assert refs(build(db, "test-role status all min 0.85")) == [rejected]
    # The chart's scores: every scored completed application (knockouts are not a score).
    assert everyone.scores == [45, 50, 65, 80, 90]

    [row] = build(db, "test-role status review min 46").rows
    assert row.open_reviews == ["decision_review"] and not row.needs_review
    flagged_row = build(db, "test-role status review").rows[1]
    assert flagged_row.needs_review and flagged_row.insufficient_data
    assert flagged_row.questions[0]["status"] == "insufficient_data"
    assert flagged_row.questions[0]["score"] is None


def test_a_candidate_wide_review_counts_for_each_of_their_rows(db: Database) -> None:
    app_id = make_application(db, score=0.5)
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        s.add(HumanReview(candidate_id=app.candidate_id, reason="correction", status="open"))
    [row] = build(db, "test-role status review").rows
    assert row.open_reviews == ["correction"]


def test_top_n_limits_before_paging_and_sets_the_cut_off(db: Database) -> None:
    ids = [make_application(db, score=s / 100) for s in (95, 90, 85, 80, 75, 70, 65)]
    shortlist = build(db, "test-role top 5", page_size=2)
    assert shortlist.total == 5 and shortlist.pages == 3 and shortlist.cutoff == 75
    assert refs(shortlist) == ids[:2]
    assert refs(build(db, "test-role top 5 page 3", page_size=2)) == [ids[4]]
    # A page past the end (a stale button) shows the last page.
    late = build(db, "test-role top 5 page 9", page_size=2)
    assert late.page == 3 and refs(late) == [ids[4]]
    assert build(db, "test-role top 3 min 50").cutoff == 85
    assert build(db, "test-role top 100").cutoff == 65
    assert build(db, "test-role min 99").rows == []


def test_an_empty_job_builds_an_empty_page(db: Database) -> None:
    shortlist = build(db, "test-role")
    assert shortlist.rows == [] and shortlist.total == 0 and shortlist.pages == 1
    assert shortlist.scores == [] and access_rows(db) == []


# ------------------------------------------------------------------------------ visibility


def test_practice_withdrawn_erased_and_consent_withdrawn_are_never_shown(db: Database) -> None:
    shown = make_application(db, score=0.5)
    make_application(db, score=0.99, mode="practice")
    withdrawn = make_application(db, score=0.98)
    set_status(db, withdrawn, "withdrawn")
    make_application(db, score=0.97, erased=True)
    make_application(db, score=0.96, consent_withdrawn=True)
    later = make_application(db, score=0.95)
    set_candidate(db, later, erased_at=NOW)
    for status in ("completed", "all", "review", "in-progress", "knocked-out"):
        got = refs(build(db, f"test-role status {status}"))
        assert got == ([shown] if status in ("completed", "all") else [])
    logged = access_rows(db)
    assert len(logged) == 2  # `shown`, twice; nobody else
    assert {e.resource for e in logged} == {f"application:{shown}"}
    assert build(db, "test-role status all").scores == [50]


def test_another_organizations_job_is_answered_like_an_unknown_job(db: Database) -> None:
    other = make_other_org_job(db)
    make_application(db, OTHER_JOB, score=0.9)
    mine = organization_id(db)
    with pytest.raises(UnknownJob) as theirs:
        build(db, OTHER_JOB, org=mine)
    with pytest.raises(UnknownJob) as nothing:
        build(db, "no-such-job", org=mine)
    assert str(theirs.value) == "No job `other-role` in Test Organization. Your jobs: test-role"
    assert str(nothing.value).replace("no-such-job", OTHER_JOB) == str(theirs.value)
    # Their own view of it works, and never contains the other organization's candidates.
    make_application(db, score=0.5)
    theirs_list = build(db, OTHER_JOB, org=other)
    assert len(theirs_list.rows) == 1 and theirs_list.org_name.startswith("Other-Org")
    assert access_rows(db)[0].organization_id == other


# ------------------------------------------------------------------------------ row contents


def test_rows_carry_name_questions_flags_booking_and_log_the_page_only(db: Database) -> None:
    make_rich_job(db)
    best = make_application(
        db,
        RICH_JOB,
        score=0.8,
        name="Ada Lovelace",
        channel="telegram",
        questions={"motivation": 0.9, "teamwork": None, "customer": {"score": 0.7}},
    )
    make_booking(db, best, starts_at=NOW + timedelta(days=2))
    others = [make_application(db, RICH_JOB, score=0.5 - i / 100) for i in range(9)]
    shortlist = build(db, RICH_JOB)
    assert shortlist.total == 10 and shortlist.pages == 2 and len(shortlist.rows) == 8
    row = shortlist.rows[0]
    assert row.application_id == best and row.name == "Ada Lovelace"
    assert row.channel == "telegram" and row.finished_at == (NOW - timedelta(minutes=5)).isoformat()
    assert [(q["question_id"], q["score"], q["status"]) for q in row.questions] == [
        ("motivation", 90, "scored"),
        ("teamwork", None, "insufficient_data"),
        ("customer", 70, "scored"),
    ]
    assert row.questions[0]["summary"] == "Covers 3 of 3 key points."
    assert row.questions[0]["prompt"] == "Why do you want this job?"
    assert row.insufficient_data and row.needs_review and not row.ai_opt_out
    assert row.booking == {
        "starts_at": (NOW + timedelta(days=2)).isoformat(),
        "interviewer": "Anna Interviewer",
        "status": "booked",
    }
    # One access-log entry per row on this page — not for the two on page 2.
    logged = access_rows(db)
    assert len(logged) == 8
    assert {e.resource for e in logged} == {f"application:{a}" for a in refs(shortlist)}
    assert all(e.actor == ACTOR and e.actor_kind == "employer" for e in logged)
    assert logged[0].action == "viewed your application in a shortlist"
    assert logged[0].purpose == f"shortlist {RICH_JOB}"
    assert logged[0].organization_id == organization_id(db)
    second = build(db, f"{RICH_JOB} page 2")
    assert refs(second) == others[7:]
    assert len(access_rows(db)) == 10
    # JSON for the Slack layer and the CLI: plain types only.
    doc = json.loads(json.dumps(shortlist.to_json()))
    assert doc["rows"][0]["ref"] == best[:8] and doc["query"]["job"] == RICH_JOB


def test_an_opted_out_candidate_shows_no_ai_score_but_a_person_s_score(db: Database) -> None:
    opted = make_application(db, score=0.99, ai_opt_out=True)
    other = make_application(db, score=0.5)
    earlier = make_application(db, score=0.9)
    set_candidate(db, earlier, ai_opt_out=True)  # scored before opting out: still hidden
    shortlist = build(db, "test-role")
    assert refs(shortlist) == [other, opted, earlier] or refs(shortlist) == [other, earlier, opted]
    hidden = [r for r in shortlist.rows if r.application_id in (opted, earlier)]
    for row in hidden:
        assert row.ai_opt_out and row.score is None and row.ai_score is None
        assert all(q["score"] is None and q["summary"] == "" for q in row.questions)
        assert row.questions[0]["status"] == "awaiting_person"
    set_review(db, opted, override_score=0.72, override_by="slack:T0TESTORG:U0ADMIN")
    first = build(db, "test-role").rows[0]
    assert first.application_id == opted and first.score == 72 and first.ai_score is None


def test_volume_uses_a_fixed_number_of_queries_and_decrypts_the_page_only(db: Database) -> None:
    """Not a timing test: the shape that keeps 1,000 applications fast. The number of SQL
    statements does not grow with the applications, and only the rows on the page are loaded
    as entities (that is what decrypts names and explanations)."""
    make_applications(db, 40)
    statements: list[str] = []
    loaded: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def on_load(target: object, _context: object) -> None:
        loaded.append(type(target).__name__)

    event.listen(db.engine, "before_cursor_execute", count)
    for model in (Candidate, ApplicationScore, AnswerScore):
        event.listen(model, "load", on_load)
    try:
        build(db, "test-role")
        small = len(statements)
        make_applications(db, 160)
        statements.clear()
        loaded.clear()
        shortlist = build(db, "test-role")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        for model in (Candidate, ApplicationScore, AnswerScore):
            event.remove(model, "load", on_load)
    assert shortlist.total == 200 and len(shortlist.rows) == 8
    assert len(statements) == small <= 60
    assert loaded.count("Candidate") == 8
    assert "ApplicationScore" not in loaded  # sealed breakdowns are never decrypted


# ------------------------------------------------------------------------------ answers view


def test_answer_view_shows_answers_scores_explanations_and_history(db: Database) -> None:
    make_rich_job(db)
    app_id = make_application(
        db,
        RICH_JOB,
        score=0.75,
        name="Grace Hopper",
        questions={
            "motivation": 0.67,
            "teamwork": None,
            "customer": {"score": 0.8, "channel": "voice"},
        },
    )
    open_human_review(db, app_id, "employer_review")
    set_review(db, app_id, stage="advanced")
    mine = organization_id(db)
    with db.transaction() as s:
        app = s.get(Application, app_id)
        assert app is not None
        candidate_id = app.candidate_id
        s.add(
            EmployerDecision(
                application_id=app_id,
                candidate_id=candidate_id,
                organization_id=mine,
                kind="advanced",
                actor=ACTOR,
                reason="Strong answers",
            )
        )
    view = answer_view(db, organization_id(db), app_id, actor=ACTOR)
    assert view["name"] == "Grace Hopper" and view["ref"] == app_id[:8]
    assert view["job_title"] == "Rich Role" and view["score"] == 75 and view["ai_score"] == 75
    assert view["stage"] == "advanced" and view["open_reviews"] == ["employer_review"]
    assert view["recordings_allowed"] is False and not view["ai_opt_out"]
    by_id = {q["question_id"]: q for q in view["questions"]}
    motivation = by_id["motivation"]
    assert motivation["score"] == 67 and motivation["answer_source"] == "text"
    assert motivation["answer"].startswith("I enjoy this kind of work")
    assert motivation["key_points_covered"] == ["enjoys the work", "team"]
    assert motivation["key_points_missing"] == ["growth"]
    assert motivation["summary"] == "Covers 2 of 3 key points."
    assert motivation["reason"].startswith("Relevant answer")
    assert by_id["teamwork"]["insufficient_data"] and by_id["teamwork"]["needs_review"]
    assert by_id["customer"]["answer_source"] == "transcript" and by_id["customer"]["score"] == 80
    assert by_id["years"]["answer"] == "3 years" and by_id["years"]["score"] is None
    assert view["needs_review"] and view["insufficient_data"]
    [decision] = view["decisions"]
    assert decision["kind"] == "advanced" and decision["reason"] == "Strong answers"
    assert decision["actor"] == ACTOR
    [entry] = access_rows(db)
    assert entry.action == "viewed your answers" and entry.resource == f"application:{app_id}"
    assert json.loads(json.dumps(view)) == view
    set_candidate(db, app_id, recordings_access="recordings")
    assert answer_view(db, organization_id(db), app_id, actor=ACTOR)["recordings_allowed"]


def test_answer_view_of_an_opted_out_candidate_has_no_ai_scores(db: Database) -> None:
    app_id = make_application(db, score=0.9, ai_opt_out=True)
    view = answer_view(db, organization_id(db), app_id, actor=ACTOR)
    assert view["ai_opt_out"] and view["score"] is None and view["ai_score"] is None
    motivation = view["questions"][0]
    assert motivation["status"] == "awaiting_person" and motivation["summary"] is None
    assert motivation["answer"]  # the answer itself is what the person scores


@pytest.mark.parametrize("case", ["other_org", "practice", "withdrawn", "erased", "consent",
                                  "unknown", "malformed"])  # fmt: skip
def test_answer_view_refuses_what_the_organization_may_not_see(db: Database, case: str) -> None:
    mine = organization_id(db)
    if case == "other_org":
        make_other_org_job(db)
        app_id = make_application(db, OTHER_JOB, score=0.5)
    elif case == "practice":
        app_id = make_application(db, score=0.5, mode="practice")
    elif case == "withdrawn":
        app_id = make_application(db, score=0.5)
        set_status(db, app_id, "withdrawn")
    elif case == "erased":
        app_id = make_application(db, score=0.5, erased=True)
    elif case == "consent":
        app_id = make_application(db, score=0.5, consent_withdrawn=True)
    elif case == "unknown":
        app_id = "0" * 32
    else:
        app_id = "'; DROP TABLE applications; --"
    with pytest.raises(NotVisible):
        answer_view(db, mine, app_id, actor=ACTOR)
    assert access_rows(db) == []
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == 0
