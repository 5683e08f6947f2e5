"""What the bot says on the phone: chat messages made speakable, buttons made keypad menus.

Rasa answers every channel with the same messages. A phone cannot show a link, bold text or a
button, so this module reads messages aloud sensibly: markup and emoji dropped, slash
commands said as words, links replaced by a pointer to the chat, and each button offered as
"press 1 for …" (the key sends that button's payload, exactly as a click would).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.rasa_client import BotMessage

MAX_SAY_CHARS = 3000  # Twilio's <Say> takes up to 4,096 characters; long texts are split
_URL = re.compile(r"https?://\S+")
_MARKUP = re.compile(r"[*_`~>|]+|(?<![A-Za-z])#+")  # "C#" and "F#" keep their sharp
# The "<argument>" after a command is bounded so a long unclosed "<" cannot make it quadratic.
_SLASH = re.compile(r"(?<![\w/])/([a-z][a-z_]*)(?:\s*<[^<>]{0,80}>)?")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class SpokenTurn:
    """The lines to say, and which key sends which payload (keys "1".."9")."""

    lines: list[str]
    keys: dict[str, str]

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def speakable(text: str) -> str:
    """Plain sentences a text-to-speech voice reads well."""
    text = _URL.sub("(I can't read links on the phone; ask for it in the web chat)", text)
    text = _SLASH.sub(lambda m: m.group(1).replace("_", " "), text)
    text = _MARKUP.sub(" ", text)
    text = re.sub(r"\b([A-Za-z])#", r"\1 sharp", text)
    text = "".join(
        # Cn covers U+FFFE/U+FFFF, which XML forbids: one of them would make the TwiML invalid.
        ch if unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co", "Cc", "Cn") else " "
        for ch in text.replace("\n", " ").replace("•", ",")
    )
    return _SPACES.sub(" ", text).strip()


def split_for_say(text: str, limit: int = MAX_SAY_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at sentence ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(". ", 0, limit), text.rfind("? ", 0, limit))
        cut = cut + 1 if cut > limit // 2 else text.rfind(" ", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def spoken_turn(messages: list[BotMessage]) -> SpokenTurn:
    """The bot's messages for one turn as speech plus a keypad menu for its buttons."""
    lines: list[str] = []
    keys: dict[str, str] = {}
    for message in messages:
        if message.text:
            lines.extend(split_for_say(speakable(message.text)))
        if message.buttons:
            keys = {}
            menu = []
            for number, button in enumerate(message.buttons[:9], start=1):
                keys[str(number)] = button.payload
                menu.append(f"press {number} for {speakable(button.title)}")
            lines.append("Say your answer, or " + ", ".join(menu) + ".")
    return SpokenTurn([line for line in lines if line], keys)
