"""The Slack gateway process (`parley serve-slack`): check the token, serve, deliver the outbox.

Start-up order: the HTTP listener comes up first (`GET /healthz` answers 503 "starting"), then
`auth.test` proves the bot token; only then does `/healthz` say ok (with the workspace and the
bot's name) and do events flow — over Socket Mode when the app-level token is set (no public
URL needed), else over HTTP at `POST /slack/events`. A rejected token is a configuration
error, not something to retry: one clear log line and exit code 3.

With a database (always in `parley serve-slack`) the employer side runs too: `/shortlist`,
`/parley-admin`, the shortlist's buttons and modals (`bot.slack.employer`), and a loop that
posts organizations' notifications to their channels every `notify_interval_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.access_log import Handler, logged
from bot.chat_queue import ChatQueues
from bot.rasa_client import RasaClient
from bot.slack.app import (
    EVENTS_PATH,
    MAX_BODY_BYTES,
    ParleySocketModeHandler,
    build_bolt_app,
    events_handler,
)
from bot.slack.gateway import Linker, SlackGateway
from bot.slack.seen import MemorySeen, Seen

logger = logging.getLogger("parley.slack")

EXIT_TOKEN_REJECTED = 3
EXIT_MISCONFIGURED = 2
EXIT_UNREACHABLE = 1
TOKEN_REJECTED_MESSAGE = "Slack bot token was rejected (%s): check PARLEY_SLACK_BOT_TOKEN"


class TokenRejected(RuntimeError):
    """Slack refused the bot token (invalid_auth, not_authed, account_inactive...)."""


class Misconfigured(RuntimeError):
    """A setting the chosen mode needs is missing; the message says which."""


_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    app_token: str = ""
    signing_secret: str = ""
    mode: str = "socket"  # socket | http
    api_url: str = "https://slack.com/api/"
    host: str = "127.0.0.1"
    port: int = 8083
    outbox_interval_s: float = 2.0
    notify_interval_s: float = 5.0  # employer notifications: collect and post this often
    ping_interval_s: float = 10.0
    max_pending: int = 100

    @classmethod
    def from_settings(cls, settings: Any) -> SlackConfig:
        return cls(
            bot_token=settings.slack_bot_token,
            app_token=settings.slack_app_token,
            signing_secret=settings.slack_signing_secret,
            mode=settings.slack_effective_mode,
            api_url=settings.slack_api_url,
            host=settings.slack_host,
            port=settings.slack_port,
            notify_interval_s=max(0.5, float(settings.slack_notify_interval_s)),
        )

    def check(self) -> None:
        if not self.bot_token:
            raise Misconfigured("PARLEY_SLACK_BOT_TOKEN is not set")
        if self.mode == "socket" and not self.app_token:
            raise Misconfigured("Socket Mode needs the app-level token: set PARLEY_SLACK_APP_TOKEN")
        if self.mode == "http" and not self.signing_secret:
            raise Misconfigured(
                "HTTP mode needs the signing secret: set PARLEY_SLACK_SIGNING_SECRET"
            )
        if self.mode not in ("socket", "http"):
            raise Misconfigured("PARLEY_SLACK_MODE must be socket or http")


def web_client(config: SlackConfig) -> AsyncWebClient:
    """The Web API client: retries connection errors and waits out rate limits (429 with
    Retry-After) a few times before a call fails."""
    return AsyncWebClient(
        token=config.bot_token,
        base_url=config.api_url,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


async def authenticate(client: AsyncWebClient) -> dict[str, Any]:
    """`auth.test`: who the bot is. Raises TokenRejected when Slack refuses the token."""
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        code = str(exc.response.get("error", "")) if exc.response else ""
        if code in _TOKEN_ERRORS:
            raise TokenRejected(code) from None
        raise
    return dict(response.data) if isinstance(response.data, dict) else {}


class SlackService:
    """One running gateway. Tests build it with a stand-in API URL and a fake Rasa."""

    def __init__(
        self,
        config: SlackConfig,
        rasa: RasaClient,
        *,
        db: Any = None,
        linker: Linker | None = None,
        seen: Seen | None = None,
    ) -> None:
        config.check()
        self.config = config
        self.rasa = rasa
        self.db = db
        self.client = web_client(config)
        self.gateway = SlackGateway(
            rasa,
            self.client,
            seen or MemorySeen(),
            linker=linker,
            queues=ChatQueues(max_pending=config.max_pending),
        )
        # The employer side (shortlists, decisions, notifications) needs the database.
        self.employer: Any = None
        if db is not None:
            from bot.slack.employer.service import EmployerSlack

            self.employer = EmployerSlack(db, self.client)
        self.bolt = build_bolt_app(self.gateway, self.employer)
        self.identity: dict[str, str] | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._socket: ParleySocketModeHandler | None = None
        self._outbox: Any = None
        self.notifications: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    def http_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.middlewares.append(_access_log)
        app.router.add_get("/healthz", self._healthz)
        if self.config.mode == "http":
            app.router.add_post(
                EVENTS_PATH, events_handler(self.gateway, self.bolt, self.config.signing_secret)
            )
        return app

    async def _healthz(self, _request: web.Request) -> web.Response:
        if self.identity is None:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response(
            {
                "status": "ok",
                "team": self.identity["team"],
                "team_id": self.identity["team_id"],
                "bot": self.identity["bot"],
                "mode": self.config.mode,
            }
        )

    async def start(self) -> None:
        """Serve /healthz, prove the token, then take events. Raises TokenRejected."""
        self._runner = web.AppRunner(self.http_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        self.port = _bound_port(self._runner, self.config.port)
        try:
            await self._authenticate()
            if self.config.mode == "socket":
                self._socket = ParleySocketModeHandler(
                    self.gateway,
                    self.bolt,
                    self.config.app_token,
                    ping_interval=self.config.ping_interval_s,
                )
                await self._socket.connect_async()
            if self.db is not None:
                from bot.outbox_delivery import OutboxDelivery

                self._outbox = OutboxDelivery(
                    self.db,
                    "slack:",
                    self.gateway.deliver,
                    interval_s=self.config.outbox_interval_s,
                )
                self._outbox.start()
                from bot.slack.employer.notify import EmployerNotifications

                self.notifications = EmployerNotifications(
                    self.db, self.client, interval_s=self.config.notify_interval_s
                )
                self.notifications.start()
        except BaseException:
            await self.stop()
            raise
        logger.info(
            "slack gateway ready (%s mode) on %s, health at /healthz", self.config.mode, self.url
        )

    async def _authenticate(self) -> None:
        auth = await authenticate(self.client)
        self.identity = {
            "team": str(auth.get("team") or ""),
            "team_id": str(auth.get("team_id") or ""),
            "bot": "@" + str(auth.get("user") or "parley"),
            "bot_user_id": str(auth.get("user_id") or ""),
        }

    async def stop(self) -> None:
        if self.notifications is not None:
            await self.notifications.stop()
            self.notifications = None
        if self._outbox is not None:
            await self._outbox.stop()
            self._outbox = None
        if self.employer is not None:
            await self.employer.close()
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()
            self._socket = None
        await self.gateway.queues.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        with contextlib.suppress(Exception):
            await self.gateway.seen.close()


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    def error() -> web.StreamResponse:
        return web.json_response({"ok": False, "error": "internal error"}, status=500)

    return await logged(request, handler, logger, path=request.path, on_error=error)


def _bound_port(runner: web.AppRunner, wanted: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return wanted


async def _run(settings: Any) -> int:
    from bot.linking import ChannelLinker
    from bot.slack.seen import seen_for
    from bot.web.app import open_storage

    config = SlackConfig.from_settings(settings)
    try:
        config.check()
    except Misconfigured as exc:
        logger.error("slack gateway not started: %s", exc)
        return EXIT_MISCONFIGURED
    try:  # before the database is opened: a wrong token needs nothing else to be reported
        await authenticate(web_client(config))
    except TokenRejected as exc:
        logger.error(TOKEN_REJECTED_MESSAGE, exc)
        return EXIT_TOKEN_REJECTED
    except (aiohttp.ClientError, TimeoutError, SlackApiError) as exc:
        logger.error(
            "cannot reach Slack's Web API at %s (%s): check the network or PARLEY_SLACK_API_URL",
            config.api_url,
            type(exc).__name__,
        )
        return EXIT_UNREACHABLE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    db, _files = open_storage(settings)
    try:
        async with RasaClient.from_settings(settings) as rasa:
            service = SlackService(
                config, rasa, db=db, linker=ChannelLinker(db), seen=seen_for(settings)
            )
            try:
                await service.start()
            except TokenRejected as exc:
                logger.error(TOKEN_REJECTED_MESSAGE, exc)
                return EXIT_TOKEN_REJECTED
            try:
                await stop.wait()
                logger.info("slack gateway stopping")
            finally:
                await service.stop()
    finally:
        db.dispose()
    return 0


# At DEBUG these log whole payloads and Web API arguments, i.e. what people typed.
_CHATTY_LOGGERS = ("slack_sdk", "slack_bolt", "parley.slack.bolt")


def run_slack_gateway(settings: Any) -> None:
    """Run until SIGINT/SIGTERM; exits with code 3 when Slack rejects the bot token and 2 when
    the mode's settings are missing."""
    for name in _CHATTY_LOGGERS:
        chatty = logging.getLogger(name)
        if chatty.getEffectiveLevel() < logging.INFO:
            chatty.setLevel(logging.INFO)
    code = asyncio.run(_run(settings))
    if code:
        raise SystemExit(code)
