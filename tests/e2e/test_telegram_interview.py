"""A full interview on Telegram, end to end: Bot API stand-in (long polling) → the real aiogram
gateway wired as `parley serve-telegram` wires it (speech model, database, outbox) → real Rasa
and action servers → database rows. The first answer is a voice note (OGG/Opus from espeak-ng
and ffmpeg), transcribed, shown back with "I heard", and confirmed with its button."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.outbox_delivery import OutboxDelivery
from bot.rasa_client import RasaClient
from bot.telegram.server import TelegramService, build_gateway, make_bot
from bot.web.app import open_storage
from parley import telegram_standin as tg
from parley.stack import free_port
from storage.models import Answer, Application, ChannelIdentity
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import VALID
from tests.telegram.test_telegram_voice import buttons_of, opus_note

pytestmark = pytest.mark.e2e

SPOKEN = "I enjoy working with people and I want to grow in logistics."


def _rows(stack: Stack, sender: str) -> tuple[Application, dict[str, Answer]]:
    with stack.db.transaction() as s:
        candidate = s.scalar(
            select(ChannelIdentity.candidate_id).where(ChannelIdentity.sender_id == sender)
        )
        app = s.scalars(select(Application).where(Application.candidate_id == candidate)).one()
        answers = {
            a.question_id: a
            for a in s.scalars(select(Answer).where(Answer.application_id == app.id))
        }
        return app, answers


def test_full_interview_on_telegram_with_a_voice_note(stack: Stack, tmp_path: Path) -> None:
    chat = 10_000_000 + secrets.randbelow(10_000_000)
    sender = f"telegram:{chat}"
    note = opus_note(SPOKEN, tmp_path)
    standin = tg.TelegramStandIn().start()
    settings = dataclasses.replace(
        stack.settings,
        telegram_token=standin.token,
        telegram_api_url=standin.url,
        telegram_port=free_port(),
    )
    db, files = open_storage(settings)

    async def scenario() -> None:
        bot = make_bot(settings.telegram_token, settings.telegram_api_url)
        try:
            async with RasaClient(settings.rasa_url) as rasa:
                gateway = build_gateway(settings, bot, rasa, db, files)
                service = TelegramService(
                    gateway,
                    port=settings.telegram_port,
                    outbox=OutboxDelivery(db, "telegram:", gateway.deliver, interval_s=0.2),
                    poll_timeout_s=1,
                )
                await service.start()
                try:
                    seen = 0

                    async def turn(update: dict, timeout: float = 60) -> list[str]:
                        nonlocal seen
                        standin.enqueue(update)
                        await standin.wait_sent(seen + 1, chat, timeout=timeout)
                        await asyncio.sleep(0.3)  # a turn may send several messages
                        await gateway.drain(60)
                        texts = standin.sent_texts(chat)
                        new, seen = texts[seen:], len(texts)
                        return new

                    intro = await turn(tg.text_update(chat, "/start job_test-role"))
                    assert any("Test Role" in t for t in intro), intro
                    consent = [c for c in standin.calls_of("sendMessage") if buttons_of(c)][-1]
                    yes = next(b for b in buttons_of(consent) if "yes" in b["text"].lower()
                               or "agree" in b["text"].lower())  # fmt: skip
                    await turn(tg.callback_update(chat, yes["callback_data"], consent.result))
                    await turn(tg.text_update(chat, "yes"))  # 16 or older

                    file_id = standin.add_file(note, "voice/file_9.oga")
                    heard = await turn(
                        tg.voice_update(chat, file_id, size=len(note), duration=5), timeout=180
                    )
                    assert heard[-1].startswith("I heard: “"), heard
                    call = standin.calls_of("sendMessage")[-1]
                    use = buttons_of(call)[0]
                    assert use["text"] == "Use this answer"
                    await turn(tg.callback_update(chat, use["callback_data"], call.result))
                    last: list[str] = []
                    for _, text in VALID[1:]:
                        last = await turn(tg.text_update(chat, text))
                    assert any("thank" in t.lower() for t in last), last
                    assert standin.calls_of("sendChatAction"), "typing indicator shown"
                finally:
                    await service.stop()
        finally:
            await bot.session.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 600))
        app, answers = _rows(stack, sender)
        assert app.status == "completed"
        assert set(answers) == {q for q, _ in VALID}
        assert {a.channel for a in answers.values()} == {"telegram"}
        spoken = answers["motivation"]
        words = (spoken.raw_text or "").lower()
        assert "people" in words and "logistics" in words, spoken.raw_text
        assert spoken.transcript_confidence is not None and spoken.transcript_confidence > 0.3
        assert spoken.audio_ref  # kept encrypted: the default retention allows it
        assert answers["years"].normalized["value"] == 6
    finally:
        standin.stop()
        db.dispose()
