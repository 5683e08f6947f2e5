"""A phone interview end to end: Twilio stand-in → phone gateway → real Rasa and actions → DB.

The gateway runs in this process (with the real faster-whisper model) against the session's
real stack; the stand-in plays Twilio (signed webhooks, TwiML, Media Streams, REST API) and the
caller answers with espeak-ng speech at 8 kHz µ-law and keypad digits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.rasa_client import RasaClient
from bot.voice.app import VoiceGateway, create_app
from bot.voice.outbound import place_call
from bot.voice.server import build_gateway
from bot.web.app import open_storage
from parley.stack import free_port
from parley.twilio_standin import Answer, CallLog, TwilioStandIn
from storage.files import FileStore
from storage.models import Answer as AnswerRow
from storage.models import Application, ChannelIdentity
from tests.e2e.conftest import Stack

ACCOUNT = "AC" + "0" * 32
TOKEN = "e2e-voice-token"
JOB = "warehouse-associate"


def new_number() -> str:
    return "+3161" + "".join(secrets.choice("0123456789") for _ in range(7))


@asynccontextmanager
async def phone(stack: Stack) -> AsyncIterator[tuple[VoiceGateway, TwilioStandIn, Any]]:
    port = free_port()
    standin = TwilioStandIn(f"http://127.0.0.1:{port}", account_sid=ACCOUNT, auth_token=TOKEN)
    await standin.start()
    settings = dataclasses.replace(
        stack.settings,
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_number="+15550001000",
        twilio_api_url=standin.url,
        voice_port=port,
        voice_public_url=f"http://127.0.0.1:{port}",
    )
    db, files = open_storage(settings)
    async with RasaClient(settings.rasa_url) as rasa:
        gateway = build_gateway(settings, rasa, db, files)
        runner = web.AppRunner(create_app(gateway), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield gateway, standin, settings
        finally:
            await runner.cleanup()
            await standin.stop()
            db.dispose()


def answers_of(stack: Stack, number: str) -> tuple[Application, list[AnswerRow]]:
    with stack.db.transaction() as s:
        identity = s.scalar(
            select(ChannelIdentity).where(ChannelIdentity.sender_id == "voice:" + number)
        )
        assert identity is not None
        app = s.scalar(select(Application).where(Application.candidate_id == identity.candidate_id))
        assert app is not None
        rows = list(
            s.scalars(
                select(AnswerRow).where(AnswerRow.application_id == app.id).order_by(AnswerRow.id)
            )
        )
        s.expunge_all()
        return app, rows


def test_full_phone_interview_stores_answers_with_speech_confidence(stack: Stack) -> None:
    number = new_number()
    script = [
        Answer.press("1"),  # consent: I agree
        Answer.say("Yes, I am."),  # 16 or older, by voice
        Answer.say("Yes, I do."),  # right to work
        Answer.press("1"),  # lifting: yes
        Answer.say("I have worked there for five years."),  # years of experience
        Answer.press("2"),  # shifts: Late
        Answer.say(
            "I would not accept it. I would take photos of the damage, write it on the "
            "delivery note before the driver signs, and set the pallet aside."
        ),
        Answer.say(
            "I would ask my colleague to slow down, and if it happens again I would tell "
            "the team leader, because it is not safe."
        ),
        Answer.press("2"),  # forklift certificate: no
        Answer.say("I live in Rotterdam."),
        Answer.say("I can start on the first of March."),
    ]

    async def scenario() -> CallLog:
        async with phone(stack) as (_gw, standin, _settings):
            return await standin.call(number, script, url=f"/voice/incoming?job={JOB}")

    log = asyncio.run(scenario())
    assert log.hung_up_by_gateway, log.text
    assert "Thank you for your time" in log.turns[-1].said[-1]
    assert "automated interviewer" in log.text  # the AI disclosure was spoken
    app, rows = answers_of(stack, number)
    assert app.status == "completed", app.status
    assert len(rows) == 9
    assert {r.channel for r in rows} == {"voice"}
    by_id = {r.question_id: r for r in rows}
    assert by_id["years_experience"].normalized["value"] == 5
    assert by_id["shift_preference"].normalized["display"].startswith("Late")
    assert by_id["lift_20kg"].normalized["value"] is True
    assert by_id["forklift_certificate"].normalized["value"] is False
    spoken = ["right_to_work", "years_experience", "damaged_pallet", "unsafe_colleague"]
    files = FileStore(stack.settings.files_dir, stack.db)
    for qid in spoken:
        row = by_id[qid]
        assert row.transcript_confidence is not None and 0 < row.transcript_confidence <= 1
        assert row.audio_ref, qid
        stored = (stack.settings.files_dir / row.audio_ref).read_bytes()
        assert b"RIFF" not in stored[:64]  # encrypted at rest
        assert files.read(row.audio_ref)[:4] == b"RIFF"
    for qid in ("lift_20kg", "shift_preference", "forklift_certificate"):
        assert by_id[qid].transcript_confidence is None and by_id[qid].audio_ref is None
    assert "damage" in by_id["damaged_pallet"].raw_text.lower()
    assert by_id["start_date"].normalized["value"].endswith("-03-01")  # said in words


def test_hang_up_mid_interview_resumes_at_the_same_question(stack: Stack) -> None:
    number = new_number()

    async def scenario() -> tuple[CallLog, CallLog]:
        async with phone(stack) as (_gw, standin, _settings):
            first = await standin.call(
                number,
                [Answer.press("1"), Answer.press("1"), Answer.press("1"), Answer(hangup=True)],
                url=f"/voice/incoming?job={JOB}",
            )
            again = await standin.call(number, [], url="/voice/incoming")
            return first, again

    first, again = asyncio.run(scenario())
    assert "Question 2 of 9" in first.turns[-1].said[0] or any(
        "Question 2 of 9" in line for line in first.turns[-1].said
    )
    assert any("Question 2 of 9" in line for line in again.turns[0].said), again.text
    app, rows = answers_of(stack, number)
    assert [r.question_id for r in rows] == ["right_to_work"]
    assert app.status == "in_progress"


def test_outbound_call_is_placed_through_the_rest_api_and_runs_the_job(stack: Stack) -> None:
    number = new_number()

    async def scenario() -> tuple[dict[str, str], CallLog]:
        async with phone(stack) as (_gw, standin, settings):
            placed = await asyncio.to_thread(place_call, settings, stack.db, number, JOB)
            request = standin.placed_calls[-1]
            assert placed.sid == request["Sid"]
            path = request["Url"].split(str(settings.voice_public_base), 1)[1]
            log = await standin.call(number, [], url=path, outbound=True, sid=placed.sid)
            return request, log

    request, log = asyncio.run(scenario())
    assert request["To"] == number and request["From"] == "+15550001000"
    assert request["Url"].endswith("/voice/incoming?job=" + JOB)
    assert "Warehouse Associate" in log.text and "automated interviewer" in log.text


def test_bench_voice_latency_run_reports_the_whole_phone_path(stack: Stack, tmp_path) -> None:
    """`parley bench voice`'s latency part on the session's stack: two 15-second answers
    streamed in real time; the document has every figure the README quotes."""
    from parley.bench_voice_latency import _drive, bench_job
    from screening.catalog import import_jobs

    (tmp_path / "bench-voice.yaml").write_text(bench_job(2), encoding="utf-8")
    import_jobs(stack.db, tmp_path)
    doc = asyncio.run(_drive(stack.settings, 2, lambda _m: None))
    assert doc["answers"] == 2 and doc["completed"] is True
    assert 12 < doc["answer_s_mean"] < 20
    end, heard = doc["endpoint_to_next_question_s"], doc["speech_end_to_next_question_s"]
    assert 0 < end["p50"] <= end["p95"] <= end["max"]
    # the last-sound figure includes the end-of-answer silence window
    assert heard["p50"] >= doc["end_silence_ms"] / 1000
    assert 0 <= doc["phone_path_wer"] < 0.6
    assert doc["server"]["rasa_turn_s"]["p50"] > 0


def test_repeat_by_voice_and_by_keypad_asks_the_same_question_again(stack: Stack) -> None:
    number = new_number()

    async def scenario() -> CallLog:
        async with phone(stack) as (_gw, standin, _settings):
            return await standin.call(
                number,
                [
                    Answer.press("1"),
                    Answer.press("1"),
                    Answer.say("Could you repeat the question, please?"),
                    Answer.press("*"),
                    Answer(hangup=True),
                ],
                url=f"/voice/incoming?job={JOB}",
            )

    log = asyncio.run(scenario())
    asked = [" ".join(t.said) for t in log.turns]
    assert "Question 1 of 9" in asked[2]
    assert "Question 1 of 9" in asked[3], asked[3]  # repeated after "repeat" by voice
    assert "Question 1 of 9" in asked[4], asked[4]  # and after * on the keypad
    _app, rows = answers_of(stack, number)
    assert rows == []  # neither request became an answer
