"""What the bot says on the phone: chat markup made speakable, buttons made keypad menus, long
texts split for `<Say>`, and hostile text that must never break a call (or its TwiML)."""

from __future__ import annotations

import random
import re
import time
import unicodedata
import xml.etree.ElementTree as ET

import pytest

from bot.rasa_client import BotMessage, Button
from bot.voice import twiml
from bot.voice.speech_out import MAX_SAY_CHARS, speakable, split_for_say, spoken_turn


# --------------------------------------------------------------------------- speakable
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**Great**, _thanks_! Next: `SQL`?", "Great, thanks! Next: SQL?"),
        ("# Heading\n> quoted | cell ~x~", "Heading quoted cell x"),
        ("Hi 👋 there ✅", "Hi there"),
        ("Send /start to begin.", "Send start to begin."),
        ("Type /delete_my_data to erase.", "Type delete my data to erase."),
        ("Use /practice <job id> for a mock run.", "Use practice for a mock run."),
        ("• one\n• two", ", one, two"),
        ("line one\nline two", "line one line two"),
        ("a/b and 24/7 and and/or stay", "a/b and 24/7 and and/or stay"),
    ],
)
def test_markup_emoji_and_commands_become_plain_words(text: str, expected: str) -> None:
    # Spaces left before punctuation where markup was are not heard; ignore them.
    assert re.sub(r" +([,.!?])", r"\1", speakable(text)) == expected


def test_links_are_not_read_out() -> None:
    said = speakable("Your export: https://parley.example/export/abc?token=xyz. Thanks.")
    assert "http" not in said and "token" not in said and "xyz" not in said
    assert "can't read links on the phone" in said and "web chat" in said
    assert said.endswith("Thanks.")


# --------------------------------------------------------------------------- keypad menus
def buttons(*titles: str) -> list[Button]:
    return [Button(title, f"payload-{i}") for i, title in enumerate(titles, start=1)]


def test_buttons_become_press_n_for_and_keys_send_their_payloads() -> None:
    turn = spoken_turn(
        [
            BotMessage(text="Do you agree to an **AI** interview?"),
            BotMessage(buttons=[Button("Yes 👍", "/affirm"), Button("No", "/deny")]),
        ]
    )
    assert turn.lines == [
        "Do you agree to an AI interview?",
        "Say your answer, or press 1 for Yes, press 2 for No.",
    ]
    assert turn.keys == {"1": "/affirm", "2": "/deny"}
    assert turn.text == " ".join(turn.lines)


def test_at_most_nine_keys() -> None:
    titles = [f"Option {n}" for n in range(1, 13)]
    turn = spoken_turn([BotMessage(text="Pick one", buttons=buttons(*titles))])
    assert sorted(turn.keys) == [str(n) for n in range(1, 10)]
    assert turn.keys["9"] == "payload-9"
    assert "press 9 for Option 9" in turn.text
    assert "Option 10" not in turn.text and "press 10" not in turn.text


def test_the_last_menu_decides_the_keys() -> None:
    turn = spoken_turn(
        [
            BotMessage(text="First?", buttons=buttons("A", "B")),
            BotMessage(text="Second?", buttons=[Button("C", "c")]),
        ]
    )
    assert turn.keys == {"1": "c"}


def test_a_turn_without_text_or_buttons_says_nothing() -> None:
    turn = spoken_turn([BotMessage(text="👋 ✅"), BotMessage(text="")])
    assert turn.lines == [] and turn.keys == {}


# --------------------------------------------------------------------------- split_for_say
def _words(text: str) -> list[str]:
    return text.split()


@pytest.mark.parametrize("limit", [20, 57, 300, MAX_SAY_CHARS])
def test_split_keeps_every_piece_within_the_limit_and_loses_no_words(limit: int) -> None:
    rng = random.Random(limit)
    vocabulary = ["I", "have", "worked", "with", "Python.", "Why?", "data,", "x" * 30, "ok."]
    text = " ".join(rng.choice(vocabulary) for _ in range(3000))
    pieces = split_for_say(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert " ".join(pieces).replace(" ", "") == text.replace(" ", "")
    if limit > 30:  # longer than any word: words are never cut in two
        assert _words(" ".join(pieces)) == _words(text)


def test_split_prefers_sentence_ends() -> None:
    sentence = "This is one complete sentence about the role. "
    pieces = split_for_say(sentence * 200, 300)
    assert all(p.endswith(".") for p in pieces)


def test_short_text_is_one_piece_and_empty_text_none() -> None:
    assert split_for_say("Hello.") == ["Hello."]
    assert split_for_say("") == []


def test_a_long_message_becomes_several_say_lines() -> None:
    text = "word " * 2000
    turn = spoken_turn([BotMessage(text=text)])
    assert len(turn.lines) >= 4
    assert all(len(line) <= MAX_SAY_CHARS for line in turn.lines)
    assert sum(len(_words(line)) for line in turn.lines) == 2000


# --------------------------------------------------------------------------- hostile text
HOSTILE = [
    "a" * 100_000,
    "word " * 20_000,
    "/a <" * 25_000,  # an unclosed command argument, over and over
    "https://" * 12_000,
    "*_`~#>|" * 15_000,
    "".join(chr(c) for c in range(0, 32)) * 100 + "\x7f\x85\u2028\u2029",
    "\ud800 lone \udfff surrogates \ud83d",
    "\ufffe\uffff not characters \U0010ffff \ue000",
    "\u202e reversed \u200b zero width \u0301\u0301\u0301 combining",
    "/" * 100_000,
    "<Say>&amp;</Say><Hangup/>]]>",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_never_breaks_the_call(text: str) -> None:
    started = time.perf_counter()
    messages = [BotMessage(text=text, buttons=[Button(text[:500], text[:500])])]
    turn = spoken_turn(messages)
    assert time.perf_counter() - started < 2.0  # linear, not a regular-expression blow-up
    for line in turn.lines:
        assert 0 < len(line) <= MAX_SAY_CHARS
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in line)
    # Whatever was said makes valid TwiML (XML forbids control characters, lone surrogates
    # and U+FFFE/U+FFFF), and the text comes back as it was put in, escaped not executed.
    for body in (
        twiml.goodbye(turn.lines),
        twiml.listen(turn.lines, action_url="https://x.example/t", stream_url="wss://x", token="t"),
        twiml.record(turn.lines, action_url="https://x.example/r"),
    ):
        doc = ET.fromstring(body.encode())
        said = [el.text or "" for el in doc if el.tag == "Say"]
        assert said == turn.lines
        assert [el.tag for el in doc if el.tag != "Say"] in (
            ["Hangup"],
            ["Connect"],
            ["Record", "Redirect"],
        )
