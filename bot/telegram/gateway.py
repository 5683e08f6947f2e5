"""The Telegram gateway's core: take updates in, keep each chat in order, talk to Rasa.

Design notes:

* Intake (`accept`) never raises: an update arrives from the polling loop or the webhook as
  raw JSON, is validated on its own (one malformed update must not block the ones after it
  — aiogram's own polling would retry a batch with one bad update forever), de-duplicated by
  `update_id` (webhook retries, replays) and queued on its chat's FIFO (`ChatQueues`), so a
  person's messages are answered in the order sent while other chats run concurrently.
* Only private chats are interviews. Update kinds that are not a message, an edited message
  or a button press (polls, reactions, membership changes, inline queries, channel posts,
  kinds newer than this aiogram) are ignored on purpose: there is nobody to answer.
* Sender id: `telegram:<chat id>` (a private chat's id is the person's user id).
* Message ids (the idempotency key Rasa's side records, bot/rasa_client.py): a message is
  `tg:<chat id>:<message id>`, a button press `tg:cb:<callback query id>` — Telegram's own
  ids, so an update Telegram delivers again after a gateway crash (the in-memory `update_id`
  de-duplication is gone then) is still recognised and not processed twice.
* Privacy: nothing a person sent — text, file names, transcripts — is logged; only update
  kinds, ids and outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, GetMe
from aiogram.types import CallbackQuery, Update, User

from bot.chat_queue import ChatQueues
from bot.inbound import prepare
from bot.rasa_client import (
    UNAVAILABLE_MESSAGE,
    RasaClient,
    RasaUnavailable,
    channel_message_id,
)
from bot.telegram.render import CallbackTokens, render
from bot.telegram.sender import call, send, send_text, typing

if TYPE_CHECKING:
    from nlu.speech.transcribe import Transcript
    from screening.spoken import QuestionHint

logger = logging.getLogger("parley.telegram")

SENDER_PREFIX = "telegram:"
HANDLED_UPDATES = ("message", "edited_message", "callback_query")
MAX_REMEMBERED_UPDATES = 10_000
MAX_REMEMBERED_PRESSES = 10_000

SLOW_DOWN = (
    "You're sending messages faster than I can answer. Please wait for my replies; "
    "I'll answer what you've sent so far in order."
)
SOMETHING_WRONG = (
    "Sorry, something went wrong on my side with that message. Your answers so far are "
    "saved; please send it again."
)
UNREADABLE = "Sorry, I couldn't read that message. Please type your answer, or /help."
EXPIRED_BUTTON = (
    "That button no longer works. Please type your answer, or send /repeat to see the "
    "question again."
)

QuestionLookup = Callable[[str], Awaitable["QuestionHint | None"]]
Transcribe = Callable[[bytes, "QuestionHint | None"], "Transcript"]  # blocking: runs in a thread
KeepAudio = Callable[[str, bytes], Awaitable["str | None"]]


class Linker(Protocol):
    """What the gateway needs of `bot.linking.ChannelLinker`."""

    async def handle(self, sender_id: str, text: str | None) -> Any: ...


@dataclass(frozen=True)
class TelegramConfig:
    max_upload_bytes: int = 10 * 1024 * 1024
    language: str | None = "en"  # spoken answers' language (None: detect)
    transcript_ttl_s: float = 30 * 60  # how long an unconfirmed voice transcript waits
    max_pending: int = 100  # queued updates per chat before "slow down"

    @classmethod
    def from_settings(cls, settings: Any) -> TelegramConfig:
        language = getattr(settings, "voice_language", "en")
        return cls(
            max_upload_bytes=int(settings.max_upload_mb) * 1024 * 1024,
            language=None if language == "auto" else language,
        )


@dataclass
class Stats:
    """Counters for the tests, the benchmark and the health page (no personal data)."""

    received: int = 0
    queued: int = 0
    duplicates: int = 0
    invalid: int = 0
    salvaged: int = 0  # unparseable private messages still answered
    ignored: int = 0
    refused: int = 0  # over the per-chat queue limit
    errors: int = 0  # a handler failed (a bug): logged by type, the person told


def chat_of(update: Update) -> tuple[str, int] | None:
    """(event type, chat id) of an update the gateway handles; None for the ones it ignores."""
    if update.message is not None:
        return "message", update.message.chat.id
    if update.edited_message is not None:
        return "edited_message", update.edited_message.chat.id
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        return "callback_query", chat_id
    return None


def message_id_of(chat_id: int, message_id: Any) -> str | None:
    """A Telegram message's id for Rasa: `tg:<chat id>:<message id>` (unique per chat, and the
    same when Telegram delivers the update again)."""
    return channel_message_id("tg", chat_id, message_id) if type(message_id) is int else None


def callback_id_of(query_id: Any) -> str | None:
    """A button press's id for Rasa: `tg:cb:<callback query id>` (Telegram's own id of the
    press, the same when the update is delivered again)."""
    return channel_message_id("tg:cb", query_id) if isinstance(query_id, str) else None


def update_kind(raw: dict[str, Any]) -> str:
    """The update's kind as a short word for the log (never its content)."""
    for key in raw:
        if key != "update_id":
            return key if key.replace("_", "").isalnum() and len(key) <= 40 else "other"
    return "empty"


class TelegramGateway:
    """One bot: intake, per-chat queues and the conversation with Rasa."""

    def __init__(
        self,
        bot: Bot,
        rasa: RasaClient,
        *,
        config: TelegramConfig | None = None,
        question: QuestionLookup | None = None,
        transcribe: Transcribe | None = None,
        keep_audio: KeepAudio | None = None,
        linker: Linker | None = None,
    ) -> None:
        from bot.telegram.media import Media
        from bot.telegram.routers import build_router

        self.bot = bot
        self.rasa = rasa
        self.config = config or TelegramConfig()
        self.linker = linker
        self.me: User | None = None
        self.tokens = CallbackTokens()
        self.queues = ChatQueues(max_pending=self.config.max_pending)
        self.stats = Stats()
        self.media = Media(self, question=question, transcribe=transcribe, keep_audio=keep_audio)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router(self))
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._pressed: OrderedDict[tuple[int, int], None] = OrderedDict()
        self._slowed: set[int] = set()
        self._background: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> User:
        """Ask Telegram who we are (getMe): this is where a wrong token shows
        (TelegramUnauthorizedError)."""
        self.me = await call(self.bot, GetMe())
        return self.me

    @property
    def username(self) -> str:
        return "@" + (self.me.username or "") if self.me is not None else ""

    async def close(self) -> None:
        await self.queues.close()
        for task in list(self._background):
            task.cancel()

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Wait until every accepted update has been handled (tests, benchmark)."""
        await self.queues.drain(timeout_s)
        if self._background:
            await asyncio.wait(list(self._background), timeout=timeout_s)

    # ------------------------------------------------------------------ intake
    def accept(self, raw: Any) -> str:
        """Take one update as Telegram delivered it (decoded JSON). Never raises. Returns
        what happened: queued, duplicate, invalid, ignored or refused."""
        self.stats.received += 1
        if not isinstance(raw, dict):
            return self._invalid("not an object")
        update_id = raw.get("update_id")
        if type(update_id) is not int:
            return self._invalid("no update_id")
        if update_id in self._seen:
            self.stats.duplicates += 1
            logger.info("update %d: duplicate, ignored", update_id)
            return "duplicate"
        self._seen[update_id] = None
        while len(self._seen) > MAX_REMEMBERED_UPDATES:
            self._seen.popitem(last=False)
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
            target = chat_of(update)
        except Exception as exc:  # pydantic's ValidationError and anything odder
            return self._salvage(raw, update_id, type(exc).__name__)
        if target is None:
            self.stats.ignored += 1
            logger.info("update %d (%s): not handled, ignored", update_id, update_kind(raw))
            return "ignored"
        _kind, chat_id = target
        return self._submit(chat_id, update_id, partial(self._handle, update))

    def _submit(self, chat_id: int, update_id: int, job: Callable[[], Awaitable[None]]) -> str:
        if not self.queues.submit(SENDER_PREFIX + str(chat_id), job):
            self.stats.refused += 1
            logger.warning("update %d: chat queue full, refused", update_id)
            if chat_id not in self._slowed:  # one "slow down" per flood, not one per message
                self._slowed.add(chat_id)
                self._spawn(self._say_quietly(chat_id, SLOW_DOWN))
            return "refused"
        self._slowed.discard(chat_id)
        self.stats.queued += 1
        return "queued"

    def _salvage(self, raw: dict[str, Any], update_id: int, why: str) -> str:
        """An update aiogram cannot parse (Telegram added or changed a field this aiogram does
        not know, or it is junk). A private message is still answered — its text taken when it
        has one — so a person is never met with silence; anything else is dropped."""
        message = raw.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        if (
            not isinstance(message, dict)
            or not isinstance(chat, dict)
            or type(chat_id) is not int
            or chat.get("type") != "private"
            or not 0 < chat_id < 2**52
        ):
            return self._invalid(why)
        text = message.get("text")
        logger.info("update %d: unparsed (%s), salvaged", update_id, why)
        if isinstance(text, str) and text.strip():
            message_id = message_id_of(chat_id, message.get("message_id"))
            work = partial(self.typed, chat_id, text, message_id=message_id)
        else:
            work = partial(self.say, chat_id, UNREADABLE)
        self.stats.salvaged += 1
        return self._submit(chat_id, update_id, partial(self._guarded, chat_id, update_id, work))

    async def _guarded(
        self, chat_id: int, update_id: int, work: Callable[[], Awaitable[Any]]
    ) -> None:
        try:
            await work()
        except TelegramAPIError as exc:
            logger.warning("update %d: Telegram refused a call (%s)", update_id, type(exc).__name__)
        except Exception as exc:
            self.stats.errors += 1
            logger.error("update %d: handler failed: %s", update_id, type(exc).__name__)
            await self._say_quietly(chat_id, SOMETHING_WRONG)

    def _invalid(self, why: str) -> str:
        self.stats.invalid += 1
        logger.info("malformed update ignored (%s)", why)
        return "invalid"

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _handle(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except TelegramForbiddenError:
            logger.info("update %d: the person blocked the bot", update.update_id)
        except TelegramAPIError as exc:
            logger.warning(
                "update %d: Telegram refused a call (%s)", update.update_id, type(exc).__name__
            )
        except Exception as exc:
            self.stats.errors += 1
            logger.error("update %d: handler failed: %s", update.update_id, type(exc).__name__)
            target = chat_of(update)
            if target is not None and target[1] > 0:
                await self._say_quietly(target[1], SOMETHING_WRONG)

    # ------------------------------------------------------------------ talking
    async def say(self, chat_id: int, text: str, markup: Any = None) -> list[Any]:
        return await send_text(self.bot, chat_id, text, markup)

    async def _say_quietly(self, chat_id: int, text: str) -> None:
        with contextlib.suppress(Exception):
            await self.say(chat_id, text)

    async def deliver(self, sender_id: str, text: str) -> None:
        """The outbox's delivery (one-time codes, notices, export links); raises on failure
        so the row is retried."""
        if not sender_id.startswith(SENDER_PREFIX):
            raise ValueError("not a Telegram sender")
        await self.say(int(sender_id[len(SENDER_PREFIX) :]), text)

    async def turn(
        self,
        chat_id: int,
        text: str,
        metadata: dict[str, Any] | None = None,
        *,
        message_id: str | None = None,
    ) -> None:
        """One message to Rasa for this chat, with "typing…" meanwhile, and its replies.
        `message_id` (`message_id_of`, `callback_id_of`) is the same when Telegram delivers
        the update again, so Rasa's side recognises a message it already handled."""
        sender = SENDER_PREFIX + str(chat_id)
        try:
            async with typing(self.bot, chat_id):
                messages = await self.rasa.send(sender, text, metadata, message_id=message_id)
        except RasaUnavailable as exc:
            logger.warning("rasa unavailable: %s", exc)  # says why (HTTP code, timeout); no text
            await self.say(chat_id, UNAVAILABLE_MESSAGE)
            return
        for outgoing in render(messages, self.tokens):
            await send(self.bot, chat_id, outgoing)

    async def typed(self, chat_id: int, text: str, *, message_id: str | None = None) -> None:
        """What a person typed (or a button's payload): /link first, then `prepare`."""
        sender = SENDER_PREFIX + str(chat_id)
        if self.linker is not None:
            outcome = await self.linker.handle(sender, text)
            if outcome is not None:
                await self.say(chat_id, outcome.reply)
                if outcome.resume:
                    resume_id = f"{message_id}:start" if message_id is not None else None
                    await self.turn(chat_id, "/start", message_id=resume_id)
                return
        prepared = prepare(text)
        if prepared.reply is not None:
            await self.say(chat_id, prepared.reply)
            return
        assert prepared.text is not None
        if not prepared.text.startswith("/"):
            self.media.forget(chat_id)  # a typed answer replaces an unconfirmed voice note
        await self.turn(chat_id, prepared.text, message_id=message_id)

    # ------------------------------------------------------------------ buttons
    async def pressed(self, query: CallbackQuery) -> None:
        """A button press: always answered (the spinner stops), the keyboard removed so it
        cannot be pressed twice, then handled like typed text."""
        answered = False

        async def answer(text: str | None = None) -> None:
            nonlocal answered
            if not answered:
                answered = True
                await call(self.bot, AnswerCallbackQuery(callback_query_id=query.id, text=text))

        try:
            message = query.message
            if message is None or message.chat.type != "private":
                await answer("Please message me directly in a private chat.")
                return
            chat_id, message_id = message.chat.id, message.message_id
            data = query.data or ""
            if (chat_id, message_id) in self._pressed:
                await answer("You've already answered this one.")
                return
            if self.media.owns(data):
                await answer()
                self._remember_press(chat_id, message_id)
                await self.remove_keyboard(chat_id, message_id)
                await self.media.button(chat_id, data, message_id=callback_id_of(query.id))
                return
            payload = self.tokens.decode(data)
            if payload is None:
                await answer()
                await self.remove_keyboard(chat_id, message_id)
                await self.say(chat_id, EXPIRED_BUTTON)
                return
            await answer()
            self._remember_press(chat_id, message_id)
            await self.remove_keyboard(chat_id, message_id)
            await self.typed(chat_id, payload, message_id=callback_id_of(query.id))
        finally:
            if not answered:
                with contextlib.suppress(Exception):
                    await call(self.bot, AnswerCallbackQuery(callback_query_id=query.id))

    def _remember_press(self, chat_id: int, message_id: int) -> None:
        self._pressed[(chat_id, message_id)] = None
        while len(self._pressed) > MAX_REMEMBERED_PRESSES:
            self._pressed.popitem(last=False)

    async def remove_keyboard(self, chat_id: int, message_id: int) -> None:
        try:
            await call(
                self.bot,
                EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=None),
            )
        except TelegramAPIError as exc:  # too old, already edited: the press still counts
            logger.info("keyboard not removed: %s", type(exc).__name__)
