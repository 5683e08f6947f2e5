"""Human overrides (oversight/overrides.py) on both databases: a knockout reinstated, a score
set, a rank pinned — what each changes in the shortlist, the rows it writes (employer
decision, decision log, audit), and every refusal: another organization, a viewer, a bad
reason or value, an application with no knockout, a double override at once. An open
review still blocks a rejection."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from employers.decisions import DecisionService, Outcome
from employers.orgs import Employer, OrgDirectory
from employers.shortlist import ShortlistQuery, ShortlistService
from oversight.decision_log import entries
from oversight.overrides import OverrideService, parse_rank
from storage.db import Database
from storage.models import ApplicationReview, EmployerAudit, EmployerDecision
from tests.employers.employer_support import (
    OTHER_JOB,
    OTHER_ORG,
    TEAM,
    make_application,
    make_org_member,
    make_other_org_job,
    open_human_review,
)


def member(
    db: Database,
    role: str = "recruiter",
    user: str = "U0RECRUIT",
    org: str = "test-org",
    team: str = TEAM,
) -> Employer:
    make_org_member(db, org, team, user, role)
    employer = OrgDirectory(db).resolve(team, user)
    assert employer is not None
    return employer


def standing(db: Database, app_id: str) -> ApplicationReview | None:
    with db.transaction() as s:
        return s.get(ApplicationReview, app_id)


def kinds(db: Database, app_id: str) -> list[str]:
    with db.transaction() as s:
        return list(
            s.scalars(
                select(EmployerDecision.kind)
                .where(EmployerDecision.application_id == app_id)
                .order_by(EmployerDecision.id)
            )
        )


def order(db: Database, boss: Employer, status: str = "completed") -> list[str]:
    query = ShortlistQuery(job="test-role", status=status, page_size=100)
    built = ShortlistService(db).build(boss.organization_id, query, actor=boss.actor)
    return [row.application_id for row in built.rows]


def test_a_knockout_override_reinstates_the_application(db: Database) -> None:
    boss = member(db)
    good = make_application(db, score=0.5)
    knocked = make_application(db, score=None, knocked_out=True)
    assert order(db, boss) == [good, knocked]
    result = OverrideService(db).override_knockout(boss, knocked, "  Right to work confirmed\x07 ")
    assert result.ok and result.changed
    row = standing(db, knocked)
    assert row is not None and row.knockout_overridden_at is not None
    assert row.knockout_override_by == boss.actor
    assert kinds(db, knocked) == ["knockout_override"]
    with db.transaction() as s:
        [entry] = entries(s, application_id=knocked, decision="knockout_override")
        assert entry.reason == "Right to work confirmed"  # control character removed
        assert entry.outcome["knockout_overridden"] is True
        assert entry.decided_by == "employer:" + boss.actor and not entry.automated
    query = ShortlistQuery(job="test-role", page_size=100)
    rows = ShortlistService(db).build(boss.organization_id, query, actor=boss.actor).rows
    shown = {r.application_id: r for r in rows}
    assert shown[knocked].knocked_out is False and shown[knocked].knockout_overridden
    assert shown[knocked].ai_score == 0  # the AI score stays as computed
    again = OverrideService(db).override_knockout(boss, knocked, "again")
    assert again.ok and not again.changed and "Already" in again.message
    assert kinds(db, knocked) == ["knockout_override"]


def test_a_knockout_override_needs_a_knockout(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.5)
    result = OverrideService(db).override_knockout(boss, app_id, "why not")
    assert not result.ok and "not knocked out" in result.message
    assert standing(db, app_id) is None and kinds(db, app_id) == []


@pytest.mark.parametrize("reason", ["", "   ", "\x00\x01", "x" * 1001, "y" * 100_000, None, 42])
def test_every_override_needs_a_clean_reason(db: Database, reason: object) -> None:
    boss = member(db)
    app_id = make_application(db, score=None, knocked_out=True)
    service = OverrideService(db)
    for call in (
        lambda: service.override_knockout(boss, app_id, reason),  # type: ignore[arg-type]
        lambda: service.override_score(boss, app_id, 50, reason),  # type: ignore[arg-type]
        lambda: service.override_rank(boss, app_id, 1, reason),  # type: ignore[arg-type]
    ):
        result = call()
        assert not result.ok and "reason" in result.message
    assert kinds(db, app_id) == [] and standing(db, app_id) is None


def test_a_score_override_without_a_review(db: Database) -> None:
    boss = member(db)
    low = make_application(db, score=0.3)
    high = make_application(db, score=0.6)
    result = OverrideService(db).override_score(boss, low, "90", "Excellent in person")
    assert result.ok and "90/100" in result.message and "30/100" in result.message
    assert order(db, boss) == [low, high]
    with db.transaction() as s:
        [entry] = entries(s, application_id=low, decision="score_override")
        assert entry.outcome["old_score"] == pytest.approx(0.3)
        assert entry.outcome["new_score"] == pytest.approx(0.9)
    same = OverrideService(db).override_score(boss, low, 90, "same again")
    assert same.ok and not same.changed
    for bad in (101, -1, "ten", 5.5, True, None):
        refused = OverrideService(db).override_score(boss, low, bad, "bad value")
        assert not refused.ok and "0 to 100" in refused.message
    assert kinds(db, low) == ["score_override"]


def test_a_pinned_rank_moves_the_shortlist_and_can_be_cleared(db: Database) -> None:
    boss = member(db)
    a, b, c, d = (make_application(db, score=s) for s in (0.9, 0.8, 0.7, 0.6))
    service = OverrideService(db)
    assert service.override_rank(boss, d, 1, "Strong referral").changed
    assert order(db, boss) == [d, a, b, c]
    assert service.override_rank(boss, a, "4", "Asked to wait").changed
    assert order(db, boss) == [d, b, c, a]
    assert service.override_rank(boss, c, 1, "Second pin on 1").changed
    assert order(db, boss) == [d, c, b, a]  # the earlier pin keeps the place
    assert service.override_rank(boss, b, 999, "Last").changed
    assert order(db, boss) == [d, c, a, b]  # beyond the end: last
    assert service.override_rank(boss, d, None, "Referral withdrawn", clear=True).changed
    assert order(db, boss) == [c, d, a, b]  # free rows fill the places the pins leave
    row = standing(db, d)
    assert row is not None and row.pinned_rank is None and row.rank_pinned_by is None
    nothing = service.override_rank(boss, d, None, "again", clear=True)
    assert nothing.ok and not nothing.changed
    for bad in (0, 1001, "1.5", "", None, True):
        refused = service.override_rank(boss, a, bad, "bad rank")
        assert not refused.ok and "rank" in refused.message
    assert parse_rank(" 7 ") == (7, None)


def test_viewers_and_other_organizations_are_denied_and_audited(db: Database) -> None:
    viewer = member(db, "viewer", user="U0VIEWER")
    make_other_org_job(db)
    outsider = member(db, "admin", user="U0OUTSIDE", org=OTHER_ORG, team="T0OTHERORG")
    app_id = make_application(db, score=None, knocked_out=True)
    service = OverrideService(db)
    calls: list[Callable[[Employer], Outcome]] = [
        lambda e: service.override_knockout(e, app_id, "reason"),
        lambda e: service.override_score(e, app_id, 50, "reason"),
        lambda e: service.override_rank(e, app_id, 1, "reason"),
    ]
    for who in (viewer, outsider):
        for call in calls:
            result = call(who)
            assert not result.ok and result.denied
    assert kinds(db, app_id) == [] and standing(db, app_id) is None
    with db.transaction() as s:
        denied = list(s.scalars(select(EmployerAudit).where(EmployerAudit.outcome == "denied")))
    assert len(denied) == 6
    assert {a.action for a in denied} == {"override_knockout", "override_score", "override_rank"}
    other_app = make_application(db, OTHER_JOB, score=0.5)
    assert OverrideService(db).override_score(outsider, other_app, 70, "own org").ok


def test_two_overrides_at_once_change_one_row(db: Database) -> None:
    first = member(db, user="U0FIRST")
    second = member(db, "admin", user="U0SECOND")
    app_id = make_application(db, score=None, knocked_out=True)
    barrier = threading.Barrier(2)
    results: list[Outcome] = []

    def run(who: Employer) -> None:
        barrier.wait()
        results.append(OverrideService(db).override_knockout(who, app_id, "confirmed"))

    threads = [threading.Thread(target=run, args=(w,)) for w in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and all(r.ok for r in results)
    assert sorted(r.changed for r in results) == [False, True]
    assert kinds(db, app_id) == ["knockout_override"]
    with db.transaction() as s:
        assert len(entries(s, application_id=app_id, decision="knockout_override")) == 1


def test_an_open_review_still_blocks_a_rejection_after_overrides(db: Database) -> None:
    boss = member(db)
    app_id = make_application(db, score=0.4)
    open_human_review(db, app_id, "decision_review")
    assert OverrideService(db).override_score(boss, app_id, 20, "weak answers").changed
    refused = DecisionService(db).reject(boss, app_id, "no")
    assert not refused.ok and "review is open" in refused.message
    assert kinds(db, app_id) == ["score_override"]
    row = standing(db, app_id)
    assert row is not None and row.stage == "new"
