"""One InterviewService per action-server process, built from the environment on first use."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from parley.settings import load_settings
from screening.assessment import AssessmentService
from screening.commands import MessageNlu
from screening.interview import InterviewService, Reply
from screening.job_fit import JobFitService
from storage.db import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from privacy.chat import PrivacyChat

T = TypeVar("T")


@lru_cache(maxsize=1)
def service() -> InterviewService:
    """The interview service; every committed answer is scored right away (free text) so
    the shortlist is ready when the interview ends."""
    settings = load_settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    return InterviewService(
        db,
        on_answer=AssessmentService(db).after_answer,
        job_fit=lambda sender: JobFitService(db).replies(sender),
        # Privacy commands work at every step of the interview (built on first use).
        privacy=lambda sender, text, nlu: privacy_chat().in_interview(sender, text, nlu),
    )


@lru_cache(maxsize=1)
def privacy_chat() -> PrivacyChat:
    """The privacy dialogue, on the interview service's database (one per process)."""
    from privacy.chat import PrivacyChat
    from storage.files import FileStore

    settings = load_settings()
    db = service().db
    return PrivacyChat(db, settings, FileStore(settings.files_dir, db))


@lru_cache(maxsize=1)
def job_fit() -> JobFitService:
    return JobFitService(service().db)


def warm_up() -> None:
    """Load the scoring model in the background when the action server starts, so the first
    free-text answer does not wait for it."""

    def _load() -> None:
        from nlu.scoring import get_scorer

        try:
            get_scorer()
        except Exception:  # scoring then fails per answer, logged; the interview goes on
            logging.getLogger(__name__).exception("could not load the scoring model")

    threading.Thread(target=_load, name="scorer-warm-up", daemon=True).start()


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
