"""One InterviewService per action-server process, built from the environment on first use."""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from fairness.publication import summary_url
from parley.settings import load_settings
from screening.assessment import AssessmentService
from screening.commands import MessageNlu, SpokenAnswer
from screening.interview import STORAGE_FAULT_TEXT, InterviewService, StorageFault
from screening.job_fit import JobFitService
from storage.db import Database, is_storage_fault
from storage.migrate import upgrade
from storage.repositories import valid_message_id

if TYPE_CHECKING:
    from privacy.chat import PrivacyChat
    from scheduling.chat import SchedulingChat

T = TypeVar("T")
A = TypeVar("A", bound=Action)
log = logging.getLogger(__name__)


# Builds the per-process services once. A freshly (re)started action server gets its first
# calls concurrently (rasa-sdk runs each in a thread): without the lock each would run the
# migration check at once, and Alembic's module-level state is not thread-safe (the fault
# tests hit "KeyError: 'config'" after killing an action server mid-interview).
_BUILD = threading.RLock()


def service() -> InterviewService:
    """The interview service; every committed answer is scored right away (free text) so
    the shortlist is ready when the interview ends."""
    with _BUILD:
        return _service()


@lru_cache(maxsize=1)
def _service() -> InterviewService:
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
        audit_summary_url=summary_url(settings),
    )


def privacy_chat() -> PrivacyChat:
    with _BUILD:
        return _privacy_chat()


@lru_cache(maxsize=1)
def _privacy_chat() -> PrivacyChat:
    """The privacy dialogue, on the interview service's database (one per process)."""
    from privacy.chat import PrivacyChat
    from storage.files import FileStore

    settings = load_settings()
    db = service().db
    return PrivacyChat(db, settings, FileStore(settings.files_dir, db))


def scheduling_chat() -> SchedulingChat:
    with _BUILD:
        return _scheduling_chat()


@lru_cache(maxsize=1)
def _scheduling_chat() -> SchedulingChat:
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


def job_fit() -> JobFitService:
    with _BUILD:
        return _job_fit()


@lru_cache(maxsize=1)
def _job_fit() -> JobFitService:
    return JobFitService(service().db)


def warm_up() -> None:
    """Open the database and load the scoring model in the background when the action
    server starts, so the first turn and the first free-text answer do not wait for them."""

    def _load() -> None:
        from nlu.scoring import get_scorer

        try:  # the database and migrations check, before the first turn needs them
            service()
        except Exception as exc:  # the first turn tries again and answers with a clear text
            logging.getLogger(__name__).error("interview service not ready: %s", type(exc).__name__)
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


def message_id_of(tracker: Tracker) -> str | None:
    """The gateway's id of the latest message (the same on every retry and redelivery of
    it), passed as message metadata by rasa_ext/rest_channel.py; None when absent or not a
    well-formed id (storage.repositories.MESSAGE_ID)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            metadata = event.get("metadata") or {}
            value = metadata.get("message_id") if isinstance(metadata, dict) else None
            return valid_message_id(value)
    return None


def storage_fault_text(exc: BaseException) -> str | None:
    """What to tell the person when `exc` is a storage fault (the database refused the
    write or lost the connection); None for any other error, which stays an error."""
    if isinstance(exc, StorageFault):
        return exc.text
    if is_storage_fault(exc):
        return STORAGE_FAULT_TEXT
    return None


def report_storage_fault(
    dispatcher: CollectingDispatcher, action: str, exc: BaseException, text: str
) -> None:
    """Replace whatever the action uttered before the fault by the one clear message: the
    person must not see half a turn (a menu whose start never happened)."""
    log.warning("storage fault in %s: %s", action, type(exc).__name__)
    dispatcher.messages.clear()
    dispatcher.utter_message(text=text)


RunMethod = Callable[[A, CollectingDispatcher, Tracker, DomainDict], Awaitable[list[EventType]]]


def storage_safe(run: RunMethod[A]) -> RunMethod[A]:
    """For an action's `run`: when the database refuses the work (read-only, full, the
    connection gone), reply with a clear message and change no slot, instead of failing
    the request (Rasa would then say nothing at all). Each transaction is all-or-nothing,
    so nothing is half-written."""

    @functools.wraps(run)
    async def guarded(
        self: A, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception as exc:
            text = storage_fault_text(exc)
            if text is None:
                raise
            report_storage_fault(dispatcher, self.name(), exc, text)
            return []

    return guarded


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
