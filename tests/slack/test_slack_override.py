"""`/parley-override` end to end: real slack-bolt behind the gateway's signed HTTP endpoint,
the Slack stand-in, and the real database (SQLite and PostgreSQL), on top of
`oversight.overrides.OverrideService`.

Covered: a recruiter reinstates a knocked-out application (the standing row, the decision
log, the audit) and the same command again changes nothing ("Already …"); a score override,
a rank pin and its removal (by the shortlist's reference, a full id and a longer prefix); a
viewer, a member of another organization and a non-member refused; an unknown reference; a
missing reason; hostile and huge text (markup, 10,000 characters, control characters) answered
with the usage or a clear message, never echoed unescaped, and nothing changed; the usage
itself; and the parser and the reference rules on their own.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.slack import payloads
from employers.override_command import (
    USAGE,
    OverrideUsage,
    UnknownRef,
    parse,
    resolve_ref,
)
from oversight.decision_log import entries
from parley.slack_standin import TEAM_ID, slash_command
from storage.db import Database
from storage.models import ApplicationReview, EmployerAudit, EmployerDecision
from tests.employers.employer_support import (
    ORG,
    OTHER_JOB,
    OTHER_ORG,
    make_application,
    make_org_member,
    make_other_org_job,
    organization_id,
)
from tests.slack.harness_slack import Env, run, slack_env
from tests.web.fake_rasa import FakeRasa

COMMAND = "/parley-override"
RECRUITER = "U0RECRUITER"
VIEWER = "U0VIEWER"
STRANGER = "U0STRANGER"  # in the organization's workspace, not a member
OUTSIDER = "U0OUTSIDER"  # a recruiter of another organization
OTHER_TEAM = "T0OTHERORG"
WORKING = "Working on it"


def seed_members(db: Database) -> None:
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    make_org_member(db, ORG, TEAM_ID, VIEWER, "viewer")
    make_other_org_job(db)
    make_org_member(db, OTHER_ORG, OTHER_TEAM, OUTSIDER, "recruiter")


def dm_notes(env: Env, user: str) -> list[str]:
    """The short messages posted into `user`'s DM (where a slow answer goes)."""
    channel = "D" + user.lstrip("UW")
    return [
        c.args["blocks"][0]["text"]["text"]
        for c in env.standin.calls_of("chat.postMessage")
        if c.args.get("channel") == channel
    ]


async def override(env: Env, user: str, text: str, *, team_id: str = TEAM_ID) -> str:
    """The answer to one `/parley-override`: the acknowledgement's text, or — when the
    database was slower than the acknowledgement may wait (a busy machine) — the DM that
    follows it. Either way the command has finished when this returns."""
    before = len(dm_notes(env, user))
    status, reply = await env.command(user, COMMAND, text, team_id=team_id)
    assert status == 200
    if reply.startswith(WORKING):
        await env.standin.wait_for(lambda: len(dm_notes(env, user)) > before)
        reply = dm_notes(env, user)[-1]
    await env.settle()
    return reply


def standing(db: Database, app_id: str) -> ApplicationReview | None:
    with db.transaction() as s:
        row = s.get(ApplicationReview, app_id)
        if row is not None:
            s.expunge(row)
        return row


def decision_kinds(db: Database) -> list[str]:
    with db.transaction() as s:
        return list(s.scalars(select(EmployerDecision.kind).order_by(EmployerDecision.id)))


def audits(db: Database, action: str | None = None) -> list[tuple[str, str, str | None]]:
    """(action, outcome, detail) of the employer audit, oldest first."""
    with db.transaction() as s:
        stmt = select(EmployerAudit).order_by(EmployerAudit.id)
        if action is not None:
            stmt = stmt.where(EmployerAudit.action == action)
        return [(a.action, a.outcome, a.detail) for a in s.scalars(stmt)]


def unused_ref(*app_ids: str) -> str:
    """A well-formed reference that names none of `app_ids`."""
    return next(
        r for r in ("000000", "ffffff", "0f0f0f") if not any(a.startswith(r) for a in app_ids)
    )


def test_recruiter_reinstates_a_knockout_once(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    knocked = make_application(db, score=None, knocked_out=True)
    ref = knocked[:8]

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            reply = await override(env, RECRUITER, f"{ref} knockout Right to work confirmed")
            assert reply.startswith("Knockout overridden") and f"`{ref}`" in reply
            assert "Test Role" in reply
            again = await override(env, RECRUITER, f"{ref.upper()} KNOCKOUT confirmed twice")
            assert again.startswith("Already reinstated") and f"`{ref}`" in again

    run(scenario())
    row = standing(db, knocked)
    assert row is not None and row.knockout_overridden_at is not None
    assert row.knockout_override_by == f"slack:{TEAM_ID}:{RECRUITER}"
    assert decision_kinds(db) == ["knockout_override"]  # the second command changed nothing
    with db.transaction() as s:
        [entry] = entries(s, application_id=knocked, decision="knockout_override")
        assert entry.reason == "Right to work confirmed" and not entry.automated
        assert entry.decided_by == f"employer:slack:{TEAM_ID}:{RECRUITER}"
    assert audits(db, "override_knockout") == [
        ("override_knockout", "allowed", "knockout overridden"),
        ("override_knockout", "allowed", "unchanged (repeat)"),
    ]


def test_score_override_rank_pin_and_unpin(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.3)
    make_application(db, score=0.6)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            reply = await override(env, RECRUITER, f"{app_id[:8]} score 90 Excellent in person")
            assert "set to 90/100" in reply and "AI score: 30/100" in reply
            row = standing(db, app_id)
            assert row is not None and row.override_score == pytest.approx(0.9)
            same = await override(env, RECRUITER, f"{app_id[:8]} score 90 said it already")
            assert same.startswith("Already done")
            # The full id, as in the shortlist's buttons.
            reply = await override(env, RECRUITER, f"{app_id} rank 1 Strong referral")
            assert "pinned at rank 1" in reply
            row = standing(db, app_id)
            assert row is not None and row.pinned_rank == 1
            reply = await override(env, RECRUITER, f"{app_id[:12]} unpin Referral withdrawn")
            assert reply.startswith("Pin cleared")
            row = standing(db, app_id)
            assert row is not None and row.pinned_rank is None
            nothing = await override(env, RECRUITER, f"{app_id[:8]} unpin again")
            assert "no pinned rank" in nothing

    run(scenario())
    assert decision_kinds(db) == ["score_override", "rank_override", "rank_override"]
    with db.transaction() as s:
        [score] = entries(s, application_id=app_id, decision="score_override")
        assert score.outcome["new_score"] == pytest.approx(0.9)
        assert len(entries(s, application_id=app_id, decision="rank_override")) == 2


def test_viewers_other_organizations_and_strangers_change_nothing(
    db: Database, rasa: FakeRasa
) -> None:
    seed_members(db)
    knocked = make_application(db, score=None, knocked_out=True)
    theirs = make_application(db, OTHER_JOB, score=None, knocked_out=True)
    unknown = unused_ref(knocked, theirs)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            reply = await override(env, VIEWER, f"{knocked[:8]} knockout I think so")
            assert reply.startswith("Viewers can look, not act")
            # Another organization's reference is simply not among theirs…
            reply = await override(
                env, OUTSIDER, f"{knocked[:8]} knockout mine now", team_id=OTHER_TEAM
            )
            assert reply == f"No application `{knocked[:8]}` in your organization's shortlists."
            # …and its full id is denied by the service (as a forged button would be).
            reply = await override(env, OUTSIDER, f"{knocked} knockout mine", team_id=OTHER_TEAM)
            assert "not in your organization" in reply
            reply = await override(env, STRANGER, f"{knocked[:8]} knockout let me")
            assert "not a member of" in reply
            reply = await override(env, RECRUITER, f"{unknown} knockout who is this")
            assert reply == f"No application `{unknown}` in your organization's shortlists."
            # The other organization's recruiter can override their own application.
            reply = await override(
                env, OUTSIDER, f"{theirs[:8]} knockout confirmed", team_id=OTHER_TEAM
            )
            assert reply.startswith("Knockout overridden")
            assert env.employer.stats.denied == 3

    run(scenario())
    assert standing(db, knocked) is None
    assert decision_kinds(db) == ["knockout_override"]  # only the other organization's own
    rows = audits(db, "override_knockout")
    denied = [r for r in rows if r[1] == "denied"]
    assert [d[2] for d in denied] == [
        "denied: role viewer",
        "denied: another organization",
        f"not a member: ref {knocked[:8]}",
    ]
    assert ("override_knockout", "invalid", f"unknown ref {knocked[:8]}") in rows
    assert ("override_knockout", "invalid", f"unknown ref {unknown}") in rows


HUGE = "x" * 10_000


def test_bad_and_hostile_text_changes_nothing(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    knocked = make_application(db, score=None, knocked_out=True)
    ref = knocked[:8]
    cases: list[tuple[str, str]] = [
        ("", "Usage: `/parley-override"),
        ("help", "Usage: `/parley-override"),
        ("<script>alert(1)</script> knockout x", "6 to 32 hex characters"),
        (f"<@{VIEWER}> knockout <!channel>", "6 to 32 hex characters"),
        (f"{ref}\x00\x1b[2J knockout reason", "6 to 32 hex characters"),
        ("３f9a1c2e knockout fullwidth digits", "6 to 32 hex characters"),
        ("abc12 knockout too short", "6 to 32 hex characters"),
        (f"{ref} knockout", "Please give a reason"),
        (f"{ref} knockout    ", "Please give a reason"),
        (f"{ref} unpin", "Please give a reason"),
        (f"{ref} score 90", "Please give a reason"),
        (f"{ref} frobnicate <b>now</b>", "Say which override"),
        (f"{ref} score 101 too high", "from 0 to 100"),
        (f"{ref} score -5 negative", "from 0 to 100"),
        (f"{ref} score <script> x", "from 0 to 100"),
        (f"{ref} rank 0 zero", "from 1 to 1000"),
        (f"{ref} rank 1001 beyond", "from 1 to 1000"),
        (f"{ref} knockout {HUGE}", "Usage: `/parley-override"),  # over Slack's length: usage
        (f"{ref} knockout \x00\x01\x07", "Please give a reason for the override"),  # service
        (f"{ref} knockout {'y' * 2000}", "1 to 1,000 characters"),  # the service's limit
    ]

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            for text, expected in cases:
                reply = await override(env, RECRUITER, text)
                assert expected in reply, (text[:40], reply)
                assert "<" not in reply and ">" not in reply  # nothing unescaped
                assert "script" not in reply and "\x00" not in reply and HUGE not in reply
                if reply.startswith("Usage") or "\nUsage" in reply:
                    assert "&lt;application&gt;" in reply

    run(scenario())
    assert standing(db, knocked) is None  # no override even took the standing row
    assert decision_kinds(db) == []
    outcomes = {outcome for _, outcome, _ in audits(db)}
    assert "allowed" not in outcomes


# ---- the parser and the reference rules on their own


def test_parse_reads_each_override() -> None:
    knockout = parse("  3F9A1C2E  knockout  Right to work   confirmed ")
    assert (knockout.ref, knockout.action, knockout.value) == ("3f9a1c2e", "knockout", None)
    assert knockout.reason == "Right to work   confirmed"
    score = parse("3f9a1c score 0 Zero, on purpose")
    assert (score.action, score.value, score.reason) == ("score", 0, "Zero, on purpose")
    rank = parse("3f9a1c2e rank 1000 Last")
    assert (rank.action, rank.value) == ("rank", 1000)
    unpin = parse("3f9a1c2e unpin Referral withdrawn")
    assert (unpin.action, unpin.value) == ("unpin", None)
    with pytest.raises(OverrideUsage) as asked:
        parse("help")
    assert asked.value.asked and str(asked.value) == USAGE
    with pytest.raises(OverrideUsage) as empty:
        parse("   ")
    assert empty.value.asked
    for bad in (None, 42, "3f9a1c2e", "3f9a1c2e score x why", "g3f9a1c knockout x", "0" * 33):
        with pytest.raises(OverrideUsage) as problem:
            parse(bad)
        assert not problem.value.asked and str(problem.value).endswith(USAGE)


def test_references_resolve_only_within_the_organization(db: Database) -> None:
    make_other_org_job(db)
    ours = make_application(db, score=0.5)
    withdrawn = make_application(db, score=0.5, status="withdrawn")
    practice = make_application(db, score=0.5, mode="practice")
    theirs = make_application(db, OTHER_JOB, score=0.5)
    org = organization_id(db)
    with db.transaction() as s:
        assert resolve_ref(s, org, ours[:8]) == ours
        assert resolve_ref(s, org, ours[:6]) == ours
        assert resolve_ref(s, org, ours) == ours
        assert resolve_ref(s, org, theirs) == theirs  # a full id: the service's gate decides
        for hidden in (withdrawn, practice, theirs):
            with pytest.raises(UnknownRef) as missing:
                resolve_ref(s, org, hidden[:8])
            assert not missing.value.ambiguous
        with pytest.raises(UnknownRef):
            resolve_ref(s, org, "%" * 8)  # never a LIKE pattern


def test_the_command_passes_the_gateway() -> None:
    canonical = payloads.canonical(slash_command("U0ABC", COMMAND, "3f9a1c2e unpin why"))
    assert canonical is not None and canonical["command"] == COMMAND
    assert canonical["text"] == "3f9a1c2e unpin why"
    huge: dict[str, Any] = slash_command("U0ABC", COMMAND, "3f9a1c2e knockout " + HUGE)
    shortened = payloads.canonical(huge)
    assert shortened is not None and shortened["text"] == ""  # shown the usage
