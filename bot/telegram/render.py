"""Rasa's replies as Telegram messages: text split under the 4,096-character limit, buttons as
inline keyboards whose callback data fits Telegram's 64 bytes.

Why a token table: a Rasa button payload (`/start{"job_id": "..."}`, a privacy command with
its argument) can be longer than the 64 bytes Telegram allows in `callback_data`. Short
payloads travel as they are (`p:<payload>`); long ones are stored in this process and the
button carries a random token (`t:<token>`). A token outlives no restart; a press on such an
old button gets a polite "please type your answer" instead of a wrong answer.

A file from the action server (`BotMessage.attachment`, a calendar invite) becomes its own
`Outgoing` with `document` set: `sender.send` uploads it with sendDocument and the caption,
after the message's text, so the text explains what the file is before it arrives.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rasa_client import Attachment, BotMessage, Button

MAX_TEXT = 4096  # Telegram's limit, counted in UTF-16 code units
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 64
MAX_CAPTION = 1024  # a document's caption, in UTF-16 units
BUTTONS_ONLY_TEXT = "Please choose:"
PAYLOAD_PREFIX = "p:"
TOKEN_PREFIX = "t:"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest number of characters of `text` that fit in `limit` UTF-16 units."""
    if utf16_len(text) <= limit:
        return len(text)
    used = 0
    for index, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into messages of at most `limit` UTF-16 units, at a paragraph break where
    possible, else a line break, else a space, else anywhere (a very long word)."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        end = _fit(rest, limit)
        if end >= len(rest):
            chunks.append(rest)
            break
        window = rest[:end]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > limit // 4:  # not so early that the chunk is tiny
                cut = at
                break
        if cut <= 0:
            cut = end
        chunk = rest[:cut].rstrip()
        if chunk:
            chunks.append(chunk)
        rest = rest[cut:].lstrip()
    return chunks


class CallbackTokens:
    """Maps button payloads to `callback_data` of at most 64 bytes and back (bounded)."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._payloads: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    def encode(self, payload: str) -> str:
        data = PAYLOAD_PREFIX + payload
        if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES:
            return data
        token = secrets.token_urlsafe(12)
        self._payloads[token] = payload
        while len(self._payloads) > self._max:
            self._payloads.popitem(last=False)
        return TOKEN_PREFIX + token

    def decode(self, data: str) -> str | None:
        """The payload behind a button's callback data; None when unknown or expired."""
        if data.startswith(PAYLOAD_PREFIX):
            return data[len(PAYLOAD_PREFIX) :]
        if data.startswith(TOKEN_PREFIX):
            return self._payloads.get(data[len(TOKEN_PREFIX) :])
        return None


def keyboard(buttons: list[tuple[str, str]], *, short: int = 24) -> InlineKeyboardMarkup | None:
    """(title, callback_data) pairs as an inline keyboard: short titles two to a row, long
    ones on their own row, so nothing is cut off on a phone."""
    if not buttons:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    for title, data in buttons:
        title = (title.strip() or "…")[:MAX_BUTTON_TITLE]
        button = InlineKeyboardButton(text=title, callback_data=data)
        if rows and len(rows[-1]) == 1 and len(rows[-1][0].text) <= short and len(title) <= short:
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(inline_keyboard=rows)


@dataclass(frozen=True)
class Outgoing:
    """One Telegram message to send: text (with a keyboard), or a document whose caption is
    `text`."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    document: Attachment | None = None


def render(messages: list[BotMessage], tokens: CallbackTokens) -> list[Outgoing]:
    """Visible Rasa messages as Telegram messages; a message's buttons go under its last
    part."""
    out: list[Outgoing] = []
    for message in messages:
        if not message.visible:
            continue
        if message.text or message.buttons:
            parts = split_text(message.text) or [BUTTONS_ONLY_TEXT]
            markup = keyboard([_button(b, tokens) for b in message.buttons])
            out.extend(Outgoing(part) for part in parts[:-1])
            out.append(Outgoing(parts[-1], markup))
        if message.attachment is not None:
            caption = message.attachment.caption
            out.append(Outgoing(caption[: _fit(caption, MAX_CAPTION)], document=message.attachment))
    return out


def _button(button: Button, tokens: CallbackTokens) -> tuple[str, str]:
    return button.title or button.payload, tokens.encode(button.payload or button.title)
