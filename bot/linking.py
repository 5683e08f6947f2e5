"""`/link` in any chat gateway: ask for a one-time code, or type one to link this chat.

Gateways call `ChannelLinker.handle()` before `bot.inbound.prepare()`: the command never
reaches Rasa (a code is a secret and must not sit in a conversation tracker), and it works the
same on every channel. After a successful link the gateway sends `/start` to Rasa for the new
sender, so the candidate sees their open question at once.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from dataclasses import dataclass

from screening import channel_links
from storage.db import Database

_LINK_RE = re.compile(r"^/link(?:@\w+)?(?:\s+(?P<arg>.*))?$", re.IGNORECASE | re.DOTALL)
# Wrong codes a chat may type per hour: with 10^12 possible codes guessing is hopeless anyway;
# the limit keeps a script from hammering the database.
MAX_WRONG_PER_HOUR = 10


@dataclass(frozen=True)
class LinkOutcome:
    reply: str
    resume: bool = False


class ChannelLinker:
    """The `/link` command for one gateway process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._wrong: dict[str, deque[float]] = {}

    def _too_many(self, sender_id: str) -> bool:
        now = time.monotonic()
        stamps = self._wrong.get(sender_id)
        if stamps is None:
            return False
        while stamps and now - stamps[0] > 3600:
            stamps.popleft()
        if not stamps:
            del self._wrong[sender_id]
            return False
        return len(stamps) >= MAX_WRONG_PER_HOUR

    def _count_wrong(self, sender_id: str) -> None:
        if len(self._wrong) > 10_000:  # bounded: forget the oldest chats
            self._wrong.pop(next(iter(self._wrong)))
        self._wrong.setdefault(sender_id, deque()).append(time.monotonic())

    async def handle(self, sender_id: str, text: str | None) -> LinkOutcome | None:
        """The reply to a `/link` message, or None when `text` is not one."""
        match = _LINK_RE.match((text or "").strip())
        if match is None:
            return None
        arg = (match.group("arg") or "").strip()
        if not arg:
            return await self._issue(sender_id)
        if self._too_many(sender_id):
            return LinkOutcome(
                "Too many wrong codes from this chat. Please wait an hour, then ask for a "
                "new code with /link on the channel you used before."
            )
        result = await asyncio.to_thread(channel_links.redeem_code, self.db, sender_id, arg)
        if result.status in ("invalid", "expired", "used"):
            self._count_wrong(sender_id)
        return _outcome(result)

    async def _issue(self, sender_id: str) -> LinkOutcome:
        try:
            issued = await asyncio.to_thread(channel_links.issue_code, self.db, sender_id)
        except channel_links.NoCandidate:
            return LinkOutcome(
                "There is nothing to link yet: start an application first (/start), then send "
                "/link here to continue it on another channel. To link this chat to an "
                "application you started elsewhere, send /link <code> with the code from there."
            )
        return LinkOutcome(
            f"Your one-time code is {issued.code}. Within 10 minutes, send this on the other "
            f"channel (Telegram, Slack or the web chat):\n/link {issued.code}\n"
            "Don't share the code: whoever types it can continue your application."
        )


def _outcome(result: channel_links.LinkResult) -> LinkOutcome:
    where = result.channel or "the other channel"
    if result.status == "linked":
        return LinkOutcome(
            f"Done: this chat is now linked to the application you started on the {where}. "
            "Let's continue where you stopped.",
            resume=True,
        )
    if result.status == "already":
        return LinkOutcome("This chat is already linked to your application.", resume=True)
    if result.status == "expired":
        return LinkOutcome(
            f"That code has expired (codes last 10 minutes). Send /link on the {where} for a "
            "new one."
        )
    if result.status == "used":
        return LinkOutcome(f"That code was already used. Send /link on the {where} for a new one.")
    if result.status == "has_data":
        return LinkOutcome(
            "This chat already has an application of its own, so I can't merge it with another "
            "one. Finish or withdraw it here first (/withdraw), or use a chat that hasn't "
            "started one."
        )
    if result.status == "closed":
        return LinkOutcome("That application is closed, so it can't be linked any more.")
    return LinkOutcome(
        "That code isn't right. Codes look like ABCD-EFGH; send /link on the channel you "
        "started on to get one."
    )
