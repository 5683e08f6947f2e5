"""One InterviewService per action-server process, built from the environment on first use."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from parley.settings import load_settings
from screening.assessment import AssessmentService
from screening.commands import MessageNlu, SpokenAnswer
from screening.interview import InterviewService
from screening.job_fit import JobFitService
from storage.db import Database
from storage.migrate import upgrade

if TYPE_CHECKING:
    from privacy.chat import PrivacyChat
    from scheduling.chat import SchedulingChat

T = TypeVar("T")


@lru_cache(maxsize=1)
def service() -> InterviewService:
    """The interview service; every committed answer is scored right away (free text) so
    the shortlist is ready when the interview ends."""
    from storage.files import FileStore

    settings = load_settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    return InterviewService(
        db,
        files=FileStore(settings.files_dir, db),
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
def scheduling_chat() -> SchedulingChat:
    """The booking dialogue (one per process): reminders as configured, the employer told
    by mail when no interviewer has free time."""
    from scheduling.booking import BookingService
    from scheduling.chat import SchedulingChat
    from scheduling.interviewers import Interviewers
    from scheduling.notify import MailNotifier

    settings = load_settings()
    db = service().db
    booking = BookingService(
        db, Interviewers(db), reminder_offsets_min=settings.reminder_offsets_min
    )
    return SchedulingChat(
        db,
        booking,
        notifier=MailNotifier(settings),
        score_refresh=AssessmentService(db).refresh_application,
    )


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
    return MessageNlu(
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0),
        speech=speech_of(tracker),
    )


def speech_of(tracker: Tracker) -> SpokenAnswer | None:
    """How the latest message was heard, when it was spoken (the REST channel passes the
    phone gateway's metadata on; rasa_ext/rest_channel.py)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return SpokenAnswer.from_metadata(event.get("metadata"))
    return None


def discard_unused_recording(speech: SpokenAnswer | None) -> None:
    """A kept recording whose message did not become an answer (a command, a refusal, an
    invalid answer) is deleted at once: nothing is stored that no answer refers to."""
    if speech is not None and speech.audio_ref and not speech.adopted:
        files = service().files
        if files is not None:
            files.delete(speech.audio_ref)


def timezone_hint_of(tracker: Tracker) -> str | None:
    """The IANA time zone a gateway knows for the person (the browser's, the Slack
    profile's), passed as message metadata (rasa_ext/rest_channel.py); only a guess that
    the candidate confirms."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            value = metadata.get("timezone") if isinstance(metadata, dict) else None
            return value if isinstance(value, str) and 0 < len(value) <= 64 else None
    return None


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def utter(dispatcher: CollectingDispatcher, replies: Sequence[Any]) -> None:
    """Utter replies (text and buttons) and attachments (a calendar invite: a custom payload
    the gateways turn into a file, bot/rasa_client.py)."""
    for reply in replies:
        as_json = getattr(reply, "as_json", None)
        if callable(as_json):
            dispatcher.utter_message(json_message=as_json())
            continue
        dispatcher.utter_message(
            text=reply.text,
            buttons=[{"title": t, "payload": p} for t, p in reply.buttons] or None,
        )
