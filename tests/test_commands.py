"""When a message counts as a command (screening/commands.py)."""

from __future__ import annotations

import pytest

from screening.commands import Command, MessageNlu, explicit_command, recognise_command


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
    ],
)
def test_recognise_command(text: str, intent: str | None, conf: float, expected: object) -> None:
    assert recognise_command(text, MessageNlu(intent, conf)) == expected


def test_unknown_slash_is_not_a_command() -> None:
    assert explicit_command("/restart") is None
    assert explicit_command("/start") is None
    assert explicit_command("not /back") is None
