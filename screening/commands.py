"""The interview's commands and how a message is recognised as one.

Why this is strict: a free-text answer such as "I'd rather stop by later and explain" must be
taken as an answer even when the NLU model thinks it means "pause". A message therefore counts
as a command only when it is explicit (a slash command or a button payload) or when the NLU
intent is confident, the message is short, *and* it contains one of the command's cue phrases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
    # Asking for an accommodation or an alternative process (the AI notice names these):
    # a person at the employer gets the request, as with "human".
    "accommodation": Command.HUMAN,
    "alternative": Command.HUMAN,
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
        r"\baccommodations?\b",
        r"\balternative (process|way|format)\b",
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


@dataclass
class SpokenAnswer:
    """How a spoken message was heard (the phone gateway's speech metadata).

    `confidence` feeds the scorer's insufficient-data guard; `audio_ref` is the kept
    recording (None when the settings say not to keep it), adopted by the answer it becomes
    (`adopted`), else deleted by the action that received it.
    """

    confidence: float | None = None
    audio_ref: str | None = None
    adopted: bool = False

    @classmethod
    def from_metadata(cls, metadata: object) -> SpokenAnswer | None:
        speech = metadata.get("speech") if isinstance(metadata, dict) else None
        if not isinstance(speech, dict):
            return None
        confidence = speech.get("confidence")
        ref = speech.get("audio_ref")
        return cls(
            confidence=float(confidence)
            if isinstance(confidence, int | float) and 0 <= confidence <= 1
            else None,
            audio_ref=ref if isinstance(ref, str) and 0 < len(ref) <= 500 else None,
        )


@dataclass(frozen=True)
class MessageNlu:
    """What Rasa's NLU said about a message, as the action server sees it (and, for a
    spoken message, how it was heard)."""

    intent: str | None = None
    confidence: float = 0.0
    speech: SpokenAnswer | None = field(default=None, compare=False)


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
    if command == Command.WITHDRAW and _WITHDRAW_CONSENT.search(text):
        return None  # "withdraw my consent" is the privacy command, not the application's
    return command if _CUE_RE[command].search(text) else None


_WITHDRAW_CONSENT = re.compile(r"\bconsent\b", re.IGNORECASE)
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


# ---------------------------------------------------------------------------- privacy commands
class PrivacyCommand(StrEnum):
    """The candidate's privacy rights, usable at any point (also mid-interview, which then
    resumes). Values are Rasa intents; privacy/chat.py carries them out."""

    VIEW = "privacy_view"  # what data do you have on me
    EXPORT = "privacy_export"  # a download link to everything (GDPR art. 20)
    DELETE_ALL = "privacy_delete_all"  # delete everything
    DELETE_ANSWER = "privacy_delete_answer"  # one answer, or the recordings
    OPT_OUT = "privacy_opt_out"  # no AI scoring: a person reviews instead
    OPT_IN = "privacy_opt_in"
    REVIEW = "privacy_review"  # human review of a decision, with my view (GDPR art. 22)
    CORRECT = "privacy_correct"  # correct an answer, or dispute an AI-inferred item
    WITHDRAW_CONSENT = "privacy_withdraw_consent"
    ACCESS_LOG = "privacy_access_log"  # which employers viewed my profile
    NOTICES = "privacy_notices"  # notice versions and my consent history
    SETTINGS = "privacy_settings"  # recordings access, visibility, retention, region
    CONTACT = "privacy_contact"  # add or verify a contact for one-time codes
    SELF_ID = "privacy_self_id"  # voluntary self-identification (sex, race/ethnicity)


PRIVACY_ENTITY = "privacy_arg"
MAX_PRIVACY_ARGUMENT = 2_000

# Slash commands for privacy: alias → (command, words put before the typed argument). The
# prefix lets one intent serve related commands: `/dispute 3 why` is `/correct` with "dispute".
PRIVACY_SLASH: dict[str, tuple[PrivacyCommand, str]] = {
    "mydata": (PrivacyCommand.VIEW, ""),
    "my_data": (PrivacyCommand.VIEW, ""),
    "privacy": (PrivacyCommand.VIEW, ""),
    "export": (PrivacyCommand.EXPORT, ""),
    "download": (PrivacyCommand.EXPORT, ""),
    "delete": (PrivacyCommand.DELETE_ALL, ""),
    "delete_all": (PrivacyCommand.DELETE_ALL, ""),
    "erase": (PrivacyCommand.DELETE_ALL, ""),
    "forget_me": (PrivacyCommand.DELETE_ALL, ""),
    "delete_answer": (PrivacyCommand.DELETE_ANSWER, ""),
    "delete_recordings": (PrivacyCommand.DELETE_ANSWER, "recordings"),
    "delete_recording": (PrivacyCommand.DELETE_ANSWER, "recordings"),
    "optout": (PrivacyCommand.OPT_OUT, ""),
    "opt_out": (PrivacyCommand.OPT_OUT, ""),
    "optin": (PrivacyCommand.OPT_IN, ""),
    "opt_in": (PrivacyCommand.OPT_IN, ""),
    "review": (PrivacyCommand.REVIEW, ""),
    "appeal": (PrivacyCommand.REVIEW, ""),
    "correct": (PrivacyCommand.CORRECT, ""),
    "dispute": (PrivacyCommand.CORRECT, "dispute"),
    "withdraw_consent": (PrivacyCommand.WITHDRAW_CONSENT, ""),
    "viewed": (PrivacyCommand.ACCESS_LOG, ""),
    "access_log": (PrivacyCommand.ACCESS_LOG, ""),
    "notices": (PrivacyCommand.NOTICES, ""),
    "notice": (PrivacyCommand.NOTICES, ""),
    "consents": (PrivacyCommand.NOTICES, ""),
    "settings": (PrivacyCommand.SETTINGS, ""),
    "contact": (PrivacyCommand.CONTACT, ""),
    "verify": (PrivacyCommand.CONTACT, "verify"),
    "selfid": (PrivacyCommand.SELF_ID, ""),
    "self_id": (PrivacyCommand.SELF_ID, ""),
    "eeo": (PrivacyCommand.SELF_ID, ""),
    "diversity": (PrivacyCommand.SELF_ID, ""),
}
# The intents themselves, as buttons send them: /privacy_export, /privacy_settings{...}.
PRIVACY_SLASH.update({str(c): (c, "") for c in PrivacyCommand})

_DATA_WORDS = r"data|information|info|details|personal data|records?"
_DATA = rf"({_DATA_WORDS})"
_PRIVACY_CUES: dict[PrivacyCommand, tuple[str, ...]] = {
    PrivacyCommand.VIEW: (
        rf"\bwhat\b.*\b{_DATA}\b.*\b(have|hold|store|keep|know|got)\b",
        rf"\b(see|view|show|access|check)\b.*\bmy\b.*\b{_DATA}\b",
        r"\bwhat do you (know|have|store|keep) (about|on) me\b",
        r"\bwhat (is|'s) stored\b",
    ),
    PrivacyCommand.EXPORT: (
        rf"\b(export|download)\b.*\b{_DATA}\b",
        rf"\bcopy of (all )?my\b.*\b{_DATA}\b",
        r"\bportability\b",
    ),
    PrivacyCommand.DELETE_ALL: (
        rf"\b(delete|erase|remove|wipe|destroy|purge)\b.*\b(my|all)\b.*\b({_DATA_WORDS}|account|profile|everything)\b",
        r"\b(delete|erase|remove|wipe)\b.*\beverything\b",
        r"\bforget (about )?me\b",
        r"\bright to (be forgotten|erasure)\b",
    ),
    PrivacyCommand.DELETE_ANSWER: (
        r"\b(delete|erase|remove|wipe)\b.*\b(answers?|recordings?|audio)\b",
        r"\b(delete|erase|remove|wipe)\b.*\bvoice (notes?|messages?)\b",
    ),
    PrivacyCommand.OPT_OUT: (
        r"\bopt(ing)?[\s-]*out\b",
        r"\b(no|without)\b.*\b(ai|a\.i\.|automated|automatic|machine|algorithm)\b",
        r"\b(don'?t|do not)\b.*\b(ai|a\.i\.|automated|automatic|machine|algorithm)\b",
        r"\b(stop|turn off|disable)\b.*\b(ai|a\.i\.|automated|automatic) (scoring|assessment)\b",
    ),
    PrivacyCommand.OPT_IN: (
        r"\bopt(ing)?[\s-]*(back[\s-]+)?in\b",
        r"\b(ai|a\.i\.|automated|automatic) (scoring|assessment) back\b",
        r"\b(turn|switch) (on|back on)\b.*\b(ai|a\.i\.|automated) (scoring|assessment)\b",
    ),
    PrivacyCommand.REVIEW: (
        r"\bhuman\b.*\breview",
        r"\b(person|human|someone|somebody|recruiter)\b.*\b(check|look at|reconsider|review)\b",
        r"\breview\b.*\b(decision|rejection|result|outcome|score|assessment)\b",
        r"\b(appeal|contest|challenge)\b",
    ),
    PrivacyCommand.CORRECT: (
        rf"\b(correct|rectify|amend|fix)\b.*\b(answers?|profile|score|assessment|{_DATA_WORDS}|name|item)\b",
        r"\b(score|assessment|rating|data|profile)\b.*\b(wrong|incorrect|inaccurate|unfair)\b",
        r"\b(wrong|incorrect|inaccurate|unfair)\b.*\b(score|assessment|rating|data|profile)\b",
        r"\bdispute\b",
    ),
    PrivacyCommand.WITHDRAW_CONSENT: (
        r"\b(withdraw|revoke|retract|take back|cancel|pull)\b.*\bconsent\b",
        r"\bno longer (consent|agree)\b",
        r"\bstop (processing|using) my\b",
    ),
    PrivacyCommand.ACCESS_LOG: (
        r"\b(who|which|what)\b.*\b(viewed|seen|saw|looked at|accessed|visited|checked|opened)\b",
        r"\baccess (log|history)\b",
    ),
    PrivacyCommand.NOTICES: (
        r"\bprivacy (notices?|polic(y|ies)|statement)\b",
        r"\bconsent (history|records?)\b",
        r"\bnotice versions?\b",
        r"\bwhat did i (agree|consent) to\b",
    ),
    PrivacyCommand.SETTINGS: (
        r"\b(privacy )?settings?\b",
        r"\brecordings?\b",
        r"\bvisib(le|ility)\b",
        r"\bhide my profile\b",
        r"\bretention\b",
    ),
    PrivacyCommand.CONTACT: (
        r"\b(add|verify|register|set|update|change)\b.*\b(e-?mail|phone|contact|mobile|number)\b",
        r"\bsend (the )?codes? to\b",
    ),
    PrivacyCommand.SELF_ID: (
        r"\bequal (employment )?opportunit(y|ies)\b",
        r"\b(diversity|eeo|demographic)\b.*\b(questions?|survey|form|answers?|data|info)\b",
        r"\bself[\s-]?identif(y|ication)\b",
        r"\bmy (gender|sex|race|ethnicity)\b.*\b(answers?|data|info|question)",
    ),
}
_PRIVACY_RE = {c: re.compile("|".join(cues), re.IGNORECASE) for c, cues in _PRIVACY_CUES.items()}
# Privacy requests can be a little longer than the interview's commands ("I want a person to
# review the decision on my application"), but a long message is still an answer.
MAX_PRIVACY_WORDS = 12
_PRIVACY_PAYLOAD = re.compile(r"^\s*/([a-z_]+)(?:@\w+)?(.*)$", re.IGNORECASE | re.DOTALL)


def explicit_privacy(text: str) -> tuple[PrivacyCommand, str | None] | None:
    """A privacy slash command or payload ("/export", "/delete_answer 3",
    `/privacy_correct{"privacy_arg":"3 new text"}`): the command and its argument (None when
    there is none, or when a JSON payload is broken)."""
    match = _PRIVACY_PAYLOAD.match(text or "")
    if not match:
        return None
    target = PRIVACY_SLASH.get(match.group(1).lower())
    if target is None:
        return None
    command, prefix = target
    rest = match.group(2).strip()
    if rest.startswith("{"):
        try:
            value = json.loads(rest).get(PRIVACY_ENTITY)
        except (ValueError, AttributeError):
            return command, None
        rest = value.strip() if isinstance(value, str) else ""
    argument = " ".join(p for p in (prefix, rest) if p)
    return command, argument or None


def recognise_privacy(text: str, nlu: MessageNlu) -> PrivacyCommand | None:
    """Whether `text` is clearly a privacy request; as strict as `recognise_command`, so "I
    deleted the old data and exported reports" stays an answer."""
    explicit = explicit_privacy(text)
    if explicit is not None:
        return explicit[0]
    words = re.findall(r"\w+", text or "")
    if not words or len(words) > MAX_PRIVACY_WORDS or nlu.confidence < MIN_COMMAND_CONFIDENCE:
        return None
    if (text or "").lstrip().startswith("/"):
        return None
    if _CUE_RE[Command.PRACTICE].search(text):
        return None  # "delete my practice runs" is the practice command
    try:
        command = PrivacyCommand(nlu.intent or "")
    except ValueError:
        # "withdraw my consent" is never the application's withdraw, whatever the NLU says.
        if nlu.intent == Command.WITHDRAW and _PRIVACY_RE[PrivacyCommand.WITHDRAW_CONSENT].search(
            text
        ):
            return PrivacyCommand.WITHDRAW_CONSENT
        return None
    return command if _PRIVACY_RE[command].search(text) else None


def privacy_payload(command: PrivacyCommand, argument: str | None = None) -> str:
    """The Rasa payload for a privacy command, its argument as the `privacy_arg` entity."""
    if not argument:
        return "/" + str(command)
    return "/" + str(command) + json.dumps({PRIVACY_ENTITY: argument}, separators=(",", ":"))


def privacy_argument(text: str) -> str | None:
    """The argument of a privacy slash command or payload (None: none, or not one)."""
    explicit = explicit_privacy(text)
    return explicit[1] if explicit else None


@dataclass(frozen=True)
class PrivacyArgs:
    """A privacy command's argument, parsed. `error` (a reply for the person) when the
    argument is malformed; `argument()` is its canonical text for the payload."""

    command: PrivacyCommand
    ref: str | None = None  # a question number or id, or "recordings"
    action: str | None = None  # dispute | verify | email | phone | a setting's name
    value: str | None = None  # a setting's value, a contact, a code
    text: str | None = None  # a new answer, a statement
    error: str | None = None

    def argument(self) -> str | None:
        parts = [p for p in (self.action, self.ref, self.value, self.text) if p]
        return " ".join(parts) or None


_REF = re.compile(r"^(?:(?:q|question|answer|no\.?|number)\s*)?#?\s*(\d{1,3})$", re.IGNORECASE)
_QUESTION_ID = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_RECORDINGS = re.compile(r"^(?:all\s+|my\s+)?(?:recordings?|audio|voice)$", re.IGNORECASE)
_EVERYTHING = re.compile(
    r"^(?:all|everything|my data|all my data|data|me|account|my account|profile)$", re.IGNORECASE
)
EMAIL_RE = re.compile(r"^[^@\s<>\"'(),;:]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()./-]{5,20}[0-9]$")
_CODE = re.compile(r"^\d{4,8}$")
_YES = ("on", "yes", "allow", "true", "enable", "enabled", "1")
_NO = ("off", "no", "deny", "false", "disable", "disabled", "0")

DELETE_ANSWER_USAGE = (
    "Which answer? Send /delete_answer followed by the question number (for example "
    "/delete_answer 3), or /delete_recordings for your recordings."
)
CORRECT_USAGE = (
    "Send /correct followed by the question number and the new answer (for example "
    "/correct 3 Five years), or /dispute followed by the question number and why the AI's "
    "assessment is wrong."
)
SETTINGS_USAGE = (
    "Settings you can change: /settings recordings on|off (whether employers may listen to "
    "your recordings), /settings visibility all|applied (whether employers of jobs you didn't "
    "apply to may see your profile), /settings retention <months> (how long recordings are "
    "kept, 1–24), /settings region <eu|uk|us-ca|us|other>."
)
CONTACT_USAGE = (
    "Send /contact email you@example.com (or /contact phone +31612345678) to add a contact "
    "for one-time codes, then /verify followed by the code it receives."
)
REGIONS = ("eu", "uk", "us-ca", "us", "other")


def _ref(text: str) -> str | None:
    """A question number ("3", "q3", "question #3") or a question id ("years")."""
    match = _REF.match(text.strip())
    if match:
        return str(int(match.group(1)))
    return text.strip().lower() if _QUESTION_ID.match(text.strip().lower()) else None


def parse_privacy(command: PrivacyCommand, argument: str | None) -> PrivacyArgs:
    """Parse what followed a privacy command. Arguments of commands that take none are
    dropped; `/delete 3` and `/delete recordings` mean deleting one answer or the recordings."""
    arg = " ".join((argument or "").split())
    if len(arg) > MAX_PRIVACY_ARGUMENT:
        return PrivacyArgs(
            command,
            error=f"That is too long ({len(arg):,} characters); please keep it under "
            f"{MAX_PRIVACY_ARGUMENT:,}.",
        )
    if command == PrivacyCommand.DELETE_ALL:
        if not arg or _EVERYTHING.match(arg):
            return PrivacyArgs(command)
        command = PrivacyCommand.DELETE_ANSWER
    if command == PrivacyCommand.DELETE_ANSWER:
        if not arg:
            return PrivacyArgs(command)
        if _RECORDINGS.match(arg):
            return PrivacyArgs(command, ref="recordings")
        ref = _ref(arg)
        return (
            PrivacyArgs(command, ref=ref)
            if ref
            else PrivacyArgs(command, error=DELETE_ANSWER_USAGE)
        )
    if command == PrivacyCommand.CORRECT:
        if not arg:
            return PrivacyArgs(command)
        action = None
        head, _, rest = arg.partition(" ")
        if head.lower() == "dispute":
            action, arg = "dispute", rest.strip()
            if not arg:
                return PrivacyArgs(command, action=action)
            head, _, rest = arg.partition(" ")
        ref = _ref(head)
        if ref is None:
            return PrivacyArgs(command, error=CORRECT_USAGE)
        return PrivacyArgs(command, ref=ref, action=action, text=rest.strip() or None)
    if command == PrivacyCommand.REVIEW:
        return PrivacyArgs(command, text=arg or None)
    if command == PrivacyCommand.SETTINGS:
        return _parse_setting(arg)
    if command == PrivacyCommand.CONTACT:
        return _parse_contact(arg)
    if command == PrivacyCommand.SELF_ID:
        return _parse_self_id(arg)
    return PrivacyArgs(command)


def _parse_setting(arg: str) -> PrivacyArgs:
    command = PrivacyCommand.SETTINGS
    if not arg:
        return PrivacyArgs(command)
    name, _, value = arg.lower().partition(" ")
    value = value.strip()
    if name in ("recordings", "recording", "audio"):
        if value in _YES:
            return PrivacyArgs(command, action="recordings", value="on")
        if value in _NO:
            return PrivacyArgs(command, action="recordings", value="off")
    elif name in ("visibility", "visible", "profile"):
        if value in ("all", "all employers", "everyone", "public", "on"):
            return PrivacyArgs(command, action="visibility", value="all")
        if value in ("applied", "applied only", "none", "private", "off"):
            return PrivacyArgs(command, action="visibility", value="applied")
    elif name == "retention":
        months = re.fullmatch(r"(\d{1,2})(?:\s*months?)?", value)
        if months and 1 <= int(months.group(1)) <= 24:
            return PrivacyArgs(command, action="retention", value=str(int(months.group(1))))
    elif name == "region" and value in REGIONS:
        return PrivacyArgs(command, action="region", value=value)
    return PrivacyArgs(command, error=SETTINGS_USAGE)


def _parse_contact(arg: str) -> PrivacyArgs:
    command = PrivacyCommand.CONTACT
    if not arg:
        return PrivacyArgs(command)
    head, _, rest = arg.partition(" ")
    head, rest = head.lower(), rest.strip()
    if head == "verify":
        code = re.sub(r"[\s-]", "", rest)
        if _CODE.match(code):
            return PrivacyArgs(command, action="verify", value=code)
        return PrivacyArgs(
            command, error="Send /verify followed by the code you received, e.g. /verify 123456."
        )
    if head in ("email", "e-mail", "mail"):
        value, head = rest, "email"
    elif head in ("phone", "mobile", "sms", "tel"):
        value, head = rest, "phone"
    else:
        value, head = arg, ("email" if "@" in arg else "phone")
    if head != "phone" and EMAIL_RE.match(value):
        return PrivacyArgs(command, action="email", value=value)
    if head == "phone" and PHONE_RE.match(value):
        return PrivacyArgs(command, action="phone", value=value)
    return PrivacyArgs(command, error=CONTACT_USAGE)


# ---------------------------------------------------------------------------- self-identification
# Offered once a real application is finished (screening/interview.py). The questions, the
# storage and everything that reads the answers live in privacy/chat.py and fairness/self_id.py,
# which nothing under screening/ imports: scoring never sees them.
SELF_ID_OFFER = (
    "One more thing, entirely optional: you may answer 2 questions about your sex and "
    "race/ethnicity. They are stored apart from your application, never used to score you and "
    "never shown to an employer with your name — only counted in anonymous totals that check "
    "our screening treats every group fairly. Send /selfid any time to answer, change or "
    "delete them."
)
SELF_ID_BUTTON = ("Answer 2 optional questions", "/privacy_self_id")
SELF_ID_USAGE = (
    "Send /selfid to answer (or see) the 2 optional self-identification questions, /selfid "
    "change to answer them again, or /selfid delete to delete your answers."
)
_SELF_ID_QUESTIONS = {"sex": "sex", "gender": "sex", "race": "race", "ethnicity": "race"}
_SELF_ID_ACTIONS = {
    "delete": "delete",
    "remove": "delete",
    "erase": "delete",
    "clear": "delete",
    "change": "change",
    "update": "change",
    "edit": "change",
    "answer": "change",
    "start": "change",
    "show": "show",
    "view": "show",
    "cancel": "cancel",
    "stop": "cancel",
}
_SELF_ID_VALUE = re.compile(r"^[\w .'/-]{1,120}$")


def _parse_self_id(arg: str) -> PrivacyArgs:
    """`/selfid`, `/selfid delete|change|cancel`, or a button's answer `/selfid sex female`,
    `/selfid race skip` (the value is checked against the categories by privacy/chat.py)."""
    command = PrivacyCommand.SELF_ID
    if not arg:
        return PrivacyArgs(command)
    head, _, rest = arg.lower().partition(" ")
    rest = rest.strip()
    if head in _SELF_ID_ACTIONS and not rest:
        return PrivacyArgs(command, action=_SELF_ID_ACTIONS[head])
    question = _SELF_ID_QUESTIONS.get(head)
    if question is not None and rest and _SELF_ID_VALUE.match(rest):
        return PrivacyArgs(command, action=question, value=rest)
    return PrivacyArgs(command, error=SELF_ID_USAGE)
