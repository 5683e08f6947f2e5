"""`parley chat`: a terminal chat through the same REST path as every other gateway."""

from __future__ import annotations

import asyncio
import secrets
import sys

from bot.inbound import prepare, start_payload
from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable


def render(messages: list[BotMessage]) -> list[str]:
    """Bot messages as terminal lines; buttons are numbered so a person can type the number."""
    lines: list[str] = []
    for message in messages:
        if message.text:
            lines.extend("bot> " + line for line in message.text.splitlines())
        for i, button in enumerate(message.buttons, 1):
            lines.append(f"      [{i}] {button.title}")
    return lines


async def chat(rasa_url: str, sender: str | None = None, job: str | None = None) -> None:
    sender = sender or "web:cli-" + secrets.token_hex(6)
    print(f"Parley terminal chat ({sender}). Type /help for commands, Ctrl-D to quit.")
    buttons: list[str] = []
    async with RasaClient(rasa_url) as rasa:
        pending: str | None = start_payload(job) if job else "/start"
        while True:
            if pending is None:
                try:
                    raw = await asyncio.to_thread(input, "you> ")
                except EOFError:
                    print()
                    return
                if raw.strip().isdigit() and 0 < int(raw) <= len(buttons):
                    raw = buttons[int(raw) - 1]
                prepared = prepare(raw)
                if prepared.reply:
                    print("bot> " + prepared.reply)
                    continue
                pending = prepared.text
            try:
                messages = await rasa.send(sender, pending or "")
            except RasaUnavailable as exc:
                print(f"bot> The interviewer is unavailable ({exc}). Try again shortly.")
                messages = []
            pending = None
            for line in render(messages):
                print(line)
            buttons = [b.payload for m in messages for b in m.buttons]
            sys.stdout.flush()
