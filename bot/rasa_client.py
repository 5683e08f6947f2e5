"""Async client for Rasa's REST channel, shared by every gateway.

Gateways never talk to Rasa any other way: one path means one place to get timeouts,
retries and error handling right, and every channel behaves the same.

Replicas: the client sends each sender's messages to one of the Rasa replicas it is given
(`bot.replicas.ReplicaSet`: rendezvous hashing of the sender, replicas that are down tried
last, replicas serving another model never).

Message ids: every message carries `metadata["message_id"]` (`MESSAGE_ID_RE`), the
idempotency key the action server records with what the message changed. A gateway passes
the channel's own id for the message when it has one (so a channel's redelivery after a
gateway crash reuses it); otherwise `send` makes a fresh one. Every retry below resends the
same id, so a message that did reach Rasa the first time is recognised and not processed
twice.

Retry policy of one `send`:

* Not delivered — the connection could not be made (ConnectError, ConnectTimeout, or no free
  connection in our own pool): the replica is marked down (not for a pool timeout) and the
  next one in the sender's order is tried. After every replica failed once, a short back-off
  (0.2 s, 0.4 s, …) and another round; at most `len(replicas) * (connect_retries + 1)`
  attempts in all.
* Maybe delivered — the replica stalled or died mid-request (ReadTimeout/WriteTimeout,
  RemoteProtocolError, ReadError/WriteError, HTTP 5xx): the message may have been processed,
  so it is sent ONCE more with the same id. After a timeout on the same replica (it is alive
  and may still be working; Rasa's lock store makes the retry wait for the first request);
  after the others the failing replica is marked down and the retry goes to the next in the
  sender's order (the same replica when there is no other).
* Answered with nothing — HTTP 200 with no message at all (no text, buttons or custom
  payload): Rasa swallows an action-server failure this way and the action's events are
  lost, so the message is sent ONCE more, same replica, same id.
* A message that may have reached Rasa is sent at most twice in all (the two cases above
  share the one retry). Still failing, an HTTP 4xx, or a reply that is not JSON:
  `RasaUnavailable`, and the gateway tells the person `UNAVAILABLE_MESSAGE`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import re
import uuid
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import httpx

from bot.replicas import ReplicaSet

logger = logging.getLogger("parley.rasa")

REST_PATH = "/webhooks/rest/webhook"
# What every chat gateway tells the person when Rasa is away (RasaUnavailable).
UNAVAILABLE_MESSAGE = (
    "The interviewer is temporarily unavailable. Your answers so far are saved; "
    "please try again in a minute."
)


@dataclass(frozen=True)
class Button:
    """A quick-reply button: what the user sees and what is sent back when pressed."""

    title: str
    payload: str


# A file the action server sends with a reply (a calendar invite), as a custom message:
# {"parley": "attachment", "filename": "interview.ics", "mime": "text/calendar",
#  "data": "<standard base64>", "caption": "Calendar invite"}. Everything about it is checked
# here, once, because every gateway hands the file to a person's device: a name that is a path,
# a type a device would run, or a huge payload never gets past `BotMessage.attachment`.
ATTACHMENT_MARKER = "attachment"
ATTACHMENT_MIME_SUFFIXES: dict[str, tuple[str, ...]] = {"text/calendar": (".ics",)}
MAX_ATTACHMENT_BYTES = 64 * 1024
MAX_ATTACHMENT_CAPTION = 200
_ATTACHMENT_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_MAX_ATTACHMENT_B64 = 4 * -(-MAX_ATTACHMENT_BYTES // 3)  # base64 length of the largest file


@dataclass(frozen=True)
class Attachment:
    """A validated file to hand to the person: safe name, allowed type, at most 64 KiB."""

    filename: str
    mime: str
    data: bytes
    caption: str = ""

    @classmethod
    def from_custom(cls, custom: Any) -> Attachment | None:
        """The attachment in a custom message, or None when it is not one or is not valid
        (never raises: a broken attachment must not break the rest of the reply)."""
        if not isinstance(custom, dict) or custom.get("parley") != ATTACHMENT_MARKER:
            return None
        filename, mime = custom.get("filename"), custom.get("mime")
        data, caption = custom.get("data"), custom.get("caption", "")
        if caption is None:
            caption = ""
        if not (
            isinstance(filename, str)
            and isinstance(mime, str)
            and isinstance(data, str)
            and isinstance(caption, str)
        ):
            return None
        suffixes = ATTACHMENT_MIME_SUFFIXES.get(mime)
        if (
            suffixes is None
            or not _ATTACHMENT_NAME_RE.match(filename)
            or not filename.lower().endswith(suffixes)
            or ".." in filename
            or len(caption) > MAX_ATTACHMENT_CAPTION
            or not 0 < len(data) <= _MAX_ATTACHMENT_B64
        ):
            return None
        try:
            raw = base64.b64decode(data.encode("ascii"), validate=True)
        except (binascii.Error, ValueError):  # not base64, or not even ASCII
            return None
        if not 0 < len(raw) <= MAX_ATTACHMENT_BYTES:
            return None
        caption = " ".join("".join(c if c.isprintable() else " " for c in caption).split())
        return cls(filename=filename, mime=mime, data=raw, caption=caption)

    def to_json(self) -> dict[str, str]:
        """As the web chat receives it (the data as standard base64)."""
        return {
            "filename": self.filename,
            "mime": self.mime,
            "data": base64.b64encode(self.data).decode("ascii"),
            "caption": self.caption,
        }


@dataclass(frozen=True)
class BotMessage:
    """One bot utterance as returned by Rasa's REST channel."""

    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    # A machine-readable marker from the action server (e.g. the end of an interview); never
    # shown to a person.
    custom: dict[str, Any] | None = None

    @cached_property
    def attachment(self) -> Attachment | None:
        """The file this message carries (see `Attachment`), if any and valid."""
        return Attachment.from_custom(self.custom)

    @property
    def visible(self) -> bool:
        return bool(self.text or self.buttons or self.attachment is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }


# Time-zone hints: gateways that know a person's IANA zone (the browser's, a Slack profile's)
# send it as metadata {"timezone": "Europe/Berlin"}; rasa_ext/rest_channel.py applies the same
# pattern again on Rasa's side.
TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{1,63}$")
_NOT_A_PLACE = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_A_PLACE


def timezone_hint(value: Any) -> str | None:
    """`value` when it is an IANA time zone name this server knows and can load, else None
    (never raises: a bad hint is dropped, never an error for the person)."""
    if not isinstance(value, str) or not TIMEZONE_RE.match(value) or value not in _known_zones():
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return value


# Message ids (the idempotency key of one message, see the module docstring); the same pattern
# is checked again on Rasa's side (rasa_ext/rest_channel.py) and by the action server.
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@+-]{0,127}$")


def valid_message_id(value: Any) -> str | None:
    """`value` when it is a valid message id, else None (never raises)."""
    if isinstance(value, str) and MESSAGE_ID_RE.fullmatch(value):
        return value
    return None


def channel_message_id(prefix: str, *parts: Any) -> str | None:
    """A stable message id built from what a channel says identifies a message (a chat id
    and a message number, a Slack `ts`, …): the same parts always give the same id, so a
    redelivered message is recognised. Parts that would not fit the pattern are hashed;
    None when a part is missing (then `send` makes a fresh id)."""
    if not parts or any(p is None or p == "" or isinstance(p, bool) for p in parts):
        return None
    if not all(isinstance(p, str | int) for p in parts):
        return None
    joined = ":".join([prefix, *(str(p) for p in parts)])
    if MESSAGE_ID_RE.fullmatch(joined):
        return joined
    digest = hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    safe_prefix = prefix if MESSAGE_ID_RE.fullmatch(prefix) and len(prefix) <= 40 else "id"
    return f"{safe_prefix}:h:{digest}"


class RasaUnavailable(RuntimeError):
    """Rasa did not answer in time or answered with an error; the message was not processed."""


def parse_rest_response(data: Any) -> list[BotMessage]:
    """Turn Rasa's REST reply (a list of dicts) into BotMessages, ignoring unknown parts."""
    messages: list[BotMessage] = []
    if not isinstance(data, list):
        return messages
    for item in data:
        if not isinstance(item, dict):
            continue
        buttons = [
            Button(str(b.get("title", "")), str(b.get("payload", b.get("title", ""))))
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        text = item.get("text") or ""
        custom = item.get("custom") if isinstance(item.get("custom"), dict) else None
        if text or buttons or custom:
            messages.append(BotMessage(text=str(text), buttons=buttons, custom=custom))
    return messages


class RasaClient:
    """Sends one user message into a conversation and returns the bot's replies (the retry
    policy and the routing over replicas are in the module docstring)."""

    def __init__(
        self,
        base_url: str | Sequence[str],
        timeout_s: float = 30.0,
        connect_retries: int = 3,
        expected_model: str = "",
        *,
        down_for_s: float = 2.0,
    ) -> None:
        self.replicas = ReplicaSet(base_url, expected_model, down_for_s)
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)
        self._connect_retries = connect_retries
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> RasaClient:
        """The client every gateway process uses: all replicas, the configured timeout and
        expected model (PARLEY_RASA_URLS, PARLEY_RASA_TIMEOUT_S, PARLEY_RASA_MODEL_ID)."""
        return cls(
            settings.rasa_urls,
            timeout_s=settings.rasa_timeout_s,
            expected_model=settings.rasa_model_id,
        )

    @property
    def base_url(self) -> str:
        """The first replica's URL (the only one, unless several are configured)."""
        return self.replicas.urls[0]

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self,
        sender: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> list[BotMessage]:
        """One message into `sender`'s conversation; its replies. `message_id` is the
        channel's id for this message (None, or not a valid id: a fresh one is made)."""
        message_id = valid_message_id(message_id) or uuid.uuid4().hex
        body: dict[str, Any] = {
            "sender": sender,
            "message": text,
            "metadata": {**(metadata or {}), "message_id": message_id},
        }
        http = self._http()
        replicas = self.replicas
        await replicas.refresh(http)
        max_connect_attempts = len(replicas) * (self._connect_retries + 1)
        connect_failures = 0
        rounds = 0
        resent = False  # the one resend of a message that may have reached Rasa
        failed: set[str] = set()  # replicas that failed in this round
        stay_on: str | None = None
        last_error = "no attempt"

        def next_replica() -> str | None:
            nonlocal stay_on
            if stay_on is not None:
                url, stay_on = stay_on, None
                return url
            order = replicas.order(sender)
            return next((u for u in order if u not in failed), None)

        def resend_or_raise(why: str) -> None:
            nonlocal resent
            if resent:
                raise RasaUnavailable(f"Rasa failed twice: {why}")
            resent = True
            logger.info("resending a message with the same id after: %s", why)

        while True:
            url = next_replica()
            if url is None:
                if not replicas.order(sender):
                    raise RasaUnavailable(
                        f"no Rasa replica serves model {replicas.reference_model()!r}"
                    )
                rounds += 1  # every replica failed to connect once: back off, try again
                await asyncio.sleep(0.2 * rounds)
                failed.clear()
                continue
            if replicas.needs_check(url) and not await replicas.check(url, http):
                failed.add(url)
                if not replicas.is_drained(url):  # unreachable: counts as a connect failure
                    connect_failures += 1
                    last_error = "model check failed"
                    if connect_failures >= max_connect_attempts:
                        break
                continue
            try:
                response = await http.post(url + REST_PATH, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Never delivered: safe to send anywhere.
                if not isinstance(exc, httpx.PoolTimeout):
                    replicas.mark_down(url)
                failed.add(url)
                connect_failures += 1
                last_error = type(exc).__name__
                if connect_failures >= max_connect_attempts:
                    break
                continue
            except httpx.TimeoutException as exc:  # read/write timeout: it may be working
                resend_or_raise(type(exc).__name__)
                stay_on = url
                continue
            except httpx.TransportError as exc:  # died mid-request
                replicas.mark_down(url)
                failed.add(url)
                resend_or_raise(type(exc).__name__)
                continue
            if response.status_code >= 500:
                replicas.mark_down(url)
                failed.add(url)
                resend_or_raise(f"HTTP {response.status_code}")
                continue
            if response.status_code != 200:
                raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
            replicas.mark_up(url)
            try:
                data = response.json()
            except ValueError as exc:
                raise RasaUnavailable("Rasa answered with something that is not JSON") from exc
            messages = parse_rest_response(data)
            if messages:
                return messages
            resend_or_raise("an empty reply")
            stay_on = url
        raise RasaUnavailable(f"cannot reach Rasa ({', '.join(replicas.urls)}): {last_error}")
