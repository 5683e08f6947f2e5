"""Messages outside a running interview: start one, resume one, or say where things stand."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import (
    call,
    job_fit,
    latest_text,
    nlu_of,
    privacy_chat,
    scheduling_chat,
    service,
    storage_safe,
    timezone_hint_of,
    utter,
)
from screening.commands import PRACTICE_ENTITY, practice_argument
from screening.interview import Mode

FORM = "interview_form"
RESET = ("consent", "age_confirmed", "answer", "intro_shown", "requested_slot")
# Conversation memory for "delete your practice runs?" asked outside the form.
PENDING = "pending_confirmation"
DELETE_PRACTICE = "delete_practice"


def _run_form(slug: str, mode: Mode, resumed: bool = False) -> list[EventType]:
    """Start the form for a run. A resumed run already has consent: saying so keeps the form
    from asking for consent again once that run is over."""
    return [
        SlotSet("job_id", slug),
        SlotSet("interview_mode", str(mode)),
        *(SlotSet(s, None) for s in RESET if s != "consent"),
        SlotSet("consent", True if resumed else None),
        SlotSet(PENDING, None),
        FollowupAction(FORM),
    ]


_TYPED_JOB = re.compile(r"^/start\s+(?:job[=_:\s]+)?([A-Za-z0-9][A-Za-z0-9_-]{0,80})\s*$")


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _job_entity(tracker: Tracker) -> str | None:
    """The job id of a start request: the payload's entity, or `/start job=<id>` typed
    straight into Rasa's REST channel (gateways turn that into a payload themselves)."""
    entity = _entity(tracker, "job_id")
    if entity:
        return entity
    typed = _TYPED_JOB.match(latest_text(tracker).strip())
    return typed.group(1) if typed else None


class ActionStartInterview(Action):
    """`/start` with or without a job id (deep links and buttons send one)."""

    def name(self) -> str:
        return "action_start_interview"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        job_ref = _job_entity(tracker)
        text = "" if job_ref else latest_text(tracker)
        # Starting an interview replaces a privacy question still waiting for an answer, so
        # the "yes" to the consent question can never confirm it.
        await call(privacy_chat().cancel_pending, tracker.sender_id)
        choice = await call(service().choose_job, tracker.sender_id, job_ref, text)
        utter(dispatcher, choice.replies)
        if choice.slug is None:
            return [SlotSet(PENDING, None)]
        resumed = await call(service().resume, tracker.sender_id, choice.slug, Mode.APPLICATION)
        utter(dispatcher, resumed.replies)
        return _run_form(choice.slug, Mode.APPLICATION, resumed=resumed.slug is not None)


class ActionStartPractice(Action):
    """`/practice [job | delete]`, a practice button, or "I want to practise" in words."""

    def name(self) -> str:
        return "action_start_practice"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        ref = _entity(tracker, PRACTICE_ENTITY) or practice_argument(text)
        await call(privacy_chat().cancel_pending, tracker.sender_id)
        result = await call(service().start_practice, tracker.sender_id, ref, text)
        utter(dispatcher, result.replies)
        if result.confirm_delete:
            return [SlotSet(PENDING, DELETE_PRACTICE)]
        if result.slug is None:
            return [SlotSet(PENDING, None)]
        return _run_form(result.slug, Mode.PRACTICE, resumed=result.resumed)


class ActionRoute(Action):
    """Any other message outside the form: answer what a privacy request waits for (a yes, a
    one-time code, a statement), answer what the interview booking waits for (a time zone,
    a slot, a yes), answer a pending "delete your practice runs?",
    resume an open interview or practice run, start a named job, or tell the person where
    they stand (completed, withdrawn, or which jobs are open)."""

    def name(self) -> str:
        return "action_route"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = []
        privacy = await call(
            privacy_chat().pending_input, tracker.sender_id, latest_text(tracker), nlu_of(tracker)
        )
        if privacy is not None:
            utter(dispatcher, privacy)
            return [SlotSet(PENDING, None)]
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        booking = await call(
            scheduling_chat().pending_input,
            tracker.sender_id,
            latest_text(tracker),
            intent,
            timezone_hint_of(tracker),
        )
        if booking is not None:
            utter(dispatcher, booking)
            return [SlotSet(PENDING, None)]
        if tracker.get_slot(PENDING) == DELETE_PRACTICE:
            events.append(SlotSet(PENDING, None))
            replies = await call(
                service().confirm_practice_delete, tracker.sender_id, latest_text(tracker)
            )
            if replies is not None:
                utter(dispatcher, replies)
                return events
        if intent == "list_jobs":
            utter(dispatcher, await call(service().job_menu, "These are the open jobs:"))
            return events
        if intent == "job_fit":
            utter(dispatcher, await call(job_fit().replies, tracker.sender_id))
            return events
        resumed = await call(service().resume, tracker.sender_id, None)
        if resumed.slug is not None and resumed.mode is not None:
            utter(dispatcher, resumed.replies)
            return _run_form(resumed.slug, resumed.mode, resumed=True)
        choice = await call(service().choose_job, tracker.sender_id, None, latest_text(tracker))
        if choice.slug is not None and not choice.replies:
            return [*events, *_run_form(choice.slug, Mode.APPLICATION)]
        utter(dispatcher, await call(service().status_text, tracker.sender_id))
        return events


class ActionInterviewEnded(Action):
    """After the form ends, clear the per-interview slots so a new start begins cleanly, and
    invite a candidate who passed the job's threshold to book the next interview."""

    def name(self) -> str:
        return "action_interview_ended"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("interview_mode") != str(Mode.PRACTICE):
            utter(
                dispatcher,
                await call(
                    scheduling_chat().after_interview,
                    tracker.sender_id,
                    timezone_hint_of(tracker),
                ),
            )
        cleared = [s for s in RESET if s != "requested_slot"]
        return [SlotSet(s, None) for s in (*cleared, "interview_mode")]
