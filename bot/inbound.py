"""Normalise what a person typed on any channel before it reaches Rasa.

Rasa treats any message that starts with "/" as an intent payload, so a typed "/restart" or
"/ 5 years" would reach Rasa's built-in actions or garble the turn. Every gateway passes text
through `prepare()` so that only Parley's own commands become payloads, deep links become a
`start` intent with a job id, and hostile or broken input gets a clear answer instead.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from screening.commands import (
    PRIVACY_ENTITY,
    PRIVACY_SLASH,
    SLASH_ALIASES,
    Command,
    PrivacyCommand,
    parse_privacy,
    practice_argument,
    practice_payload,
    privacy_payload,
)

MAX_MESSAGE_CHARS = 20_000
_JOB_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")
# What may follow /practice: a job id, title words ("backend engineer") or "delete".
_PRACTICE_REF_RE = re.compile(r"^[^\W_][\w .,&'()/+-]{0,79}$")

COMMANDS_HELP = (
    "Commands: /repeat, /back, /skip, /pause, /help, /human, /withdraw, /jobs, /fit, "
    "/start <job>, /practice [job], /practice delete, /link [code] (continue on another "
    "channel). "
    "Interviews with a person: /book, /reschedule, /cancel_interview, /interview. "
    "Your data: /mydata, /export, /delete, /delete_answer <n>, /delete_recordings, /optout, "
    "/optin, /review [your view], /correct <n> <new answer>, /dispute <n> <why>, "
    "/withdraw_consent, /viewed, /notices, /settings, /contact email <address>, /verify <code>, "
    "/selfid (optional self-identification)."
)


# Booking the interview with a person (scheduling/chat.py): command → the `schedule_arg`.
SCHEDULE_SLASH: dict[str, str] = {
    "book": "book",
    "schedule": "book",
    "reschedule": "reschedule",
    "cancel_interview": "cancel",
    "interview": "show",
    "my_interview": "show",
}


def schedule_payload(kind: str) -> str:
    return "/schedule" + json.dumps({"schedule_arg": kind}, separators=(",", ":"))


@dataclass(frozen=True)
class Prepared:
    """Either `text` to send to Rasa, or `reply` to show the person without calling Rasa."""

    text: str | None = None
    reply: str | None = None


def clean(text: str) -> str:
    """Drop control characters (keep newlines and tabs) and surrounding whitespace."""
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    ).strip()


def start_payload(job_id: str | None) -> str:
    """The Rasa payload that starts (or resumes) an interview, optionally for one job."""
    if not job_id:
        return "/start"
    return "/start" + json.dumps({"job_id": job_id}, separators=(",", ":"))


def _start_argument(rest: str) -> str | None:
    arg = rest.strip()
    if not arg:
        return None
    if arg.startswith("{"):  # a button payload we produced: /start{"job_id": "..."}
        try:
            value = json.loads(arg).get("job_id")
        except (ValueError, AttributeError):
            return None
        arg = value if isinstance(value, str) else ""
    arg = re.sub(r"^(job[=_:\s]+)", "", arg, flags=re.IGNORECASE).strip()
    return arg if _JOB_ID_RE.match(arg) else None


def _practice(rest: str) -> Prepared:
    """`/practice`, `/practice <job id or title words>`, `/practice delete`, or the button
    payload `/practice{"practice_ref": "..."}`, as a payload Rasa can parse (free words go
    into the JSON entity, so a title with spaces survives)."""
    if not rest.strip():
        return Prepared(text=practice_payload())
    ref = practice_argument("/practice" + rest)
    ref = " ".join(ref.split()) if ref else None
    if ref is None or not _PRACTICE_REF_RE.match(ref):
        return Prepared(
            reply="That doesn't look like a job name. Send /practice to see the jobs you can "
            "practise for."
        )
    return Prepared(text=practice_payload(ref))


def _privacy(command: PrivacyCommand, prefix: str, rest: str) -> Prepared:
    """A privacy command with its argument checked and put into the `privacy_arg` entity
    (a statement or a new answer with spaces and quotes survives as JSON)."""
    rest = rest.strip()
    if rest.startswith("{"):  # a button payload we produced: /privacy_x{"privacy_arg": "..."}
        try:
            value = json.loads(rest).get(PRIVACY_ENTITY)
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            return Prepared(reply=f"That command looks broken. {COMMANDS_HELP}")
        rest = value
    parsed = parse_privacy(command, " ".join(p for p in (prefix, rest) if p))
    if parsed.error:
        return Prepared(reply=parsed.error)
    return Prepared(text=privacy_payload(parsed.command, parsed.argument()))


def prepare(raw: str | None) -> Prepared:
    """Turn raw user input into what Rasa should receive, or into an immediate reply."""
    text = clean(raw or "")
    if not text:
        return Prepared(reply="I didn't receive any text. Please type your answer, or /help.")
    if len(text) > MAX_MESSAGE_CHARS:
        return Prepared(
            reply=f"That message is too long ({len(text):,} characters). Please keep it under "
            f"{MAX_MESSAGE_CHARS:,} characters; nothing you answered before is lost."
        )
    if not text.startswith("/"):
        return Prepared(text=text)
    match = re.match(r"^/([A-Za-z_]+)(?:@\w+)?(.*)$", text, re.DOTALL)
    if not match:
        # "/ 5 years", "//": not a command; drop the slashes so Rasa sees plain text.
        stripped = text.lstrip("/").strip()
        return Prepared(text=stripped) if stripped else Prepared(reply=COMMANDS_HELP)
    name, rest = match.group(1).lower(), match.group(2)
    if name == "link":  # gateways with a database answer /link before calling prepare()
        return Prepared(
            reply="Linking chats isn't available on this channel. Use /link in the web chat, "
            "Telegram or Slack."
        )
    target = SLASH_ALIASES.get(name)
    if target is None and name in SCHEDULE_SLASH:
        return Prepared(text=schedule_payload(SCHEDULE_SLASH[name]))
    if target is None and name in PRIVACY_SLASH:
        return _privacy(*PRIVACY_SLASH[name], rest)
    if target is None:
        return Prepared(reply=f"I don't know the command /{name}. {COMMANDS_HELP}")
    if target == "start":
        argument = rest.strip()
        job_id = _start_argument(argument)
        if argument and job_id is None:
            return Prepared(reply="That job link looks broken. Send /jobs to see the open jobs.")
        return Prepared(text=start_payload(job_id))
    if target == Command.PRACTICE:
        return _practice(rest)
    return Prepared(text="/" + str(target))
