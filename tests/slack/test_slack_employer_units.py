"""Units of the employer side of the Slack app: the canonical form of slash commands, modal
submissions and employer buttons, and Block Kit within Slack's limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack import payloads
from bot.slack.app import _parse
from bot.slack.employer import render
from employers.shortlist import ShortlistQuery
from parley.slack_standin import TEAM_ID, block_actions, slash_command, view_submission


def test_slash_commands_in_canonical_form() -> None:
    fields = slash_command("U0ABC", "/shortlist", "test-role top 5")
    clean = payloads.canonical(fields)
    assert clean == {
        "command": "/shortlist",
        "text": "test-role top 5",
        "team_id": TEAM_ID,
        "user_id": "U0ABC",
        "trigger_id": fields["trigger_id"],
        "channel_id": "D0ABC",
        "api_app_id": fields["api_app_id"],
    }
    assert payloads.dedupe_key(clean) == "command:" + fields["trigger_id"]
    admin = payloads.canonical(slash_command("U0ABC", "/parley-admin", "members"))
    assert admin is not None and admin["command"] == "/parley-admin"
    # Only Parley's commands, well-formed ids, a trigger id; over-long text reads as empty.
    assert payloads.canonical(slash_command("U0ABC", "/other", "x")) is None
    assert payloads.canonical({**fields, "team_id": "nope"}) is None
    assert payloads.canonical({**fields, "user_id": ["U0ABC"]}) is None
    assert payloads.canonical({k: v for k, v in fields.items() if k != "trigger_id"}) is None
    huge = payloads.canonical({**fields, "text": "x" * 5000})
    assert huge is not None and huge["text"] == ""
    assert payloads.canonical({**fields, "type": "block_actions"}) is None


def test_form_bodies_parse_to_commands_or_payloads() -> None:
    form = "command=%2Fshortlist&text=test-role+top+3&team_id=T0A&user_id=U0B&trigger_id=1.2"
    assert _parse(form.encode(), "application/x-www-form-urlencoded") == {
        "command": "/shortlist",
        "text": "test-role top 3",
        "team_id": "T0A",
        "user_id": "U0B",
        "trigger_id": "1.2",
    }
    interactive = "payload=" + json.dumps({"type": "block_actions"})
    assert _parse(interactive.encode(), "application/x-www-form-urlencoded") == {
        "type": "block_actions"
    }
    with pytest.raises(ValueError):
        _parse(b"nothing=here", "application/x-www-form-urlencoded")
    with pytest.raises(ValueError):  # more fields than any Slack request has
        _parse("&".join(f"f{i}=1" for i in range(40)).encode(), "application/x-www-form-urlencoded")


def _modal() -> dict[str, Any]:
    view = render.resolve_review_view("a" * 32, "aaaaaaaa", "D0ABC")
    return {**view, "id": "V0MODAL1", "hash": "1700000000.abc"}


def test_view_submissions_in_canonical_form() -> None:
    body = view_submission("U0ABC", _modal(), {"resolution": "Fine.", "score": "70"})
    clean = payloads.canonical(body)
    assert clean is not None
    assert clean["view"]["callback_id"] == "employer_resolve_review"
    assert clean["view"]["state"]["values"] == {
        "resolution": {"resolution": {"type": "plain_text_input", "value": "Fine."}},
        "score": {"score": {"type": "plain_text_input", "value": "70"}},
    }
    assert render.parse_metadata(clean["view"]["private_metadata"]) == ("a" * 32, "D0ABC")
    assert payloads.dedupe_key(clean) == f"view:V0MODAL1:{body['trigger_id']}"
    assert "blocks" not in clean["view"]  # what bolt sees is only what we read
    # Someone else's modal, other input types, odd shapes: dropped.
    assert payloads.canonical({**body, "view": {**body["view"], "callback_id": "x"}}) is None
    select = {"score": {"score": {"type": "static_select", "selected_option": {}}}}
    assert (
        payloads.canonical({**body, "view": {**body["view"], "state": {"values": select}}}) is None
    )
    assert payloads.canonical({**body, "view": {**body["view"], "state": []}}) is None
    assert payloads.canonical({**body, "view": {**body["view"], "id": 5}}) is None
    long_value = {"resolution": {"resolution": {"type": "plain_text_input", "value": "x" * 4000}}}
    odd = {**body, "view": {**body["view"], "state": {"values": long_value}}}
    assert payloads.canonical(odd) is None
    assert render.parse_metadata('{"a": "../../etc", "c": null}') is None
    assert render.parse_metadata('{"a": "abc", "c": "C<!here>"}') is None
    assert render.parse_metadata("not json") is None


def test_employer_buttons_pass_other_ids_do_not() -> None:
    press = block_actions("U0ABC", "employer_advance", "a" * 32)
    clean = payloads.canonical(press)
    assert clean is not None and clean["actions"][0]["action_id"] == "employer_advance"
    for action_id in ("employer_", "employer_ADVANCE", "employer_x1", "employer_" + "a" * 31):
        assert payloads.canonical(block_actions("U0ABC", action_id, "x")) is None


def _row(rank: int, **extra: Any) -> dict[str, Any]:
    row = {
        "rank": rank,
        "application_id": f"{rank:032x}",
        "ref": f"{rank:08x}",
        "name": "<!channel> & <@U1>",
        "score": 90 - rank,
        "ai_score": 88 - rank,
        "overridden": rank == 1,
        "override_by": "slack:T1:U1" if rank == 1 else None,
        "knocked_out": False,
        "knocked_out_by": None,
        "questions": [
            {
                "question_id": f"q{n}",
                "prompt": "?",
                "score": 70,
                "status": "scored",
                "summary": "x" * 500,
                "needs_review": n == 0,
            }
            for n in range(12)
        ],
        "insufficient_data": True,
        "needs_review": True,
        "open_reviews": ["decision_review"],
        "ai_opt_out": False,
        "interview_status": "completed",
        "stage": "new",
        "booking": {
            "starts_at": "2026-11-24T09:00:00+00:00",
            "interviewer": "Anna",
            "status": "booked",
        },
        "finished_at": "2026-11-23T08:00:00+00:00",
        "channel": "web",
    }
    row.update(extra)
    return row


def _shortlist(rows: int, page: int = 2, pages: int = 3) -> dict[str, Any]:
    return {
        "job_slug": "test-role",
        "job_title": "Test Role",
        "org_name": "Test Organization",
        "query": ShortlistQuery(job="test-role", min_score=60),
        "total": 40,
        "page": page,
        "pages": pages,
        "rows": [_row(n + 1) for n in range(rows)],
        "cutoff": 60,
        "scores": [],
    }


def test_shortlist_page_stays_within_slack_limits_and_escapes() -> None:
    shortlist = _shortlist(30)
    blocks = render.shortlist_blocks(shortlist)
    assert len(blocks) <= 50
    rows = [b for b in blocks if b.get("block_id", "").startswith("employer_row_")]
    assert len(rows) == render.ROWS_PER_PAGE
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "<@U1>" not in text and "&lt;!channel&gt;" in text
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "actions":
            assert all(len(e["value"]) <= 2000 for e in block["elements"])
    first = blocks[2]["text"]["text"]
    assert "⚠ insufficient data" in first and "🔎 review open" in first
    assert "set by a person" in first and "AI 87/100" in first
    nav = blocks[-1]
    assert [e["action_id"] for e in nav["elements"]] == ["employer_page_prev", "employer_page_next"]
    assert [json.loads(e["value"])["page"] for e in nav["elements"]] == [1, 3]
    assert "min score 60" in blocks[1]["elements"][0]["text"]
    assert "cut-off 60" in blocks[1]["elements"][0]["text"]
    assert "<!channel>" not in render.fallback_text(shortlist)


def test_job_match_is_shown_with_its_reasons_escaped() -> None:
    shortlist = _shortlist(2, page=1, pages=1)
    shortlist["rows"][0].update(
        job_match=76, job_match_reasons=["You mention 4 of 5 skills", "<!here> 6 years"]
    )
    text = json.dumps(render.shortlist_blocks(shortlist))
    assert "Job match 76% (You mention 4 of 5 skills; &lt;!here&gt; 6 years)" in text
    assert text.count("Job match") == 1  # the second row has none: nothing is shown


def test_empty_shortlist_says_so() -> None:
    shortlist = _shortlist(0, page=1, pages=1)
    blocks = render.shortlist_blocks(shortlist)
    assert "No candidates match" in json.dumps(blocks)
    assert not any(b["type"] == "actions" for b in blocks)


def test_answers_modal_within_limits() -> None:
    long_answer = "word " * 2000
    data = {
        "job_title": "Test Role",
        "ref": "abcdef12",
        "name": "<b>Name</b>",
        "score": 72,
        "ai_score": 70,
        "questions": [
            {
                "question_id": f"q{n}",
                "prompt": f"Question {n}?",
                "kind": "free_text",
                "answer": long_answer if n == 0 else "short <!here>",
                "answer_source": "transcript" if n == 1 else "text",
                "score": 60,
                "summary": "Covers 2 of 3 key points.",
                "key_points_covered": [{"point": "team"}],
                "key_points_missing": [{"point": "growth"}],
                "needs_review": n == 2,
            }
            for n in range(60)
        ],
        "open_reviews": [{"reason": "employer_review"}],
        "decisions": [{"kind": "review_requested", "actor": "slack:T:U", "created_at": None}],
    }
    view = render.answers_view(data)
    assert len(view["blocks"]) <= 100
    assert len(view["title"]["text"]) <= 24
    text = json.dumps(view)
    assert "more questions not shown here" in text
    assert "clipped:" in text and "Transcript of the voice answer" in text
    assert "<!here>" not in text and "&lt;b&gt;Name" in text
    assert "covered: team" in text and "missing: growth" in text
    assert "Open reviews" in text and "review_requested" in text
    for block in view["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_review_modals_carry_the_application_and_inputs() -> None:
    view = render.request_review_view("b" * 32, "bbbbbbbb", None)
    assert view["callback_id"] == "employer_request_review"
    assert render.parse_metadata(view["private_metadata"]) == ("b" * 32, None)
    (reason,) = [b for b in view["blocks"] if b["type"] == "input"]
    assert reason["block_id"] == reason["element"]["action_id"] == "reason"
    assert reason["optional"] is False and reason["element"]["max_length"] == 1000
    resolve = render.resolve_review_view("b" * 32, "bbbbbbbb", "D0ABC")
    inputs = {b["block_id"]: b["optional"] for b in resolve["blocks"] if b["type"] == "input"}
    assert inputs == {"resolution": False, "score": True}
