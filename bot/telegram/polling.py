"""Long polling (the default: works on a laptop without a public URL).

Why not `Dispatcher.start_polling`: aiogram parses a whole getUpdates batch at once, so one
update it cannot parse fails the batch, and its loop retries the same offset forever — one
malformed update would stop the bot. Here the batch is taken as raw JSON, the offset moves past
every update, and each update is validated on its own by `TelegramGateway.accept`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram.exceptions import TelegramConflictError, TelegramUnauthorizedError
from aiogram.methods.base import TelegramMethod

from bot.telegram.gateway import HANDLED_UPDATES, TelegramGateway

logger = logging.getLogger("parley.telegram")

MAX_BACKOFF_S = 30.0


class RawGetUpdates(TelegramMethod[list[Any]]):
    """getUpdates whose result is left as JSON (validated update by update)."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


async def poll(gateway: TelegramGateway, *, timeout_s: int = 25) -> None:
    """Fetch updates until cancelled. Network trouble and a second poller (409 Conflict) are
    waited out with a growing pause; a revoked token (401) ends polling with the error."""
    offset: int | None = None
    backoff = 1.0
    request_timeout = int(gateway.bot.session.timeout + timeout_s)
    while True:
        method = RawGetUpdates(
            offset=offset, timeout=timeout_s, allowed_updates=list(HANDLED_UPDATES)
        )
        try:
            updates = await gateway.bot(method, request_timeout=request_timeout)
        except asyncio.CancelledError:
            raise
        except TelegramUnauthorizedError:
            raise
        except TelegramConflictError:
            logger.error(
                "another process is polling this bot (409 Conflict): only one Telegram "
                "gateway may run per bot token; retrying in %.0fs",
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        except Exception as exc:
            logger.warning("getUpdates failed (%s); retrying in %.0fs", type(exc).__name__, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            continue
        backoff = 1.0
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if type(update_id) is int and update_id >= (offset or 0):
                offset = update_id + 1
            gateway.accept(raw)
