"""`parley chat`: a terminal chat through the same REST path as every other gateway.

Its sender ids are web-chat ids (`web:cli-…`), so the messages the system sends on its own
(an export link, a one-time code for another chat, a notice) reach it the way they reach the
browser: from the web gateway's outbox (`GET /api/outbox`), checked after every reply.

A file sent with a reply (a calendar invite, `BotMessage.attachment`) is saved under
`<var dir>/downloads/` — a terminal cannot show it — never over an existing file (a second
invite becomes `interview-1.ics`), readable by its owner only, and the chat says where it is.

Rasa: one URL or several replicas (routed like every gateway, bot/replicas.py); each message
gets a fresh random id (a terminal has no message ids of its own), reused by the client's own
resends of that message.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import httpx

from bot.inbound import prepare, start_payload
from bot.rasa_client import Attachment, BotMessage, RasaClient, RasaUnavailable

MAX_NAME_TRIES = 1000


def default_downloads_dir() -> Path:
    from parley.settings import load_settings

    return load_settings().var_dir / "downloads"


def save_attachment(attachment: Attachment, directory: Path) -> Path:
    """Write the file into `directory` (created when missing) under its own name, or the
    first free `<stem>-<n><suffix>`; an existing file is never replaced."""
    directory.mkdir(parents=True, exist_ok=True)
    stem, dot, suffix = attachment.filename.rpartition(".")
    if not stem:  # no dot, or a leading one only
        stem, dot, suffix = attachment.filename, "", ""
    for n in range(MAX_NAME_TRIES):
        name = attachment.filename if n == 0 else f"{stem}-{n}{dot}{suffix}"
        path = directory / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out:
            out.write(attachment.data)
        return path
    raise FileExistsError(f"no free name for {attachment.filename} in {directory}")


def render(messages: list[BotMessage], downloads: Path | None = None) -> list[str]:
    """Bot messages as terminal lines; buttons are numbered so a person can type the number.
    A message's file is saved into `downloads` (when given) and announced."""
    lines: list[str] = []
    for message in messages:
        if message.text:
            lines.extend("bot> " + line for line in message.text.splitlines())
        for i, button in enumerate(message.buttons, 1):
            lines.append(f"      [{i}] {button.title}")
        attachment = message.attachment
        if attachment is not None:
            lines.append(_saved_line(attachment, downloads))
    return lines


def _saved_line(attachment: Attachment, downloads: Path | None) -> str:
    what = attachment.caption or attachment.filename
    if downloads is None:
        return f"bot> ({what}: {attachment.filename}, not saved)"
    try:
        path = save_attachment(attachment, downloads)
    except OSError as exc:
        return f"bot> Could not save {what} to {downloads}: {exc.strerror or exc}"
    return f"bot> Saved {what} to {path}"


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
    rasa_url: str | Sequence[str],
    sender: str | None = None,
    job: str | None = None,
    web_url: str | None = None,
    downloads: Path | None = None,
) -> None:
    """The chat loop; `downloads` is where files are saved (default: `<var dir>/downloads`)."""
    downloads = downloads if downloads is not None else default_downloads_dir()
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
                replies = await rasa.send(sender, pending or "", message_id=uuid.uuid4().hex)
                messages = [m for m in replies if m.visible]
            except RasaUnavailable as exc:
                print(f"bot> The interviewer is unavailable ({exc}). Try again shortly.")
                messages = []
            pending = None
            for line in render(messages, downloads):
                print(line)
            for text in await outbox(http, web_url, sender):
                print("\n".join("bot> " + line for line in text.splitlines()))
            buttons = [b.payload for m in messages for b in m.buttons]
            sys.stdout.flush()
