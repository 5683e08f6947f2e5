"""When a message counts as a command (screening/commands.py)."""

from __future__ import annotations

import pytest

from screening.commands import (
    Command,
    MessageNlu,
    explicit_command,
    practice_argument,
    practice_payload,
    recognise_command,
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
