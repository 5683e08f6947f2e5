"""One InterviewService per action-server process, built from the environment on first use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from parley.settings import load_settings
from screening.commands import MessageNlu
from screening.interview import InterviewService, Reply
from storage.db import Database
from storage.migrate import upgrade

T = TypeVar("T")


@lru_cache(maxsize=1)
def service() -> InterviewService:
    settings = load_settings()
    upgrade(settings.database_url)
    return InterviewService(Database(settings.database_url))


async def call(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking database work off the action server's event loop."""
    return await asyncio.to_thread(fn, *args)


def nlu_of(tracker: Tracker) -> MessageNlu:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return MessageNlu(intent=intent.get("name"), confidence=float(intent.get("confidence") or 0))


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def utter(dispatcher: CollectingDispatcher, replies: list[Reply]) -> None:
    for reply in replies:
        dispatcher.utter_message(
            text=reply.text,
            buttons=[{"title": t, "payload": p} for t, p in reply.buttons] or None,
        )
