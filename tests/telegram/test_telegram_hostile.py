"""At least 1,000 generated hostile or malformed updates per path (polling and webhook): the
gateway never fails (no handler error, nothing logged at ERROR), still answers a normal
message afterwards, and accepts no forged webhook request."""

from __future__ import annotations

import json
import logging
import random

from nlu.speech.transcribe import TranscriptionError
from parley import telegram_standin as tg
from tests.telegram.harness import SECRET, run, telegram
from tests.telegram.hostile import hostile_updates

COUNT = 1000
CHATS = [1000 + i for i in range(20)]
PROBE_CHAT = 777
FORGED_CHAT = 999_000


def reject_audio(audio: bytes, hint):  # junk audio, as the real model reports it
    raise TranscriptionError("I couldn't read that audio file. Please send it again.")


def errors_logged(caplog) -> list[str]:
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("parley", "aiogram", "aiohttp"))
    ]


def test_hostile_updates_through_polling(standin, rasa, caplog):
    caplog.set_level(logging.INFO)
    files = [
        standin.add_file(b"OggS junk", "voice/junk.oga"),
        standin.add_file(b"%PDF-1.4", "d/x.pdf"),
    ]
    updates = hostile_updates(6, COUNT, CHATS, files)

    async def scenario() -> None:
        async with telegram(standin, rasa, transcribe=reject_audio) as h:
            for update in updates:
                standin.enqueue_raw(update)
            standin.enqueue(tg.text_update(PROBE_CHAT, "probe after the storm"))
            await standin.wait_for(
                lambda: (
                    "Next question after: probe after the storm" in standin.sent_texts(PROBE_CHAT)
                ),
                60,
                "the probe's answer",
            )
            await h.settle()
            stats = h.gateway.stats
            # (a non-object has no update_id to confirm: it may be handed out twice)
            assert stats.received >= COUNT + 1
            assert stats.errors == 0
            assert stats.invalid > 100 and stats.queued > 300  # both kinds were exercised
            assert rasa.overlaps == []

    run(scenario(), timeout=120)
    assert errors_logged(caplog) == []
    print(f"hostile updates: {COUNT} (polling), crashes: 0")


def test_hostile_updates_and_forgeries_through_the_webhook(standin, rasa, caplog):
    caplog.set_level(logging.INFO)
    rng = random.Random(7)
    files = [standin.add_file(b"OggS junk", "voice/junk.oga")]
    updates = hostile_updates(7, COUNT, CHATS, files)
    forged_secrets = [
        None,
        "",
        "wrong",
        SECRET.upper(),
        # (" " + SECRET + " " is the same header: HTTP strips whitespace around a value)
        SECRET + "x",
        "x" + SECRET,
        SECRET[:-1],
        "Bearer " + SECRET,
        "x" * 4000,
        SECRET.replace("_", "-"),
    ]

    async def scenario() -> None:
        async with telegram(standin, rasa, mode="webhook", transcribe=reject_audio) as h:
            statuses: dict[int, int] = {}
            ids = list(range(1, COUNT + 1))
            for update_id, update in zip(ids, updates, strict=True):
                if isinstance(update, dict):
                    roll = rng.random()
                    if roll < 0.05:
                        update_id_value: object = rng.choice(["1", None, 1.5, -3, 2**70, True])
                    elif roll < 0.1 and update_id > 10:
                        update_id_value = rng.randint(1, update_id - 1)  # a replay
                    else:
                        update_id_value = update_id
                    body = {**update, "update_id": update_id_value}
                else:
                    body = update
                raw = json.dumps(body).encode()
                if rng.random() < 0.05:
                    raw = raw[: rng.randint(0, max(0, len(raw) - 1))]  # truncated in transit
                status = await h.post(None, raw=raw)
                statuses[status] = statuses.get(status, 0) + 1
            assert set(statuses) <= {200, 400, 413}, statuses
            # forgeries: well-formed updates without the right secret
            forged = 0
            for n in range(300):
                update = {"update_id": 10**6 + n, **tg.text_update(FORGED_CHAT, f"FORGED {n}")}
                secret = forged_secrets[n % len(forged_secrets)]
                assert await h.post(update, secret=secret) == 403, repr(secret)
                forged += 1
            await h.gateway.drain(60)
            assert await h.post({"update_id": 10**7, **tg.text_update(PROBE_CHAT, "probe")}) == 200
            await standin.wait_for(
                lambda: "Next question after: probe" in standin.sent_texts(PROBE_CHAT), 60, "probe"
            )
            await h.gateway.drain(60)
            assert not any("FORGED" in m for m in rasa.messages())
            assert standin.sent_texts(FORGED_CHAT) == []
            assert h.gateway.stats.errors == 0
            assert h.gateway.stats.duplicates > 0
            print(
                f"hostile updates: {COUNT} (webhook) + {forged} forged, crashes: 0, "
                "forgeries accepted: 0"
            )

    run(scenario(), timeout=120)
    assert errors_logged(caplog) == []
