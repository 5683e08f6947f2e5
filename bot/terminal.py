"""`parley chat`: a terminal chat through the same REST path as every other gateway.

Its sender ids are web-chat ids (`web:cli-…`), so the messages the system sends on its own
(an export link, a one-time code for another chat, a notice) reach it the way they reach the
browser: from the web gateway's outbox (`GET /api/outbox`), checked after every reply.
"""

from __future__ import annotations

import asyncio
import secrets
import sys

import httpx

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


async def outbox(client: httpx.AsyncClient, web_url: str | None, sender: str) -> list[str]:
    """Text of the outbox messages waiting for `sender` (a `web:` id), via the web gateway;
    none when the gateway is not running or the id is not a web-chat id."""
    if not web_url or not sender.startswith("web:"):
        return []
    try:
        response = await client.get(
            web_url.rstrip("/") + "/api/outbox", params={"session": sender[len("web:") :]}
        )
        response.raise_for_status()
        return [str(m.get("text") or "") for m in response.json().get("messages", [])]
    except (httpx.HTTPError, ValueError, AttributeError):
        return []


async def chat(
    rasa_url: str, sender: str | None = None, job: str | None = None, web_url: str | None = None
) -> None:
    sender = sender or "web:cli-" + secrets.token_hex(6)
    print(f"Parley terminal chat ({sender}). Type /help for commands, Ctrl-D to quit.")
    buttons: list[str] = []
    async with RasaClient(rasa_url) as rasa, httpx.AsyncClient(timeout=5) as http:
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
                messages = [m for m in await rasa.send(sender, pending or "") if m.visible]
            except RasaUnavailable as exc:
                print(f"bot> The interviewer is unavailable ({exc}). Try again shortly.")
                messages = []
            pending = None
            for line in render(messages):
                print(line)
            for text in await outbox(http, web_url, sender):
                print("\n".join("bot> " + line for line in text.splitlines()))
            buttons = [b.payload for m in messages for b in m.buttons]
            sys.stdout.flush()
