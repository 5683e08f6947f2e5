"""Rasa's REST channel, passing on the request's `metadata` (Rasa's own drops it).

Why: gateways know things about a message that the action server needs and that are not its
text. Only gateways reach Rasa's REST port (bound to 127.0.0.1 by `parley run`), and only three
keys are passed on, each checked, so a message cannot smuggle in anything else:

* `speech`: the phone gateway sends a spoken answer's transcript with its speech confidence
  and the ref of the kept recording; the action server stores them with the answer (the
  scorer's insufficient-data guard uses the confidence). An object of at most 2 KB.
* `timezone`: the person's IANA time zone as the web page's browser or their Slack profile
  reports it ("Europe/Berlin"); the scheduling dialogue offers it as a guess the person
  confirms. A string of at most 64 characters matching `TIMEZONE_RE`.
* `message_id`: the message's idempotency key (bot/rasa_client.py): the channel's own id for
  it or one the gateway made, the same when the message is sent again. The action server
  records it with what the message changed, so a resent message is not processed twice.
  A string matching `MESSAGE_ID_RE` (1 to 128 characters).

Anything else under `metadata` is dropped; when no key is valid there is no metadata.
The channel keeps the name "rest", so its URL stays /webhooks/rest/webhook.

`GET /webhooks/rest/model` says which trained model this server runs: `{"model_id": …,
"model_file": <its file name>}`, 503 while no model is loaded. Gateways routing over several
Rasa replicas (bot/replicas.py) use it to leave out a replica serving a different model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePath
from typing import Any

import rasa.core.channels.rest as _rasa_rest
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

MAX_METADATA_BYTES = 2048
TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{1,63}$")
MESSAGE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._@+-]{0,127}$")  # as bot/rasa_client.py


def _speech(metadata: dict[str, Any]) -> dict[str, Any] | None:
    speech = metadata.get("speech")
    if not isinstance(speech, dict):
        return None
    if len(json.dumps(speech, default=str)) > MAX_METADATA_BYTES:
        return None
    return speech


def _timezone(metadata: dict[str, Any]) -> str | None:
    zone = metadata.get("timezone")
    if not isinstance(zone, str) or not TIMEZONE_RE.match(zone):
        return None
    return zone


def _message_id(metadata: dict[str, Any]) -> str | None:
    message_id = metadata.get("message_id")
    if not isinstance(message_id, str) or not MESSAGE_ID_RE.fullmatch(message_id):
        return None
    return message_id


def model_of(app: Any) -> dict[str, str] | None:
    """The loaded model's id and file name, None while the server has no model."""
    agent = getattr(app.ctx, "agent", None)
    processor = getattr(agent, "processor", None) if agent is not None else None
    if processor is None:
        return None
    model_id = agent.model_id
    model_file = getattr(processor, "model_filename", None)
    return {
        "model_id": str(model_id or ""),
        "model_file": PurePath(str(model_file)).name if model_file else "",
    }


class MetadataRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            return None
        passed: dict[str, Any] = {}
        speech = _speech(metadata)
        if speech is not None:
            passed["speech"] = speech
        zone = _timezone(metadata)
        if zone is not None:
            passed["timezone"] = zone
        message_id = _message_id(metadata)
        if message_id is not None:
            passed["message_id"] = message_id
        return passed or None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        """Rasa's REST routes plus `GET /model` (which model this server runs)."""
        webhook = super().blueprint(on_new_message)

        @webhook.route("/model", methods=["GET"])
        async def model(request: Request) -> HTTPResponse:
            loaded = model_of(request.app)
            if loaded is None:
                return response.json({"error": "no model loaded"}, status=503)
            return response.json(loaded)

        return webhook


class _WithoutText:
    """Rasa's REST channel logs the person's message (`text=`) when a turn fails or is
    cancelled (a gateway timeout). Nothing personal goes into Parley's logs, so the channel's
    logger gets this wrapper: the same events, without the text."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if not callable(method):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("text", None)
            return method(*args, **kwargs)

        return call


if not isinstance(_rasa_rest.structlogger, _WithoutText):
    _rasa_rest.structlogger = _WithoutText(_rasa_rest.structlogger)
