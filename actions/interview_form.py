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

Every turn carries the message's id (`message_id_of`): a retried or redelivered message is
recognised by the service and changes nothing. When the database refuses the work (read-only,
full, connection lost), the turn replies with a clear message and leaves the form where it
was: the input slot goes back to empty and the same slot stays requested.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import (
    call,
    discard_unused_recording,
    message_id_of,
    nlu_of,
    report_storage_fault,
    service,
    storage_fault_text,
    utter,
    warm_up,
)
from screening.interview import SLOT_FOR_STAGE, StorageFault

log = logging.getLogger(__name__)

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
        try:
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
                    message_id=message_id_of(tracker),
                )
            )
        except Exception as exc:
            text = storage_fault_text(exc)
            if text is None:
                raise
            report_storage_fault(dispatcher, self.name(), exc, text)
            if nlu.speech is not None and not getattr(exc, "saved", False):
                # No answer refers to this message's recording: it goes (the resend brings
                # its own). If the file store fails too, the file stays behind: logged.
                nlu.speech.adopted = False
                try:
                    await call(discard_unused_recording, nlu.speech)
                except Exception:
                    log.exception("could not delete the recording of a message not stored")
            return self._unchanged(requested, new_values)
        await call(discard_unused_recording, nlu.speech)
        utter(dispatcher, result.replies)
        events: list[EventType] = [SlotSet(k, v) for k, v in result.slots.items()]
        tracker.add_slots(events)
        try:
            required = await self.required_slots(
                self.domain_slots(domain), dispatcher, tracker, domain
            )
        except Exception as exc:
            if storage_fault_text(exc) is None:
                raise
            # The turn itself is committed: keep its slots, ask for a 'repeat' later.
            fault = StorageFault(saved=True)
            report_storage_fault(dispatcher, self.name(), exc, fault.text)
            return [*events, *([SlotSet(REQUESTED_SLOT, requested)] if requested else [])]
        # An empty list ends the form (requested_slot None); Rasa then runs the end rule.
        events.append(SlotSet(REQUESTED_SLOT, required[0] if required else None))
        if not required:  # a marker for gateways that end the conversation (the phone)
            dispatcher.utter_message(json_message={"parley": INTERVIEW_OVER})
        return events

    @staticmethod
    def _unchanged(requested: str | None, new_values: dict[str, Any]) -> list[EventType]:
        """Events that leave the form as it was before the message: Rasa already put the
        message into the requested slot, so that slot is emptied again (it is always empty
        between messages) and stays requested. Without a requested slot (the form just
        started) there is nothing to undo."""
        if not requested:
            return []
        events: list[EventType] = []
        if requested in new_values:
            events.append(SlotSet(requested, None))
        events.append(SlotSet(REQUESTED_SLOT, requested))
        return events
