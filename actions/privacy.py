"""Privacy commands outside the interview form: a thin action over privacy/chat.py.

Inside the form the same commands reach the interview service (its privacy hook), so they
work at every step; this action answers them anywhere else.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.runtime import call, latest_text, nlu_of, privacy_chat, storage_safe, utter
from screening.commands import PRIVACY_ENTITY, PrivacyCommand, explicit_privacy


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and isinstance(entity.get("value"), str):
            return str(entity["value"])
    return None


class ActionPrivacy(Action):
    """`/mydata`, `/export`, "delete my data", … outside the interview form."""

    def name(self) -> str:
        return "action_privacy"

    @storage_safe
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = latest_text(tracker)
        explicit = explicit_privacy(text)
        if explicit is not None:
            command, argument = explicit
            if argument is None:
                argument = _entity(tracker, PRIVACY_ENTITY)
        else:
            try:
                command = PrivacyCommand(nlu_of(tracker).intent or "")
            except ValueError:  # only rules for privacy intents lead here
                return []
            argument = None
        replies = await call(privacy_chat().handle, tracker.sender_id, command, argument, text)
        utter(dispatcher, replies)
        return []
