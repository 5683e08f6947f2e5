"""The gateway's HTTP side: `GET /healthz` always, `POST /telegram/webhook` in webhook mode.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token` on every
call; anything without the matching header is a forgery and gets 403 (compared in constant
time). Bodies are capped (an update is a few KiB), a body that is not a JSON object gets 400,
and a valid request is answered 200 as soon as the update is queued — the work happens in
the chat's queue, so Telegram never times out and re-sends. Re-sent or replayed `update_id`s
are handled once (`TelegramGateway.accept`). An update that is JSON but not a valid update is
acknowledged (200) and dropped: answering an error would make Telegram re-send it forever.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web

from bot.access_log import Handler, logged
from bot.telegram.gateway import TelegramGateway

logger = logging.getLogger("parley.telegram")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024

GATEWAY_KEY = web.AppKey("telegram_gateway", TelegramGateway)
SECRET_KEY = web.AppKey("telegram_secret", bytes)
MODE_KEY = web.AppKey("telegram_mode", str)


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    def error() -> web.StreamResponse:
        return web.json_response({"ok": False}, status=500)

    return await logged(request, handler, logger, path=request.path, on_error=error)


def secret_matches(given: str | None, secret: bytes) -> bool:
    if not secret or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), secret)


async def _webhook(request: web.Request) -> web.Response:
    if not secret_matches(request.headers.get(SECRET_HEADER), request.app[SECRET_KEY]):
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return web.json_response({"ok": False, "error": "too large"}, status=413)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"ok": False, "error": "too large"}, status=413)
    try:
        data: Any = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return web.json_response({"ok": False, "error": "not JSON"}, status=400)
    if not isinstance(data, dict):
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    outcome = request.app[GATEWAY_KEY].accept(data)
    return web.json_response({"ok": True, "outcome": outcome})


async def _healthz(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY_KEY]
    if gateway.me is None:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response(
        {"status": "ok", "bot": gateway.username, "mode": request.app[MODE_KEY]}
    )


def webhook_path(public_url: str) -> str:
    """The local path of the webhook: the public URL's path, or WEBHOOK_PATH when it has
    none (PARLEY_TELEGRAM_WEBHOOK_URL=https://bot.example.com)."""
    path = urlsplit(public_url).path
    return path if path not in ("", "/") else WEBHOOK_PATH


def public_webhook_url(public_url: str) -> str:
    parts = urlsplit(public_url)
    return urlunsplit(parts._replace(path=webhook_path(public_url)))


def create_app(
    gateway: TelegramGateway, *, mode: str, secret: str = "", path: str = WEBHOOK_PATH
) -> web.Application:
    """The HTTP app; the webhook route exists only in webhook mode (and needs a secret)."""
    app = web.Application(middlewares=[_access_log], client_max_size=MAX_BODY_BYTES)
    app[GATEWAY_KEY] = gateway
    app[SECRET_KEY] = secret.encode("utf-8")
    app[MODE_KEY] = mode
    app.router.add_get("/healthz", _healthz)
    if mode == "webhook":
        if not secret:
            raise ValueError("webhook mode needs a secret token")
        app.router.add_post(path, _webhook)
    return app
