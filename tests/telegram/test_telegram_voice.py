"""Voice notes: transcribed, shown back ("I heard: …"), and only a confirmed transcript counts
as the answer, with the speech metadata the scorer needs. One test runs the real speech model
on an OGG/Opus note made with espeak-ng and ffmpeg; the others use a scripted transcriber."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.telegram.gateway import TelegramConfig
from bot.telegram.media import EXPIRED, NO_SPEECH, RECORD_AGAIN, too_large
from bot.telegram.server import speech_transcriber
from nlu.speech.transcribe import Transcript, TranscriptionError
from parley import telegram_standin as tg
from storage.db import Database
from storage.files import FileStore
from tests.support import ROOT
from tests.telegram.harness import CHAT, run, telegram
from tests.telegram.support import open_application

SENDER = f"telegram:{CHAT}"
SPOKEN = "I want this job because I enjoy the work and I like working in a team."


def opus_note(text: str, tmp_path: Path) -> bytes:
    """`text` spoken by espeak-ng, encoded as Telegram voice notes are (OGG/Opus)."""
    espeak, ffmpeg = shutil.which("espeak-ng"), shutil.which("ffmpeg")
    if not (espeak and ffmpeg):
        pytest.fail("espeak-ng and ffmpeg are needed: run scripts/ensure-audio-tools.sh")
    wav, ogg = tmp_path / "note.wav", tmp_path / "note.ogg"
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
    subprocess.run(
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "libopus",
            "-b:a",
            "24k",
            str(ogg),
        ],
        check=True,
    )
    return ogg.read_bytes()


def buttons_of(call) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def scripted(*texts: str):
    heard = list(texts)

    def transcribe(audio: bytes, hint) -> Transcript:
        assert audio  # the downloaded bytes
        text = heard.pop(0)
        if text == "!error":
            raise TranscriptionError("That recording is too long (over 20 minutes).")
        return Transcript(text, "en", 2.5, 0.8, -0.2, 0.01, 0.1)

    return transcribe


def test_voice_note_transcribed_confirmed_and_sent_with_speech_metadata(
    db: Database, standin, rasa, tmp_path
):
    open_application(db, SENDER, slug="test-role", index=0)  # "Why do you want this job?"
    files = FileStore(tmp_path / "files", db)
    note = opus_note(SPOKEN, tmp_path)
    transcribe = speech_transcriber(ROOT / "models", "en")

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db, files=files, transcribe=transcribe) as h:
            file_id = standin.add_file(note, "voice/file_1.oga")
            h.send(tg.voice_update(CHAT, file_id, size=len(note), duration=4))
            await standin.wait_sent(1, timeout=120)
            heard = standin.calls_of("sendMessage")[0]
            assert heard.params["text"].startswith("I heard: “")
            words = heard.params["text"].split("“", 1)[1].split("”", 1)[0]
            lowered = words.lower()
            assert "job" in lowered and "team" in lowered and "work" in lowered
            use, again = buttons_of(heard)
            assert (use["text"], again["text"]) == ("Use this answer", "Record again")
            assert rasa.messages() == []  # nothing counts before it is confirmed
            h.send(tg.callback_update(CHAT, use["callback_data"], heard.result))
            await standin.wait_sent(2, timeout=30)
            assert rasa.messages() == [words]
            speech = rasa.metadata[0]["speech"]
            assert set(speech) == {
                "confidence",
                "avg_logprob",
                "no_speech_prob",
                "language",
                "duration_s",
                "audio_ref",
                "truncated",
            }
            assert speech["language"] == "en" and speech["truncated"] is False
            assert 0.3 < speech["confidence"] <= 1.0
            assert 2.0 < speech["duration_s"] < 10.0
            assert speech["audio_ref"]  # kept (the candidate's retention allows it)
            ((kept_sender, wav),) = h.kept
            assert kept_sender == SENDER and wav[:4] == b"RIFF"
            assert standin.calls_of("editMessageReplyMarkup")  # the buttons are gone

    run(scenario(), timeout=180)


def test_record_again_old_buttons_and_typing_instead(standin, rasa):
    async def scenario() -> None:
        transcribe = scripted("first try", "second try")
        async with telegram(standin, rasa, transcribe=transcribe) as h:
            file_id = standin.add_file(b"OggS fake audio", "voice/a.oga")
            h.send(tg.voice_update(CHAT, file_id, size=15))
            await standin.wait_sent(1)
            first = standin.calls_of("sendMessage")[0]
            assert "“first try”" in first.params["text"]
            use1, again1 = buttons_of(first)
            h.send(tg.callback_update(CHAT, again1["callback_data"], first.result))
            assert (await standin.wait_sent(2))[1] == RECORD_AGAIN
            h.send(tg.voice_update(CHAT, file_id, size=15))
            await standin.wait_sent(3)
            second = standin.calls_of("sendMessage")[2]
            use2, _ = buttons_of(second)
            # the first note's "Use this answer" (another message) must not confirm the second
            h.send(
                tg.callback_update(CHAT, use1["callback_data"], {**first.result, "message_id": 1})
            )
            assert (await standin.wait_sent(4))[3] == EXPIRED
            assert rasa.messages() == []
            h.send(tg.callback_update(CHAT, use2["callback_data"], second.result))
            await standin.wait_sent(5)
            assert rasa.messages() == ["second try"]
            assert rasa.metadata[0]["speech"]["confidence"] == 0.8
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_typed_answer_replaces_a_pending_transcript(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa, transcribe=scripted("misheard words")) as h:
            file_id = standin.add_file(b"OggS fake audio", "voice/a.oga")
            h.send(tg.voice_update(CHAT, file_id, size=15))
            await standin.wait_sent(1)
            heard = standin.calls_of("sendMessage")[0]
            h.send(tg.text_update(CHAT, "what I actually meant"))
            await standin.wait_sent(2)
            use, _ = buttons_of(heard)
            h.send(tg.callback_update(CHAT, use["callback_data"], heard.result))
            assert (await standin.wait_sent(3))[2] == EXPIRED
            assert rasa.messages() == ["what I actually meant"]

    run(scenario())


def test_voice_limits_and_failures(standin, rasa):
    config = TelegramConfig(max_upload_bytes=1000)

    async def scenario() -> None:
        transcribe = scripted("!error", "   ")
        async with telegram(standin, rasa, transcribe=transcribe, config=config) as h:
            small = standin.add_file(b"OggS" + b"x" * 100, "voice/s.oga")
            big = standin.add_file(b"OggS" + b"x" * 5000, "voice/b.oga")
            h.send(tg.voice_update(CHAT, big, size=5004))  # declared too large
            h.send(tg.audio_update(CHAT, big, size=10))  # declared small, is large
            h.send(tg.voice_update(CHAT, small, size=104))  # transcription error
            h.send(tg.voice_update(CHAT, small, size=104))  # nothing heard
            texts = await standin.wait_sent(4)
            assert texts[:2] == [too_large(1000)] * 2
            assert texts[2] == "That recording is too long (over 20 minutes)."
            assert "couldn't make out any words" in texts[3]
            assert rasa.messages() == []
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_without_a_speech_model_voice_notes_get_a_clear_message(standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.voice_update(CHAT, "whatever", size=10))
            assert await standin.wait_sent(1) == [NO_SPEECH]
            assert standin.calls_of("getFile") == []

    run(scenario())
