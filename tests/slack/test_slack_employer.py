"""The employer side of the Slack app end to end: real slack-bolt behind the gateway's signed
HTTP endpoint, the Slack stand-in, and the real database (SQLite and PostgreSQL).

Covered: a recruiter's `/shortlist` (ranked page in their DM, the chart uploaded with
files_upload_v2), a viewer pressing reject (denied, nothing changed), a member of another
organization pressing "view answers" (denied and audited), an unsigned command (401), the
reject message reaching the candidate (outbox, then their Slack DM), and the bad input of
the issue: malformed arguments (usage), an unknown job, another organization's job, stale
buttons (withdrawn, erased) and double clicks.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from parley.slack_standin import TEAM_ID, Call, block_actions, posted_message, view_submission
from privacy.access_log import EMPLOYER
from storage.db import Database
from storage.models import (
    AccessLogEntry,
    ApplicationReview,
    EmployerAudit,
    EmployerDecision,
    OutboundMessage,
)
from tests.employers.employer_support import (
    JOB,
    ORG,
    OTHER_ORG,
    make_application,
    make_org_member,
    make_other_org_job,
    set_candidate,
    set_status,
)
from tests.slack.harness_slack import Env, run, slack_env
from tests.web.fake_rasa import FakeRasa

RECRUITER = "U0RECRUITER"
VIEWER = "U0VIEWER"
STRANGER = "U0STRANGER"  # in the organization's workspace, not a member
OUTSIDER = "U0OUTSIDER"  # a member of another organization
OTHER_TEAM = "T0OTHERORG"
CANDIDATE = "U0CANDIDATE9"


def dm(user: str) -> str:
    """The stand-in's DM channel with `user` (conversations.open)."""
    return "D" + user.lstrip("UW")


def seed_members(db: Database) -> None:
    make_org_member(db, ORG, TEAM_ID, RECRUITER, "recruiter")
    make_org_member(db, ORG, TEAM_ID, VIEWER, "viewer")
    make_other_org_job(db)
    make_org_member(db, OTHER_ORG, OTHER_TEAM, OUTSIDER, "recruiter")


def shortlist_posts(env: Env, user: str) -> list[Call]:
    return [
        c
        for c in env.standin.calls_of("chat.postMessage")
        if c.args.get("channel") == dm(user)
        and any(b.get("type") == "header" for b in c.args.get("blocks", []))
    ]


def notes(env: Env, user: str) -> list[str]:
    """The short messages (outcomes, refusals) posted into `user`'s DM."""
    return [
        c.args["blocks"][0]["text"]["text"]
        for c in env.standin.calls_of("chat.postMessage")
        if c.args.get("channel") == dm(user)
        and not any(b.get("type") == "header" for b in c.args.get("blocks", []))
    ]


def row_buttons(call: Call) -> dict[str, dict[str, str]]:
    """Per application reference: action id -> button value, from a shortlist page."""
    out: dict[str, dict[str, str]] = {}
    for block in call.args["blocks"]:
        if block["type"] == "actions" and block["block_id"].startswith("employer_row_"):
            values = {e["action_id"]: e["value"] for e in block["elements"]}
            out[values["employer_view"][:8]] = values
    return out


def ranked_lines(call: Call) -> list[str]:
    return [
        b["text"]["text"]
        for b in call.args["blocks"]
        if b["type"] == "section" and b["text"]["text"].startswith("*")
    ]


async def press(
    env: Env,
    user: str,
    action_id: str,
    value: str,
    *,
    team_id: str = TEAM_ID,
    message: dict[str, Any] | None = None,
    action_ts: str | None = None,
) -> tuple[int, str]:
    payload = block_actions(
        user,
        action_id,
        value,
        team_id=team_id,
        message=message,
        action_ts=action_ts,
    )
    return await env.post(payload)


def audit_rows(db: Database, **where: Any) -> list[EmployerAudit]:
    with db.transaction() as s:
        stmt = select(EmployerAudit).order_by(EmployerAudit.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(EmployerAudit, key) == value)
        rows = list(s.scalars(stmt))
        s.expunge_all()
        return rows


def count(db: Database, model: Any, *conditions: Any) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def test_recruiter_gets_ranked_shortlist_and_chart_in_dm(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    low = make_application(db, score=0.55, name="Lou Low")
    high = make_application(db, score=0.91, name="Hana High")
    mid = make_application(db, score=0.72, name="Mia Mid")
    practice = make_application(db, score=0.99, mode="practice")
    withdrawn = make_application(db, score=0.98, status="withdrawn")
    elsewhere = make_application(db, "other-role", score=0.97)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            status, text = await env.command(RECRUITER, "/shortlist", "test-role top 2")
            assert status == 200
            assert text.startswith("Working on the shortlist for `test-role`")
            assert "direct message" in text
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)))
            (page,) = shortlist_posts(env, RECRUITER)
            blocks = page.args["blocks"]
            assert len(blocks) <= 50
            assert blocks[0]["text"]["text"] == "Shortlist: Test Role"
            lines = ranked_lines(page)
            assert [line.split("`")[1] for line in lines] == [high[:8], mid[:8]]  # top 2
            assert "*91/100*" in lines[0] and "Hana High" in lines[0]
            assert "*72/100*" in lines[1]
            summary = blocks[1]["elements"][0]["text"]
            assert "top 2" in summary and "cut-off 72" in summary and "page 1/1" in summary
            shown = json.dumps(blocks)
            for hidden in (low, practice, withdrawn, elsewhere):
                assert hidden[:8] not in shown
            # Per-question scores with their one-line reasons, and the row's buttons.
            fields = blocks[2]["fields"]
            assert any("*motivation*: 91 — Covers" in f["text"] for f in fields)
            assert set(row_buttons(page)[high[:8]]) == {
                "employer_view",
                "employer_advance",
                "employer_reject",
                "employer_schedule",
                "employer_request_review",
                "employer_resolve_review",
            }
            reject = next(
                e
                for b in blocks
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == "employer_reject"
            )
            assert reject["confirm"]["confirm"]["text"] == "Reject"
            # The chart: a PNG shared into the same DM, never into a channel.
            (chart,) = await env.standin.wait_shared(1)
            assert chart.channel == dm(RECRUITER)
            assert chart.data.startswith(b"\x89PNG\r\n\x1a\n")
            assert chart.filename == "shortlist-test-role.png"
            assert "cut-off 72" in chart.title
            assert not env.standin.calls_of("chat.postEphemeral")

    run(scenario())
    # Each application on the page is in its candidate's access log; the others are not.
    with db.transaction() as s:
        logged = {
            e.resource
            for e in s.scalars(select(AccessLogEntry).where(AccessLogEntry.actor_kind == EMPLOYER))
        }
    assert logged == {f"application:{high}", f"application:{mid}"}
    (row,) = audit_rows(db, action="shortlist")
    assert row.outcome == "allowed" and row.actor == f"slack:{TEAM_ID}:{RECRUITER}"
    assert row.job_slug == JOB


def test_viewer_pressing_reject_is_denied_and_nothing_changes(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.8)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            status, _ = await press(env, VIEWER, "employer_reject", app_id)
            assert status == 200
            await env.settle()
            (note,) = notes(env, VIEWER)
            assert "Viewers can look, not act" in note
            # The review modal is refused the same way (the modal shows why).
            await press(env, VIEWER, "employer_request_review", app_id)
            await env.settle()
            (update,) = env.standin.calls_of("views.update")
            assert "Viewers can look, not act" in json.dumps(update.args["view"])

    run(scenario())
    assert count(db, EmployerDecision) == 0
    assert count(db, OutboundMessage) == 0
    with db.transaction() as s:
        review = s.get(ApplicationReview, app_id)
        assert review is None or review.stage == "new"
    denied = audit_rows(db, outcome="denied")
    assert [r.action for r in denied] == ["reject", "request_review"]
    assert all(r.actor == f"slack:{TEAM_ID}:{VIEWER}" for r in denied)


def test_other_organization_cannot_view_answers_and_is_logged(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.8, name="Private Person")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            status, _ = await press(env, OUTSIDER, "employer_view", app_id, team_id=OTHER_TEAM)
            assert status == 200
            await env.settle()
            (opened,) = env.standin.calls_of("views.open")
            (update,) = env.standin.calls_of("views.update")
            assert update.args["view_id"] == opened.response["view"]["id"]
            shown = json.dumps(update.args["view"])
            assert "not one you can see" in shown
            assert "Private Person" not in shown and "I enjoy" not in shown
            # A person of the organization's workspace who is no member: told whom to ask.
            await press(env, STRANGER, "employer_view", app_id)
            await env.settle()
            last = env.standin.calls_of("views.update")[-1]
            assert "not a member of Test Organization" in json.dumps(last.args["view"])
            # And their /shortlist is refused the same way, by DM.
            await env.command(STRANGER, "/shortlist", "test-role")
            await env.settle()
            assert any("not a member of Test Organization" in n for n in notes(env, STRANGER))
            assert not shortlist_posts(env, STRANGER)

    run(scenario())
    assert count(db, AccessLogEntry) == 0
    outsider = audit_rows(db, actor=f"slack:{OTHER_TEAM}:{OUTSIDER}")
    assert [(r.action, r.outcome) for r in outsider] == [("view_answers", "denied")]
    assert outsider[0].organization_id is not None  # their own organization
    stranger = audit_rows(db, actor=f"slack:{TEAM_ID}:{STRANGER}")
    assert [(r.action, r.outcome) for r in stranger] == [
        ("view_answers", "denied"),
        ("shortlist", "denied"),
    ]


def test_unsigned_and_forged_commands_are_refused(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    make_application(db, score=0.8)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            assert (await env.command(RECRUITER, "/shortlist", JOB, headers={}))[0] == 401
            forged = await env.command(RECRUITER, "/shortlist", JOB, secret="not-the-secret")
            assert forged[0] == 401
            stale = await env.command(
                RECRUITER, "/shortlist", JOB, timestamp=int(time.time()) - 600
            )
            assert stale[0] == 401
            await env.settle()
            assert env.standin.calls == [c for c in env.standin.calls if c.method == "auth.test"]

    run(scenario())
    assert audit_rows(db) == []
    assert count(db, AccessLogEntry) == 0


def test_reject_message_reaches_the_candidate(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    on_slack = make_application(db, score=0.6, sender=f"slack:{TEAM_ID}:{CANDIDATE}")
    on_web = make_application(db, score=0.5, sender="web:reject-me-000001")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            await press(env, RECRUITER, "employer_reject", on_slack)
            await press(env, RECRUITER, "employer_reject", on_web)
            await env.settle()
            outcomes = notes(env, RECRUITER)
            assert len(outcomes) == 2
            assert all(n.startswith("✅ Rejected application") for n in outcomes)
            # The gateway's outbox delivers the Slack candidate's message into their DM.
            await env.standin.wait_for(lambda: bool(env.standin.posted(dm(CANDIDATE))))
            (text,) = env.standin.posted(dm(CANDIDATE))
            assert "Thank you for applying for Test Role at Test Organization" in text
            assert "/review" in text and "/mydata" in text

    run(scenario())
    with db.transaction() as s:
        rows = {m.sender_id: m for m in s.scalars(select(OutboundMessage))}
        assert set(rows) == {f"slack:{TEAM_ID}:{CANDIDATE}", "web:reject-me-000001"}
        assert rows[f"slack:{TEAM_ID}:{CANDIDATE}"].sent_at is not None
        assert all(m.kind == "employer_rejection" for m in rows.values())
        assert "Thank you for applying" in rows["web:reject-me-000001"].text
        assert "/100" not in rows["web:reject-me-000001"].text  # never a score
        stages = {r.application_id: r.stage for r in s.scalars(select(ApplicationReview))}
    assert stages == {on_slack: "rejected", on_web: "rejected"}


def test_malformed_arguments_show_usage_in_the_ack(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            for text in ["", "test-role top many", "test-role min 250", "<!channel> x" * 40]:
                status, body = await env.command(RECRUITER, "/shortlist", text)
                assert status == 200
                assert "/shortlist <job>" in body, body
                assert "<!channel>" not in body
            await env.settle()
            assert not shortlist_posts(env, RECRUITER)
            assert not env.standin.calls_of("chat.postMessage")

    run(scenario())
    invalid = audit_rows(db, outcome="invalid")
    assert len(invalid) == 4 and {r.detail for r in invalid} == {"usage"}


def test_unknown_job_and_another_organizations_job(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    make_application(db, "other-role", score=0.9)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            for n, job in enumerate(("no-such-job", "other-role"), 1):
                status, body = await env.command(RECRUITER, "/shortlist", job)
                assert status == 200 and body.startswith("Working on the shortlist")
                await env.standin.wait_for(lambda n=n: len(notes(env, RECRUITER)) == n)
            await env.settle()
            unknown, other = notes(env, RECRUITER)
            assert "No job `no-such-job` in Test Organization" in unknown
            assert "No job `other-role` in Test Organization" in other  # the same answer
            assert "test-role" in other
            assert not shortlist_posts(env, RECRUITER)
            assert not env.standin.shared_files()

    run(scenario())
    assert count(db, AccessLogEntry) == 0
    assert [(r.job_slug, r.outcome) for r in audit_rows(db, action="shortlist")] == [
        ("no-such-job", "invalid"),
        ("other-role", "invalid"),
    ]


def test_stale_buttons_change_nothing(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    withdrawn = make_application(db, score=0.8)
    erased = make_application(db, score=0.7)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            await env.command(RECRUITER, "/shortlist", JOB)
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)))
            buttons = row_buttons(shortlist_posts(env, RECRUITER)[0])
            # Since the shortlist was posted, one withdrew and one asked for deletion.
            set_status(db, withdrawn, "withdrawn")
            set_candidate(db, erased, erased_at=datetime.now(UTC))
            await press(
                env, RECRUITER, "employer_advance", buttons[withdrawn[:8]]["employer_advance"]
            )
            await press(env, RECRUITER, "employer_reject", buttons[erased[:8]]["employer_reject"])
            await press(env, RECRUITER, "employer_view", buttons[erased[:8]]["employer_view"])
            await env.settle()
            assert [n.split(" (")[0] for n in notes(env, RECRUITER)] == [
                "⚠ This candidate is no longer in the process",
                "⚠ This candidate is no longer in the process",
            ]
            (update,) = env.standin.calls_of("views.update")
            assert "withdrawn or been deleted" in json.dumps(update.args["view"])

    run(scenario())
    assert count(db, EmployerDecision) == 0
    assert count(db, OutboundMessage) == 0


def test_double_click_decides_once(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.8)
    other = make_application(db, score=0.7, sender=f"slack:{TEAM_ID}:{CANDIDATE}")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            now = time.time()
            # Two presses at once (two action_ts), and Slack delivering one of them twice.
            results = await asyncio.gather(
                press(env, RECRUITER, "employer_advance", app_id, action_ts=f"{now:.6f}"),
                press(env, RECRUITER, "employer_advance", app_id, action_ts=f"{now + 0.1:.6f}"),
                press(env, RECRUITER, "employer_advance", app_id, action_ts=f"{now + 0.1:.6f}"),
            )
            assert [r[0] for r in results] == [200, 200, 200]
            await env.settle()
            assert sorted(notes(env, RECRUITER)) == [
                f"✅ Advanced application `{app_id[:8]}` (Test Role).",
                f"✅ Already advanced: application `{app_id[:8]}`.",
            ]
            # A double click on reject: one decision, one message to the candidate.
            await asyncio.gather(
                press(env, RECRUITER, "employer_reject", other, action_ts=f"{now + 1:.6f}"),
                press(env, RECRUITER, "employer_reject", other, action_ts=f"{now + 2:.6f}"),
            )
            await env.settle()
            await env.standin.wait_for(lambda: bool(env.standin.posted(dm(CANDIDATE))))
            await asyncio.sleep(0.3)  # a second delivery would have come by now
            assert len(env.standin.posted(dm(CANDIDATE))) == 1

    run(scenario())
    with db.transaction() as s:
        kinds = sorted(
            (d.application_id == app_id, d.kind) for d in s.scalars(select(EmployerDecision))
        )
    assert kinds == [(False, "rejected"), (True, "advanced")]
    assert count(db, OutboundMessage) == 1


def test_view_answers_opens_modal_and_is_access_logged(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.8, name="Vera Visible")

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            await press(env, VIEWER, "employer_view", app_id)
            await env.settle()
            (opened,) = env.standin.calls_of("views.open")
            assert opened.args["view"]["callback_id"] == "employer_answers"
            (update,) = env.standin.calls_of("views.update")
            view = update.args["view"]
            assert len(view["blocks"]) <= 100
            shown = json.dumps(view)
            assert "Why do you want this job?" in shown
            assert "I enjoy this kind of work" in shown
            assert "80/100" in shown and app_id[:8] in shown

    run(scenario())
    with db.transaction() as s:
        (entry,) = s.scalars(select(AccessLogEntry))
        assert entry.resource == f"application:{app_id}"
        assert entry.actor == f"slack:{TEAM_ID}:{VIEWER}" and entry.action == "viewed your answers"
    assert [r.outcome for r in audit_rows(db, action="view_answers")] == ["allowed"]


def test_request_then_resolve_review_with_override(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    app_id = make_application(db, score=0.6)

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            await press(env, RECRUITER, "employer_request_review", app_id)
            await env.settle()
            (opened,) = env.standin.calls_of("views.open")
            view = env.standin.views[opened.response["view"]["id"]]
            assert view["callback_id"] == "employer_request_review"
            # No reason: the modal shows the error and stays open.
            status, body = await env.post(view_submission(RECRUITER, view, {"reason": "   "}))
            assert status == 200
            assert json.loads(body) == {
                "response_action": "errors",
                "errors": {"reason": "Please give a reason."},
            }
            status, body = await env.post(
                view_submission(RECRUITER, view, {"reason": "The motivation answer looks cut off."})
            )
            assert status == 200 and body == ""
            await env.settle()
            assert notes(env, RECRUITER)[-1].startswith("✅")
            # While the review is open, reject is refused.
            await press(env, RECRUITER, "employer_reject", app_id)
            await env.settle()
            assert "human review is open" in notes(env, RECRUITER)[-1].lower()
            # Resolve it, overriding the AI score.
            await press(env, RECRUITER, "employer_resolve_review", app_id)
            await env.settle()
            opened = env.standin.calls_of("views.open")[-1]
            view = env.standin.views[opened.response["view"]["id"]]
            answers = {"resolution": "Read it myself: strong answer.", "score": "abc"}
            status, body = await env.post(view_submission(RECRUITER, view, answers))
            assert json.loads(body)["errors"] == {
                "score": "A whole number from 0 to 100, or leave it empty."
            }
            answers["score"] = "85"
            status, body = await env.post(view_submission(RECRUITER, view, answers))
            assert status == 200 and body == ""
            await env.settle()
            assert notes(env, RECRUITER)[-1].startswith("✅")

    run(scenario())
    with db.transaction() as s:
        review = s.get(ApplicationReview, app_id)
        assert review is not None and review.override_score == 0.85
        assert review.override_by == f"slack:{TEAM_ID}:{RECRUITER}"
        kinds = [d.kind for d in s.scalars(select(EmployerDecision).order_by(EmployerDecision.id))]
    assert "review_requested" in kinds and "score_override" in kinds


def test_pages_are_replaced_in_place(db: Database, rasa: FakeRasa) -> None:
    seed_members(db)
    ids = [make_application(db, score=0.3 + i * 0.05) for i in range(10)]

    async def scenario() -> None:
        async with slack_env(rasa, db=db) as env:
            await env.command(RECRUITER, "/shortlist", JOB)
            await env.standin.wait_for(lambda: bool(shortlist_posts(env, RECRUITER)))
            (page,) = shortlist_posts(env, RECRUITER)
            assert len(ranked_lines(page)) == 8
            nav = page.args["blocks"][-1]
            assert [e["action_id"] for e in nav["elements"]] == ["employer_page_next"]
            await press(
                env,
                RECRUITER,
                "employer_page_next",
                nav["elements"][0]["value"],
                message=posted_message(page),
            )
            await env.settle()
            (update,) = env.standin.calls_of("chat.update")
            assert update.args["ts"] == page.response["ts"]
            lines = [b["text"]["text"] for b in update.args["blocks"] if b["type"] == "section"]
            assert [line.split("`")[1] for line in lines] == [ids[1][:8], ids[0][:8]]
            assert "page 2/2" in update.args["blocks"][1]["elements"][0]["text"]
            # A forged page value is refused.
            await press(env, RECRUITER, "employer_page_next", '{"job": "../x", "page": 1}')
            await env.settle()
            assert "not valid" in notes(env, RECRUITER)[-1]
            assert len(env.standin.shared_files()) == 1  # the chart came with the command only

    run(scenario())
