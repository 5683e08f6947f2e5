"""What gateways send to Rasa for what a person typed (bot/inbound.py)."""

from __future__ import annotations

import json

import pytest

from bot.inbound import MAX_MESSAGE_CHARS, prepare, start_payload


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("hello", "hello"),
        ("  five years \n", "five years"),
        ("/repeat", "/repeat_question"),
        ("/back", "/go_back"),
        ("/skip", "/skip_question"),
        ("/PAUSE", "/pause"),
        ("/human", "/human_handoff"),
        ("/jobs", "/list_jobs"),
        ("/start", "/start"),
        ("/start job=backend-engineer", '/start{"job_id":"backend-engineer"}'),
        ("/start job_backend-engineer", '/start{"job_id":"backend-engineer"}'),
        ("/start backend-engineer", '/start{"job_id":"backend-engineer"}'),
        ('/start{"job_id":"test-role"}', '/start{"job_id":"test-role"}'),
        ("/start@ParleyBot job=x1", '/start{"job_id":"x1"}'),
        ("/ 5 years", "5 years"),
        ("/practice", "/practice"),
        ("/practise", "/practice"),
        ("/practice test-role", '/practice{"practice_ref":"test-role"}'),
        ("/practice  backend   engineer ", '/practice{"practice_ref":"backend engineer"}'),
        ("/practice delete", '/practice{"practice_ref":"delete"}'),
        ('/practice{"practice_ref":"test-role"}', '/practice{"practice_ref":"test-role"}'),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("a\x00b\x07c", "abc"),
    ],
)
def test_prepare_sends(raw: str, sent: str) -> None:
    assert prepare(raw).text == sent
    assert prepare(raw).reply is None


@pytest.mark.parametrize(
    ("raw", "reply_contains"),
    [
        ("", "didn't receive any text"),
        ("   \n\t ", "didn't receive any text"),
        (None, "didn't receive any text"),
        ("/restart", "don't know the command /restart"),
        ("/session_start", "don't know the command"),
        ("/start job=../../etc", "broken"),
        ('/start{"job_id": 5}', "broken"),
        ("/start {not json", "broken"),
        ("x" * (MAX_MESSAGE_CHARS + 1), "too long"),
        ("//", "Commands:"),
        ("/practice <script>alert(1)</script>", "doesn't look like a job name"),
        ("/practice {not json", "doesn't look like a job name"),
        ('/practice{"practice_ref": 5}', "doesn't look like a job name"),
        ("/practice " + "x" * 200, "doesn't look like a job name"),
    ],
)
def test_prepare_replies_without_calling_rasa(raw: str | None, reply_contains: str) -> None:
    prepared = prepare(raw)
    assert prepared.text is None
    assert reply_contains in (prepared.reply or "")


def test_ten_thousand_characters_pass_intact() -> None:
    text = "word " * 2000
    assert prepare(text).text == text.strip()


def test_start_payload_is_valid_rasa_json() -> None:
    payload = start_payload('we"ird')
    assert json.loads(payload[len("/start") :]) == {"job_id": 'we"ird'}
    assert start_payload(None) == "/start"
