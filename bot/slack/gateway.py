"""The Slack conversation: from a person's direct message to Rasa and back.

* Sender ids are `slack:<team id>:<user id>`: user ids are unique only within a workspace.
* Order: each person's messages and button presses go through one `ChatQueues` queue, so
  they reach Rasa strictly in the order Slack delivered them, while different people are
  served concurrently. Slack's 3-second acknowledgement never waits for Rasa: listeners only
  queue work.
* `/link` (continue an application started on another channel) is handled by the
  `ChannelLinker` before `bot.inbound.prepare`, like on every push channel.
* Privacy: message text, names and payloads are never logged; ids, types and API error codes
  are.
* Files from the action server (a calendar invite) are uploaded into the DM with
  `files_upload_v2` (needs the `files:write` scope); a failed upload is logged by its error
  code and the conversation goes on.
* Time zone: each message to Rasa carries the person's Slack profile zone as metadata
  (`{"timezone": "Europe/Berlin"}`), a first guess the scheduling dialogue asks them to
  confirm. It comes from `users.info` (needs `users:read`), looked up once per person and kept
  in memory for `timezone_ttl_s`; a lookup that fails or is slow only means no hint.
* Message ids (the idempotency key Rasa's side records, bot/rasa_client.py): a message's
  `client_msg_id`, else `slack:<channel>:<ts>`; a button press's `action_ts`, else its
  `trigger_id`. Slack's own ids, so a delivery Slack retries after a gateway crash carries
  the same id and is not processed twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat_queue import ChatQueues
from bot.inbound import prepare
from bot.rasa_client import (
    UNAVAILABLE_MESSAGE,
    BotMessage,
    RasaClient,
    RasaUnavailable,
    channel_message_id,
    timezone_hint,
)
from bot.slack import render
from bot.slack.seen import Seen

logger = logging.getLogger("parley.slack")

SENDER_PREFIX = "slack:"

SLOW_DOWN_MESSAGE = (
    "You're sending messages faster than I can answer. Please wait for my replies; "
    "I'll answer what you sent in order."
)
FILES_MESSAGE = "I can only read typed messages here. Please type your answer as a message."
EDITED_MESSAGE = (
    "I only read new messages, not edits. If you meant to change your answer, please send it "
    "again as a new message (or type /back to change the previous answer)."
)
EXPIRED_BUTTON_MESSAGE = (
    "That button has expired. Please type your answer instead, or /repeat to see the question "
    "again."
)
PLEASE_DM_MESSAGE = "Let's talk in a direct message: open Parley's Messages tab."

TIMEZONE_TTL_S = 6 * 3600.0  # a person who travels changes their Slack zone now and then
TIMEZONE_RETRY_S = 600.0  # after a failed lookup, try again this much later
TIMEZONE_LOOKUP_S = 3.0  # never hold a reply longer than this for a hint
MAX_TIMEZONES = 10_000


class Outcome(Protocol):
    """`bot.linking.LinkOutcome`: show `reply`; when `resume`, continue the interview here."""

    @property
    def reply(self) -> str: ...

    @property
    def resume(self) -> bool: ...


class Linker(Protocol):
    async def handle(self, sender_id: str, text: str) -> Outcome | None: ...


def sender_id(team_id: str, user_id: str) -> str:
    return f"{SENDER_PREFIX}{team_id}:{user_id}"


def parse_sender(sender: str) -> tuple[str, str] | None:
    """(team id, user id) of a `slack:` sender id, or None."""
    if not sender.startswith(SENDER_PREFIX):
        return None
    parts = sender[len(SENDER_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


@dataclass
class Stats:
    """Counters for the health endpoint and the tests (never content)."""

    messages: int = 0
    buttons: int = 0
    homes: int = 0
    duplicates: int = 0
    dropped: int = 0
    errors: int = 0
    uploads: int = 0
    timezone_lookups: int = 0
    api_errors: dict[str, int] = field(default_factory=dict)


def event_message_id(event: dict[str, Any]) -> str | None:
    """A message event's id for Rasa: Slack's `client_msg_id`, else `slack:<channel>:<ts>`."""
    client_msg_id = event.get("client_msg_id")
    if isinstance(client_msg_id, str):
        own = channel_message_id("slack", client_msg_id)
        if own is not None:
            return own
    channel, ts = event.get("channel"), event.get("ts")
    if isinstance(channel, str) and isinstance(ts, str):
        return channel_message_id("slack", channel, ts)
    return None


def action_message_id(body: dict[str, Any]) -> str | None:
    """A button press's id for Rasa: `slack:action:<action_ts>`, else the `trigger_id`."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    action_ts = action.get("action_ts") if isinstance(action, dict) else None
    if isinstance(action_ts, str):
        own = channel_message_id("slack:action", action_ts)
        if own is not None:
            return own
    trigger_id = body.get("trigger_id")
    if isinstance(trigger_id, str):
        return channel_message_id("slack:trigger", trigger_id)
    return None


class SlackGateway:
    """Conversation logic shared by the HTTP and Socket Mode transports."""

    def __init__(
        self,
        rasa: RasaClient,
        client: AsyncWebClient,
        seen: Seen,
        *,
        linker: Linker | None = None,
        queues: ChatQueues | None = None,
    ) -> None:
        self.rasa = rasa
        self.client = client
        self.seen = seen
        self.linker = linker
        self.queues = queues or ChatQueues()
        self.values = render.ButtonValues()
        self.stats = Stats()
        self._dm_channels: dict[str, str] = {}
        self._notices: set[asyncio.Task[None]] = set()
        # sender -> (when to look again, zone or None)
        self._timezones: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self.timezone_ttl_s = TIMEZONE_TTL_S

    # ---- entry points (called by the bolt listeners; they only queue work)

    def submit(self, sender: str, channel: str, job: Any) -> None:
        if not self.queues.submit(sender, job):
            logger.warning("slack queue full for a conversation; asked to slow down")
            self.queues_full_notice(channel)

    def queues_full_notice(self, channel: str) -> None:
        """Said outside the (full) queue, so it arrives now rather than after the backlog."""
        task = asyncio.ensure_future(self._post_quietly(channel, [render.plain(SLOW_DOWN_MESSAGE)]))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def on_message(self, body: dict[str, Any]) -> None:
        """A `message` event (canonical form, see payloads.py)."""
        event = body["event"]
        team = event.get("team") or body["team_id"]  # the person's workspace when shared
        channel = event["channel"]
        if event.get("bot_id") or event.get("subtype") == "bot_message":
            return  # our own replies and other bots: never answered
        user = event.get("user")
        if event.get("channel_type") != "im":
            return  # Parley only talks in direct messages; channel chatter is not for us
        subtype = event.get("subtype")
        if subtype == "message_changed":
            inner = event.get("message") or {}
            if inner.get("user") and not inner.get("bot_id"):
                await self._enqueue_notice(team, inner["user"], channel, EDITED_MESSAGE)
            return
        if user is None:
            return
        if subtype == "file_share" or event.get("files"):
            await self._enqueue_notice(team, user, channel, FILES_MESSAGE)
            return
        if subtype is not None and subtype not in ("thread_broadcast", "me_message"):
            return  # joins, deletions, pins...: nothing to answer
        self.stats.messages += 1
        sender = sender_id(team, user)
        self._dm_channels[sender] = channel
        text = event.get("text", "")
        message_id = event_message_id(event)
        self.submit(
            sender,
            channel,
            lambda: self._converse(sender, channel, text, typed=True, message_id=message_id),
        )

    async def on_home_opened(self, body: dict[str, Any]) -> None:
        event = body["event"]
        if event.get("tab", "home") != "home":
            return
        self.stats.homes += 1
        await self._api("views.publish", user_id=event["user"], view=render.home_view())

    async def on_home_start(self, body: dict[str, Any]) -> None:
        """The Home tab's "Start / continue my application" button."""
        team, user = body["team"]["id"], body["user"]["id"]
        sender = sender_id(team, user)
        channel = await self._dm_channel(sender, user)
        if channel is None:
            return
        message_id = action_message_id(body)
        self.submit(
            sender,
            channel,
            lambda: self._converse(sender, channel, "/start", typed=False, message_id=message_id),
        )

    async def on_button(self, body: dict[str, Any]) -> None:
        """A press on one of the buttons under a Rasa reply."""
        team, user = body["team"]["id"], body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message")
        if channel is None or message is None:
            self.stats.dropped += 1
            return
        # One answer per message: a second button pressed on the same message (before the
        # update removed them) is ignored.
        if not await self.seen.first_time(f"answered:{channel}:{message['ts']}"):
            self.stats.duplicates += 1
            return
        self.stats.buttons += 1
        action = body["actions"][0]
        sender = sender_id(team, user)
        self._dm_channels[sender] = channel
        payload = self.values.payload_for(action["value"])
        title = action["text"]["text"]
        message_id = action_message_id(body)

        async def job() -> None:
            await self._api(
                "chat.update",
                channel=channel,
                ts=message["ts"],
                text=message["text"] or title or "Answered",
                blocks=render.answered(message["blocks"], title),
            )
            if payload is None:
                await self._post(channel, [render.plain(EXPIRED_BUTTON_MESSAGE)])
                return
            await self._converse(sender, channel, payload, typed=False, message_id=message_id)

        self.submit(sender, channel, job)

    async def deliver(self, sender: str, text: str) -> None:
        """Outbox delivery (codes, notices, export links): raises when it did not go out, so
        the row is retried later."""
        parsed = parse_sender(sender)
        if parsed is None:
            raise ValueError("not a Slack sender id")
        channel = await self._dm_channel(sender, parsed[1], raise_errors=True)
        assert channel is not None
        outgoing = render.plain(text)
        await self._api(
            "chat.postMessage",
            raise_errors=True,
            channel=channel,
            text=outgoing.text,
            blocks=outgoing.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    # ---- the conversation

    async def _enqueue_notice(self, team: str, user: str, channel: str, text: str) -> None:
        sender = sender_id(team, user)
        self.submit(sender, channel, lambda: self._post(channel, [render.plain(text)]))

    async def _converse(
        self,
        sender: str,
        channel: str,
        text: str,
        *,
        typed: bool,
        message_id: str | None = None,
    ) -> None:
        if typed and self.linker is not None:
            outcome = await self.linker.handle(sender, text)
            if outcome is not None:
                await self._post(channel, [render.plain(outcome.reply)])
                if outcome.resume:
                    resume_id = f"{message_id}:start" if message_id is not None else None
                    await self._ask_rasa(sender, channel, "/start", message_id=resume_id)
                return
        prepared = prepare(text)
        if prepared.reply is not None:
            await self._post(channel, [render.plain(prepared.reply)])
            return
        assert prepared.text is not None
        await self._ask_rasa(sender, channel, prepared.text, message_id=message_id)

    async def _ask_rasa(
        self, sender: str, channel: str, text: str, *, message_id: str | None = None
    ) -> None:
        zone = await self.timezone_of(sender)
        metadata = {"timezone": zone} if zone is not None else None
        try:
            messages = await self.rasa.send(sender, text, metadata, message_id=message_id)
        except RasaUnavailable as exc:
            logger.warning("rasa unavailable: %s", exc)  # says why (HTTP code, timeout), no text
            await self._post(channel, [render.plain(UNAVAILABLE_MESSAGE)])
            return
        await self._post(channel, self._render(messages))

    def _render(self, messages: list[BotMessage]) -> list[render.Outgoing]:
        out: list[render.Outgoing] = []
        for message in messages:
            if message.visible:
                out.extend(render.render(message, self.values))
        return out

    async def timezone_of(self, sender: str) -> str | None:
        """The person's IANA zone from their Slack profile (cached); None when unknown."""
        now = time.monotonic()
        cached = self._timezones.get(sender)
        if cached is not None and cached[0] > now:
            self._timezones.move_to_end(sender)
            return cached[1]
        parsed = parse_sender(sender)
        if parsed is None:
            return None
        zone: str | None = None
        self.stats.timezone_lookups += 1
        try:
            response = await asyncio.wait_for(
                self.client.users_info(user=parsed[1]), TIMEZONE_LOOKUP_S
            )
            profile = response.get("user")
            zone = timezone_hint(profile.get("tz")) if isinstance(profile, dict) else None
            ok = True
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
            self.stats.api_errors[code] = self.stats.api_errors.get(code, 0) + 1
            logger.info("slack users.info failed: %s", code)
            ok = False
        except Exception as exc:  # a timeout, a network error: no hint, the turn goes on
            logger.info("slack users.info failed: %s", type(exc).__name__)
            ok = False
        self._timezones[sender] = (now + (self.timezone_ttl_s if ok else TIMEZONE_RETRY_S), zone)
        self._timezones.move_to_end(sender)
        while len(self._timezones) > MAX_TIMEZONES:
            self._timezones.popitem(last=False)
        return zone

    async def _upload(self, channel: str, outgoing: render.Outgoing) -> None:
        """One file into the DM; a refusal is logged by its code, not raised (like `_api`)."""
        assert outgoing.file is not None
        try:
            await self.client.files_upload_v2(
                channel=channel,
                content=outgoing.file.data,
                filename=outgoing.file.filename,
                title=outgoing.text,
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
            self.stats.api_errors[code] = self.stats.api_errors.get(code, 0) + 1
            logger.warning("slack file upload failed: %s", code)
            return
        except SlackRequestError as exc:  # the upload URL refused the bytes
            logger.warning("slack file upload failed: %s", type(exc).__name__)
            return
        self.stats.uploads += 1

    async def _post(self, channel: str, messages: list[render.Outgoing]) -> None:
        for outgoing in messages:
            if outgoing.file is not None:
                await self._upload(channel, outgoing)
                continue
            await self._api(
                "chat.postMessage",
                channel=channel,
                text=outgoing.text,
                blocks=outgoing.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )

    async def _post_quietly(self, channel: str, messages: list[render.Outgoing]) -> None:
        try:
            await self._post(channel, messages)
        except Exception as exc:
            logger.warning("slack notice failed: %s", type(exc).__name__)

    async def _dm_channel(
        self, sender: str, user: str, *, raise_errors: bool = False
    ) -> str | None:
        channel = self._dm_channels.get(sender)
        if channel is not None:
            return channel
        response = await self._api("conversations.open", raise_errors=raise_errors, users=user)
        opened = response.get("channel") if response is not None else None
        channel = opened.get("id") if isinstance(opened, dict) else None
        if isinstance(channel, str) and channel:
            self._dm_channels[sender] = channel
            return channel
        if raise_errors:
            raise RuntimeError("conversations.open returned no channel")
        return None

    async def _api(
        self, method: str, *, raise_errors: bool = False, **kwargs: Any
    ) -> dict[str, Any] | None:
        """Call the Web API; a Slack error is logged by its code (and counted), not raised,
        unless `raise_errors` (the outbox must know)."""
        try:
            response = await self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
            self.stats.api_errors[code] = self.stats.api_errors.get(code, 0) + 1
            logger.warning("slack %s failed: %s", method, code)
            if raise_errors:
                raise
            return None
        return dict(response.data) if isinstance(response.data, dict) else {}
