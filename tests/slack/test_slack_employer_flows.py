"""More of the employer side through the real gateway: `/parley-admin`, notifications to the
organization's channel (and a refused post retried), `/shortlist` over Socket Mode, a job
with 1,000 completed interviews answered inside Slack's 3 seconds, and hostile employer
payloads."""

from __future__ import annotations

import copy
import json
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.slack.employer import render
from parley.slack_standin import TEAM_ID, block_actions, slash_command, view_submission
from storage.db import Database
from storage.models import AccessLogEntry, EmployerAudit, EmployerNotification, OrgMember
from tests.employers.employer_support import (
    JOB,
    ORG,
    make_application,
    make_applications,
    make_org_member,
)
from tests.slack.harness_slack import run, slack_env
from tests.slack.test_slack_employer import RECRUITER, dm, ranked_lines, shortlist_posts
from tests.slack.test_slack_hostile import _mutate
from tests.web.fake_rasa import FakeRasa

ADMIN = "U0ADMIN"
VIEWER = "U0VIEWER"
NEWBIE = "U0NEWBIE"
CHANNEL = "C0HIRING"


def test_admin_command_manages_members_and_refuses_others(db: Database, rasa: FakeRasa) -> None:
    make_org_member(db, ORG, TEAM_ID, ADMIN, "admin")
    make_org_member(db, ORG, TEAM_ID, VIEWER, "viewer")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            status, reply = await env.command(ADMIN, "/parley-admin", f"add <@{NEWBIE}|new> viewer")
            assert status == 200 and NEWBIE in reply
            status, reply = await env.command(VIEWER, "/parley-admin", f"remove <@{ADMIN}>")
            assert status == 200 and "Only admins" in reply
            status, reply = await env.command(ADMIN, "/parley-admin", "frobnicate")
            assert status == 200 and "/parley-admin" in reply  # the usage
            await env.settle()

    run(scenario())
    with db.transaction() as s:
        members = {m.slack_user_id: m.role for m in s.scalars(select(OrgMember))}
        outcomes = [a.outcome for a in s.scalars(select(EmployerAudit).order_by(EmployerAudit.id))]
    assert members == {ADMIN: "admin", VIEWER: "viewer", NEWBIE: "viewer"}
    assert outcomes == ["allowed", "denied", "invalid"]


def test_notifications_reach_the_channel_and_failures_are_retried(
    db: Database, rasa: FakeRasa
) -> None:
    make_org_member(db, ORG, TEAM_ID, ADMIN, "admin", channel=CHANNEL)
    app_id = make_application(
        db, score=0.72, name="Never Named", finished_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    async def scenario() -> None:
        async with slack_env(rasa, db=db, notify_interval_s=0.1, start=False) as env:
            env.standin.fail("chat.postMessage", "not_in_channel")  # the bot not invited yet
            await env.service.start()
            await env.standin.wait_for(lambda: bool(env.standin.posted(CHANNEL)))
            (text,) = env.standin.posted(CHANNEL)
            assert text.startswith("Interview completed: Test Role")
            assert app_id[:8] in text and "72/100" in text
            assert "Never Named" not in text
            failed = [c for c in env.standin.calls if c.status != 200]
            assert [c.args.get("channel") for c in failed] == [CHANNEL]
            await env.service.notifications.run_once()  # nothing new: nothing posted again
            assert len(env.standin.posted(CHANNEL)) == 1

    run(scenario())
    with db.transaction() as s:
        (row,) = s.scalars(select(EmployerNotification))
        assert row.sent_at is not None and row.attempts == 2 and row.application_id == app_id


def test_shortlist_over_socket_mode(db: Database, rasa: FakeRasa) -> None:
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    app_id = make_application(db, score=0.8)

    async def scenario() -> None:
        async with slack_env(rasa, mode="socket", db=db) as env:
            envelope = await env.standin.push(
                slash_command(RECRUITER, "/shortlist", JOB), kind="slash_commands"
            )
            ack = await env.standin.wait_ack(envelope)
            assert "Working on the shortlist for `test-role`" in json.dumps(ack)
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)))
            (page,) = shortlist_posts(env, RECRUITER)
            assert app_id[:8] in ranked_lines(page)[0]
            await env.standin.wait_shared(1, channel=dm(RECRUITER))

    run(scenario())


def test_a_thousand_interviews_rank_and_page(db: Database, rasa: FakeRasa) -> None:
    """With 1,000 completed interviews the ack still comes first ("Working on…", before any
    database work) and the first page of `top 50` holds the best eight of seven pages. How
    fast is the benchmark's business (`parley bench shortlist`), not a timed test's."""
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    ids = make_applications(db, 1000)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            status, text = await env.command(RECRUITER, "/shortlist", f"{JOB} top 50")
            assert status == 200 and text.startswith("Working on the shortlist")
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)), 30)
            (page,) = shortlist_posts(env, RECRUITER)
            lines = ranked_lines(page)
            assert len(lines) == 8 and "*90/100*" in lines[0]  # the best (ties: earliest)
            assert ids[-1][:8] in json.dumps(page.args["blocks"])
            assert "page 1/7" in page.args["blocks"][1]["elements"][0]["text"]
            await env.standin.wait_shared(1)

    run(scenario())


def test_hostile_employer_payloads_never_break_the_gateway(
    db: Database, rasa: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    """Mutated commands, presses and modal submissions, correctly signed: each is answered
    (200, or 400 for a body that is not JSON) and none makes a listener fail."""
    caplog.set_level(logging.INFO)
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    app_id = make_application(db, score=0.8)
    rng = random.Random(8)
    modal = {**render.resolve_review_view(app_id, app_id[:8], None), "id": "V0MODAL1"}
    bases = [
        slash_command(RECRUITER, "/shortlist", f"{JOB} top 3"),
        slash_command(RECRUITER, "/parley-admin", "members"),
        block_actions(RECRUITER, "employer_advance", app_id),
        block_actions(RECRUITER, "employer_page_next", '{"job":"test-role","page":2}'),
        view_submission(RECRUITER, modal, {"resolution": "ok", "score": "50"}),
    ]
    payloads = []
    for _ in range(150):
        payload = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 3)):
            payload = _mutate(payload, rng)
        payloads.append(payload)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            statuses: dict[int, int] = {}
            for payload in payloads:
                body = json.dumps(payload).encode()
                status, _ = await env.post(None, raw=body, headers=env.standin.headers(body))
                statuses[status] = statuses.get(status, 0) + 1
            await env.settle()
            assert set(statuses) <= {200, 401}, statuses  # 401: identical bytes, same second
            assert env.employer.stats.errors == 0 and env.stats.errors == 0
            # Still serving.
            await env.command(RECRUITER, "/shortlist", JOB)
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)))

    run(scenario(), timeout=120)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_expired_trigger_reads_nothing(db: Database, rasa: FakeRasa) -> None:
    """Slack refused the modal (the press was answered too late): the answers are not read,
    so nothing is in the candidate's access log, and the person is asked to press again."""
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    app_id = make_application(db, score=0.8)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            env.standin.fail("views.open", "expired_trigger_id")
            await env.post(block_actions(RECRUITER, "employer_view", app_id))
            await env.settle()
            (note,) = env.standin.posted(dm(RECRUITER))
            assert "press the button again" in note
            assert env.employer.stats.api_errors == {"expired_trigger_id": 1}

    run(scenario())
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == 0
