"""The two ways Slack reaches the gateway, both ending in the same slack-bolt `AsyncApp`.

* HTTP (Events API): `POST /slack/events` — events, interactivity (buttons, modals) and the
  employer side's slash commands all use this one URL. Every request must carry a valid v0
  signature made within the last five minutes (checked here, before parsing); an exact
  replay of a signed request (same signature again) is refused with 401 too, so a captured
  request cannot be re-sent inside the window. Bodies are limited in size; malformed bodies
  get 400.
* Socket Mode: a websocket opened with the app-level token (`apps.connections.open`); Slack
  sends envelopes (events, interactivity, slash commands) and we acknowledge each by its
  `envelope_id`. No signature is involved: the connection itself is authenticated.

In both, the payload is reduced to its canonical form (`payloads.canonical`) — what is not
Parley's is acknowledged and dropped — and deduplicated (`event_id`, user and `action_ts`,
a command's or a modal submission's `trigger_id`) before bolt sees it. Bolt acknowledges
events immediately and runs listeners in the
background (`process_before_response=False`); the listeners only queue work.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack import payloads
from bot.slack.gateway import SlackGateway
from bot.slack.listeners import register

if TYPE_CHECKING:
    from bot.slack.employer.service import EmployerSlack

logger = logging.getLogger("parley.slack")

EVENTS_PATH = "/slack/events"
MAX_BODY_BYTES = 256 * 1024  # Slack's payloads are a few KiB
SIGNATURE_TTL_S = 2 * payloads.MAX_TIMESTAMP_SKEW_S + 60  # a signature is usable this long


def build_bolt_app(gateway: SlackGateway, employer: EmployerSlack | None = None) -> AsyncApp:
    """The bolt app with Parley's listeners (the employer side's too when `employer` is
    given: it needs the database). Signatures are checked by the HTTP endpoint before bolt
    (bolt only ever sees canonical bodies), so bolt's own check is off."""
    app = AsyncApp(
        name="parley",
        client=gateway.client,
        process_before_response=False,
        request_verification_enabled=False,
        ssl_check_enabled=False,
        url_verification_enabled=False,
        ignoring_self_events_enabled=True,
        logger=logging.getLogger("parley.slack.bolt"),
    )

    @app.error
    async def on_error(error: Exception) -> None:
        # The exception's message could quote a person: its type only.
        gateway.stats.errors += 1
        logger.error("slack listener failed: %s", type(error).__name__)

    register(app, gateway, employer)
    return app


async def dispatch(gateway: SlackGateway, bolt: AsyncApp, body: Any, mode: str) -> BoltResponse:
    """Hand one payload to bolt in canonical form; anything else is acknowledged (Slack must
    not retry it) and dropped."""
    clean = payloads.canonical(body)
    if clean is None:
        gateway.stats.dropped += 1
        if isinstance(body, dict):
            logger.debug("slack payload ignored: %s", payloads.kind(body))
        return BoltResponse(status=200, body="")
    key = payloads.dedupe_key(clean)
    if key is not None and not await gateway.seen.first_time(key):
        gateway.stats.duplicates += 1
        logger.info("slack duplicate ignored: %s", payloads.kind(clean))
        return BoltResponse(status=200, body="")
    try:
        request = AsyncBoltRequest(
            body=json.dumps(clean),
            headers={"content-type": "application/json"},
            mode=mode,
        )
        response = await bolt.async_dispatch(request)
    except Exception as exc:
        gateway.stats.errors += 1
        logger.error("slack dispatch failed: %s", type(exc).__name__)
        return BoltResponse(status=200, body="")
    if response.status == 404:  # no listener wanted it: still delivered, never retried
        return BoltResponse(status=200, body="")
    return response


def _parse(raw: bytes, content_type: str) -> Any:
    """The payload of an Events API, interactivity or slash-command request; ValueError when
    broken."""
    text = raw.decode("utf-8")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/x-www-form-urlencoded":
        form = parse_qs(text, keep_blank_values=True, max_num_fields=30, strict_parsing=False)
        payload = form.get("payload")
        if payload:  # interactivity: the JSON payload in one field
            return json.loads(payload[0])
        if form.get("command"):  # a slash command: one field per value
            return {key: values[0] for key, values in form.items() if values}
        raise ValueError("no payload")
    return json.loads(text)


def _reject(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def events_handler(
    gateway: SlackGateway,
    bolt: AsyncApp,
    signing_secret: str,
    *,
    clock: Callable[[], float] = time.time,
) -> Callable[[web.Request], Any]:
    """`POST /slack/events`: verify, refuse replays, parse, dispatch."""

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _reject(413, "request too large")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _reject(413, "request too large")
        signature = request.headers.get("X-Slack-Signature")
        reason = payloads.verify_signature(
            signing_secret,
            raw,
            request.headers.get("X-Slack-Request-Timestamp"),
            signature,
            clock(),
        )
        if reason is not None:
            logger.warning("slack request rejected: %s", reason)
            return _reject(401, "invalid request signature")
        assert signature is not None
        if not await gateway.seen.first_time("signature:" + signature, SIGNATURE_TTL_S):
            logger.warning("slack request rejected: replayed")
            return _reject(401, "replayed request")
        try:
            body = _parse(raw, request.headers.get("Content-Type", ""))
        except (UnicodeDecodeError, ValueError):
            return _reject(400, "malformed body")
        if isinstance(body, dict) and body.get("type") == "url_verification":
            challenge = body.get("challenge")
            if isinstance(challenge, str) and len(challenge) <= 500:
                return web.json_response({"challenge": challenge})
            return _reject(400, "malformed challenge")
        response = await dispatch(gateway, bolt, body, "http")
        return await to_aiohttp_response(response)

    return handle


async def _normalize_envelope(_client: Any, message: dict[str, Any], _raw: Any) -> None:
    """Make every envelope one the SDK can parse, so that it reaches `handle` and is
    acknowledged (and dropped there): the SDK raises on a payload that is neither an object
    nor a string, and skips envelopes without a type or payload, leaving them unacknowledged."""
    if "envelope_id" not in message:
        return
    if not isinstance(message.get("payload"), (dict, str)):
        message["payload"] = {}
    if not isinstance(message.get("type"), str):
        message["type"] = "unknown"


class ParleySocketModeHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler with Parley's canonical form and deduplication in front.
    Every envelope is acknowledged, even one that is dropped or fails."""

    def __init__(self, gateway: SlackGateway, bolt: AsyncApp, app_token: str, **kw: Any):
        super().__init__(bolt, app_token, web_client=gateway.client, **kw)
        self.gateway = gateway
        # Runs before the SDK turns the frame into a SocketModeRequest, on the same dict.
        self.client.message_listeners.append(_normalize_envelope)

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        try:
            if req.type in ("events_api", "interactive", "slash_commands"):
                response = await dispatch(self.gateway, self.app, req.payload, "socket_mode")
            else:
                self.gateway.stats.dropped += 1
                response = BoltResponse(status=200, body="")
            if response.status != 200:
                response = BoltResponse(status=200, body="")
            await send_async_response(client, req, response, started)
        except Exception as exc:
            self.gateway.stats.errors += 1
            logger.error("slack socket envelope failed: %s", type(exc).__name__)
            envelope = req.envelope_id if isinstance(req.envelope_id, str) else ""
            try:
                await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope))
            except Exception as send_exc:
                logger.warning("slack socket ack failed: %s", type(send_exc).__name__)
