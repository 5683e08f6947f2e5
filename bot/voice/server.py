"""Run the phone gateway process: storage, the speech model and the aiohttp app wired up."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from functools import partial
from typing import Any

from aiohttp import web

from bot.rasa_client import RasaClient
from bot.voice.app import VoiceConfig, VoiceGateway, create_app
from bot.voice.listener import Hints
from nlu.speech.transcribe import Transcript

logger = logging.getLogger("parley.voice")


def speech_transcriber(settings: Any):  # type: ignore[no-untyped-def]
    """The shared faster-whisper model as the gateway's `transcribe(wav, hints)` function."""
    from nlu.speech.model import model_dir
    from nlu.speech.transcribe import get_transcriber

    transcriber = get_transcriber(model_dir(settings.models_dir))

    def transcribe(wav: bytes, hints: Hints) -> Transcript:
        return transcriber.transcribe(
            wav, language=hints.language, prompt=hints.prompt, hotwords=hints.hotwords
        )

    return transcribe


def build_gateway(settings: Any, rasa: RasaClient, db: Any, files: Any) -> VoiceGateway:
    from nlu.speech.hints import build_hints
    from privacy.recordings import keep_answer_audio
    from screening.spoken import current_question

    config = VoiceConfig.from_settings(settings)

    async def hints(sender: str) -> Hints:
        question = await asyncio.to_thread(current_question, db, sender)
        if question is None:
            return Hints(language=config.language)
        steer = build_hints(question.prompt, [*question.key_points, *question.options])
        return Hints(language=config.language, prompt=steer.prompt, hotwords=steer.hotwords)

    async def keep(sender: str, wav: bytes) -> str | None:
        return await asyncio.to_thread(
            partial(keep_answer_audio, db, files, sender, wav, enabled=config.keep_recordings)
        )

    return VoiceGateway(config, rasa, speech_transcriber(settings), hints=hints, keep_audio=keep)


async def _run(settings: Any) -> None:
    from bot.web.app import open_storage

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    db, files = open_storage(settings)
    try:
        async with RasaClient.from_settings(settings) as rasa:
            gateway = build_gateway(settings, rasa, db, files)
            runner = web.AppRunner(create_app(gateway), access_log=None, handle_signals=False)
            await runner.setup()
            await web.TCPSite(runner, settings.voice_host, settings.voice_port).start()
            logger.info("phone gateway listening on %s", settings.voice_url)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()
    finally:
        db.dispose()


def run_voice_gateway(settings: Any) -> None:
    asyncio.run(_run(settings))
