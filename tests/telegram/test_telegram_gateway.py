"""The Telegram gateway end to end against the Bot API stand-in and a fake Rasa: text, buttons,
deep links, long replies, flood limits, per-chat order, typing, every non-text kind."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.telegram.gateway import SLOW_DOWN, UNAVAILABLE_MESSAGE, UNREADABLE, TelegramConfig
from bot.telegram.render import MAX_CALLBACK_BYTES, utf16_len
from bot.telegram.routers import EDITED, PRIVATE_ONLY, REPLIES, UNKNOWN_KIND
from parley import telegram_standin as tg
from tests.telegram.harness import CHAT, run, telegram


def markup_of(call: Any) -> list[list[dict[str, str]]]:
    markup = call.params.get("reply_markup")
    return markup.get("inline_keyboard", []) if isinstance(markup, dict) else []


def test_text_round_trip_with_typing_and_no_link_previews(standin, rasa, caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "/start"))
            assert await standin.wait_sent(1) == ["Question 1?"]
            h.send(tg.text_update(CHAT, "I like teams"))
            texts = await standin.wait_sent(2)
            assert texts[1] == "Next question after: I like teams"
            assert rasa.senders() == [f"telegram:{CHAT}"] * 2
            assert rasa.messages() == ["/start", "I like teams"]
            first = standin.calls_of("sendMessage")[0]
            assert first.params["link_preview_options"] == {"is_disabled": True}
            assert markup_of(first) == [
                [{"text": "Yes", "callback_data": "p:yes"}, {"text": "No", "callback_data": "p:no"}]
            ]
            typing = standin.calls_of("sendChatAction")
            assert len(typing) >= 2
            assert {c.params["action"] for c in typing} == {"typing"}
            assert {int(c.params["chat_id"]) for c in typing} == {CHAT}
            # typing went out before the reply it announces
            assert typing[0].at <= first.at
            assert h.gateway.stats.errors == 0

    run(scenario())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "I like teams" not in logged  # what people type is never logged


def test_button_press_answers_callback_removes_keyboard_and_counts_once(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "/start"))
            await standin.wait_sent(1)
            question = standin.calls_of("sendMessage")[0].result
            h.send(tg.callback_update(CHAT, "p:yes", question))
            await standin.wait_sent(2)
            assert rasa.messages() == ["/start", "yes"]
            answers = await standin.wait_calls("answerCallbackQuery", 1)
            edits = await standin.wait_calls("editMessageReplyMarkup", 1)
            assert int(edits[0].params["message_id"]) == question["message_id"]
            assert "reply_markup" not in edits[0].params or not markup_of(edits[0])
            # A second press on the same message (sent before the keyboard vanished)
            h.send(tg.callback_update(CHAT, "p:no", question))
            answers = await standin.wait_calls("answerCallbackQuery", 2)
            await h.gateway.drain()
            assert "already" in answers[1].params.get("text", "")
            assert rasa.messages() == ["/start", "yes"]

    run(scenario())


def test_long_button_payloads_fit_64_bytes_and_round_trip(standin, rasa):
    long_payload = '/start{"job_id":"' + "a" * 70 + '"}'

    def responder(sender: str, message: str) -> list[dict[str, Any]]:
        return [
            {
                "text": "Pick a job",
                "buttons": [
                    {"title": "A job with a long id", "payload": long_payload},
                    {"title": "Ünïcödé ✓", "payload": '/choose{"x": "' + "é" * 40 + '"}'},
                ],
            }
        ]

    rasa.responder = responder

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "/jobs"))
            await standin.wait_sent(1)
            sent = standin.calls_of("sendMessage")[0]
            buttons = [b for row in markup_of(sent) for b in row]
            assert len(buttons) == 2
            for button in buttons:
                assert len(button["callback_data"].encode()) <= MAX_CALLBACK_BYTES
                assert button["callback_data"].startswith("t:")
            h.send(tg.callback_update(CHAT, buttons[0]["callback_data"], sent.result))
            await standin.wait_sent(2)
            assert rasa.messages()[-1] == '/start{"job_id":"' + "a" * 70 + '"}'
            # A token this process never issued (an old button after a restart)
            h.send(tg.callback_update(CHAT, "t:not-a-token", None))
            texts = await standin.wait_sent(3)
            assert "no longer works" in texts[-1]
            assert len(rasa.messages()) == 2
            await standin.wait_calls("answerCallbackQuery", 2)

    run(scenario())


def test_deep_link_selects_the_job(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "/start job_test-role"))
            await standin.wait_sent(1)
            assert rasa.messages() == ['/start{"job_id":"test-role"}']
            h.send(tg.text_update(CHAT, "/start@parley_test_bot job_backend-engineer"))
            await standin.wait_sent(2)
            assert rasa.messages()[-1] == '/start{"job_id":"backend-engineer"}'
            h.send(tg.text_update(CHAT, "/start job_<script>"))
            texts = await standin.wait_sent(3)
            assert "link looks broken" in texts[-1]
            assert len(rasa.messages()) == 2

    run(scenario())


def test_long_replies_are_split_under_4096_with_buttons_on_the_last_part(standin, rasa):
    paragraphs = [f"Paragraph {i}: " + ("word " * 180).strip() + " 🎉" for i in range(12)]
    long_text = "\n\n".join(paragraphs)
    assert len(long_text) > 10_000

    def responder(sender: str, message: str) -> list[dict[str, Any]]:
        return [{"text": long_text, "buttons": [{"title": "OK", "payload": "ok"}]}]

    rasa.responder = responder

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "tell me everything"))
            await standin.wait_for(lambda: len(standin.sent_texts()) >= 3, 10, "parts")
            await h.gateway.drain()
            calls = standin.calls_of("sendMessage")
            assert all(c.status == 200 for c in calls)
            texts = [c.params["text"] for c in calls]
            assert all(utf16_len(t) <= 4096 for t in texts)
            assert " ".join(" ".join(texts).split()) == " ".join(long_text.split())
            # cut at paragraph boundaries: every part starts with a paragraph
            assert all(t.startswith("Paragraph") for t in texts)
            assert [bool(markup_of(c)) for c in calls] == [False] * (len(calls) - 1) + [True]

    run(scenario())


def test_flood_limit_429_is_waited_out(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            standin.flood("sendMessage", retry_after=1, times=2)
            h.send(tg.text_update(CHAT, "hello"))
            assert await standin.wait_sent(3) == ["hello"] * 0 + ["Next question after: hello"] * 3
            calls = standin.calls_of("sendMessage")
            assert [c.status for c in calls] == [429, 429, 200]
            assert calls[1].at - calls[0].at >= 0.95
            assert calls[2].at - calls[1].at >= 0.95
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_hundred_messages_in_a_second_keep_their_order(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            started = time.monotonic()
            for i in range(100):
                h.send(tg.text_update(CHAT, f"message {i}"))
            assert time.monotonic() - started < 1.0
            # a second chat at the same time is served too
            h.send(tg.text_update(CHAT + 1, "other chat"))
            await standin.wait_for(lambda: len(standin.sent_texts(CHAT)) >= 100, 30, "replies")
            await h.settle()
            assert rasa.messages().count("other chat") == 1
            mine = [
                m
                for m, s in zip(rasa.messages(), rasa.senders(), strict=True)
                if s == f"telegram:{CHAT}"
            ]
            assert mine == [f"message {i}" for i in range(100)]
            assert standin.sent_texts(CHAT) == [
                f"Next question after: message {i}" for i in range(100)
            ]
            assert rasa.overlaps == []  # one Rasa turn at a time per chat
            assert h.gateway.stats.refused == 0

    run(scenario())


def test_a_flood_beyond_the_queue_gets_one_slow_down(standin, rasa):
    rasa.delay = 0.05

    async def scenario() -> None:
        async with telegram(standin, rasa, config=TelegramConfig(max_pending=5)) as h:
            for i in range(40):
                h.send(tg.text_update(CHAT, f"m{i}"))
            await h.settle()
            texts = standin.sent_texts(CHAT)
            assert texts.count(SLOW_DOWN) == 1
            handled = rasa.messages()
            assert handled == sorted(handled, key=lambda m: int(m[1:]))  # still in order
            assert len(handled) + h.gateway.stats.refused == 40
            assert h.gateway.stats.refused > 0
            # After the flood the chat works normally again
            h.send(tg.text_update(CHAT, "after"))
            await h.settle()
            assert rasa.messages()[-1] == "after"

    run(scenario())


def test_rasa_unavailable_gets_a_friendly_message(standin, rasa):
    rasa.fail = True

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "hello"))
            assert await standin.wait_sent(1) == [UNAVAILABLE_MESSAGE]
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_every_non_text_kind_gets_a_reply_or_a_deliberate_ignore(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            expected: list[str] = []
            cases = [
                (tg.sticker_update(CHAT), REPLIES["sticker"]),
                (tg.photo_update(CHAT), REPLIES["photo"]),
                (tg.location_update(CHAT), REPLIES["location"]),
                (tg.contact_update(CHAT), REPLIES["contact"]),
                (tg.poll_message_update(CHAT), REPLIES["poll"]),
                (tg.message_update(CHAT, dice={"emoji": "🎲", "value": 3}), REPLIES["dice"]),
                (
                    tg.message_update(
                        CHAT,
                        video_note={
                            "file_id": "v",
                            "file_unique_id": "v",
                            "length": 1,
                            "duration": 1,
                        },
                    ),
                    REPLIES["video_note"],
                ),
                (tg.message_update(CHAT, some_future_content={"x": 1}), UNKNOWN_KIND),
                (tg.edited_message_update(CHAT, "edited answer"), EDITED),
                (tg.text_update(-100123, "/start", chat_type="supergroup"), None),
                (tg.text_update(-100123, "hi all", chat_type="group"), None),
                (tg.channel_post_update(-100999, "news"), None),
                (tg.poll_update(), None),
                (tg.unknown_update(), None),
                (
                    tg.message_update(
                        CHAT,
                        pinned_message={
                            "message_id": 1,
                            "chat": {"id": CHAT, "type": "private"},
                            "date": 0,
                        },
                    ),
                    None,
                ),
            ]
            for update, reply in cases:
                h.send(update)
                if reply is not None:
                    expected.append(reply)
            await h.settle()
            assert standin.sent_texts(CHAT) == expected
            group = standin.sent_texts(-100123)
            assert group == [PRIVATE_ONLY.format(bot="@parley_test_bot")]
            assert standin.sent_texts(-100999) == []
            assert rasa.messages() == []  # none of them reached the interview
            assert h.gateway.stats.errors == 0
            assert h.gateway.stats.ignored == 3  # channel post, poll, unknown kind
            # and the chat still works
            h.send(tg.text_update(CHAT, "still here"))
            await standin.wait_sent(len(expected) + 1, CHAT)
            assert rasa.messages() == ["still here"]

    run(scenario())


def test_healthz_reports_the_bot_after_getme(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            async with h.http.get(h.url + "/healthz") as response:
                assert response.status == 200
                assert await response.json() == {
                    "status": "ok",
                    "bot": "@parley_test_bot",
                    "mode": "polling",
                }
            async with h.http.post(h.url + "/telegram/webhook", data=b"{}") as response:
                assert response.status in (404, 405)  # no webhook in polling mode

    run(scenario())


def test_polling_survives_a_batch_with_malformed_updates(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            standin.enqueue_raw({"message": "not an object"})
            standin.enqueue_raw(["not", "an", "update"])
            standin.enqueue_raw({"message": {"chat": {"id": "x"}, "date": "soon"}})
            # A private message this aiogram cannot parse (a field changed shape in a newer Bot
            # API): still answered, its text taken.
            odd = tg.text_update(CHAT, "salvaged words")
            odd["message"]["date"] = {"new": "shape"}
            standin.enqueue_raw(odd)
            odd_sticker = tg.sticker_update(CHAT)
            odd_sticker["message"]["sticker"]["type"] = ["changed"]
            standin.enqueue_raw(odd_sticker)
            h.send(tg.text_update(CHAT, "after the junk"))
            await standin.wait_sent(3)
            await h.settle()
            assert rasa.messages() == ["salvaged words", "after the junk"]
            assert standin.sent_texts(CHAT)[1] == UNREADABLE
            assert h.gateway.stats.invalid == 3
            assert h.gateway.stats.salvaged == 2
            assert standin.pending_updates() == 0  # the offset moved past all of them

    run(scenario())
