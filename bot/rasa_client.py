"""Async client for Rasa's REST channel, shared by every gateway.

Gateways never talk to Rasa any other way: one path means one place to get timeouts,
retries and error handling right, and every channel behaves the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class BotMessage:
    """One bot utterance as returned by Rasa's REST channel."""

    text: str = ""
    buttons: list[Button] = field(default_factory=list)
    # A machine-readable marker from the action server (e.g. the end of an interview); never
    # shown to a person.
    custom: dict[str, Any] | None = None

    @property
    def visible(self) -> bool:
        return bool(self.text or self.buttons)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in self.buttons],
        }


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
