"""The interview's commands and how a message is recognised as one.

Why this is strict: a free-text answer such as "I'd rather stop by later and explain" must be
taken as an answer even when the NLU model thinks it means "pause". A message therefore counts
as a command only when it is explicit (a slash command or a button payload) or when the NLU
intent is confident, the message is short, *and* it contains one of the command's cue phrases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum


class Command(StrEnum):
    """Commands a candidate can give at any point in an interview. Values are Rasa intents."""

    REPEAT = "repeat_question"
    BACK = "go_back"
    SKIP = "skip_question"
    PAUSE = "pause"
    HELP = "help"
    HUMAN = "human_handoff"
    WITHDRAW = "withdraw"
    JOB_FIT = "job_fit"
    PRACTICE = "practice"


# What a person may type after "/" on any channel, mapped to the Rasa intent it stands for.
SLASH_ALIASES: dict[str, str] = {
    "start": "start",
    "jobs": "list_jobs",
    "repeat": Command.REPEAT,
    "again": Command.REPEAT,
    "back": Command.BACK,
    "previous": Command.BACK,
    "skip": Command.SKIP,
    "pause": Command.PAUSE,
    "later": Command.PAUSE,
    "help": Command.HELP,
    "human": Command.HUMAN,
    "agent": Command.HUMAN,
    "withdraw": Command.WITHDRAW,
    "stop": Command.WITHDRAW,
    "fit": Command.JOB_FIT,
    "match": Command.JOB_FIT,
    "practice": Command.PRACTICE,
    "practise": Command.PRACTICE,
}
# Rasa intent names may also be typed directly ("/go_back"), as buttons send them.
SLASH_ALIASES.update({str(c): c for c in Command})
SLASH_ALIASES["list_jobs"] = "list_jobs"

# Cue phrases: a natural-language message is only a command if it contains one of these.
_CUES: dict[Command, tuple[str, ...]] = {
    Command.REPEAT: (
        r"\brepeat\b",
        r"\bsay (that|it) again\b",
        r"\bagain\b",
        r"\bpardon\b",
        r"\bcome again\b",
        r"\bwhat was the question\b",
        r"\bdidn'?t (get|catch|understand)\b",
    ),
    Command.BACK: (
        r"\bgo back\b",
        r"\bback\b",
        r"\bprevious\b",
        r"\bchange my (last |previous )?answer\b",
        r"\bundo\b",
        r"\blast question\b",
    ),
    Command.SKIP: (
        r"\bskip\b",
        r"\bpass\b",
        r"\bnext question\b",
        r"\bprefer not to (say|answer)\b",
    ),
    Command.PAUSE: (
        r"\bpause\b",
        r"\bcontinue later\b",
        r"\bfinish later\b",
        r"\bbreak\b",
        r"\bresume later\b",
        r"\bbe right back\b",
        r"\bbrb\b",
        r"\bcome back later\b",
        r"\bcarry on later\b",
    ),
    Command.HELP: (
        r"\bhelp\b",
        r"\bwhat can i (say|do)\b",
        r"\bhow does this work\b",
        r"\boptions\b",
    ),
    Command.HUMAN: (
        r"\bhuman\b",
        r"\bperson\b",
        r"\breal (person|people)\b",
        r"\bagent\b",
        r"\brecruiter\b",
        r"\bsomeone\b",
        r"\bsomebody\b",
        r"\boperator\b",
    ),
    Command.WITHDRAW: (
        r"\bwithdraw\b",
        r"\bquit\b",
        r"\bcancel (my )?application\b",
        r"\bstop (the |this )?interview\b",
        r"\bnot interested\b",
        r"\bi want to stop\b",
        r"\bend (the |this )?interview\b",
    ),
    Command.JOB_FIT: (
        r"\bjobs? (would |might |could )?(fit|suit|match)",
        r"\b(fit|suit|match)(es)? me\b",
        r"\bbest (job|match)",
        r"\bright job for me\b",
    ),
    # In natural language, only a request to delete practice runs counts as a command during
    # an interview: "I practise every day" is an answer. `/practice` starts a practice run.
    Command.PRACTICE: (
        r"\b(delete|remove|erase|wipe|clear|forget)\b.*\bpracti[cs]",
        r"\bpracti[cs]\w*\b.*\b(delete|remove|erase|wipe|clear|forget)\b",
    ),
}
_CUE_RE = {cmd: re.compile("|".join(cues), re.IGNORECASE) for cmd, cues in _CUES.items()}

MAX_COMMAND_WORDS = 8
MIN_COMMAND_CONFIDENCE = 0.6


@dataclass(frozen=True)
class MessageNlu:
    """What Rasa's NLU said about a message, as the action server sees it."""

    intent: str | None = None
    confidence: float = 0.0


def explicit_command(text: str) -> Command | None:
    """A slash command or button payload such as "/go_back" or "/repeat"."""
    match = re.match(r"^\s*/([a-z_]+)", text, re.IGNORECASE)
    if not match:
        return None
    target = SLASH_ALIASES.get(match.group(1).lower())
    return target if isinstance(target, Command) else None


def recognise_command(text: str, nlu: MessageNlu) -> Command | None:
    """Decide whether `text` is clearly a command; None means "treat it as an answer"."""
    explicit = explicit_command(text)
    if explicit is not None:
        return explicit
    try:
        command = Command(nlu.intent or "")
    except ValueError:
        return None
    words = re.findall(r"\w+", text)
    if not words or len(words) > MAX_COMMAND_WORDS or nlu.confidence < MIN_COMMAND_CONFIDENCE:
        return None
    return command if _CUE_RE[command].search(text) else None


_DELETE = re.compile(r"\b(delete|remove|erase|wipe|clear|forget)\b", re.IGNORECASE)
_PRACTICE_PAYLOAD = re.compile(r"^\s*/practi[cs]e(?:@\w+)?(.*)$", re.IGNORECASE | re.DOTALL)
PRACTICE_ENTITY = "practice_ref"


def practice_payload(ref: str | None = None) -> str:
    """The Rasa payload for `/practice` (optionally for a job, or "delete")."""
    if not ref:
        return "/practice"
    return "/practice" + json.dumps({PRACTICE_ENTITY: ref}, separators=(",", ":"))


def practice_argument(text: str) -> str | None:
    """What follows `/practice` in a payload or typed command: the job (a slug or title
    words) or "delete"; None when there is nothing, or the text is not a practice command."""
    match = _PRACTICE_PAYLOAD.match(text or "")
    if not match:
        return None
    rest = match.group(1).strip()
    if rest.startswith("{"):
        try:
            value = json.loads(rest).get(PRACTICE_ENTITY)
        except (ValueError, AttributeError):
            return None
        return value.strip() or None if isinstance(value, str) else None
    return rest or None


def wants_practice_delete(text: str, argument: str | None = None) -> bool:
    """Whether a practice request asks to delete the practice runs: `/practice delete`, or
    natural language that names both a deletion and practice ("delete my practice runs")."""
    if argument is not None:
        return _DELETE.search(argument) is not None
    return _CUE_RE[Command.PRACTICE].search(text or "") is not None
