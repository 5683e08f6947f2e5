"""Voice notes, audio files and résumé documents sent on Telegram.

Voice: the note is downloaded (size-capped), transcribed in a worker thread with the open
question as a hint, and shown back — `I heard: “…”` with [Use this answer] [Record again].
Only "Use this answer" sends the words to Rasa, with the same `speech` metadata as the phone
gateway (so the scorer's insufficient-data guard sees the confidence); a misheard answer never
counts. Typing the answer instead also works. The unconfirmed transcript waits in memory, per
chat, for `transcript_ttl_s`; its buttons carry a nonce so an old "Use this answer" cannot
confirm a newer recording.

Documents: a PDF or DOCX résumé is taken only where the open question accepts one
(`accepts_document` in the job file); its extracted text becomes the answer, cut to the
question's length limit (the person is told). The text and the file name are personal data:
never logged, only the kind and page count travel as metadata.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import time
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram.methods import GetFile
from aiogram.types import Message

from bot.inbound import MAX_MESSAGE_CHARS, clean
from bot.telegram.gateway import message_id_of
from bot.telegram.render import keyboard
from bot.telegram.sender import call

if TYPE_CHECKING:
    from bot.telegram.gateway import KeepAudio, QuestionLookup, TelegramGateway, Transcribe
    from nlu.speech.transcribe import Transcript
    from screening.spoken import QuestionHint

logger = logging.getLogger("parley.telegram")

VOICE_PREFIX = "v:"
USE = "use"
AGAIN = "again"

NO_SPEECH = "Voice notes can't be transcribed on this server right now. Please type your answer."
NOT_HEARD = (
    "I couldn't make out any words in that recording. Please record it again somewhere "
    "quieter, or type your answer."
)
SPEECH_FAILED = "Sorry, I couldn't process that recording. Please try again, or type your answer."
DOWNLOAD_FAILED = "Sorry, I couldn't download that file from Telegram. Please send it again."
HEARD = (
    "I heard: “{text}”\n\nIf that's right, press “Use this answer”. If not, press “Record "
    "again” and send a new voice note — or simply type your answer instead."
)
RECORD_AGAIN = "OK, send a new voice note when you're ready, or type your answer."
EXPIRED = (
    "That recording has expired or was replaced. Please send a new voice note, or type your answer."
)
NO_DOCUMENT_HERE = (
    "I only take a file where a question asks for your CV, and the current question doesn't. "
    "Please type your answer."
)
DOCUMENT_READ = "Thanks, I've read your CV ({pages} {unit})."
DOCUMENT_CUT = (
    " It's longer than this question allows, so I've used the first {chars:,} characters."
)


def too_large(limit_bytes: int) -> str:
    mb = limit_bytes / (1024 * 1024)
    limit = f"{mb:g} MB" if mb >= 1 else f"{limit_bytes // 1024} KB"
    return (
        f"That file is too large. The limit is {limit}; please send a smaller one, or type "
        "your answer."
    )


@dataclass
class PendingVoice:
    nonce: str
    transcript: Transcript
    audio: bytes
    expires: float


class TooLarge(Exception):
    pass


def to_wav(audio: bytes) -> bytes:
    """Any audio Telegram carries (OGG/Opus voice notes, MP3, M4A) as 16 kHz mono 16-bit WAV,
    the form recordings are kept in."""
    import numpy as np
    from faster_whisper import decode_audio

    samples = decode_audio(io.BytesIO(audio), sampling_rate=16_000)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(pcm)
    return out.getvalue()


class Media:
    def __init__(
        self,
        gateway: TelegramGateway,
        *,
        question: QuestionLookup | None,
        transcribe: Transcribe | None,
        keep_audio: KeepAudio | None,
    ) -> None:
        self.gateway = gateway
        self._question = question
        self._transcribe = transcribe
        self._keep_audio = keep_audio
        self.pending: dict[int, PendingVoice] = {}

    # ------------------------------------------------------------------ shared
    async def question(self, chat_id: int) -> QuestionHint | None:
        if self._question is None:
            return None
        return await self._question(self.sender(chat_id))

    def sender(self, chat_id: int) -> str:
        from bot.telegram.gateway import SENDER_PREFIX

        return SENDER_PREFIX + str(chat_id)

    def forget(self, chat_id: int) -> None:
        self.pending.pop(chat_id, None)

    def owns(self, callback_data: str) -> bool:
        return callback_data.startswith(VOICE_PREFIX)

    async def download(self, file_id: str, declared_size: int | None) -> bytes:
        """The file's bytes, refusing (TooLarge) anything over the upload limit: first by the
        size Telegram declares, then while streaming (a declared size can be wrong)."""
        limit = self.gateway.config.max_upload_bytes
        if declared_size is not None and declared_size > limit:
            raise TooLarge()
        bot = self.gateway.bot
        info = await call(bot, GetFile(file_id=file_id))
        if info.file_size is not None and info.file_size > limit:
            raise TooLarge()
        if not info.file_path:
            raise ValueError("no file path")
        url = bot.session.api.file_url(bot.token, info.file_path)
        data = bytearray()
        async for chunk in bot.session.stream_content(url, timeout=60):
            data.extend(chunk)
            if len(data) > limit:
                raise TooLarge()
        return bytes(data)

    async def _fetch(self, chat_id: int, file_id: str, size: int | None) -> bytes | None:
        try:
            return await self.download(file_id, size)
        except TooLarge:
            logger.info("file refused: over the upload limit")
            await self.gateway.say(chat_id, too_large(self.gateway.config.max_upload_bytes))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.warning("file download failed: %s", type(exc).__name__)
            await self.gateway.say(chat_id, DOWNLOAD_FAILED)
        return None

    # ------------------------------------------------------------------ voice
    async def voice(self, message: Message) -> None:
        chat_id = message.chat.id
        media: Any = message.voice or message.audio
        await self._voice(chat_id, media.file_id, media.file_size)

    async def _voice(self, chat_id: int, file_id: str, size: int | None) -> None:
        if self._transcribe is None:
            await self.gateway.say(chat_id, NO_SPEECH)
            return
        audio = await self._fetch(chat_id, file_id, size)
        if audio is None:
            return
        from nlu.speech.transcribe import TranscriptionError

        question = await self.question(chat_id)
        from bot.telegram.sender import typing

        try:
            async with typing(self.gateway.bot, chat_id):
                transcript = await asyncio.to_thread(self._transcribe, audio, question)
        except TranscriptionError as exc:
            await self.gateway.say(chat_id, str(exc))
            return
        except Exception as exc:
            logger.error("transcription failed: %s", type(exc).__name__)
            await self.gateway.say(chat_id, SPEECH_FAILED)
            return
        words = " ".join(transcript.text.split())
        if not words:
            await self.gateway.say(chat_id, NOT_HEARD)
            return
        nonce = secrets.token_urlsafe(6)
        self.pending[chat_id] = PendingVoice(
            nonce, transcript, audio, time.monotonic() + self.gateway.config.transcript_ttl_s
        )
        self._expire_old()
        markup = keyboard(
            [
                ("Use this answer", f"{VOICE_PREFIX}{USE}:{nonce}"),
                ("Record again", f"{VOICE_PREFIX}{AGAIN}:{nonce}"),
            ]
        )
        logger.info("voice note transcribed (%.1fs of audio)", transcript.duration_s)
        await self.gateway.say(chat_id, HEARD.format(text=words), markup)

    def _expire_old(self) -> None:
        now = time.monotonic()
        for chat_id in [c for c, p in self.pending.items() if p.expires < now]:
            del self.pending[chat_id]

    async def button(self, chat_id: int, data: str, *, message_id: str | None = None) -> None:
        """[Use this answer] or [Record again] under an "I heard" message; `message_id` is the
        press's id (the answer's idempotency key)."""
        _, action, nonce = ([*data.split(":", 2), "", ""])[:3]
        pending = self.pending.get(chat_id)
        if pending is None or pending.nonce != nonce or pending.expires < time.monotonic():
            await self.gateway.say(chat_id, EXPIRED)
            return
        del self.pending[chat_id]
        if action != USE:
            await self.gateway.say(chat_id, RECORD_AGAIN)
            return
        transcript = pending.transcript
        audio_ref = None
        if self._keep_audio is not None:
            try:
                wav = await asyncio.to_thread(to_wav, pending.audio)
                audio_ref = await self._keep_audio(self.sender(chat_id), wav)
            except Exception as exc:  # keeping the recording is secondary to the answer
                logger.warning("recording not kept: %s", type(exc).__name__)
        speech = {
            "confidence": transcript.confidence,
            "avg_logprob": transcript.avg_logprob,
            "no_speech_prob": transcript.no_speech_prob,
            "language": transcript.language,
            "duration_s": transcript.duration_s,
            "audio_ref": audio_ref,
            "truncated": False,
        }
        text = clean(" ".join(transcript.text.split())).lstrip("/").strip()
        await self.gateway.turn(
            chat_id, text[:MAX_MESSAGE_CHARS], {"speech": speech}, message_id=message_id
        )

    # ------------------------------------------------------------------ documents
    async def document(self, message: Message) -> None:
        chat_id = message.chat.id
        doc = message.document
        assert doc is not None
        mime = (doc.mime_type or "").lower()
        if mime.startswith("audio/"):  # an audio file sent "as a file"
            await self._voice(chat_id, doc.file_id, doc.file_size)
            return
        question = await self.question(chat_id)
        if question is None or not getattr(question, "accepts_document", False):
            await self.gateway.say(chat_id, NO_DOCUMENT_HERE)
            return
        data = await self._fetch(chat_id, doc.file_id, doc.file_size)
        if data is None:
            return
        from screening.documents import DocumentError, extract_text, fit_answer

        try:
            extracted = await asyncio.to_thread(extract_text, data, doc.file_name, doc.mime_type)
        except DocumentError as exc:
            await self.gateway.say(chat_id, str(exc))
            return
        limit = min(getattr(question, "max_chars", None) or MAX_MESSAGE_CHARS, MAX_MESSAGE_CHARS)
        text, cut = fit_answer(extracted, limit)
        text = clean(text).lstrip("/").strip()
        unit = "page" if extracted.pages == 1 else "pages"
        note = DOCUMENT_READ.format(pages=extracted.pages, unit=unit)
        if cut:
            note += DOCUMENT_CUT.format(chars=limit)
        logger.info("résumé read (%s, %d pages)", extracted.kind, extracted.pages)
        await self.gateway.say(chat_id, note)
        self.forget(chat_id)
        await self.gateway.turn(
            chat_id,
            text,
            {"document": {"kind": extracted.kind, "pages": extracted.pages}},
            message_id=message_id_of(chat_id, message.message_id),
        )
