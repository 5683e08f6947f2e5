"""Bot API calls that respect Telegram's flood limits.

Telegram answers 429 with `parameters.retry_after` when a bot sends too fast (about one
message per second per chat, thirty per second overall); aiogram raises `TelegramRetryAfter`.
We wait exactly as long as asked and try again, a bounded number of times, so a burst of
replies slows down instead of being lost — and a very long wait (a ban for hours) fails fast
rather than holding the chat's queue. A brief network or server error is retried once.
An `Outgoing` with a `document` (a calendar invite) goes out with sendDocument, uploaded from
memory (`BufferedInputFile`): the file is never written to disk here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendChatAction, SendDocument, SendMessage
from aiogram.methods.base import TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, LinkPreviewOptions

from bot.telegram.render import Outgoing, split_text

logger = logging.getLogger("parley.telegram")

T = TypeVar("T")

MAX_ATTEMPTS = 5
MAX_RETRY_AFTER_S = 120
TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about five seconds per sendChatAction
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def call(bot: Bot, method: TelegramMethod[T], *, attempts: int = MAX_ATTEMPTS) -> T:
    """`await bot(method)`, waiting out 429s (bounded) and retrying one transient error."""
    transient_left = 1
    for attempt in range(1, attempts + 1):
        try:
            return await bot(method)
        except TelegramRetryAfter as exc:
            if attempt == attempts or exc.retry_after > MAX_RETRY_AFTER_S:
                raise
            logger.warning("flood limit on %s: waiting %ss", method.__api_method__, exc.retry_after)
            await asyncio.sleep(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError) as exc:
            if transient_left == 0 or attempt == attempts:
                raise
            transient_left -= 1
            logger.warning("%s failed (%s): retrying", method.__api_method__, type(exc).__name__)
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def send_text(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> list[Any]:
    """Send `text` (split when long; the keyboard under the last part). Returns the sent
    Message objects."""
    parts = split_text(text) or ["…"]
    sent = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent.append(await send(bot, chat_id, Outgoing(part, markup if last else None)))
    return sent


async def send(bot: Bot, chat_id: int, message: Outgoing) -> Any:
    if message.document is not None:
        return await call(
            bot,
            SendDocument(
                chat_id=chat_id,
                document=BufferedInputFile(message.document.data, message.document.filename),
                caption=message.text or None,
                reply_markup=message.markup,
            ),
        )
    return await call(
        bot,
        SendMessage(
            chat_id=chat_id,
            text=message.text,
            reply_markup=message.markup,
            link_preview_options=NO_PREVIEW,
        ),
    )


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the body runs (repeated, as Telegram's lasts ~5 s).
    Cosmetic: a failure to send it never fails the turn."""

    async def keep_typing() -> None:
        while True:
            try:
                await bot(SendChatAction(chat_id=chat_id, action="typing"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a 429 here must not matter
                logger.debug("typing indicator failed: %s", type(exc).__name__)
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    await asyncio.sleep(0)  # let the first indicator go out before the work starts
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
