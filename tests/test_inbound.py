"""What gateways send to Rasa for what a person typed (bot/inbound.py)."""

from __future__ import annotations

import json

import pytest

from bot.inbound import COMMANDS_HELP, MAX_MESSAGE_CHARS, prepare, start_payload


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


@pytest.mark.parametrize(
    ("raw", "sent"),
    [
        ("/mydata", "/privacy_view"),
        ("/privacy", "/privacy_view"),
        ("/export", "/privacy_export"),
        ("/export please now", "/privacy_export"),  # no argument: extra words dropped
        ("/delete", "/privacy_delete_all"),
        ("/delete everything", "/privacy_delete_all"),
        ("/delete 3", '/privacy_delete_answer{"privacy_arg":"3"}'),
        ("/delete_answer question 3", '/privacy_delete_answer{"privacy_arg":"3"}'),
        ("/delete_recordings", '/privacy_delete_answer{"privacy_arg":"recordings"}'),
        ("/optout", "/privacy_opt_out"),
        ("/OPTIN", "/privacy_opt_in"),
        ("/review", "/privacy_review"),
        (
            "/review I was   rejected\tunfairly",
            '/privacy_review{"privacy_arg":"I was rejected unfairly"}',
        ),
        ("/correct 3 Five years", '/privacy_correct{"privacy_arg":"3 Five years"}'),
        (
            "/dispute 2 it missed my licence",
            '/privacy_correct{"privacy_arg":"dispute 2 it missed my licence"}',
        ),
        ("/withdraw_consent", "/privacy_withdraw_consent"),
        ("/withdraw", "/withdraw"),  # still the application's withdraw
        ("/viewed", "/privacy_access_log"),
        ("/notices", "/privacy_notices"),
        ("/settings", "/privacy_settings"),
        ("/settings recordings on", '/privacy_settings{"privacy_arg":"recordings on"}'),
        ("/settings visibility applied", '/privacy_settings{"privacy_arg":"visibility applied"}'),
        (
            "/contact email jane@example.com",
            '/privacy_contact{"privacy_arg":"email jane@example.com"}',
        ),
        ("/verify 123 456", '/privacy_contact{"privacy_arg":"verify 123456"}'),
        ("/export@ParleyBot", "/privacy_export"),
        (
            '/privacy_settings{"privacy_arg":"retention 6"}',
            '/privacy_settings{"privacy_arg":"retention 6"}',
        ),
        ("/review he said\x00 \x07no", '/privacy_review{"privacy_arg":"he said no"}'),
        (
            '/review <script>alert("x")</script>',
            '/privacy_review{"privacy_arg":"<script>alert(\\"x\\")</script>"}',
        ),
    ],
)
def test_privacy_commands_become_payloads(raw: str, sent: str) -> None:
    prepared = prepare(raw)
    assert prepared.reply is None, prepared.reply
    assert prepared.text == sent
    if "{" in sent:
        assert json.loads(sent[sent.index("{") :])["privacy_arg"]


@pytest.mark.parametrize(
    ("raw", "reply_contains"),
    [
        ("/delete_answer the shifts one", "question number"),
        ("/delete whatever you like", "question number"),
        ("/correct ??? x", "/correct"),
        ("/settings recordings maybe", "Settings you can change"),
        ("/settings retention 36", "Settings you can change"),
        ("/contact pigeon 123", "/contact email"),
        ("/contact email jane@", "/contact email"),
        ("/verify", "/verify"),
        ("/verify 12ab56", "/verify"),
        ("/review " + "x" * 2_001, "too long"),
        ("/privacy_export{broken", "broken"),
        ('/privacy_review{"privacy_arg": 5}', "broken"),
    ],
)
def test_malformed_privacy_arguments_are_answered_without_rasa(
    raw: str, reply_contains: str
) -> None:
    prepared = prepare(raw)
    assert prepared.text is None
    assert reply_contains in (prepared.reply or "")


@pytest.mark.parametrize(
    "raw",
    [
        "I deleted the old data and exported reports",
        "delete my data",  # natural language goes to Rasa as typed; the action server decides
        "I want to export goods to Germany",
    ],
)
def test_plain_text_mentioning_privacy_is_sent_as_typed(raw: str) -> None:
    assert prepare(raw).text == raw


def test_help_lists_the_privacy_commands() -> None:
    assert "/mydata" in COMMANDS_HELP and "/delete_answer" in COMMANDS_HELP
    assert "/mydata" in prepare("/nonsense").reply  # type: ignore[operator]
