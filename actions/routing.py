"""Messages outside a running interview: start one, resume one, or say where things stand."""

from __future__ import annotations

import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import call, job_fit, latest_text, service, utter

FORM = "interview_form"
RESET = ("consent", "age_confirmed", "answer", "intro_shown", "requested_slot")


def _run_form(slug: str) -> list[EventType]:
    return [SlotSet("job_id", slug), *(SlotSet(s, None) for s in RESET), FollowupAction(FORM)]


_TYPED_JOB = re.compile(r"^/start\s+(?:job[=_:\s]+)?([A-Za-z0-9][A-Za-z0-9_-]{0,80})\s*$")


def _job_entity(tracker: Tracker) -> str | None:
    """The job id of a start request: the payload's entity, or `/start job=<id>` typed
    straight into Rasa's REST channel (gateways turn that into a payload themselves)."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "job_id" and entity.get("value"):
            return str(entity["value"])
    typed = _TYPED_JOB.match(latest_text(tracker).strip())
    return typed.group(1) if typed else None


class ActionStartInterview(Action):
    """`/start` with or without a job id (deep links and buttons send one)."""

    def name(self) -> str:
        return "action_start_interview"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        job_ref = _job_entity(tracker)
        text = "" if job_ref else latest_text(tracker)
        choice = await call(service().choose_job, tracker.sender_id, job_ref, text)
        utter(dispatcher, choice.replies)
        if choice.slug is None:
            return []
        _, replies = await call(service().resume, tracker.sender_id, choice.slug)
        utter(dispatcher, replies)
        return _run_form(choice.slug)


class ActionRoute(Action):
    """Any other message outside the form: resume an open interview, start a named job, or
    tell the person where they stand (completed, withdrawn, or which jobs are open)."""

    def name(self) -> str:
        return "action_route"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "list_jobs":
            utter(dispatcher, await call(service().job_menu, "These are the open jobs:"))
            return []
        if intent == "job_fit":
            utter(dispatcher, await call(job_fit().replies, tracker.sender_id))
            return []
        slug, replies = await call(service().resume, tracker.sender_id, None)
        if slug is not None:
            utter(dispatcher, replies)
            return _run_form(slug)
        choice = await call(service().choose_job, tracker.sender_id, None, latest_text(tracker))
        if choice.slug is not None and not choice.replies:
            return _run_form(choice.slug)
        utter(dispatcher, await call(service().status_text, tracker.sender_id))
        return []


class ActionInterviewEnded(Action):
    """After the form ends, clear the per-interview slots so a new start begins cleanly."""

    def name(self) -> str:
        return "action_interview_ended"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [SlotSet(s, None) for s in RESET if s != "requested_slot"]
