"""Webhook mode: only Telegram (the matching secret header) gets in; bad bodies are refused
without harm; a re-sent update is handled once."""

from __future__ import annotations

from bot.telegram.webhook import secret_matches
from parley import telegram_standin as tg
from tests.telegram.harness import CHAT, SECRET, run, telegram


def test_set_webhook_registers_url_secret_and_update_kinds(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa, mode="webhook") as h:
            (call,) = standin.calls_of("setWebhook")
            assert call.params["url"] == h.url + "/telegram/webhook"
            assert call.params["secret_token"] == SECRET
            assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
            assert standin.calls_of("getUpdates") == []
            # Telegram (the stand-in) pushes an update with the secret
            standin.enqueue(tg.text_update(CHAT, "pushed"))
            await standin.wait_sent(1)
            assert standin.webhook_statuses == [200]
            assert rasa.messages() == ["pushed"]
            async with h.http.get(h.url + "/healthz") as response:
                assert (await response.json())["mode"] == "webhook"

    run(scenario())


def test_forged_unsigned_and_malformed_requests_are_refused(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa, mode="webhook") as h:
            update = {"update_id": 1, **tg.text_update(CHAT, "forged")}
            assert await h.post(update, secret=None) == 403
            assert await h.post(update, secret="wrong-secret") == 403
            assert await h.post(update, secret=SECRET + "x") == 403
            assert await h.post(update, secret="") == 403
            assert await h.post(update, secret=SECRET[:-1]) == 403
            assert await h.post(None, raw=b"{not json", secret=SECRET) == 400
            assert await h.post(None, raw=b"\xff\xfe", secret=SECRET) == 400
            assert await h.post([1, 2, 3], secret=SECRET) == 400
            assert await h.post(None, raw=b"[" * 100_000, secret=SECRET) == 400
            too_big = b'{"update_id": 5, "x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
            assert await h.post(None, raw=too_big, secret=SECRET) == 413
            # valid JSON but not a valid update: acknowledged (or Telegram re-sends forever)
            assert await h.post({"update_id": "x"}, secret=SECRET) == 200
            await h.gateway.drain()
            assert rasa.messages() == []
            assert standin.sent_texts() == []
            # The real one still works
            assert await h.post({"update_id": 2, **tg.text_update(CHAT, "real")}) == 200
            await standin.wait_sent(1)
            assert rasa.messages() == ["real"]

    run(scenario())


def test_a_replayed_update_is_handled_once(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa, mode="webhook") as h:
            update = {"update_id": 77, **tg.text_update(CHAT, "only once")}
            for _ in range(5):
                assert await h.post(update) == 200
            await standin.wait_sent(1)
            await h.gateway.drain()
            assert rasa.messages() == ["only once"]
            assert standin.sent_texts() == ["Next question after: only once"]
            assert h.gateway.stats.duplicates == 4

    run(scenario())


def test_secret_comparison():
    assert secret_matches("abc", b"abc")
    assert not secret_matches("abd", b"abc")
    assert not secret_matches(None, b"abc")
    assert not secret_matches("", b"")
    assert not secret_matches("ä", b"abc")  # non-ASCII never raises
