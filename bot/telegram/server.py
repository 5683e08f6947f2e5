"""The Telegram gateway process: the bot checked (getMe), the HTTP listener (/healthz and, in
webhook mode, the webhook), updates by long polling or webhook, and the outbox.

`parley serve-telegram` runs `run_telegram_gateway(load_settings())`. A token Telegram rejects
is a configuration error, not a crash: one clear log line and exit code 3, so `parley run`
can report it and keep the other gateways running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.methods import DeleteWebhook, SetMyCommands, SetWebhook
from aiogram.types import BotCommand
from aiogram.utils.token import TokenValidationError
from aiohttp import web

from bot.rasa_client import RasaClient
from bot.telegram.gateway import HANDLED_UPDATES, TelegramConfig, TelegramGateway, Transcribe
from bot.telegram.polling import poll
from bot.telegram.sender import call
from bot.telegram.webhook import create_app, public_webhook_url, webhook_path

if TYPE_CHECKING:
    from nlu.speech.transcribe import Transcript
    from screening.spoken import QuestionHint

logger = logging.getLogger("parley.telegram")

EXIT_BAD_TOKEN = 3
EXIT_BAD_CONFIG = 2
EXIT_UNREACHABLE = 1
TOKEN_REJECTED = "Telegram bot token was rejected (401 Unauthorized): check PARLEY_TELEGRAM_TOKEN"
TOKEN_MALFORMED = (
    "Telegram bot token is malformed (expected <digits>:<letters>, as BotFather gives it): "
    "check PARLEY_TELEGRAM_TOKEN"
)
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
COMMANDS = [
    ("start", "Start or continue your application"),
    ("jobs", "See the open jobs"),
    ("repeat", "Repeat the current question"),
    ("back", "Change your last answer"),
    ("pause", "Pause and continue later"),
    ("help", "What I can do"),
    ("link", "Continue on another channel"),
    ("book", "Book, move or see your interview with a person"),
    ("mydata", "What I know about you"),
    ("delete", "Delete your data"),
]


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the variable."""


def make_bot(token: str, api_url: str = "https://api.telegram.org") -> Bot:
    """A Bot on `api_url` (Telegram, a self-hosted Bot API server or a stand-in), link
    previews off (export links must not be fetched by Telegram's preview robot)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token, session=session, default=DefaultBotProperties(link_preview_is_disabled=True))


class TelegramService:
    """The gateway with its HTTP listener, its update source and (optionally) the outbox."""

    def __init__(
        self,
        gateway: TelegramGateway,
        *,
        mode: str = "polling",
        host: str = "127.0.0.1",
        port: int = 8082,
        webhook_url: str = "",
        webhook_secret: str = "",
        outbox: Any = None,
        poll_timeout_s: int = 25,
    ) -> None:
        if mode not in ("polling", "webhook"):
            raise ConfigError(f"PARLEY_TELEGRAM_MODE must be polling or webhook, not {mode!r}")
        if mode == "webhook":
            if not webhook_url.startswith(("https://", "http://")):
                raise ConfigError(
                    "webhook mode needs PARLEY_TELEGRAM_WEBHOOK_URL (the public https URL "
                    "Telegram posts updates to)"
                )
            webhook_secret = webhook_secret or secrets.token_urlsafe(32)
            if not SECRET_RE.match(webhook_secret):
                raise ConfigError(
                    "PARLEY_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, "
                    "0-9, _ and -"
                )
        self.gateway = gateway
        self.mode = mode
        self.host = host
        self.port = port
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.outbox = outbox
        self.poll_timeout_s = poll_timeout_s
        self.app = create_app(
            gateway, mode=mode, secret=webhook_secret, path=webhook_path(webhook_url)
        )
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """getMe first (a wrong token raises TelegramUnauthorizedError before anything is
        served), then the listener, then updates start flowing."""
        me = await self.gateway.start()
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        with contextlib.suppress(Exception):  # the command menu is a nicety
            await call(
                self.gateway.bot,
                SetMyCommands(commands=[BotCommand(command=c, description=d) for c, d in COMMANDS]),
            )
        if self.mode == "webhook":
            await call(
                self.gateway.bot,
                SetWebhook(
                    url=public_webhook_url(self.webhook_url),
                    secret_token=self.webhook_secret,
                    allowed_updates=list(HANDLED_UPDATES),
                ),
            )
        else:
            # A webhook left over from an earlier run would make getUpdates fail (409).
            await call(self.gateway.bot, DeleteWebhook(drop_pending_updates=False))
            self._poller = asyncio.create_task(poll(self.gateway, timeout_s=self.poll_timeout_s))
        if self.outbox is not None:
            self.outbox.start()
        logger.info(
            "Telegram gateway on as @%s (%s), listening on http://%s:%d",
            me.username,
            self.mode,
            self.host,
            self.port,
        )

    @property
    def poller(self) -> asyncio.Task[None] | None:
        return self._poller

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        if self.outbox is not None:
            await self.outbox.stop()
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()


def speech_transcriber(models_dir: Path, language: str | None) -> Transcribe:
    """The shared speech model as the gateway's blocking `transcribe(audio, question)`, steered
    by the open question (its prompt, key points and options). The model is assembled on the
    first voice note, not at start-up."""
    from nlu.speech import transcribe_answer

    def transcribe(audio: bytes, hint: QuestionHint | None) -> Transcript:
        return transcribe_answer(
            audio,
            question=hint.prompt if hint else None,
            key_points=[*hint.key_points, *hint.options] if hint else (),
            language=language,
            models_dir=models_dir,
        )

    return transcribe


def build_gateway(
    settings: Any, bot: Bot, rasa: RasaClient, db: Any, files: Any
) -> TelegramGateway:
    """The gateway with the app database (current question, linking, recordings) and the
    shared speech model."""
    from bot.linking import ChannelLinker
    from privacy.recordings import keep_answer_audio
    from screening.spoken import current_question

    config = TelegramConfig.from_settings(settings)

    async def question(sender: str) -> QuestionHint | None:
        return await asyncio.to_thread(current_question, db, sender)

    async def keep(sender: str, wav: bytes) -> str | None:
        enabled = bool(getattr(settings, "keep_recordings", True))
        return await asyncio.to_thread(
            partial(keep_answer_audio, db, files, sender, wav, enabled=enabled)
        )

    return TelegramGateway(
        bot,
        rasa,
        config=config,
        question=question,
        transcribe=speech_transcriber(settings.models_dir, config.language),
        keep_audio=keep,
        linker=ChannelLinker(db),
    )


async def _run(settings: Any) -> int:
    from bot.outbox_delivery import OutboxDelivery
    from bot.web.app import open_storage

    try:
        bot = make_bot(settings.telegram_token, settings.telegram_api_url)
    except TokenValidationError:
        logger.error(TOKEN_MALFORMED)
        return EXIT_BAD_TOKEN
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        # Check the token before opening anything else: a wrong one is the commonest mistake.
        try:
            await bot.get_me()
        except TelegramUnauthorizedError:
            logger.error(TOKEN_REJECTED)
            return EXIT_BAD_TOKEN
        except TelegramNetworkError as exc:
            logger.error(
                "cannot reach the Telegram Bot API at %s (%s): check the network or "
                "PARLEY_TELEGRAM_API_URL",
                settings.telegram_api_url,
                type(exc).__name__,
            )
            return EXIT_UNREACHABLE
        db, files = open_storage(settings)
        try:
            async with RasaClient.from_settings(settings) as rasa:
                gateway = build_gateway(settings, bot, rasa, db, files)
                service = TelegramService(
                    gateway,
                    mode=settings.telegram_mode,
                    host=settings.telegram_host,
                    port=settings.telegram_port,
                    webhook_url=settings.telegram_webhook_url,
                    webhook_secret=settings.telegram_webhook_secret,
                    outbox=OutboxDelivery(db, "telegram:", gateway.deliver),
                )
                try:
                    await service.start()
                except TelegramAPIError as exc:  # e.g. setWebhook refused: Telegram says why
                    logger.error("Telegram refused to start the gateway: %s", exc.message)
                    await service.stop()
                    return EXIT_BAD_CONFIG
                try:
                    waiter = asyncio.create_task(stop.wait())
                    watched = [waiter] + ([service.poller] if service.poller else [])
                    done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                    if service.poller in done and service.poller is not None:
                        error = service.poller.exception()
                        if isinstance(error, TelegramUnauthorizedError):
                            logger.error(TOKEN_REJECTED)
                            return EXIT_BAD_TOKEN
                        logger.error("polling stopped: %s", type(error).__name__)
                        return EXIT_UNREACHABLE
                    waiter.cancel()
                    logger.info("Telegram gateway stopping")
                finally:
                    await service.stop()
        finally:
            db.dispose()
    except ConfigError as exc:
        logger.error("Telegram gateway: %s", exc)
        return EXIT_BAD_CONFIG
    finally:
        await bot.session.close()
    return 0


def run_telegram_gateway(settings: Any) -> None:
    """Run until SIGINT/SIGTERM; exits with 3 for a rejected token, 2 for bad settings, 1 when
    the Bot API cannot be reached."""
    code = asyncio.run(_run(settings))
    if code:
        raise SystemExit(code)
