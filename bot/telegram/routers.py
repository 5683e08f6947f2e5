"""What each kind of Telegram message does (aiogram Routers).

Every kind a person can send gets an answer or a deliberate silence, never an exception:
Rasa's own Telegram connector crashed on stickers and the like (rasa#5864). Text and button
presses go to the interview; voice notes, audio and résumé files go through `media`; photos,
stickers, locations, contacts, polls, videos and anything newer get a friendly line saying
what works instead; service messages (a pinned message, an auto-delete timer) are ignored.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.telegram.gateway import message_id_of

if TYPE_CHECKING:
    from bot.telegram.gateway import TelegramGateway

logger = logging.getLogger("parley.telegram")

PRIVATE_ONLY = (
    "I run job interviews in private chats only, so your answers stay private. Please "
    "message me directly: open a chat with {bot} and send /start."
)
EDITED = (
    "I noticed you edited a message. Edits don't change an answer I've already received. "
    "To change your last answer, send /back; to see the current question again, send /repeat."
)
PLEASE_TYPE = "Please type your answer, or send a voice note."
REPLIES = {
    "photo": "I can't look at photos. " + PLEASE_TYPE,
    "sticker": "Nice sticker! I can only read words, though. " + PLEASE_TYPE,
    "animation": "I can't watch GIFs. " + PLEASE_TYPE,
    "dice": "Lucky roll! I can only read words, though. " + PLEASE_TYPE,
    "location": "Thanks, but I don't need your location. " + PLEASE_TYPE,
    "venue": "Thanks, but I don't need a location. " + PLEASE_TYPE,
    "contact": "I don't need contact cards, and I haven't kept this one. " + PLEASE_TYPE,
    "poll": "I can't take part in polls. " + PLEASE_TYPE,
    "video": "I can't watch videos. " + PLEASE_TYPE,
    "video_note": "I can't watch video messages. " + PLEASE_TYPE,
    "game": "I can't play games here. " + PLEASE_TYPE,
    "story": "I can't view stories. " + PLEASE_TYPE,
    "paid_media": "I can't open paid media. " + PLEASE_TYPE,
    "invoice": "I don't handle payments. " + PLEASE_TYPE,
    "checklist": "I can't read checklists. " + PLEASE_TYPE,
}
UNKNOWN_KIND = "I can't read that kind of message. " + PLEASE_TYPE


def build_router(gateway: TelegramGateway) -> Router:
    router = Router(name="parley-telegram")

    @router.message(F.chat.type != "private")
    async def not_private(message: Message) -> None:
        # In a group: answer a command addressed to us, stay quiet otherwise (people talk
        # to each other there). Channels have no one to answer.
        if message.chat.type in ("group", "supergroup") and (message.text or "").startswith("/"):
            await gateway.say(message.chat.id, PRIVATE_ONLY.format(bot=gateway.username))
        logger.info("message in a %s chat ignored", message.chat.type)

    @router.message(F.text)
    async def text(message: Message) -> None:
        await gateway.typed(
            message.chat.id,
            message.text or "",
            message_id=message_id_of(message.chat.id, message.message_id),
        )

    @router.message(F.voice | F.audio)
    async def voice(message: Message) -> None:
        await gateway.media.voice(message)

    @router.message(F.document)
    async def document(message: Message) -> None:
        await gateway.media.document(message)

    @router.message()
    async def other(message: Message) -> None:
        content_type = message.content_type
        kind = str(getattr(content_type, "value", content_type))
        reply = REPLIES.get(kind)
        if reply is None and kind != "unknown":
            logger.info("service message (%s) ignored", kind)
            return
        logger.info("%s message answered with a hint", kind)
        await gateway.say(message.chat.id, reply or UNKNOWN_KIND)

    @router.edited_message()
    async def edited(message: Message) -> None:
        if message.chat.type == "private":
            await gateway.say(message.chat.id, EDITED)

    @router.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await gateway.pressed(query)

    return router
