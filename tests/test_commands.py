"""When a message counts as a command (screening/commands.py)."""

from __future__ import annotations

import pytest

from screening.commands import (
    Command,
    MessageNlu,
    PrivacyArgs,
    PrivacyCommand,
    explicit_command,
    explicit_privacy,
    parse_privacy,
    practice_argument,
    practice_payload,
    privacy_argument,
    privacy_payload,
    recognise_command,
    recognise_privacy,
    wants_practice_delete,
)


@pytest.mark.parametrize(
    ("text", "intent", "conf", "expected"),
    [
        ("/go_back", None, 0.0, Command.BACK),
        ("/repeat", None, 0.0, Command.REPEAT),
        ("repeat the question please", "repeat_question", 0.9, Command.REPEAT),
        ("go back", "go_back", 0.8, Command.BACK),
        ("can we continue later?", "pause", 0.9, Command.PAUSE),
        ("I want to talk to a human", "human_handoff", 0.95, Command.HUMAN),
        ("skip", "skip_question", 0.7, Command.SKIP),
        ("withdraw my application", "withdraw", 0.9, Command.WITHDRAW),
        # Answers that merely resemble commands stay answers:
        ("I'd rather stop by later and explain", "pause", 0.97, None),
        (
            "I usually skip breakfast and start very early in the morning",
            "skip_question",
            0.9,
            None,
        ),
        ("I go back to the customer and explain what happened", "go_back", 0.9, None),
        ("later", "pause", 0.9, None),  # no cue phrase: ambiguous, so an answer
        ("pause", "pause", 0.3, None),  # NLU unsure
        ("help", "greet", 0.9, None),  # NLU disagrees
        ("", "help", 0.99, None),
        ("/practice", None, 0.0, Command.PRACTICE),
        ('/practice{"practice_ref":"delete"}', None, 0.0, Command.PRACTICE),
        ("delete my practice runs", "practice", 0.9, Command.PRACTICE),
        # Practising in words is an answer during an interview ("I practise every day").
        ("I practise the guitar every day", "practice", 0.9, None),
        ("I want to practice", "practice", 0.95, None),
    ],
)
def test_recognise_command(text: str, intent: str | None, conf: float, expected: object) -> None:
    assert recognise_command(text, MessageNlu(intent, conf)) == expected


def test_unknown_slash_is_not_a_command() -> None:
    assert explicit_command("/restart") is None
    assert explicit_command("/start") is None
    assert explicit_command("not /back") is None


@pytest.mark.parametrize(
    ("text", "argument", "delete"),
    [
        ("/practice", None, False),
        ("/practice backend engineer", "backend engineer", False),
        ('/practice{"practice_ref":"test-role"}', "test-role", False),
        ('/practice{"practice_ref":"delete"}', "delete", True),
        ("/practise delete them all", "delete them all", True),
        ('/practice{"practice_ref": 5}', None, False),
        ("/practice {broken", None, False),
        ("please delete my practice runs", None, True),
        ("I want to practice", None, False),
        ("delete my application", None, False),
    ],
)
def test_practice_argument_and_delete(text: str, argument: str | None, delete: bool) -> None:
    assert practice_argument(text) == argument
    assert wants_practice_delete(text, argument) is delete


def test_practice_payload() -> None:
    assert practice_payload() == "/practice"
    assert practice_payload('we"ird') == '/practice{"practice_ref":"we\\"ird"}'


# ---------------------------------------------------------------------------- privacy commands
@pytest.mark.parametrize(
    ("text", "intent", "conf", "expected"),
    [
        ("/mydata", None, 0.0, PrivacyCommand.VIEW),
        ("/export", None, 0.0, PrivacyCommand.EXPORT),
        ("/delete", None, 0.0, PrivacyCommand.DELETE_ALL),
        ('/privacy_delete_answer{"privacy_arg":"3"}', None, 0.0, PrivacyCommand.DELETE_ANSWER),
        ("/withdraw_consent", None, 0.0, PrivacyCommand.WITHDRAW_CONSENT),
        ("/verify 123456", None, 0.0, PrivacyCommand.CONTACT),
        ("what data do you have on me?", "privacy_view", 0.95, PrivacyCommand.VIEW),
        ("delete my data", "privacy_delete_all", 0.9, PrivacyCommand.DELETE_ALL),
        ("please delete everything", "privacy_delete_all", 0.9, PrivacyCommand.DELETE_ALL),
        ("export my data", "privacy_export", 0.9, PrivacyCommand.EXPORT),
        ("opt out of AI", "privacy_opt_out", 0.9, PrivacyCommand.OPT_OUT),
        ("opt back in", "privacy_opt_in", 0.9, PrivacyCommand.OPT_IN),
        ("I want a human to review", "privacy_review", 0.9, PrivacyCommand.REVIEW),
        ("which employers viewed my profile", "privacy_access_log", 0.9, PrivacyCommand.ACCESS_LOG),
        ("withdraw my consent", "privacy_withdraw_consent", 0.9, PrivacyCommand.WITHDRAW_CONSENT),
        # The NLU may say "withdraw": "withdraw my consent" is still the consent one.
        ("withdraw my consent", "withdraw", 0.9, PrivacyCommand.WITHDRAW_CONSENT),
        # Answers that merely mention deleting or exporting stay answers:
        ("I deleted the old data and exported reports", "privacy_export", 0.9, None),
        ("I deleted the old data and exported reports", "privacy_delete_all", 0.9, None),
        (
            "In my last job I had to delete old customer data every month by hand",
            "privacy_delete_all",
            0.9,
            None,
        ),
        ("I review code", "privacy_review", 0.9, None),  # no cue phrase
        ("delete my data", "privacy_delete_all", 0.4, None),  # NLU unsure
        ("delete my practice runs", "privacy_delete_all", 0.9, None),  # the practice command
        ("delete my data", "inform", 0.9, None),  # NLU disagrees
        ("", "privacy_view", 0.99, None),
        ("/repeat", "privacy_view", 0.99, None),
    ],
)
def test_recognise_privacy(text: str, intent: str | None, conf: float, expected: object) -> None:
    assert recognise_privacy(text, MessageNlu(intent, conf)) == expected


def test_withdraw_my_consent_is_not_the_application_withdraw() -> None:
    assert recognise_command("withdraw my consent", MessageNlu("withdraw", 0.9)) is None
    assert recognise_command("withdraw", MessageNlu("withdraw", 0.9)) == Command.WITHDRAW


@pytest.mark.parametrize(
    ("text", "command", "argument"),
    [
        ("/mydata", PrivacyCommand.VIEW, None),
        ("/delete_answer 3", PrivacyCommand.DELETE_ANSWER, "3"),
        ("/delete_recordings", PrivacyCommand.DELETE_ANSWER, "recordings"),
        (
            "/dispute 2 it missed my licence",
            PrivacyCommand.CORRECT,
            "dispute 2 it missed my licence",
        ),
        ("/verify 123456", PrivacyCommand.CONTACT, "verify 123456"),
        ('/privacy_review{"privacy_arg":"my \\"view\\""}', PrivacyCommand.REVIEW, 'my "view"'),
        ("/privacy_review{broken", PrivacyCommand.REVIEW, None),
        ('/privacy_review{"privacy_arg": 5}', PrivacyCommand.REVIEW, None),
    ],
)
def test_explicit_privacy(text: str, command: PrivacyCommand, argument: str | None) -> None:
    assert explicit_privacy(text) == (command, argument)
    assert privacy_argument(text) == argument


def test_not_privacy_commands() -> None:
    assert explicit_privacy("/repeat") is None
    assert explicit_privacy("delete my data") is None
    assert explicit_privacy("/restart") is None


@pytest.mark.parametrize(
    ("command", "argument", "parsed"),
    [
        (PrivacyCommand.DELETE_ALL, None, PrivacyArgs(PrivacyCommand.DELETE_ALL)),
        (PrivacyCommand.DELETE_ALL, "everything", PrivacyArgs(PrivacyCommand.DELETE_ALL)),
        (PrivacyCommand.DELETE_ALL, "3", PrivacyArgs(PrivacyCommand.DELETE_ANSWER, ref="3")),
        (
            PrivacyCommand.DELETE_ANSWER,
            "question #04",
            PrivacyArgs(PrivacyCommand.DELETE_ANSWER, ref="4"),
        ),
        (
            PrivacyCommand.DELETE_ANSWER,
            "years",
            PrivacyArgs(PrivacyCommand.DELETE_ANSWER, ref="years"),
        ),
        (
            PrivacyCommand.DELETE_ANSWER,
            "all recordings",
            PrivacyArgs(PrivacyCommand.DELETE_ANSWER, ref="recordings"),
        ),
        (
            PrivacyCommand.CORRECT,
            "3 Five  years",
            PrivacyArgs(PrivacyCommand.CORRECT, ref="3", text="Five years"),
        ),
        (
            PrivacyCommand.CORRECT,
            "dispute overall unfair",
            PrivacyArgs(PrivacyCommand.CORRECT, ref="overall", action="dispute", text="unfair"),
        ),
        (
            PrivacyCommand.SETTINGS,
            "recordings OFF",
            PrivacyArgs(PrivacyCommand.SETTINGS, action="recordings", value="off"),
        ),
        (
            PrivacyCommand.SETTINGS,
            "retention 24 months",
            PrivacyArgs(PrivacyCommand.SETTINGS, action="retention", value="24"),
        ),
        (
            PrivacyCommand.SETTINGS,
            "region us-ca",
            PrivacyArgs(PrivacyCommand.SETTINGS, action="region", value="us-ca"),
        ),
        (
            PrivacyCommand.CONTACT,
            "jane@example.com",
            PrivacyArgs(PrivacyCommand.CONTACT, action="email", value="jane@example.com"),
        ),
        (
            PrivacyCommand.CONTACT,
            "verify 123-456",
            PrivacyArgs(PrivacyCommand.CONTACT, action="verify", value="123456"),
        ),
        (PrivacyCommand.EXPORT, "whatever follows", PrivacyArgs(PrivacyCommand.EXPORT)),
    ],
)
def test_parse_privacy(command: PrivacyCommand, argument: str | None, parsed: PrivacyArgs) -> None:
    assert parse_privacy(command, argument) == parsed


@pytest.mark.parametrize(
    ("command", "argument"),
    [
        (PrivacyCommand.DELETE_ANSWER, "the one about my shifts please"),
        (PrivacyCommand.CORRECT, "??? new"),
        (PrivacyCommand.SETTINGS, "retention 0"),
        (PrivacyCommand.SETTINGS, "retention 25"),
        (PrivacyCommand.SETTINGS, "region mars"),
        (PrivacyCommand.SETTINGS, "colour blue"),
        (PrivacyCommand.CONTACT, "email <script>@x"),
        (PrivacyCommand.CONTACT, "verify 12ab"),
        (PrivacyCommand.REVIEW, "x" * 2_001),
    ],
)
def test_parse_privacy_errors(command: PrivacyCommand, argument: str) -> None:
    assert parse_privacy(command, argument).error


def test_privacy_payload_round_trip() -> None:
    payload = privacy_payload(PrivacyCommand.REVIEW, 'they said "no" {twice}')
    assert explicit_privacy(payload) == (PrivacyCommand.REVIEW, 'they said "no" {twice}')
    assert privacy_payload(PrivacyCommand.VIEW) == "/privacy_view"
