"""Booking the next interview: a thin action over scheduling/chat.py.

`/book`, `/reschedule`, `/cancel_interview` and `/interview` arrive as the `schedule` intent
with the kind in the `schedule_arg` entity; the same in words has no entity and the dialogue
tells the kinds apart. Answers to a waiting booking question (a time zone, a slot, a yes) come
through `action_route`, which asks the dialogue first.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import (
    call,
    latest_text,
    scheduling_chat,
    storage_safe,
    timezone_hint_of,
    utter,
)

SCHEDULE_ENTITY = "schedule_arg"


def _kind(tracker: Tracker) -> str:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == SCHEDULE_ENTITY and isinstance(entity.get("value"), str):
            return str(entity["value"])
    return ""


class ActionSchedule(Action):
    def name(self) -> str:
        return "action_schedule"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = "" if _kind(tracker) else latest_text(tracker)
        replies = await call(
            scheduling_chat().command,
            tracker.sender_id,
            _kind(tracker),
            text,
            timezone_hint_of(tracker),
        )
        utter(dispatcher, replies)
        return []
