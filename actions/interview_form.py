"""The interview form: Rasa asks, the InterviewService decides.

`required_slots` is computed per job from the database (the job version's question list and
the candidate's progress), so any job drives the form without retraining Rasa. The three
slots are input carriers: `consent` and `age_confirmed` before anything may be stored, then
`answer`, which is reset to None after every message until the job's questions are done.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import call, nlu_of, service, utter
from screening.interview import Stage

SLOTS_BY_STAGE: dict[Stage, list[str]] = {
    Stage.CONSENT: ["consent", "age_confirmed", "answer"],
    Stage.AGE: ["age_confirmed", "answer"],
    Stage.QUESTION: ["answer"],
    Stage.DONE: [],
}


def _stage_args(tracker: Tracker) -> tuple[str, Any, Any, Any]:
    return (
        tracker.sender_id,
        tracker.get_slot("job_id"),
        tracker.get_slot("consent"),
        tracker.get_slot("age_confirmed"),
    )


class ValidateInterviewForm(FormValidationAction):
    def name(self) -> str:
        return "validate_interview_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        stage = await call(service().stage, *_stage_args(tracker))
        return SLOTS_BY_STAGE[stage]

    async def validate_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, bool):  # already decided earlier in this conversation
            return {"consent": value}
        outcome = await call(
            service().handle_consent,
            tracker.sender_id,
            tracker.get_slot("job_id"),
            str(value),
            nlu_of(tracker),
        )
        utter(dispatcher, outcome.replies)
        return {"consent": outcome.slot_value}

    async def validate_age_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"age_confirmed": value}
        outcome = await call(
            service().handle_age,
            tracker.sender_id,
            tracker.get_slot("job_id"),
            str(value),
            nlu_of(tracker),
        )
        utter(dispatcher, outcome.replies)
        return {"age_confirmed": outcome.slot_value}

    async def validate_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        outcome = await call(
            service().handle_answer,
            tracker.sender_id,
            tracker.get_slot("job_id"),
            "" if value is None else str(value),
            nlu_of(tracker),
        )
        utter(dispatcher, outcome.replies)
        return {"answer": None}


class ActionAskConsent(Action):
    """Greeting, AI disclosure and privacy notice the first time; the short question after."""

    def name(self) -> str:
        return "action_ask_consent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        full = not tracker.get_slot("intro_shown")
        replies = await call(
            service().prompt, tracker.sender_id, tracker.get_slot("job_id"), Stage.CONSENT, full
        )
        utter(dispatcher, replies)
        return [SlotSet("intro_shown", True)]


class ActionAskAgeConfirmed(Action):
    def name(self) -> str:
        return "action_ask_age_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        replies = await call(
            service().prompt, tracker.sender_id, tracker.get_slot("job_id"), Stage.AGE
        )
        utter(dispatcher, replies)
        return []


class ActionAskAnswer(Action):
    def name(self) -> str:
        return "action_ask_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        replies = await call(
            service().prompt, tracker.sender_id, tracker.get_slot("job_id"), Stage.QUESTION
        )
        utter(dispatcher, replies)
        return []
