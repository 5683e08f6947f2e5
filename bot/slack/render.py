"""Rasa's replies as Slack messages (Block Kit), within Slack's limits.

* Text goes into `section` blocks (mrkdwn, at most 3,000 characters each: longer replies are
  cut at paragraph, line or word boundaries) and into the message's `text`, which Slack shows
  in notifications. `&`, `<` and `>` are escaped so a reply can never form a mention
  (`<!channel>`) or a link by accident.
* Rasa's buttons become an `actions` block of buttons with `action_id` `parley_button_<n>` and
  the payload as `value`. A value may be at most 2,000 characters; a longer payload is kept in
  a per-process table and the button carries a short reference instead.
* After a press the message is updated: the text stays, the buttons go, and a line says what
  was chosen, so a person sees their answer and cannot press twice.
* A file from the action server (`BotMessage.attachment`, a calendar invite) becomes an
  `Outgoing` with `file` set, after the message's text; the gateway uploads it into the DM
  (files_upload_v2) with the caption as the file's title.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bot.rasa_client import Attachment, BotMessage

MAX_SECTION_CHARS = 3000
MAX_SECTIONS_PER_MESSAGE = 40  # Slack allows 50 blocks; room for the buttons
MAX_BUTTONS_PER_BLOCK = 25
MAX_BUTTON_TEXT = 75
MAX_VALUE_CHARS = 2000
MAX_FALLBACK_CHARS = 3000
BUTTON_PREFIX = "parley_button_"
HOME_START_ACTION = "parley_home_start"
REF_PREFIX = "parley-ref:"


def escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_text(text: str, limit: int = MAX_SECTION_CHARS) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters, preferring paragraph, then line,
    then word boundaries; a single over-long word is cut where it must be."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            cut = window.rfind(sep)
            if cut > limit // 3:
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


class ButtonValues:
    """Payloads too long for a button value, by short reference (bounded, newest kept)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._refs: OrderedDict[str, str] = OrderedDict()

    def value_for(self, payload: str) -> str:
        if len(payload) <= MAX_VALUE_CHARS and not payload.startswith(REF_PREFIX):
            return payload
        ref = REF_PREFIX + secrets.token_urlsafe(12)
        self._refs[ref] = payload
        while len(self._refs) > self.max_entries:
            self._refs.popitem(last=False)
        return ref

    def payload_for(self, value: str) -> str | None:
        """The payload a pressed button stands for; None for a reference this process no
        longer knows (it was restarted)."""
        if not value.startswith(REF_PREFIX):
            return value
        return self._refs.get(value)


@dataclass
class Outgoing:
    """One chat.postMessage (the notification text and the blocks), or, with `file`, one
    upload whose title is `text`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    file: Attachment | None = None


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _buttons(message: BotMessage, values: ButtonValues) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    for n, button in enumerate(message.buttons):
        title = button.title.strip() or button.payload.strip() or "…"
        if len(title) > MAX_BUTTON_TEXT:
            title = title[: MAX_BUTTON_TEXT - 1] + "…"
        elements.append(
            {
                "type": "button",
                "action_id": f"{BUTTON_PREFIX}{n}",
                "text": {"type": "plain_text", "text": title, "emoji": True},
                "value": values.value_for(button.payload),
            }
        )
    for start in range(0, len(elements), MAX_BUTTONS_PER_BLOCK):
        blocks.append(
            {
                "type": "actions",
                "block_id": f"parley_buttons_{start // MAX_BUTTONS_PER_BLOCK}",
                "elements": elements[start : start + MAX_BUTTONS_PER_BLOCK],
            }
        )
    return blocks


def render(message: BotMessage, values: ButtonValues) -> list[Outgoing]:
    """The messages to post for one Rasa reply (usually exactly one)."""
    pieces = split_text(escape(message.text)) if message.text else []
    outgoing: list[Outgoing] = []
    for start in range(0, len(pieces), MAX_SECTIONS_PER_MESSAGE):
        chunk = pieces[start : start + MAX_SECTIONS_PER_MESSAGE]
        fallback = "\n\n".join(chunk)
        if len(fallback) > MAX_FALLBACK_CHARS:
            fallback = fallback[: MAX_FALLBACK_CHARS - 1] + "…"
        outgoing.append(Outgoing(text=fallback, blocks=[_section(p) for p in chunk]))
    if message.buttons:
        if not outgoing:
            outgoing.append(Outgoing(text="Please choose:", blocks=[_section("Please choose:")]))
        outgoing[-1].blocks.extend(_buttons(message, values))
    attachment = message.attachment
    if attachment is not None:
        outgoing.append(Outgoing(text=attachment.caption or attachment.filename, file=attachment))
    return outgoing


def plain(text: str) -> Outgoing:
    """A message of our own (not from Rasa)."""
    escaped = escape(text)
    return Outgoing(text=escaped, blocks=[_section(p) for p in split_text(escaped)])


def answered(sections: list[dict[str, Any]], title: str) -> list[dict[str, Any]]:
    """A message's blocks after a button press: its text, then what was chosen."""
    chosen = escape(title.strip() or "your choice")
    return [
        *sections,
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"You chose: *{chosen}*"}]},
    ]


PRIVACY_LINES = [
    "*Your data, any time* — type these in our chat:",
    "• `/mydata` — what Parley holds about you",
    "• `/export` — a copy of your data",
    "• `/delete` — delete your data",
    "• `/optout` — no automated scoring of your answers",
    "• `/review` — ask a person to review a decision",
    "• `/withdraw_consent` — withdraw your consent",
    "• `/help` — all commands",
]


def home_view() -> dict[str, Any]:
    """The App Home tab: what Parley is, the privacy commands, and a way to (re)start."""
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Parley"}},
            _section(
                "Parley is an *automated screening interviewer*. It asks a job's screening "
                "questions in this chat and saves your answers for the employer. You can pause, "
                "go back, skip optional questions or ask for a person at any time."
            ),
            _section("\n".join(PRIVACY_LINES)),
            {
                "type": "actions",
                "block_id": "parley_home",
                "elements": [
                    {
                        "type": "button",
                        "action_id": HOME_START_ACTION,
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Start / continue my application"},
                        "value": "start",
                    }
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Parley answers in its *Messages* tab. Started an application "
                        "on another channel? Send `/link` there for a code, then "
                        "`/link &lt;code&gt;` here to continue.",
                    }
                ],
            },
        ],
    }
