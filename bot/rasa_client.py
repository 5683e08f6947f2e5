"""Async client for Rasa's REST channel, shared by every gateway.

Gateways never talk to Rasa any other way: one path means one place to get timeouts,
retries and error handling right, and every channel behaves the same.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import httpx

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
    """Sends one user message into a conversation and returns the bot's replies.

    Connection errors are retried only before Rasa has accepted the request (connect errors),
    so a message is never processed twice.
    """

    def __init__(self, base_url: str, timeout_s: float = 30.0, connect_retries: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)
        self._connect_retries = connect_retries
        self._client: httpx.AsyncClient | None = None

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
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        last_error: Exception | None = None
        for attempt in range(self._connect_retries + 1):
            try:
                response = await self._http().post(self.base_url + REST_PATH, json=body)
            except httpx.ConnectError as exc:  # not delivered: safe to retry
                last_error = exc
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"Rasa did not answer: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
            return parse_rest_response(response.json())
        raise RasaUnavailable(f"cannot reach Rasa at {self.base_url}: {last_error}")
