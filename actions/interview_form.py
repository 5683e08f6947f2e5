"""The interview form: Rasa runs the turn-taking, the InterviewService decides.

The form's required slot is computed per job from the database (the job version's question
list and the candidate's progress), so any job drives the form without retraining Rasa. The
three slots are input carriers: `consent` and `age_confirmed` before anything may be stored,
then `answer`, reset to None after every message until the job's questions are done. The
`interview_mode` slot says whether the form runs a real application or a practice run.

Why `run` is overridden instead of rasa-sdk's per-slot `validate_<slot>` plus `action_ask_*`
actions: that pattern makes Rasa call the action server twice per message (validate, then
ask), and each call costs Rasa a JSON-schema validation of the response. One call per turn,
which validates *and* asks, nearly halves Rasa's work per message (README, Benchmarks).
`required_slots` is still what decides the next requested slot (or the end of the form).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import call, discard_unused_recording, nlu_of, service, utter, warm_up
from screening.interview import SLOT_FOR_STAGE

REQUESTED_SLOT = "requested_slot"
INTERVIEW_OVER = "interview_over"  # bot/voice/app.py ends the call on it

warm_up()


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
        """The slot the current stage needs, from the database (empty when done)."""
        stage = await call(
            service().stage,
            tracker.sender_id,
            tracker.get_slot("job_id"),
            tracker.get_slot("consent"),
            tracker.get_slot("age_confirmed"),
            tracker.get_slot("interview_mode"),
        )
        slot = SLOT_FOR_STAGE[stage]
        return [slot] if slot else []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        new_values: dict[str, Any] = tracker.slots_to_validate()
        nlu = nlu_of(tracker)
        result = await call(
            lambda: service().turn(
                tracker.sender_id,
                tracker.get_slot("job_id"),
                consent=tracker.get_slot("consent"),
                age_ok=tracker.get_slot("age_confirmed"),
                intro_shown=bool(tracker.get_slot("intro_shown")),
                slot=requested if requested in new_values else None,
                value=new_values.get(requested) if requested else None,
                nlu=nlu,
                mode=tracker.get_slot("interview_mode"),
            )
        )
        await call(discard_unused_recording, nlu.speech)
        utter(dispatcher, result.replies)
        events: list[EventType] = [SlotSet(k, v) for k, v in result.slots.items()]
        tracker.add_slots(events)
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        # An empty list ends the form (requested_slot None); Rasa then runs the end rule.
        events.append(SlotSet(REQUESTED_SLOT, required[0] if required else None))
        if not required:  # a marker for gateways that end the conversation (the phone)
            dispatcher.utter_message(json_message={"parley": INTERVIEW_OVER})
        return events
