"""The privacy commands in the conversation: what a candidate says, and what happens next.

Why a dialogue layer of its own: the rights themselves (privacy.summary, export, erasure,
oversight, preferences, notices, contacts, verification) are plain functions; asking "are you
sure?", waiting for a one-time code or for the candidate's statement, and resuming the
interview afterwards is conversation. Keeping it here means every channel — and the middle of
an interview as much as outside it — gets exactly the same dialogue.

What waits for the candidate's next message is a `privacy_requests` row in an AWAITING_*
status (`privacy.requests.pending_for`), not conversation memory: it survives restarts, and it
is bound to the sender id that asked (a hash in the request's sealed detail), so another
sender — even another channel of the same person — cannot answer it. A one-time code must be
typed where the request was made; that is the point of a second factor.

Rules for the message after a question:
* a clear yes carries out a confirmation; anything else cancels it (like the interview's own
  "withdraw?" question): nothing destructive happens on an unclear reply;
* "cancel", "no", "stop" cancel whatever waits;
* another privacy command or an interview command replaces what waits (it is cancelled);
* a typed code is checked (wrong: attempts left; 3 wrong: locked; expired: a new one offered).

Nothing here logs personal data: request ids at most.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from fairness import self_id
from fairness.categories import LABELS, RACE_ETHNICITY, SEX, parse_race, parse_sex
from privacy import contacts, export, notices, oversight, preferences, summary, verification
from privacy.requests import Kind, RequestStatus, complete, open_request, pending_for
from privacy.tombstones import erasure_for_sender
from screening.commands import (
    SELF_ID_USAGE,
    Command,
    MessageNlu,
    PrivacyArgs,
    PrivacyCommand,
    explicit_command,
    explicit_privacy,
    parse_privacy,
    privacy_payload,
    recognise_command,
    recognise_privacy,
)
from screening.interview import Mode, Reply
from screening.questions import parse_yes_no
from storage.db import Database
from storage.models import (
    Application,
    BookingInvitation,
    Candidate,
    PrivacyRequest,
    SelfIdentification,
)
from storage.repositories import CandidateRepository, channel_of

if TYPE_CHECKING:
    from parley.settings import Settings
    from storage.files import FileStore

log = logging.getLogger(__name__)

NOTHING_STORED = (
    "I have nothing stored about you — no profile, answers or contacts — so there is nothing "
    "to show, export, change or delete. (If you talked to me on another app, ask there.)"
)
NO_CANDIDATE_FOR_CONTACT = (
    "I don't know you yet: a contact belongs to a candidate, so start an interview first "
    "(send /jobs). Then you can add an email address for one-time codes."
)
SECOND_FACTOR_HELP = (
    "To protect your data I confirm this with a one-time code sent somewhere else than this "
    "chat, and you have no verified email or second linked chat yet. Add one with "
    "/contact email you@example.com, type the code from that email here (/verify 123456), "
    "then ask again."
)
ERASED = (
    "Your data was deleted at your request: it is out of use, and the rest is being purged. "
    "There is nothing left to change."
)
CANCELLED = "OK — cancelled. Nothing has changed."
SELF_ID_AFTER_APPLICATION = (
    "The optional self-identification questions are asked after an application: apply for a "
    "job first (send /jobs). Nothing about you was stored."
)
CONTINUE = "Now, back to your interview:"

_CANCEL = re.compile(
    r"^\s*(please )?(cancel|no|nope|stop|abort|never ?mind|forget it|don'?t|do not)( it| that)?"
    r"[\s.!]*$",
    re.IGNORECASE,
)
# Where "no" may be the input itself (a corrected answer to a yes/no question).
_CANCEL_STRICT = re.compile(
    r"^\s*(please )?(cancel|abort|never ?mind|forget it)( it| that)?[\s.!]*$", re.IGNORECASE
)
_NEW_CODE = re.compile(
    r"\b(new|another|resend|re-send|send (it |the code )?again)\b.*\bcode\b|^\s*resend\s*$",
    re.IGNORECASE,
)
_NO_STATEMENT = re.compile(r"^\s*(skip|none|nothing|no statement|-)\s*[.!]*\s*$", re.IGNORECASE)
_NUMBER_IN_TEXT = re.compile(
    r"\b(?:question|q|answer|number|no\.?)\s*#?\s*(\d{1,3})\b|#(\d{1,3})\b|\b(\d{1,3})\b",
    re.IGNORECASE,
)
_EMAIL_IN_TEXT = re.compile(r"[^\s@<>\"'(),;:]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PHONE_IN_TEXT = re.compile(r"\+?\d[\d ()./-]{5,20}\d")
_DISPUTE_WORDS = re.compile(
    r"\b(dispute|score|scored|scoring|assessment|rating|rated|ai|unfair|inaccurate)\b",
    re.IGNORECASE,
)
_RECORDING_WORDS = re.compile(r"\b(recordings?|audio|voice)\b", re.IGNORECASE)
_WRONG_CODE_HELP = "Type the 6-digit code, reply 'new code' for another one, or 'cancel'."


@dataclass
class ChatTurn:
    """What one message did: the replies, whether the interview must end (everything deleted,
    consent withdrawn), and whether a request now waits for the candidate's next message (the
    interview then holds its question until that is answered)."""

    replies: list[Reply] = field(default_factory=list)
    ended: bool = False
    waiting: bool = False

    def say(self, text: str, buttons: tuple[tuple[str, str], ...] = ()) -> ChatTurn:
        self.replies.append(Reply(text, buttons))
        return self


def sender_tag(sender_id: str) -> str:
    """Which sender a waiting request belongs to, without storing the sender id itself."""
    return hashlib.sha256(sender_id.encode()).hexdigest()[:32]


def _now() -> datetime:
    return datetime.now(UTC)


class PrivacyChat:
    """The privacy dialogue, for the action server and the interview service alike."""

    def __init__(self, db: Database, settings: Settings, files: FileStore) -> None:
        self.db = db
        self.settings = settings
        self.files = files

    # ------------------------------------------------------------------ entry points
    def handle(
        self,
        sender_id: str,
        command: PrivacyCommand | str,
        argument: str | None = None,
        text: str = "",
    ) -> list[Reply]:
        """A privacy command (from a slash command, a button or natural language)."""
        return self.command(sender_id, PrivacyCommand(command), argument, text).replies

    def pending_input(
        self, sender_id: str, text: str, nlu: MessageNlu | None = None
    ) -> list[Reply] | None:
        """The sender's next message when a request of theirs waits for input (a yes, a code,
        a statement); None when nothing waits or the message is something else."""
        turn = self.pending_turn(sender_id, text, nlu or MessageNlu())
        return None if turn is None else turn.replies

    def in_interview(self, sender_id: str, text: str, nlu: MessageNlu) -> ChatTurn | None:
        """The interview's hook: pending privacy input, or a privacy command; None when the
        message is neither (it is then an answer or an interview command)."""
        turn = self.pending_turn(sender_id, text, nlu)
        if turn is not None:
            return turn
        command = recognise_privacy(text, nlu)
        if command is None:
            return None
        return self.command(sender_id, command, self._argument(text), text)

    def cancel_pending(self, sender_id: str) -> bool:
        """Cancel what waits for this sender (starting an interview replaces it)."""
        with self.db.transaction() as s:
            stopped = self._stop_self_id(s, sender_id)
            row = self._pending_row(s, sender_id)
            if row is None:
                return stopped
            self._cancel(s, row)
            return True

    # ------------------------------------------------------------------ commands
    def command(
        self, sender_id: str, command: PrivacyCommand, argument: str | None, text: str = ""
    ) -> ChatTurn:
        """Carry out a privacy command. `argument` is what followed a slash command (None for
        natural language, whose details are read from `text`)."""
        if argument is None and not text.lstrip().startswith("/"):
            args = self._from_words(command, text)
        else:
            args = parse_privacy(command, argument)
        if args.error:
            return ChatTurn().say(args.error)
        command = args.command
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            # A new request replaces whatever waited for an answer (except a contact's
            # verification: see pending_turn). "/verify <code>" for an export or a deletion
            # is that request's code.
            waiting = self._pending_row(s, sender_id) if candidate is not None else None
            if waiting is not None and contacts.is_contact_verification(waiting):
                waiting = None
            code_for = None
            if (
                waiting is not None
                and args.action == "verify"
                and waiting.status == RequestStatus.AWAITING_CODE
            ):
                code_for = (waiting.id, waiting.kind)
            elif waiting is not None and not self._same_request(waiting, command):
                self._cancel(s, waiting)
            if candidate is None:
                erasure = erasure_for_sender(s, sender_id)
                if erasure is not None and command != PrivacyCommand.NOTICES:
                    # Erased earlier from this chat: out of use, waiting for the purge.
                    since = notices.day(erasure.removed_at or erasure.requested_at)
                    held = " A legal hold delays it." if erasure.status == "held" else ""
                    return ChatTurn().say(
                        f"Your data is already scheduled for deletion: it has been out of use "
                        f"since {since} and will be deleted completely by "
                        f"{notices.day(erasure.due_at)}.{held}"
                    )
                if command == PrivacyCommand.CONTACT:
                    return ChatTurn().say(NO_CANDIDATE_FOR_CONTACT)
                if command == PrivacyCommand.SELF_ID:
                    return ChatTurn().say(SELF_ID_AFTER_APPLICATION)
                if command != PrivacyCommand.NOTICES:
                    return ChatTurn().say(NOTHING_STORED)
            elif candidate.erased_at is not None and command != PrivacyCommand.NOTICES:
                if command == PrivacyCommand.DELETE_ALL:
                    pass  # erase_candidate reports the schedule (idempotent)
                elif command != PrivacyCommand.VIEW:
                    return ChatTurn().say(ERASED)
            candidate_id = candidate.id if candidate is not None else None
            if candidate is not None and command != PrivacyCommand.SELF_ID:
                self._stop_self_id(s, sender_id)  # another request replaces the questions
        if code_for is not None:
            return self._code(sender_id, code_for[0], code_for[1], args.value or "")
        handler = {
            PrivacyCommand.VIEW: self._view,
            PrivacyCommand.EXPORT: self._export,
            PrivacyCommand.DELETE_ALL: self._delete_all,
            PrivacyCommand.DELETE_ANSWER: self._delete_answer,
            PrivacyCommand.OPT_OUT: self._opt_out,
            PrivacyCommand.OPT_IN: self._opt_in,
            PrivacyCommand.REVIEW: self._review,
            PrivacyCommand.CORRECT: self._correct,
            PrivacyCommand.WITHDRAW_CONSENT: self._withdraw_consent,
            PrivacyCommand.ACCESS_LOG: self._access_log,
            PrivacyCommand.NOTICES: self._notices,
            PrivacyCommand.SETTINGS: self._settings,
            PrivacyCommand.CONTACT: self._contact,
            PrivacyCommand.SELF_ID: self._self_id,
        }[command]
        return handler(sender_id, candidate_id, args)

    @staticmethod
    def _argument(text: str) -> str | None:
        explicit = explicit_privacy(text)
        return explicit[1] if explicit else None

    @staticmethod
    def _same_request(row: PrivacyRequest, command: PrivacyCommand) -> bool:
        """A repeated export or delete-everything continues the request that waits."""
        return (row.kind, command) in (
            (Kind.EXPORT, PrivacyCommand.EXPORT),
            (Kind.ERASURE, PrivacyCommand.DELETE_ALL),
        )

    def _from_words(self, command: PrivacyCommand, text: str) -> PrivacyArgs:
        """Details of a natural-language request ("delete my answer to question 3")."""
        if command == PrivacyCommand.DELETE_ANSWER:
            if _RECORDING_WORDS.search(text):
                return PrivacyArgs(command, ref="recordings")
            return PrivacyArgs(command, ref=_number(text))
        if command == PrivacyCommand.CORRECT:
            action = "dispute" if _DISPUTE_WORDS.search(text) else None
            return PrivacyArgs(command, action=action, ref=_number(text))
        if command == PrivacyCommand.SELF_ID:
            if _SELF_ID_DELETE_WORDS.search(text):
                return PrivacyArgs(command, action="delete")
            if _SELF_ID_CHANGE_WORDS.search(text):
                return PrivacyArgs(command, action="change")
            return PrivacyArgs(command)
        if command == PrivacyCommand.CONTACT:
            email = _EMAIL_IN_TEXT.search(text)
            if email:
                return parse_privacy(command, "email " + email.group(0))
            phone = _PHONE_IN_TEXT.search(text)
            if phone:
                return parse_privacy(command, "phone " + phone.group(0))
        return PrivacyArgs(command)

    # -- reading ---------------------------------------------------------------------------
    def _view(self, sender_id: str, candidate_id: str | None, args: PrivacyArgs) -> ChatTurn:
        turn = ChatTurn()
        for message in summary.summarize(self.db, sender_id):
            turn.say(message)
        if candidate_id is not None:
            turn.say(
                "You can also: /export (a download of everything), /delete (delete "
                "everything), /correct, /optout (no AI scoring), /review, /settings, /viewed "
                "(which employers looked), /notices.",
                (
                    ("Export my data", privacy_payload(PrivacyCommand.EXPORT)),
                    ("Delete everything", privacy_payload(PrivacyCommand.DELETE_ALL)),
                    ("My settings", privacy_payload(PrivacyCommand.SETTINGS)),
                ),
            )
        return turn

    def _access_log(self, sender_id: str, _c: str | None, _a: PrivacyArgs) -> ChatTurn:
        return ChatTurn().say(oversight.employers_who_viewed(self.db, sender_id))

    def _notices(self, sender_id: str, _c: str | None, _a: PrivacyArgs) -> ChatTurn:
        return ChatTurn().say(notices.history(self.db, sender_id))

    # -- settings and oversight ------------------------------------------------------------
    def _settings(self, sender_id: str, _c: str | None, args: PrivacyArgs) -> ChatTurn:
        if args.action == "recordings":
            text = preferences.set_recordings_access(self.db, sender_id, args.value == "on")
        elif args.action == "visibility":
            text = preferences.set_visibility(self.db, sender_id, args.value == "all")
        elif args.action == "retention":
            text = preferences.set_recording_retention(self.db, sender_id, int(args.value or 12))
        elif args.action == "region":
            text = preferences.set_region(self.db, sender_id, args.value or "")
        else:
            return ChatTurn().say(
                preferences.describe(self.db, sender_id),
                (
                    ("Employers may hear recordings", _setting("recordings on")),
                    ("Transcripts only", _setting("recordings off")),
                    ("Visible to all employers", _setting("visibility all")),
                    ("Only where I applied", _setting("visibility applied")),
                ),
            )
        return ChatTurn().say(text)

    def _opt_out(self, sender_id: str, _c: str | None, _a: PrivacyArgs) -> ChatTurn:
        return ChatTurn().say(oversight.opt_out(self.db, sender_id))

    def _opt_in(self, sender_id: str, _c: str | None, _a: PrivacyArgs) -> ChatTurn:
        return ChatTurn().say(oversight.opt_in(self.db, sender_id))

    def _withdraw_consent(self, sender_id: str, _c: str | None, _a: PrivacyArgs) -> ChatTurn:
        text = oversight.withdraw_consent(self.db, sender_id)
        delete = ("Delete everything", privacy_payload(PrivacyCommand.DELETE_ALL))
        return ChatTurn(ended=True).say(text, (delete,))

    def _review(self, sender_id: str, candidate_id: str | None, args: PrivacyArgs) -> ChatTurn:
        if args.text:
            return ChatTurn().say(oversight.request_review(self.db, sender_id, args.text))
        self._ask(sender_id, candidate_id, Kind.REVIEW, {"step": "statement"})
        return ChatTurn(waiting=True).say(
            "A person will review the decision on your application. In your own words, what "
            "should they know — why do you think the decision is wrong? (Reply 'skip' to ask "
            "without a statement, or 'cancel'.)"
        )

    def _correct(self, sender_id: str, candidate_id: str | None, args: PrivacyArgs) -> ChatTurn:
        dispute = args.action == "dispute"
        if args.ref and args.text:
            return ChatTurn().say(self._do_correct(sender_id, args.ref, args.text, dispute))
        step = "text" if args.ref else "ref"
        detail = {"step": step, "ref": args.ref, "dispute": dispute}
        self._ask(sender_id, candidate_id, Kind.RECTIFICATION, detail)
        return ChatTurn(waiting=True).say(_correct_question(step, args.ref, dispute))

    def _do_correct(
        self, sender_id: str, ref: str, text: str, dispute: bool, request_id: str | None = None
    ) -> str:
        if dispute:
            return oversight.dispute_ai_item(self.db, sender_id, ref, text, request_id=request_id)
        return oversight.correct_answer(self.db, sender_id, ref, text)

    # -- deleting ----------------------------------------------------------------------------
    def _delete_answer(
        self, sender_id: str, candidate_id: str | None, args: PrivacyArgs
    ) -> ChatTurn:
        if not args.ref:
            self._ask(sender_id, candidate_id, Kind.PARTIAL_ERASURE, {"step": "ref"})
            return ChatTurn(waiting=True).say(
                "Which answer should I delete? Reply with the question number (for example 3), "
                "'recordings' for all your recordings, or 'cancel'."
            )
        return self._confirm_partial(sender_id, candidate_id, args.ref)

    def _confirm_partial(self, sender_id: str, candidate_id: str | None, ref: str) -> ChatTurn:
        detail = {"step": "confirm", "ref": ref}
        self._ask(
            sender_id,
            candidate_id,
            Kind.PARTIAL_ERASURE,
            detail,
            status=RequestStatus.AWAITING_INPUT,
        )
        if ref == "recordings":
            question = (
                "Delete all your recordings? Your written answers and transcripts stay. This "
                "can't be undone."
            )
        else:
            question = (
                f"Delete your answer to question {ref}, with its scores and any recording? "
                "This can't be undone."
            )
        return ChatTurn(waiting=True).say(question, (("Yes, delete", "yes"), ("No, keep", "no")))

    def _delete_all(self, sender_id: str, candidate_id: str | None, _a: PrivacyArgs) -> ChatTurn:
        assert candidate_id is not None
        with self.db.transaction() as s:
            candidate = s.get(Candidate, candidate_id)
            assert candidate is not None
            if candidate.erased_at is not None:
                already = True
            else:
                already = False
                row = self._open_of_kind(s, candidate_id, Kind.ERASURE)
                if row is not None and row.status == RequestStatus.AWAITING_CODE:
                    row.detail = {**(row.detail or {}), "sender": sender_tag(sender_id)}
                    return ChatTurn(waiting=True).say(
                        "You already asked to delete everything, and I've sent you a code to "
                        f"confirm it. {_WRONG_CODE_HELP}"
                    )
                if row is None:
                    row = open_request(s, candidate, Kind.ERASURE, channel_of(sender_id))
                row.status = str(CONFIRMING)
                row.detail = {
                    **(row.detail or {}),
                    "step": "confirm",
                    "sender": sender_tag(sender_id),
                }
        if already:
            from privacy import erasure

            result = erasure.erase_candidate(self.db, self.settings, candidate_id)
            return ChatTurn().say(result.message())
        days = self.settings.purge_after_days
        return ChatTurn(waiting=True).say(
            "Delete everything? This removes your profile, every application and answer, the AI "
            "scores and explanations, recordings, transcripts, contacts and exports. No employer "
            f"will see any of it from now on, and it is deleted completely within {days} days. "
            "This can't be undone. Are you sure?",
            (("Yes, delete everything", "yes"), ("No, keep my data", "no")),
        )

    # -- export ------------------------------------------------------------------------------
    def _export(self, sender_id: str, candidate_id: str | None, _a: PrivacyArgs) -> ChatTurn:
        assert candidate_id is not None
        with self.db.transaction() as s:
            candidate = s.get(Candidate, candidate_id)
            assert candidate is not None
            row = self._open_of_kind(s, candidate_id, Kind.EXPORT)
            if row is None:
                row = open_request(s, candidate, Kind.EXPORT, channel_of(sender_id))
            row.detail = {**(row.detail or {}), "sender": sender_tag(sender_id)}
            request_id = row.id
        return self._send_code(sender_id, request_id, "your data export")

    # -- second factor -----------------------------------------------------------------------
    def _send_code(self, sender_id: str, request_id: str, what: str) -> ChatTurn:
        """Send a one-time code for the request to the candidate's second factor."""
        try:
            delivery = verification.send_code(self.db, self.settings, request_id, sender_id)
        except verification.RequestLocked:
            return ChatTurn().say(_locked_text())
        except verification.DeliveryFailed:
            self._set_status(request_id, RequestStatus.OPEN)
            return ChatTurn().say(
                "I couldn't send the confirmation code just now. Your request is logged; please "
                "try again in a few minutes."
            )
        if delivery is None:
            # The request stays open (logged, with its due date) for when a factor exists.
            self._set_status(request_id, RequestStatus.OPEN)
            return ChatTurn().say(SECOND_FACTOR_HELP)
        minutes = max(1, round((delivery.expires_at - _now()).total_seconds() / 60))
        return ChatTurn(waiting=True).say(
            f"To confirm {what}, I've sent a 6-digit code to {delivery.description}. Type it "
            f"here within {minutes} minutes (or reply 'cancel')."
        )

    def _code(self, sender_id: str, request_id: str, kind: str, text: str) -> ChatTurn:
        what = "your data export" if kind == Kind.EXPORT else "deleting everything"
        if _NEW_CODE.search(text):
            return self._send_code(sender_id, request_id, what)
        try:
            check = verification.check_code(self.db, request_id, text, sender_id=sender_id)
        except verification.RequestNotFound:
            return ChatTurn().say(CANCELLED)
        if check.status == "invalid":
            return ChatTurn(waiting=True).say(
                f"That doesn't look like the code. {_WRONG_CODE_HELP}"
            )
        if check.status == "wrong":
            tries = "try" if check.attempts_left == 1 else "tries"
            return ChatTurn(waiting=True).say(
                f"That code isn't right. You have {check.attempts_left} {tries} left."
            )
        if check.status == "locked":
            return ChatTurn().say(_locked_text())
        if check.status == "expired":
            return ChatTurn(waiting=True).say(
                "That code has expired (codes are valid for 10 minutes). Reply 'new code' and "
                "I'll send another, or 'cancel'."
            )
        with self.db.transaction() as s:
            row = s.get(PrivacyRequest, request_id)
            candidate_id = row.candidate_id if row is not None else ""
        if kind == Kind.EXPORT:
            # The link goes out through the outbox (the gateway shows it as a separate
            # message), so the token never passes through Rasa and its tracker.
            try:
                reply = export.send_link(
                    self.db, self.files, self.settings, candidate_id, request_id, sender_id
                )
            except Exception:  # the request stays logged (open) for the privacy team
                log.exception("export for request %s failed", request_id)
                return ChatTurn().say(
                    "Sorry — I couldn't prepare your export just now. Your request is logged "
                    "and will be answered in time; you can also try /export again later."
                )
            return ChatTurn().say(reply + " If it expires, just send /export again.")
        from privacy import erasure

        result = erasure.erase_candidate(
            self.db, self.settings, candidate_id, request_id=request_id
        )
        return ChatTurn(ended=True).say(result.message())

    # ------------------------------------------------------------------ pending input
    def pending_turn(self, sender_id: str, text: str, nlu: MessageNlu) -> ChatTurn | None:
        """The message as the input a request of this sender waits for (see module doc)."""
        answered = self._self_id_pending(sender_id, text, nlu)
        if answered is not None:
            return answered
        with self.db.transaction() as s:
            row = self._pending_row(s, sender_id)
            if row is None:
                return None
            verify_code = None
            if contacts.is_contact_verification(row):
                # Not destructive and not urgent: only a typed code is its input, and nothing
                # cancels it, so the interview goes on meanwhile ("6 years" stays an answer).
                verify_code, _ = verification.normalise_attempt(text)
                if verify_code is None:
                    return None
            elif recognise_privacy(text, nlu) is not None:
                return None  # a new privacy request replaces it (in `command`)
            elif (
                explicit_command(text) is not None
                or recognise_command(text, nlu) not in (None, Command.SKIP)
                or text.lstrip().startswith("/")
            ):
                self._cancel(s, row)
                return None
        if verify_code is not None:
            return ChatTurn().say(contacts.verify_contact(self.db, sender_id, verify_code))
        with self.db.transaction() as s:
            row = self._pending_row(s, sender_id)
            if row is None:
                return None
            detail = dict(row.detail or {})
            status, kind, request_id = row.status, row.kind, row.id
            confirming = _confirming(row)
            answer_step = kind == Kind.RECTIFICATION and detail.get("step") == "text"
            cancel = _CANCEL_STRICT if answer_step else _CANCEL
            if cancel.match(text) and not (confirming and parse_yes_no(text) is False):
                self._cancel(s, row)
                return ChatTurn().say(CANCELLED)
            if confirming:
                if parse_yes_no(text) is not True:
                    self._cancel(s, row)
                    return ChatTurn().say("OK — nothing is deleted. Your data stays as it is.")
                if kind == Kind.PARTIAL_ERASURE:
                    # The capability logs the deletion itself; this row only held the question.
                    s.delete(row)
                    ref = str(detail.get("ref") or "")
                    confirmed: tuple[str, str] | None = ("partial", ref)
                else:
                    row.status = str(RequestStatus.OPEN)
                    confirmed = ("erasure", row.id)
            else:
                confirmed = None
        if confirmed is not None:
            what, ref = confirmed
            if what == "partial":
                from privacy import erasure

                if ref == "recordings":
                    reply = erasure.delete_recordings(self.db, self.files, sender_id)
                else:
                    reply = erasure.delete_answer(self.db, self.files, sender_id, ref)
                return ChatTurn().say(reply)
            return self._send_code(sender_id, ref, "deleting everything")
        if status == RequestStatus.AWAITING_CODE:
            return self._code(sender_id, request_id, kind, text)
        return self._input(sender_id, request_id, kind, detail, text)

    def _input(
        self, sender_id: str, request_id: str, kind: str, detail: dict[str, Any], text: str
    ) -> ChatTurn:
        """A statement, a question number or a new answer that a request asked for."""
        text = " ".join(text.split())
        step = detail.get("step")
        if kind == Kind.REVIEW:
            statement = "" if _NO_STATEMENT.match(text) else text
            if not statement:
                statement = "(The candidate asked for a review without a statement.)"
            reply = oversight.request_review(self.db, sender_id, statement, request_id=request_id)
            self._close_if_waiting(request_id)
            return ChatTurn().say(reply)
        if kind == Kind.PARTIAL_ERASURE:
            ref = "recordings" if _RECORDING_WORDS.search(text) else _number(text)
            if ref is None:
                return ChatTurn(waiting=True).say(
                    "Please reply with the question number (for example 3), 'recordings', or "
                    "'cancel'."
                )
            self._drop(request_id)
            with self.db.transaction() as s:
                candidate = CandidateRepository(s).by_sender(sender_id)
                candidate_id = candidate.id if candidate else None
            return self._confirm_partial(sender_id, candidate_id, ref)
        if kind == Kind.RECTIFICATION:
            dispute = bool(detail.get("dispute"))
            if step == "ref":
                ref = _number(text) or (text.lower() if text.lower() == "overall" else None)
                if ref is None:
                    return ChatTurn(waiting=True).say(
                        "Please reply with the question number (for example 3), or 'cancel'."
                    )
                self._update_detail(request_id, {"step": "text", "ref": ref})
                return ChatTurn(waiting=True).say(_correct_question("text", ref, dispute))
            ref = str(detail.get("ref") or "")
            if not text:
                return ChatTurn(waiting=True).say(_correct_question("text", ref, dispute))
            if dispute:
                reply = self._do_correct(sender_id, ref, text, True, request_id=request_id)
                self._close_if_waiting(request_id)
            else:
                self._drop(request_id)  # correct_answer logs the rectification itself
                reply = self._do_correct(sender_id, ref, text, False)
            return ChatTurn().say(reply)
        self._set_status(request_id, RequestStatus.CANCELLED)
        return ChatTurn().say(CANCELLED)

    # ------------------------------------------------------------------ request rows
    def _pending_row(self, s: Any, sender_id: str) -> PrivacyRequest | None:
        """The request waiting for this very sender's next message."""
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return None
        row = pending_for(s, candidate.id)
        if row is None:
            return None
        if contacts.is_contact_verification(row):
            return row  # "type it in the chat where you added the address" (any of theirs)
        return row if (row.detail or {}).get("sender") == sender_tag(sender_id) else None

    @staticmethod
    def _open_of_kind(s: Any, candidate_id: str, kind: Kind) -> PrivacyRequest | None:
        """The candidate's newest request of `kind` that is still in progress (not locked,
        completed or cancelled): a repeated request continues it instead of adding one."""
        in_progress = (RequestStatus.OPEN, CONFIRMING, RequestStatus.AWAITING_CODE)
        return s.scalars(
            select(PrivacyRequest)
            .where(
                PrivacyRequest.candidate_id == candidate_id,
                PrivacyRequest.kind == str(kind),
                PrivacyRequest.status.in_([str(x) for x in in_progress]),
            )
            .order_by(PrivacyRequest.received_at.desc())
        ).first()

    def _ask(
        self,
        sender_id: str,
        candidate_id: str | None,
        kind: Kind,
        detail: dict[str, Any],
        status: RequestStatus = RequestStatus.AWAITING_INPUT,
    ) -> None:
        """Log a request that waits for this sender's next message."""
        if candidate_id is None:
            return
        with self.db.transaction() as s:
            candidate = s.get(Candidate, candidate_id)
            assert candidate is not None
            open_request(
                s,
                candidate,
                kind,
                channel_of(sender_id),
                status=status,
                detail={**detail, "sender": sender_tag(sender_id)},
            )

    @staticmethod
    def _cancel(s: Any, row: PrivacyRequest) -> None:
        if row.kind in (Kind.PARTIAL_ERASURE, Kind.RECTIFICATION):
            # Only a question was asked; nothing was requested yet. Keep no empty request.
            s.delete(row)
            return
        complete(row, RequestStatus.CANCELLED)
        row.code_hash = None
        row.code_expires_at = None
        log.info("privacy request %s cancelled", row.id)

    def _set_status(self, request_id: str, status: RequestStatus) -> None:
        with self.db.transaction() as s:
            row = s.get(PrivacyRequest, request_id)
            if row is None:
                return
            if status in (RequestStatus.CANCELLED, RequestStatus.COMPLETED):
                complete(row, status)
            else:
                row.status = str(status)

    def _close_if_waiting(self, request_id: str) -> None:
        """A request the capability did not take over (e.g. the statement was refused) is
        left waiting no longer: the candidate asks again."""
        with self.db.transaction() as s:
            row = s.get(PrivacyRequest, request_id)
            if row is not None and row.status == RequestStatus.AWAITING_INPUT:
                s.delete(row)

    def _drop(self, request_id: str) -> None:
        with self.db.transaction() as s:
            row = s.get(PrivacyRequest, request_id)
            if row is not None:
                s.delete(row)

    def _update_detail(self, request_id: str, changes: dict[str, Any]) -> None:
        with self.db.transaction() as s:
            row = s.get(PrivacyRequest, request_id)
            if row is not None:
                row.detail = {**(row.detail or {}), **changes}

    # -- contacts ------------------------------------------------------------------------------
    def _contact(self, sender_id: str, candidate_id: str | None, args: PrivacyArgs) -> ChatTurn:
        if args.action == "verify":
            return ChatTurn().say(contacts.verify_contact(self.db, sender_id, args.value or ""))
        if args.action in ("email", "phone"):
            text = contacts.add_contact(
                self.db, self.settings, sender_id, args.action, args.value or ""
            )
            return ChatTurn().say(text)
        from screening.commands import CONTACT_USAGE

        return ChatTurn().say(CONTACT_USAGE)

    # -- voluntary self-identification ---------------------------------------------------
    # Two optional questions, asked only after a real application (never in practice). The
    # question that waits is `self_identifications.step` ("<question>|<sender tag>"), bound
    # to the sender that asked, like a privacy request; it answers the next message only while
    # it is set and fresh (fairness.self_id.STEP_TTL). Anything that is clearly something else
    # (a command, a privacy request) clears it and goes on to its own handler; an answer that
    # is no category clears it too, saving nothing for that question.
    def _self_id(self, sender_id: str, candidate_id: str | None, args: PrivacyArgs) -> ChatTurn:
        assert candidate_id is not None
        action = args.action
        with self.db.transaction() as s:
            if not _has_real_application(s, candidate_id):
                return ChatTurn().say(SELF_ID_AFTER_APPLICATION)
            if action == "delete":
                removed = self_id.delete(s, candidate_id)
                return ChatTurn().say(SELF_ID_DELETED if removed else SELF_ID_NOTHING_TO_DELETE)
            if action == "cancel":
                self_id.set_step(s, candidate_id, None)
                return ChatTurn().say(SELF_ID_STOPPED)
            if action in ("sex", "race"):
                return self._self_id_answer(
                    s, sender_id, candidate_id, action, args.value or "", typed=False
                )
            sex, race = self_id.read(s, candidate_id)
            if action != "change" and (sex or race):
                self_id.set_step(s, candidate_id, None)
                return ChatTurn().say(
                    f"You told us: {_self_id_summary(sex, race)}. These answers are only counted "
                    "in anonymous totals for our bias audit; no employer sees them with your name.",
                    (
                        ("Change", privacy_payload(PrivacyCommand.SELF_ID, "change")),
                        ("Delete", privacy_payload(PrivacyCommand.SELF_ID, "delete")),
                    ),
                )
            self_id.set_step(s, candidate_id, _step("sex", sender_id))
        return ChatTurn(waiting=True).say(SELF_ID_INTRO).say(*_question("sex"))

    def _self_id_pending(self, sender_id: str, text: str, nlu: MessageNlu) -> ChatTurn | None:
        """The answer to a self-identification question that waits; None when none waits for
        this sender or the message is something else (the step is then cleared)."""
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            if candidate is None or candidate.erased_at is not None:
                return None
            step = self_id.pending_step(s, candidate.id, lock=True)
            if step is None:
                return None
            question, _, _tag = step.partition("|")
            if step != _step(question, sender_id) or question not in ("sex", "race"):
                return None  # another chat of theirs asked: it waits there
            if _booking_asked_since(s, candidate.id):
                # The booking dialogue asked something after our question ("2" may be a
                # slot): that newer question takes the message, ours is dropped.
                self_id.set_step(s, candidate.id, None)
                return None
            text = text.strip()
            explicit = explicit_privacy(text)
            if explicit is not None and explicit[0] == PrivacyCommand.SELF_ID:
                return None  # a button of these questions: the command carries it out
            if text.startswith("/"):
                if explicit_command(text) == Command.SKIP:
                    return self._self_id_answer(s, sender_id, candidate.id, question, "skip")
                self_id.set_step(s, candidate.id, None)
                return None
            if _parse(question, text) is not None or _SELF_ID_SKIP.match(text):
                return self._self_id_answer(s, sender_id, candidate.id, question, text)
            if question == "race" and parse_sex(text) is not None:
                sex, _race = self_id.read(s, candidate.id)
                if sex == parse_sex(text):  # the first answer again (a double tap or resend)
                    return ChatTurn(waiting=True).say(
                        "I already have that answer. " + _question("race")[0], _question("race")[1]
                    )
            if recognise_command(text, nlu) == Command.SKIP:
                return self._self_id_answer(s, sender_id, candidate.id, question, "skip")
            if _CANCEL.match(text):
                self_id.set_step(s, candidate.id, None)
                return ChatTurn().say(SELF_ID_STOPPED)
            self_id.set_step(s, candidate.id, None)
            if recognise_privacy(text, nlu) is not None or recognise_command(text, nlu) is not None:
                return None  # something else: its own handler answers it
            what = "sex" if question == "sex" else "race/ethnicity"
            return ChatTurn().say(
                f"I didn't recognise that as one of the answers, so I saved nothing for the "
                f"{what} question. Send /selfid to answer again — it's entirely optional.",
                (("Answer again", privacy_payload(PrivacyCommand.SELF_ID, "change")),),
            )

    def _self_id_answer(
        self,
        s: Any,
        sender_id: str,
        candidate_id: str,
        question: str,
        text: str,
        *,
        typed: bool = True,
    ) -> ChatTurn:
        """Store (or skip) one answer in the caller's transaction, then ask the next question
        or say what is saved."""
        skipped = bool(_SELF_ID_SKIP.match(text))
        value = None if skipped else _parse(question, text)
        if value is None and not skipped:
            self_id.set_step(s, candidate_id, None)
            if not typed:
                return ChatTurn().say(f"That answer looks broken. {SELF_ID_USAGE}")
            return ChatTurn().say(SELF_ID_STOPPED)
        if value is not None:
            if question == "sex":
                self_id.save(s, candidate_id, sex=value)
            else:
                self_id.save(s, candidate_id, race=value)
        noted = f"Saved: {LABELS[value]}." if value is not None else "Skipped."
        if question == "sex":
            self_id.set_step(s, candidate_id, _step("race", sender_id))
            label, buttons = _question("race")
            return ChatTurn(waiting=True).say(f"{noted} {label}", buttons)
        self_id.set_step(s, candidate_id, None)
        sex, race = self_id.read(s, candidate_id)
        if sex is None and race is None:
            return ChatTurn().say(
                f"{noted} You answered neither question, so nothing is stored. Send /selfid "
                "if you change your mind."
            )
        return ChatTurn().say(
            f"{noted} Thank you. What is stored: {_self_id_summary(sex, race)}. It is used only "
            "in anonymous totals for our bias audit, never to score you. Send /selfid to see, "
            "change or delete it."
        )

    def _stop_self_id(self, s: Any, sender_id: str) -> bool:
        """Clear a self-identification question that waits for this sender."""
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return False
        step = self_id.pending_step(s, candidate.id)
        if step is None or step != _step(step.partition("|")[0], sender_id):
            return False
        self_id.set_step(s, candidate.id, None)
        return True


SELF_ID_INTRO = (
    "These 2 questions are voluntary and entirely optional — skipping them changes nothing "
    "about your application. Your answers are stored apart from your application under their "
    "own key, are never used to score you, and are never shown to an employer with your name: "
    "they are only counted in anonymous totals for our bias audit, which checks that the "
    "screening treats every group fairly. You can see, change or delete them any time with "
    "/selfid."
)
SELF_ID_STOPPED = (
    "OK — I stopped the optional questions. Anything you already answered is kept; send "
    "/selfid to see, change or delete it."
)
SELF_ID_DELETED = (
    "Deleted: your self-identification answers and their key are gone. Nothing else changed."
)
SELF_ID_NOTHING_TO_DELETE = "You have no self-identification answers stored, so nothing to delete."
_SELF_ID_SKIP = re.compile(
    r"^\s*(skip|pass|next|skip (it|this|this one|the question|question))[\s.!]*$", re.IGNORECASE
)
_SELF_ID_DELETE_WORDS = re.compile(r"\b(delete|remove|erase|wipe|clear|forget)\b", re.IGNORECASE)
_SELF_ID_CHANGE_WORDS = re.compile(r"\b(change|update|edit|correct)\b", re.IGNORECASE)


def _step(question: str, sender_id: str) -> str:
    """The stored step: the question and (a short tag of) the sender it was asked on."""
    return f"{question}|{sender_tag(sender_id)[:14]}"


def _parse(question: str, text: str) -> str | None:
    return parse_sex(text) if question == "sex" else parse_race(text)


def _question(question: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A question's text (with numbers, for channels without buttons) and its buttons."""
    values = SEX if question == "sex" else RACE_ETHNICITY
    menu = [*values, "declined"]
    numbered = ", ".join(f"{i} {LABELS[v]}" for i, v in enumerate(menu, 1))
    choices = [(LABELS[v], f"{question} {v}") for v in menu] + [("Skip", f"{question} skip")]
    buttons = tuple((title, privacy_payload(PrivacyCommand.SELF_ID, arg)) for title, arg in choices)
    if question == "sex":
        text = f"Question 1 of 2 (optional): what is your sex? ({numbered}, or 'skip'.)"
    else:
        text = (
            "Question 2 of 2 (optional): what is your race/ethnicity, in the EEO-1 categories? "
            f"({numbered}, or 'skip'.)"
        )
    return text, buttons


def _self_id_summary(sex: str | None, race: str | None) -> str:
    return (
        f"sex: {LABELS[sex] if sex else 'not answered'}; race/ethnicity: "
        f"{LABELS[race] if race else 'not answered'}"
    )


def _booking_asked_since(s: Any, candidate_id: str) -> bool:
    """Whether the interview booking (scheduling/chat.py) waits for an answer it asked after
    the self-identification question was asked."""
    from scheduling.chat import WAITING  # at use time: scheduling imports privacy modules

    row = s.get(SelfIdentification, candidate_id)
    if row is None:
        return False
    since = row.updated_at if row.updated_at.tzinfo else row.updated_at.replace(tzinfo=UTC)
    newest = s.scalar(
        select(BookingInvitation.updated_at)
        .where(
            BookingInvitation.candidate_id == candidate_id,
            BookingInvitation.status.in_(WAITING),
        )
        .order_by(BookingInvitation.updated_at.desc())
        .limit(1)
    )
    if newest is None:
        return False
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    return bool(newest >= since)


def _has_real_application(s: Any, candidate_id: str) -> bool:
    """Self-identification is asked after an application — never for practice runs only."""
    return (
        s.scalar(
            select(Application.id)
            .where(
                Application.candidate_id == candidate_id,
                Application.mode == str(Mode.APPLICATION),
            )
            .limit(1)
        )
        is not None
    )


# "Are you sure?" waits as AWAITING_INPUT with detail step "confirm": privacy_requests.status is
# VARCHAR(20), one character short of "awaiting_confirmation" (PostgreSQL refuses it).
CONFIRMING = RequestStatus.AWAITING_INPUT


def _confirming(row: PrivacyRequest) -> bool:
    return row.status == RequestStatus.AWAITING_CONFIRMATION or (
        row.status == CONFIRMING and (row.detail or {}).get("step") == "confirm"
    )


def _setting(argument: str) -> str:
    return privacy_payload(PrivacyCommand.SETTINGS, argument)


def _number(text: str) -> str | None:
    """A question number in free text ("question 3", "#3", "the 3rd one" → "3")."""
    for match in _NUMBER_IN_TEXT.finditer(text or ""):
        value = next(g for g in match.groups() if g)
        if 0 < int(value) < 1000:
            return str(int(value))
    return None


def _correct_question(step: str, ref: str | None, dispute: bool) -> str:
    if step == "ref":
        if dispute:
            return (
                "Which question's AI assessment do you disagree with? Reply with its number "
                "(or 'overall' for the overall score), or 'cancel'."
            )
        return "Which answer do you want to correct? Reply with the question number, or 'cancel'."
    if dispute:
        what = "the overall score" if ref == "overall" else f"the assessment of question {ref}"
        return (
            f"Why do you think {what} is wrong? Your words go to a person who reviews it "
            "(or reply 'cancel')."
        )
    return f"What is your corrected answer to question {ref}? (Or reply 'cancel'.)"


def _locked_text() -> str:
    return (
        "This request is locked because of too many wrong or requested codes, to protect your "
        "data. Please wait a few minutes, then start again with a new request (for example "
        "/export or /delete)."
    )
