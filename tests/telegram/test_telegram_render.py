"""Splitting long replies and fitting button payloads into Telegram's limits."""

from __future__ import annotations

import random

from bot.rasa_client import BotMessage, Button
from bot.telegram.render import (
    BUTTONS_ONLY_TEXT,
    CallbackTokens,
    keyboard,
    render,
    split_text,
    utf16_len,
)


def test_split_prefers_paragraphs_then_lines_then_words():
    text = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    text = "a" * 3000 + "\n" + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    text = "a" * 3000 + " " + "b" * 3000
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    assert split_text("x" * 10_000) == ["x" * 4096, "x" * 4096, "x" * 1808]
    assert split_text("short") == ["short"]
    assert split_text("   ") == []


def test_split_counts_utf16_units_and_never_breaks_a_character():
    text = "😀" * 5000  # two UTF-16 units each
    parts = split_text(text)
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == text


def test_split_random_texts_keep_every_word():
    rng = random.Random(6)
    words = ["a", "word", "longerword", "ü", "🎉", "\n", "\n\n", "x" * 50]
    for _ in range(50):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 4000)))
        parts = split_text(text)
        assert all(utf16_len(p) <= 4096 and p.strip() for p in parts)
        assert "".join("".join(parts).split()) == "".join(text.split())


def test_callback_tokens():
    tokens = CallbackTokens(max_entries=2)
    assert tokens.encode("yes") == "p:yes"
    assert tokens.decode("p:yes") == "yes"
    long = "/start" + "x" * 100
    data = tokens.encode(long)
    assert data.startswith("t:") and len(data.encode()) <= 64
    assert tokens.decode(data) == long
    assert tokens.decode("t:unknown") is None
    assert tokens.decode("garbage") is None
    # bounded: the oldest long payloads are forgotten
    second, third = tokens.encode("y" * 100), tokens.encode("z" * 100)
    assert tokens.decode(data) is None
    assert tokens.decode(second) == "y" * 100 and tokens.decode(third) == "z" * 100
    # 64 bytes counted in UTF-8, not characters
    assert tokens.encode("é" * 31).startswith("p:")
    assert tokens.encode("é" * 32).startswith("t:")


def test_render_buttons_only_and_invisible_messages():
    tokens = CallbackTokens()
    out = render(
        [
            BotMessage(custom={"interview_over": True}),
            BotMessage(buttons=[Button("Yes", "yes"), Button("", "/x")]),
        ],
        tokens,
    )
    assert len(out) == 1
    assert out[0].text == BUTTONS_ONLY_TEXT
    assert out[0].markup is not None
    titles = [b.text for row in out[0].markup.inline_keyboard for b in row]
    assert titles == ["Yes", "/x"]


def test_keyboard_puts_long_titles_on_their_own_row():
    markup = keyboard([("A", "p:a"), ("B", "p:b"), ("A much longer option title here", "p:c")])
    assert markup is not None
    assert [[b.text for b in row] for row in markup.inline_keyboard] == [
        ["A", "B"],
        ["A much longer option title here"],
    ]
    assert keyboard([]) is None
