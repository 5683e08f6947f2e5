"""The interview service: every decision of a screening interview, independent of Rasa.

Rasa's form drives the turn-taking; this service decides what a message *means* for the
interview (consent, age, an answer, a command), writes the result to the database at once,
and says what to reply. Keeping it free of Rasa types means it is tested directly against
SQLite and PostgreSQL, and every channel gets exactly the same behaviour.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError

from oversight.decision_log import record_knockout
from privacy.consent import stop_processing
from privacy.notice import (
    ai_disclosure,
    notice_summary,
    practice_ai_disclosure,
    practice_notice,
)
from privacy.notices import current_version, day, major_version_in_force, reconsent_needed
from privacy.requests import pending_for
from privacy.reviews import KNOCKOUT_REVIEW, ensure_review, may_reject_automatically
from screening import practice
from screening.assessed import assessed_items
from screening.commands import (
    SELF_ID_BUTTON,
    SELF_ID_OFFER,
    Command,
    MessageNlu,
    SpokenAnswer,
    practice_argument,
    practice_payload,
    recognise_command,
    wants_practice_delete,
)
from screening.job_schema import JobDefinition, assessed_kind, is_scored
from screening.practice import QuestionOutcome, ScoreView, Timing
from screening.questions import parse_answer, parse_yes_no, prompt_for
from storage.db import Database, is_storage_fault
from storage.models import (
    Answer,
    Application,
    Candidate,
    ConsentRecord,
    HandoffRequest,
    InterviewSession,
    Job,
)
from storage.repositories import (
    PRACTICE_CONSENT_SUFFIX,
    ApplicationRepository,
    CandidateRepository,
    JobRepository,
    ReceiptRepository,
    ScoreRepository,
    channel_of,
    valid_message_id,
)

if TYPE_CHECKING:
    from screening.assessment import AssessmentService
    from storage.files import FileStore

log = logging.getLogger(__name__)

MINIMUM_AGE = 16


class Status(StrEnum):
    """Application statuses. The first three are "open": the interview can continue."""

    AGE_CHECK = "age_check"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    COMPLETED = "completed"
    KNOCKED_OUT = "knocked_out"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = (Status.AGE_CHECK, Status.IN_PROGRESS, Status.PAUSED)


class Mode(StrEnum):
    """What an application is: a real one (seen by the employer) or the candidate's own
    practice run (scored only for feedback, never shown to employers)."""

    APPLICATION = "application"
    PRACTICE = "practice"


# applications.pending_action while a destructive command waits for a yes.
WITHDRAW = "withdraw"
DELETE_PRACTICE = "delete_practice"
# ... and while the candidate is asked to agree to a new major privacy-notice version.
RECONSENT = "reconsent"


class Stage(StrEnum):
    """What the interview needs next from this sender for this job."""

    CONSENT = "consent"
    AGE = "age"
    QUESTION = "question"
    DONE = "done"


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()


# A message handled before (its receipt exists: a gateway's retry, a channel's redelivery, or
# two replicas racing on it). Nothing changes; the turn then asks for the current step. Never
# an empty reply: gateways retry a reply without any message once (bot/rasa_client.py).
DUPLICATE_TEXT = "Got it — I already have that message."
# The database refused the write (read-only, full) or lost the connection mid-turn: nothing
# of this message was stored, so sending it again is safe.
STORAGE_FAULT_TEXT = (
    "We couldn't save that just now — nothing was lost. Please send your answer again in a "
    "minute."
)
# The message was handled and committed, but the step after it could not be read: sending
# the answer again would answer the next question, so the person is asked to say 'repeat'.
STORAGE_FAULT_AFTER_SAVE_TEXT = (
    "I got your message, but I couldn't load the next step just now. Please say 'repeat' in a "
    "minute to continue."
)


_R = TypeVar("_R")


def _lost_connection(exc: BaseException) -> bool:
    """The database connection went away (as opposed to refusing the write)."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _read_again_if_dropped(read: Callable[[], _R]) -> _R:
    """Run a read-only step; once more if the connection dropped under it (the engine opens a
    fresh one), so a turn already committed is not reported as a fault. Reads are safe to
    repeat; writes have their own rule in `InterviewService.turn`."""
    try:
        return read()
    except DBAPIError as exc:
        if not _lost_connection(exc):
            raise
        log.warning("connection lost in a read: %s; reading again", type(exc).__name__)
        return read()


class StorageFault(Exception):
    """A turn the database could not complete (storage.db.is_storage_fault). `saved` says
    whether the message's own change was committed before the fault; `text` is what the
    candidate is told. The action server replies with it instead of failing the request."""

    def __init__(self, saved: bool) -> None:
        super().__init__("saved" if saved else "not saved")
        self.saved = saved

    @property
    def text(self) -> str:
        return STORAGE_FAULT_AFTER_SAVE_TEXT if self.saved else STORAGE_FAULT_TEXT


@dataclass(frozen=True)
class PracticeStep:
    """A practice answer (or skip) just committed: what its feedback needs after the commit."""

    application_id: str
    question_id: str
    number: int
    kind: str
    answered: bool  # False: skipped
    display: str
    knockout: bool
    timing: Timing
    finished: bool


@dataclass
class Outcome:
    """Result of handling one message: what to say, and the new value of the input slot."""

    replies: list[Reply] = field(default_factory=list)
    slot_value: Any = None
    saved: tuple[str, str] | None = None  # (application id, question id) of a stored answer
    practice: PracticeStep | None = None  # a practice answer that gets feedback
    # The form continues with this run: (job slug, mode, whether it is an open run resumed).
    switch: tuple[str, Mode, bool] | None = None
    # A privacy request waits for the candidate's next message: don't ask the question now.
    hold: bool = False
    # Forget this sender at once after the commit ("consent_refused", "under_age").
    forget: str | None = None

    def say(self, text: str, buttons: list[tuple[str, str]] | None = None) -> Outcome:
        self.replies.append(Reply(text, tuple(buttons or ())))
        return self


class PrivacyTurn(Protocol):
    """What the privacy dialogue (privacy/chat.py) did with a message: its replies, whether
    the interview must end (everything deleted, consent withdrawn), and whether a request now
    waits for the candidate's next message (a yes, a code, a statement)."""

    replies: list[Reply]
    ended: bool
    waiting: bool


# (sender id, text, NLU) → PrivacyTurn, or None when the message is no privacy matter. Injected
# (actions/runtime.py) so that screening never imports privacy's heavier parts.
PrivacyHandler = Callable[[str, str, MessageNlu], PrivacyTurn | None]


@dataclass
class TurnResult:
    """One form turn: what to say, which slots to set, and which slot to request next
    (None ends the form)."""

    replies: list[Reply]
    slots: dict[str, Any]
    next_slot: str | None


# The form's input slot for each stage.
SLOT_FOR_STAGE: dict[Stage, str | None] = {
    Stage.CONSENT: "consent",
    Stage.AGE: "age_confirmed",
    Stage.QUESTION: "answer",
    Stage.DONE: None,
}


@dataclass(frozen=True)
class JobChoice:
    """Result of choosing a job to start: either a job slug to run, or replies to show."""

    slug: str | None
    replies: list[Reply]


@dataclass(frozen=True)
class Resumed:
    """An open application to continue (slug None: nothing to resume)."""

    slug: str | None
    mode: Mode | None
    replies: list[Reply]


@dataclass(frozen=True)
class PracticeStart:
    """Result of a practice request: a job to run a practice form for, or replies only;
    `confirm_delete` means the replies ask to confirm deleting the practice runs."""

    slug: str | None
    replies: list[Reply]
    confirm_delete: bool = False
    resumed: bool = False  # an open practice run continues (its consent is already given)


YES_NO = [("Yes", "yes"), ("No", "no")]
HELP_TEXT = (
    "You can say at any time:\n"
    "• 'repeat' — hear the question again\n"
    "• 'back' — change your previous answer\n"
    "• 'skip' — skip a question marked optional\n"
    "• 'pause' — continue later, from this question (even days later)\n"
    "• 'human' — ask a person to contact you\n"
    "• 'withdraw' — withdraw your application\n"
    "• 'which jobs fit me?' — see the open jobs that match what you've told me\n"
    "• '/practice' — a private practice interview with feedback (employers never see it)\n"
    "• 'what data do you have on me?' (/mydata), /export, /delete, /correct, /optout "
    "(no AI scoring), /review, /withdraw_consent, /viewed, /notices, /settings — your data and "
    "your rights"
)
PRACTICE_HELP_TEXT = (
    "This is a practice run: your answers get feedback and no employer ever sees them. "
    "You can say at any time:\n"
    "• 'repeat' — hear the question again\n"
    "• 'back' — change your previous answer\n"
    "• 'skip' — skip a question marked optional\n"
    "• 'pause' — continue later, from this question\n"
    "• 'withdraw' — stop this practice run\n"
    "• '/practice delete' — delete all your practice runs\n"
    "• /mydata, /export, /delete, /settings — your data and your rights"
)
# Words that say "practice" or "job" rather than which job: ignored when matching a job by name.
_GENERIC_WORDS = frozenset(
    re.findall(
        r"\S+",
        """a an and the for to of in at on with my me i i'm im can could would like want please
        do does let lets let's some one first again try start run runs session sessions mock
        trial practice practise practicing practising interview interviews job jobs role roles
        position positions vacancy vacancies opening""",
    )
)


_DEFINITIONS: dict[tuple[int, str], JobDefinition] = {}


def definition_of(job: Job) -> JobDefinition:
    """The validated definition of a job version, parsed once per process: versions never
    change, so (id, content hash) is a safe key and the hot path does no validation."""
    key = (job.id, job.content_hash)
    cached = _DEFINITIONS.get(key)
    if cached is None:
        cached = _DEFINITIONS[key] = JobDefinition.model_validate(job.definition)
    return cached


def _now() -> datetime:
    return datetime.now(UTC)


class InterviewService:
    """Use cases of a screening interview, one database transaction each."""

    def __init__(
        self,
        db: Database,
        today: date | None = None,
        on_answer: Callable[[str, str], None] | None = None,
        job_fit: Callable[[str], list[Reply]] | None = None,
        assessment: AssessmentService | None = None,
        privacy: PrivacyHandler | None = None,
        files: FileStore | None = None,
        audit_summary_url: str | None = None,
    ) -> None:
        """`on_answer(application_id, question_id)` runs after each answer of a real
        application is committed (the assessment hooks in here to score it); its failures
        never reach the candidate. `assessment` scores practice answers synchronously, for
        their feedback (created on first use when not given). `privacy` handles privacy
        commands and pending privacy input at any step (privacy/chat.py)."""
        self.db = db
        self._today = today
        self._on_answer = on_answer
        self._job_fit = job_fit
        self._privacy = privacy
        self._assessment_service = assessment
        self._files = files  # recordings of spoken answers (replaced ones are deleted)
        # Where the latest bias-audit summary is published (named in the AI notice).
        self._audit_summary_url = audit_summary_url

    @property
    def files(self) -> FileStore | None:
        return self._files

    def _assessment(self) -> AssessmentService:
        if self._assessment_service is None:
            from screening.assessment import AssessmentService  # imports this module

            self._assessment_service = AssessmentService(self.db)
        return self._assessment_service

    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    # ---------------------------------------------------------------- choosing a job
    def job_menu(self, intro: str) -> list[Reply]:
        """The open jobs as buttons, introduced by `intro`."""
        with self.db.transaction() as s:
            return self._job_menu(s, intro)

    @staticmethod
    def _job_menu(s: Any, intro: str) -> list[Reply]:
        """Buttons that start real applications, and one that offers a practice run."""
        jobs = [
            (j.slug, f"{j.title} — {j.organization.name}, {j.location}")
            for j in JobRepository(s).list_current()
        ]
        if not jobs:
            return [Reply("There are no open jobs at the moment. Please check back later.")]
        buttons = tuple((label, f'/start{{"job_id":"{slug}"}}') for slug, label in jobs)
        practice_button = ("Practice interview first (private, with feedback)", "/practice")
        return [Reply(intro, (*buttons, practice_button))]

    @staticmethod
    def _practice_menu(s: Any, intro: str) -> list[Reply]:
        """The open jobs as buttons that start practice runs."""
        jobs = JobRepository(s).list_current()
        if not jobs:
            return [Reply("There are no open jobs to practise for at the moment.")]
        buttons = tuple(
            (f"Practise: {j.title} — {j.organization.name}", practice_payload(j.slug)) for j in jobs
        )
        return [Reply(intro, buttons)]

    def choose_job(self, sender_id: str, job_ref: str | None, text: str = "") -> JobChoice:
        """Resolve a start request (payload job id, or free text naming a job)."""
        with self.db.transaction() as s:
            jobs = JobRepository(s)
            slug = None
            if job_ref:
                job = jobs.current(job_ref.strip().lower())
                if job is None:
                    return JobChoice(
                        None,
                        self._job_menu(
                            s,
                            "I couldn't find that job — the link may be old or mistyped. "
                            "These are the open jobs:",
                        ),
                    )
                slug = job.slug
            else:
                slug = self._match_job_text(jobs.list_current(), text)
                if slug is None:
                    open_app = self._latest_open(s, sender_id, None, Mode.APPLICATION)
                    if open_app is not None:
                        slug = open_app.job.slug
            if slug is None:
                return JobChoice(None, self._job_menu(s, "Which job would you like to apply for?"))
            candidate = CandidateRepository(s).by_sender(sender_id)
            if candidate is not None:
                # Practice runs never count: practising does not use up the real application.
                apps = ApplicationRepository(s).for_candidate_and_slug(
                    candidate.id, slug, Mode.APPLICATION
                )
                done = [a for a in apps if a.status in (Status.COMPLETED, Status.KNOCKED_OUT)]
                if done and not any(a.status in OPEN_STATUSES for a in apps):
                    title = done[0].job.title
                    return JobChoice(
                        None,
                        [
                            Reply(
                                f"You have already completed the interview for {title}. "
                                "Thank you — the team will be in touch. Send /jobs to see "
                                "other open jobs."
                            )
                        ],
                    )
            return JobChoice(slug, [])

    @staticmethod
    def _match_job_text(jobs: list[Job], text: str) -> str | None:
        words = text.lower()
        if len(words) < 3:
            return None
        hits = [j.slug for j in jobs if j.slug in words or j.title.lower() in words]
        return hits[0] if len(hits) == 1 else None

    @staticmethod
    def _match_practice_job(jobs: list[Job], text: str) -> tuple[Job | None, bool]:
        """The job a practice request names — by slug, title, or title/organisation words
        ("/practice backend engineer", "a practice interview for the warehouse job").
        Returns (job, ambiguous): (None, False) when nothing matches."""
        ref = " ".join(text.lower().split())
        for job in jobs:
            if ref in (job.slug, job.title.lower()):
                return job, False
        said = {w for w in re.findall(r"[\w'-]+", ref) if w not in _GENERIC_WORDS}
        if not said:
            return None, False
        hits: list[tuple[int, Job]] = []
        for job in jobs:
            own = {
                w
                for w in re.findall(r"[\w']+", f"{job.slug} {job.title} {job.organization.name}")
                if len(w) >= 3 and w.lower() not in _GENERIC_WORDS
            }
            count = len(said & {w.lower() for w in own}) + (job.slug in said)
            if count:
                hits.append((count, job))
        if not hits:
            return None, False
        best = max(count for count, _ in hits)
        top = [job for count, job in hits if count == best]
        return (top[0], False) if len(top) == 1 else (None, True)

    # ---------------------------------------------------------------- state
    def _latest_open(
        self, s: Any, sender_id: str, slug: str | None, mode: str | None = None
    ) -> Application | None:
        """The active application: the sender's most recently started (or resumed) open one,
        for `slug` and `mode` when given (mode None: real or practice)."""
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return None
        apps = ApplicationRepository(s).for_candidate(candidate.id, mode or None, OPEN_STATUSES)
        for app in apps:
            if slug is None or app.job.slug == slug:
                return app
        return None

    def stage(
        self,
        sender_id: str,
        slug: str | None,
        consent: Any = None,
        age_ok: Any = None,
        mode: str | None = None,
    ) -> Stage:
        """Where the interview stands; `consent`/`age_ok` are the conversation's own memory
        for the steps before anything may be stored, `mode` says whether the form runs a real
        application or a practice run (None: whichever is open, for conversations that began
        before practice mode existed)."""
        if consent is False or age_ok is False:
            return Stage.DONE
        return _read_again_if_dropped(lambda: self._stage(sender_id, slug, consent, mode))

    def _stage(self, sender_id: str, slug: str | None, consent: Any, mode: str | None) -> Stage:
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None:
                # Consent already given in this run but nothing open: the interview ended.
                if consent is True or slug is None or JobRepository(s).current(slug) is None:
                    return Stage.DONE
                return Stage.CONSENT
            if app.status == Status.AGE_CHECK:
                return Stage.AGE
            return Stage.QUESTION

    def status_text(self, sender_id: str) -> list[Reply]:
        """What to tell someone who writes outside an interview."""
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            apps = ApplicationRepository(s).for_candidate(candidate.id) if candidate else []
            if apps and apps[0].mode == Mode.PRACTICE:
                app = apps[0]
                title = app.job.title
                if app.status == Status.COMPLETED:
                    return [
                        Reply(
                            f"Your practice run for {title} is complete. Send /practice to "
                            "practise again — only you ever see practice runs."
                        ),
                        *self._job_menu(s, "When you're ready, apply for real:"),
                    ]
                if app.status == Status.WITHDRAWN:
                    return self._job_menu(
                        s, f"You stopped your practice run for {title}. Choose a job:"
                    )
            if apps:
                app = apps[0]
                title = app.job.title
                if app.status == Status.COMPLETED:
                    nxt = definition_of(app.job).next_steps
                    return [
                        Reply(f"Your interview for {title} is complete. {nxt}"),
                        *self._job_menu(s, "You can also apply for another open job:"),
                    ]
                if app.status == Status.KNOCKED_OUT:
                    return [
                        Reply(
                            f"Your interview for {title} has ended. Thank you for your time — "
                            "you'll hear from the team if anything changes."
                        )
                    ]
                if app.status == Status.WITHDRAWN:
                    return self._job_menu(
                        s,
                        f"You withdrew your application for {title}. To apply again, choose a job:",
                    )
            return self._job_menu(
                s,
                "Hi! I'm Parley, an automated screening interviewer. Which job would you like "
                "to apply for?",
            )

    # ---------------------------------------------------------------- one form turn
    def turn(
        self,
        sender_id: str,
        slug: str | None,
        *,
        consent: Any,
        age_ok: Any,
        intro_shown: bool,
        slot: str | None,
        value: Any,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> TurnResult:
        """Handle what the person said for `slot` (if anything), then ask for what comes next.

        Asking is part of the same turn on purpose: Rasa calls the action server once per
        message instead of twice (validate, then ask), which halves its per-turn cost.
        When the message switches the form to another run (`/practice` during a real
        interview), the slots that name the run (`job_id`, `interview_mode`) change and the
        new run starts at its own consent step.

        `message_id` (the gateway's id of the message, the same on every retry) makes the
        turn idempotent: the consent, age, answer and command handlers write a receipt in the
        transaction that applies the message, and a message whose receipt exists changes
        nothing (DUPLICATE_TEXT, then the current step is asked). Without it (old callers) a
        message is simply applied. Privacy commands inside the interview are applied by the
        privacy dialogue in its own transactions and are not covered: they either ask for a
        confirmation or a code first, or are harmless to repeat (an export link, a summary).

        Raises StorageFault when the database refuses the work or loses the connection;
        every transaction is all-or-nothing, so nothing is half-written.
        """
        message_id = valid_message_id(message_id)
        handled: list[bool] = []  # one entry once the message's handler has committed
        for attempt in (1, 2):
            try:
                return self._turn(
                    sender_id,
                    slug,
                    consent=consent,
                    age_ok=age_ok,
                    intro_shown=intro_shown,
                    slot=slot,
                    value=value,
                    nlu=nlu,
                    mode=mode,
                    message_id=message_id,
                    handled=handled,
                )
            except Exception as exc:
                if not is_storage_fault(exc):
                    raise
                if attempt == 1 and _lost_connection(exc) and (message_id or not handled):
                    # A dropped connection (the server restarted, a fail-over, a killed
                    # backend): the pool now holds fresh connections, so the turn runs once
                    # more. Safe: with a message id a committed message is recognised by its
                    # receipt; without one, only a turn that committed nothing is rerun.
                    log.warning("connection lost in a turn: %s; running it again",
                                type(exc).__name__)  # fmt: skip
                    continue
                saved = bool(handled) or (
                    message_id is not None and self._seen_despite_fault(sender_id, message_id)
                )
                # The error's class only: its text may quote the statement's parameters.
                log.warning("storage fault in a turn: %s (saved=%s)", type(exc).__name__, saved)
                raise StorageFault(saved) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _seen_despite_fault(self, sender_id: str, message_id: str) -> bool:
        """After a fault: did the message's transaction commit all the same (the connection
        dropped while the commit was acknowledged)? Its receipt says so; a database that
        cannot even be read counts as "not saved"."""
        try:
            return self.seen(sender_id, message_id)
        except Exception as exc:
            if not is_storage_fault(exc):
                raise
            return False

    def seen(self, sender_id: str, message_id: str) -> bool:
        """Whether a message with this id was already handled for this person."""
        with self.db.transaction() as s:
            return ReceiptRepository(s).seen_for_sender(sender_id, message_id)

    def _turn(
        self,
        sender_id: str,
        slug: str | None,
        *,
        consent: Any,
        age_ok: Any,
        intro_shown: bool,
        slot: str | None,
        value: Any,
        nlu: MessageNlu,
        mode: str | None,
        message_id: str | None,
        handled: list[bool],
    ) -> TurnResult:
        replies: list[Reply] = []
        slots: dict[str, Any] = {}
        hold = False
        if slot in (None, "answer") and mode != Mode.PRACTICE:
            text = None if value is None or isinstance(value, bool) else str(value)
            held = self._reconsent_step(sender_id, slug, text, nlu, message_id)
            if held is not None:
                if held.slot_value is False:  # refused: processing stopped, the form ends
                    return TurnResult(held.replies, {"answer": None}, None)
                replies += held.replies
                if held.slot_value is None:  # still waiting for a yes or no
                    return TurnResult(replies, {"answer": None}, "answer")
                slot = value = None  # agreed: ask the question again below
        if slot is not None and value is not None and not isinstance(value, bool):
            stage = self.stage(sender_id, slug, consent, age_ok, mode)
            text = str(value)
            try:
                if stage == Stage.CONSENT and slot == "consent" and slug:
                    outcome = self.handle_consent(sender_id, slug, text, nlu, mode, message_id)
                elif stage == Stage.AGE and slot == "age_confirmed":
                    outcome = self.handle_age(sender_id, slug, text, nlu, mode, message_id)
                elif stage == Stage.QUESTION and slot == "answer":
                    outcome = self.handle_answer(sender_id, slug, text, nlu, mode, message_id)
                elif message_id is not None and self.seen(sender_id, message_id):
                    # A retry of the message that completed this step (Rasa lost its turn).
                    outcome = Outcome().say(DUPLICATE_TEXT)
                else:  # a value for a step that is already over: nothing to do
                    outcome = Outcome()
            except IntegrityError:
                # Two replicas raced on the same new message and the other one committed
                # first (a new candidate's sender id, or the receipt itself, is unique).
                if message_id is None or not self.seen(sender_id, message_id):
                    raise
                outcome = Outcome().say(DUPLICATE_TEXT)
            handled.append(True)
            if stage == Stage.CONSENT and slot == "consent" and slug:
                consent = slots["consent"] = outcome.slot_value
            elif stage == Stage.AGE and slot == "age_confirmed":
                age_ok = slots["age_confirmed"] = outcome.slot_value
            replies += outcome.replies
            hold = outcome.hold
            if slot == "answer" or slots.get(slot) is None:
                slots[slot] = None
            if outcome.switch is not None:
                slug, mode, resumed = outcome.switch
                # A resumed run already has consent; a new one starts at its consent step.
                consent, age_ok, intro_shown = (True if resumed else None), None, False
                slots.update(
                    job_id=slug,
                    interview_mode=str(mode),
                    consent=consent,
                    age_confirmed=None,
                    intro_shown=None,
                )
        stage, asked = _read_again_if_dropped(
            lambda: self._next_step(
                sender_id, slug, consent, age_ok, mode, intro_shown, ask=not hold
            )
        )
        # While a privacy request waits for the next message, nothing is asked (`hold`): the
        # question comes after it.
        replies += asked
        if stage == Stage.CONSENT and not hold:
            slots["intro_shown"] = True
        return TurnResult(replies, slots, SLOT_FOR_STAGE[stage])

    def _next_step(
        self,
        sender_id: str,
        slug: str | None,
        consent: Any,
        age_ok: Any,
        mode: str | None,
        intro_shown: bool,
        *,
        ask: bool,
    ) -> tuple[Stage, list[Reply]]:
        """The stage the interview is at now, and what to ask for it (reads only)."""
        stage = self.stage(sender_id, slug, consent, age_ok, mode)
        if stage == Stage.DONE or not ask:
            return stage, []
        full = stage != Stage.CONSENT or not intro_shown
        return stage, self.prompt(sender_id, slug, stage, full=full, mode=mode)

    # ---------------------------------------------------------------- prompts
    def prompt(
        self,
        sender_id: str,
        slug: str | None,
        stage: Stage,
        full: bool = True,
        mode: str | None = None,
    ) -> list[Reply]:
        """What to ask for `stage` (the form's "ask" step)."""
        with self.db.transaction() as s:
            if stage == Stage.CONSENT:
                job = JobRepository(s).current(slug or "")
                if job is None:
                    return []
                version = current_version(s)
                if mode == Mode.PRACTICE:
                    consent_q = Reply(
                        "Do you agree to take this practice run under this notice? Your "
                        "answers are only stored if you agree.",
                        (("I agree", "yes"), ("I do not agree", "no")),
                    )
                    intro = self._practice_intro(job, version)
                    return [*intro, consent_q] if full else [consent_q]
                consent_q = Reply(
                    "Do you agree to take part under this notice? Your answers are only stored "
                    "if you agree.",
                    (("I agree", "yes"), ("I do not agree", "no")),
                )
                return [*self._intro(job, version), consent_q] if full else [consent_q]
            if stage == Stage.AGE:
                return [Reply(f"Are you {MINIMUM_AGE} years old or older?", tuple(YES_NO))]
            if stage != Stage.QUESTION:
                return []
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None or app.status == Status.PAUSED or app.pending_action:
                return []
            if app.mode == Mode.PRACTICE and app.practice_feedback is None:
                return [Reply(practice.TIMING_QUESTION, practice.TIMING_BUTTONS)]
            return [self._question_reply(app)]

    def _intro(self, job: Job, version: str) -> list[Reply]:
        """The notice shown is the version in force (`version`), which consent records. The
        AI notice says what this job's interview assesses and where the audit summary is."""
        org = job.organization.name
        assesses = assessed_items(definition_of(job))
        return [
            Reply(
                f"Hello! Thanks for your interest in the {job.title} role at {org} "
                f"({job.location}). I'll ask you a few screening questions; it takes about "
                "5–10 minutes."
            ),
            Reply(ai_disclosure(org, assesses=assesses, audit_url=self._audit_summary_url)),
            Reply(notice_summary(org, version)),
        ]

    @staticmethod
    def _practice_intro(job: Job, version: str) -> list[Reply]:
        org = job.organization.name
        return [
            Reply(
                f"Hello! This is a practice interview for the {job.title} role at {org} "
                f"({job.location}): the job's real screening questions, with feedback on your "
                "answers. It takes about 5–10 minutes."
            ),
            Reply(practice_ai_disclosure(org)),
            Reply(practice_notice(version + PRACTICE_CONSENT_SUFFIX)),
        ]

    def resume(self, sender_id: str, slug: str | None, mode: str | None = None) -> Resumed:
        """Reopen the sender's open application (for `slug` and `mode`, or their latest one:
        real or practice, whichever was started or resumed most recently).

        Returns the job and mode to run the form for (slug None: nothing to resume).
        """
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None:
                return Resumed(None, None, [])
            return Resumed(app.job.slug, Mode(app.mode), self._reopen(s, app, sender_id))

    @staticmethod
    def _reopen(s: Any, app: Application, sender_id: str) -> list[Reply]:
        """Make an open application the active one again; say so if it had begun."""
        if app.status == Status.PAUSED or app.pending_action:
            app.status = Status.IN_PROGRESS if app.status == Status.PAUSED else app.status
            app.pending_action = None
            s.add(
                InterviewSession(
                    application_id=app.id, channel=channel_of(sender_id), status="active"
                )
            )
        app.updated_at = _now()  # the most recently resumed run is the active one
        if app.status == Status.AGE_CHECK:
            return []
        what = "practice run" if app.mode == Mode.PRACTICE else "interview"
        return [
            Reply(
                f"Welcome back! Let's continue your {what} for {app.job.title} where you left off."
            )
        ]

    # ---------------------------------------------------------------- practice runs
    def start_practice(self, sender_id: str, ref: str | None, text: str = "") -> PracticeStart:
        """A practice request outside an interview: `/practice [job]`, "I want to practise for
        the warehouse job", or a request to delete the practice runs.

        `ref` is what followed `/practice` (a slug, title words or "delete"); `text` is the
        message, matched against job titles when there is no `ref`. An open practice run for
        the job (or, without a job, the latest open one) is resumed rather than restarted.
        """
        if wants_practice_delete(text, ref):
            return self.request_practice_delete(sender_id)
        with self.db.transaction() as s:
            jobs = JobRepository(s).list_current()
            named = ref if ref is not None else ("" if text.lstrip().startswith("/") else text)
            job, ambiguous = self._match_practice_job(jobs, named) if named else (None, False)
            if job is None and ref is not None and not ambiguous:
                return PracticeStart(
                    None,
                    self._practice_menu(
                        s,
                        "I couldn't find that job. These are the open jobs you can practise for:",
                    ),
                )
            if job is None:
                open_run = (
                    None if ambiguous else self._latest_open(s, sender_id, None, Mode.PRACTICE)
                )
                if open_run is None:
                    intro = (
                        "Which of these jobs do you mean? Choose one to practise for:"
                        if ambiguous
                        else "Which job would you like to practise for? Practice runs are "
                        "private: you get feedback, employers never see them."
                    )
                    return PracticeStart(None, self._practice_menu(s, intro))
                replies = self._reopen(s, open_run, sender_id)
                return PracticeStart(open_run.job.slug, replies, resumed=True)
            open_run = self._latest_open(s, sender_id, job.slug, Mode.PRACTICE)
            if open_run is not None:
                return PracticeStart(job.slug, self._reopen(s, open_run, sender_id), resumed=True)
            return PracticeStart(job.slug, [])

    def request_practice_delete(self, sender_id: str) -> PracticeStart:
        """Ask to confirm deleting all the sender's practice runs (or say there are none)."""
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            count = ApplicationRepository(s).count_practice_runs(candidate.id) if candidate else 0
            if not count:
                return PracticeStart(None, [Reply("You have no practice runs to delete.")])
            return PracticeStart(None, [self._delete_question(count)], confirm_delete=True)

    @staticmethod
    def _delete_question(count: int) -> Reply:
        runs = "your practice run" if count == 1 else f"all {count} of your practice runs"
        it = "it" if count == 1 else "them"
        return Reply(
            f"Delete {runs}, with every answer and score in {it}? This can't be undone. Your "
            "real applications are not affected.",
            (("Yes, delete", "yes"), ("No, keep", "no")),
        )

    def confirm_practice_delete(self, sender_id: str, text: str) -> list[Reply] | None:
        """The answer to the delete question outside an interview. A clear yes deletes, a
        clear no keeps; anything else returns None: it was not an answer, so the caller
        handles the message as usual (and the question lapses — nothing is deleted)."""
        answer = parse_yes_no(text)
        if answer is None:
            return None
        if answer is False:
            return [Reply("OK — your practice runs are kept.")]
        with self.db.transaction() as s:
            candidate = CandidateRepository(s).by_sender(sender_id)
            deleted = (
                ApplicationRepository(s).delete_practice_runs(candidate.id) if candidate else 0
            )
        log.info("practice runs deleted: %d", deleted)
        return [Reply(_deleted_text(deleted)), *self.job_menu("What would you like to do next?")]

    def _question_reply(self, app: Application) -> Reply:
        job = definition_of(app.job)
        question = job.questions[app.current_index]
        text, buttons = prompt_for(question)
        header = f"Question {app.current_index + 1} of {len(job.questions)}"
        if app.mode == Mode.PRACTICE:
            header = "Practice — " + header
        if question.optional:
            header += " (optional — say 'skip' to skip)"
        return Reply(f"{header}:\n{text}", tuple(buttons))

    # ---------------------------------------------------------------- consent and age
    def _forget(self, sender_id: str, outcome: Outcome) -> Outcome:
        """Refused consent or under 16: nothing of the person stays. After the turn's commit,
        the person's rows go at once and their Rasa conversation is purged at the worker's
        next run (Rasa writes this turn after the action returns)."""
        if outcome.forget is not None:
            from privacy.erasure import forget_sender

            forget_sender(self.db, sender_id, outcome.forget)
        return outcome

    def handle_consent(
        self,
        sender_id: str,
        slug: str,
        text: str,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        """The answer to the consent question. A refusal is applied again if its message is
        retried: nothing about the person exists to hold a receipt (only a second "declined"
        record without a person)."""
        outcome = self._handle_consent(sender_id, slug, text, nlu, mode, message_id)
        return self._forget(sender_id, outcome)

    def _handle_consent(
        self,
        sender_id: str,
        slug: str,
        text: str,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        privacy = self._privacy_turn(sender_id, text, nlu)
        if privacy is not None:
            return privacy
        command = recognise_command(text, nlu)
        is_practice = mode == Mode.PRACTICE
        with self.db.transaction() as s:
            job = JobRepository(s).current(slug)
            if job is None:
                return Outcome(slot_value=False).say("Sorry, that job is no longer open.")
            org = job.organization
            if command == Command.HELP:
                return Outcome().say(
                    "Before we start I need your agreement to the privacy notice above. "
                    "Reply 'yes' to agree or 'no' to decline; if you decline nothing about you "
                    "is stored."
                )
            if command == Command.HUMAN:
                contact = f" at {org.contact_email}" if org.contact_email else ""
                if is_practice:
                    return Outcome().say(
                        f"Practice runs are private and automated, so no one at {org.name} sees "
                        f"them. For questions about the job you can reach {org.name}{contact}. "
                        "Reply 'yes' to start the practice run."
                    )
                return Outcome().say(
                    f"You can reach a person at {org.name}{contact}. If you'd rather continue "
                    "here, reply 'yes' to agree to the notice."
                )
            version = current_version(s)
            if command == Command.REPEAT:
                return Outcome(
                    replies=self._practice_intro(job, version)
                    if is_practice
                    else self._intro(job, version)
                )
            if command == Command.PRACTICE:
                return self._practice_at_consent(s, job, text)
            answer = parse_yes_no(text)
            channel = channel_of(sender_id)
            # The version in force is the one the intro showed: the one agreed to.
            notice_version = version + PRACTICE_CONSENT_SUFFIX if is_practice else version
            if answer is None:
                return Outcome().say("Sorry, I need a yes or a no to continue.")
            if answer is False:
                s.add(
                    ConsentRecord(
                        candidate_id=None,
                        job_id=job.id,
                        notice_version=notice_version,
                        granted=False,
                        channel=channel,
                    )
                )
                again = "/practice" if is_practice else "/start"
                return Outcome(slot_value=False, forget="consent_refused").say(
                    "Understood — we won't ask any questions and nothing about you is stored "
                    "beyond the fact that consent was declined. If you change your mind, send "
                    f"{again}. Thank you!"
                )
            candidate = CandidateRepository(s).get_or_create(sender_id)
            if message_id is not None:
                # Serialise racing duplicates on the person (a practice run has no unique
                # application to collide on), then look for this message's receipt.
                s.execute(
                    select(Candidate.id).where(Candidate.id == candidate.id).with_for_update()
                )
                if ReceiptRepository(s).seen_for_candidate(candidate.id, message_id):
                    return Outcome().say(DUPLICATE_TEXT)
            candidate.consent_withdrawn_at = None  # consenting again ends a withdrawal
            app = None
            if not is_practice:  # every practice run is a new attempt
                existing = ApplicationRepository(s).for_candidate(candidate.id, Mode.APPLICATION)
                app = next((a for a in existing if a.job_id == job.id), None)
            if app is None:
                app = Application(
                    candidate_id=candidate.id,
                    job_id=job.id,
                    status=Status.AGE_CHECK,
                    mode=Mode.PRACTICE if is_practice else Mode.APPLICATION,
                )
                s.add(app)
            else:  # a withdrawn application for the same version is reopened
                app.status = Status.AGE_CHECK
                app.finished_at = None
            s.flush()
            if message_id is not None:
                ReceiptRepository(s).claim(app.id, message_id)
            s.add(
                ConsentRecord(
                    candidate_id=candidate.id,
                    job_id=job.id,
                    notice_version=notice_version,
                    granted=True,
                    channel=channel,
                )
            )
            s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
            log.info("consent granted application=%s mode=%s", app.id, app.mode)
            return Outcome(slot_value=True).say("Thank you!")

    def _reconsent_step(
        self,
        sender_id: str,
        slug: str | None,
        text: str | None,
        nlu: MessageNlu | None = None,
        message_id: str | None = None,
    ) -> Outcome | None:
        """Re-consent after a major notice change, before anything more is processed.

        For an open real application whose candidate last agreed to an older version than the
        major one in force: the first message is held (not stored) and the candidate is asked
        to agree; `applications.pending_action` remembers the question. Yes → a consent
        record for the new version and the interview continues (slot_value True); no →
        processing stops exactly as for "withdraw consent" (slot_value False); anything else
        asks again (slot_value None). Returns None when no re-consent is needed.

        Privacy commands still work meanwhile ("delete everything", "withdraw consent"): a
        message that is no yes/no, or any message while a privacy request waits for input (a
        confirmation, a code), goes to the privacy dialogue first.
        """
        if not major_version_in_force(self.db):
            return None  # the usual case, answered from a per-process cache
        if text is not None and self._privacy is not None:
            with self.db.transaction() as s:
                app = self._latest_open(s, sender_id, slug, Mode.APPLICATION)
                applies = (
                    app is not None
                    and app.status in (Status.IN_PROGRESS, Status.PAUSED)
                    and app.pending_action in (None, RECONSENT)
                    and reconsent_needed(s, app.candidate_id) is not None
                )
                privacy_first = applies and (
                    parse_yes_no(text) is None or pending_for(s, app.candidate_id) is not None
                )
            if privacy_first:
                handled = self._privacy_turn(sender_id, text, nlu or MessageNlu())
                if handled is not None:
                    if handled.slot_value is None and not handled.hold:
                        ask = self._reconsent_step(sender_id, slug, None)
                        handled.replies += ask.replies if ask is not None else []
                    return handled
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, Mode.APPLICATION)
            if app is None or app.status not in (Status.IN_PROGRESS, Status.PAUSED):
                return None
            if text is not None and message_id is not None:
                app = ApplicationRepository(s).get(app.id, lock=True) or app
            version = reconsent_needed(s, app.candidate_id)
            if version is None:
                if app.pending_action == RECONSENT:
                    app.pending_action = None
                return None
            if app.pending_action not in (None, RECONSENT):
                return None  # let the open question (withdraw?, delete?) be answered first
            org = app.job.organization.name
            buttons = (("I agree", "yes"), ("I do not agree", "no"))
            handled_before = (
                text is not None
                and message_id is not None
                and not ReceiptRepository(s).claim(app.id, message_id)
            )
            if handled_before:
                text = None  # a retry of a message already handled: just ask (again)
            if app.pending_action != RECONSENT or text is None:
                app.pending_action = RECONSENT
                held = " (I haven't stored the message you just sent.)" if text else ""
                return Outcome().say(
                    f"Before we continue: our privacy notice changed on "
                    f"{day(version.effective_at)} (version {version.version}). "
                    f"{version.summary}\n"
                    f"{notice_summary(org, version.version)}\n"
                    "Your answers so far are kept. Do you agree to continue under the new "
                    "version? If not, we stop processing your data, and you can ask us to "
                    f"delete it.{held}",
                    list(buttons),
                )
            answer = parse_yes_no(text)
            if answer is None:
                return Outcome().say(
                    f"Sorry, I need a yes or a no: do you agree to version {version.version} "
                    "of the privacy notice?",
                    list(buttons),
                )
            channel = channel_of(sender_id)
            app.pending_action = None
            if answer is False:
                stop_processing(s, app.candidate, channel, version.version)
                log.info("re-consent refused: processing stopped for application %s", app.id)
                return Outcome(slot_value=False).say(
                    "Understood — we've stopped processing your data under the new notice: "
                    f"your application for {app.job.title} is withdrawn and nothing more is "
                    "scored. What you told us is still stored; reply 'delete everything' to "
                    "remove it. If you change your mind, start an interview again."
                )
            s.add(
                ConsentRecord(
                    candidate_id=app.candidate_id,
                    job_id=app.job_id,
                    notice_version=version.version,
                    granted=True,
                    channel=channel,
                )
            )
            if app.status == Status.PAUSED:
                app.status = Status.IN_PROGRESS
                s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
            log.info("re-consent granted for application %s", app.id)
            return Outcome(slot_value=True).say("Thank you! Let's continue.")

    def handle_age(
        self,
        sender_id: str,
        slug: str | None,
        text: str,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        outcome = self._handle_age(sender_id, slug, text, nlu, mode, message_id)
        return self._forget(sender_id, outcome)

    def _handle_age(
        self,
        sender_id: str,
        slug: str | None,
        text: str,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        privacy = self._privacy_turn(sender_id, text, nlu)
        if privacy is not None:
            return privacy
        command = recognise_command(text, nlu)
        if command in (Command.HELP, Command.REPEAT):
            return Outcome().say(
                f"We can only interview people aged {MINIMUM_AGE} or over. Please reply yes or no."
            )
        answer = parse_yes_no(text)
        if answer is None:
            answer = _age_from_number(text)
        if answer is None:
            return Outcome().say(f"Please reply yes or no: are you {MINIMUM_AGE} or older?")
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None:
                return Outcome(slot_value=False)
            if message_id is not None:
                app = ApplicationRepository(s).get(app.id, lock=True) or app
                if not ReceiptRepository(s).claim(app.id, message_id):
                    return Outcome().say(DUPLICATE_TEXT)
            if answer is False:
                # The notice promises: under 16, nothing is kept. The person is deleted
                # entirely right after this turn (`_forget`), their conversation included.
                log.info("under-age: application %s ends, the person is forgotten", app.id)
                return Outcome(slot_value=False, forget="under_age").say(
                    f"Thank you for your honesty. We can only interview people aged "
                    f"{MINIMUM_AGE} or over, so we have to stop here — nothing you told us has "
                    "been kept. Good luck, and feel free to come back when you're older!"
                )
            app.age_confirmed_at = _now()
            app.status = Status.IN_PROGRESS
            return Outcome(slot_value=True).say("Great, let's begin.")

    # ---------------------------------------------------------------- answers and commands
    def handle_answer(
        self,
        sender_id: str,
        slug: str | None,
        text: str,
        nlu: MessageNlu,
        mode: str | None = None,
        message_id: str | None = None,
    ) -> Outcome:
        """Handle a message while a question is open. Always returns slot_value None: the
        form keeps asking until the service says the interview is over.

        With a `message_id`, the receipt is claimed under the application's row lock, before
        anything else: a duplicate (even one racing on another replica, which waits for the
        lock and then sees the receipt) changes nothing."""
        privacy = self._privacy_turn(sender_id, text, nlu)
        if privacy is not None:
            return self._back_from_privacy(sender_id, slug, mode, privacy)
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None:
                return Outcome()
            app = ApplicationRepository(s).get(app.id, lock=True) or app
            if message_id is not None and not ReceiptRepository(s).claim(app.id, message_id):
                return Outcome().say(DUPLICATE_TEXT)
            channel = channel_of(sender_id)
            command = recognise_command(text, nlu)
            if command == Command.PRACTICE:
                # Before "welcome back": a practice button pressed after a pause must work.
                outcome = self._practice_request(s, app, text, sender_id)
            elif app.pending_action == DELETE_PRACTICE:
                outcome = self._confirm_delete_in_interview(s, app, text, channel)
            elif app.status == Status.PAUSED:
                app.status = Status.IN_PROGRESS
                s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
                return Outcome().say("Welcome back! Let's continue where you left off.")
            elif app.pending_action == WITHDRAW:
                return self._confirm_withdraw(s, app, text)
            elif command is None and not text.lstrip().startswith("/"):
                if app.mode == Mode.PRACTICE and app.practice_feedback is None:
                    outcome = self._choose_timing(app, text)
                else:
                    outcome = self._answer(s, app, text, channel, nlu.speech)
            elif command is None:
                # A payload such as /start{...} or /list_jobs is never an answer.
                what = "a practice run" if app.mode == Mode.PRACTICE else "the interview"
                return Outcome().say(
                    f"You're in the middle of {what} for {app.job.title}. Let's finish it "
                    "first — or say 'withdraw' to stop it, or 'pause' to continue another "
                    "time (your next message then picks it up again).\n" + self._help(app)
                )
            elif command == Command.JOB_FIT:
                outcome = Outcome()
            elif (
                command == Command.SKIP
                and app.mode == Mode.PRACTICE
                and app.practice_feedback is None
            ):
                outcome = self._choose_timing(app, "")
            else:
                outcome = self._command(s, app, command, channel)
            if outcome.saved and app.mode == Mode.PRACTICE:
                outcome.practice = self._practice_step(s, app, outcome.saved[1])
        if command == Command.JOB_FIT:
            # Outside the transaction: matching reads the database itself.
            outcome.replies = self._job_fit(sender_id) if self._job_fit else []
            outcome.replies.append(Reply("Now, back to the interview:"))
        if outcome.practice is not None:
            # Practice: scored now, in the turn, because the feedback is the point.
            outcome.replies += self._practice_feedback(outcome.practice)
        elif outcome.saved and self._on_answer is not None:
            try:
                self._on_answer(*outcome.saved)
            except Exception:  # the answer is safe; a later `parley rescore` can score it
                log.exception("post-answer hook failed for application %s", outcome.saved[0])
        return outcome

    # ---------------------------------------------------------------- privacy commands
    def _privacy_turn(self, sender_id: str, text: str, nlu: MessageNlu) -> Outcome | None:
        """A privacy command, or the input a privacy request waits for, at any step; None when
        the message is neither. Runs outside the interview's transaction: the privacy
        dialogue has its own. slot_value False ends the form (consent and age steps)."""
        if self._privacy is None:
            return None
        turn = self._privacy(sender_id, text, nlu)
        if turn is None:
            return None
        return Outcome(
            replies=list(turn.replies),
            slot_value=False if turn.ended else None,
            hold=turn.waiting and not turn.ended,
        )

    def _back_from_privacy(
        self, sender_id: str, slug: str | None, mode: str | None, outcome: Outcome
    ) -> Outcome:
        """After a privacy command mid-interview the same question is asked again (by the
        turn), unless the command ended the interview or a privacy request waits for input.
        It replaces an unanswered withdraw or delete-practice question, as any new request."""
        outcome.slot_value = None
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug, mode)
            if app is None:  # deleted everything or withdrew consent: the form ends
                return outcome
            if app.pending_action in (WITHDRAW, DELETE_PRACTICE):
                app.pending_action = None
            if not outcome.hold and app.status != Status.PAUSED and not app.pending_action:
                what = "practice run" if app.mode == Mode.PRACTICE else "interview"
                outcome.say(f"Now, back to your {what}:")
        return outcome

    @staticmethod
    def _help(app: Application) -> str:
        return PRACTICE_HELP_TEXT if app.mode == Mode.PRACTICE else HELP_TEXT

    def _answer(
        self,
        s: Any,
        app: Application,
        text: str,
        channel: str,
        speech: SpokenAnswer | None = None,
    ) -> Outcome:
        job = definition_of(app.job)
        question = job.questions[app.current_index]
        parsed = parse_answer(question, text, today=self.today())
        if not parsed.ok:
            return Outcome().say(parsed.error or "Sorry, I couldn't use that answer.")
        row = ApplicationRepository(s).answer(app.id, question.id)
        if row is None:
            row = Answer(
                application_id=app.id,
                question_id=question.id,
                question_kind=question.kind,
                channel=channel,
            )
            s.add(row)
        else:
            row.revision += 1
        row.status = "answered"
        row.raw_text = text.strip()
        row.normalized = {"value": parsed.value, "display": parsed.display}
        row.knockout = parsed.knockout
        row.channel = channel
        row.answered_at = _now()
        self._attach_speech(row, speech)
        s.flush()
        if parsed.knockout and app.mode != Mode.PRACTICE:
            if may_reject_automatically(s, app):
                outcome = self._finish(s, app, Status.KNOCKED_OUT, knocked_out_by=question.id)
            else:
                outcome = self._knockout_for_review(s, app)
        else:  # in practice a knockout answer only gets a note in the feedback
            outcome = self._advance(s, app)
        outcome.saved = (app.id, question.id)
        return outcome

    def _attach_speech(self, row: Answer, speech: SpokenAnswer | None) -> None:
        """A spoken answer keeps its recogniser confidence (the scorer's guard reads it) and
        adopts its kept recording; a revision drops the recording of the answer it replaces."""
        old_ref = row.audio_ref
        row.transcript_confidence = speech.confidence if speech else None
        row.audio_ref = speech.audio_ref if speech else None
        if speech is not None and speech.audio_ref:
            speech.adopted = True
        if old_ref and old_ref != row.audio_ref and self._files is not None:
            self._files.delete(old_ref)

    def _knockout_for_review(self, s: Any, app: Application) -> Outcome:
        """A knockout answer while no automated rejection is allowed (the candidate opted out
        of AI scoring or a review of theirs is open): the answer keeps its knockout flag, a
        `knockout_review` asks a person to decide, and the interview goes on — so at the end
        the application is "completed", with the knockout waiting for that person."""
        ensure_review(s, app.candidate_id, KNOCKOUT_REVIEW, app.id)
        outcome = self._advance(s, app)
        org = app.job.organization.name
        outcome.replies.insert(
            0,
            Reply(
                f"Thank you. A person at {org} will look at this answer themselves — nothing "
                "is decided automatically."
                + ("" if app.status == Status.COMPLETED else " Let's continue:")
            ),
        )
        return outcome

    def _advance(self, s: Any, app: Application) -> Outcome:
        job = definition_of(app.job)
        answered = {a.question_id for a in ApplicationRepository(s).answers(app.id)}
        remaining = [i for i, q in enumerate(job.questions) if q.id not in answered]
        if not remaining:
            return self._finish(s, app, Status.COMPLETED)
        app.current_index = remaining[0]
        return Outcome()

    def _finish(
        self, s: Any, app: Application, status: Status, knocked_out_by: str | None = None
    ) -> Outcome:
        job = definition_of(app.job)
        app.status = status
        app.finished_at = _now()
        app.pending_action = None
        app.knocked_out_by = knocked_out_by
        self._close_sessions(s, app, status.value)
        log.info("application %s finished: %s", app.id, status.value)
        record_knockout(s, app)  # the decision log, for a real knockout only (oversight/)
        if app.mode == Mode.PRACTICE:
            if status == Status.COMPLETED:
                return Outcome()  # the summary follows once the last answer is scored
            return Outcome().say(
                f"Your practice run for {job.title} is stopped. Practice runs are never shown "
                "to employers; /practice delete removes them. Send /practice to start again."
            )
        if status == Status.COMPLETED:
            return (
                Outcome()
                .say(
                    f"Thank you — that was the last question, and your interview for "
                    f"{job.title} is complete. What happens next: {job.next_steps}"
                )
                .say(SELF_ID_OFFER, [SELF_ID_BUTTON])
            )
        if status == Status.KNOCKED_OUT:
            return (
                Outcome()
                .say(
                    f"Thank you for your answers. Unfortunately we can't take your application "
                    f"for {job.title} further at this time. We appreciate the time you took, and "
                    "we wish you the best in your search."
                )
                .say(SELF_ID_OFFER, [SELF_ID_BUTTON])
            )
        return Outcome().say(
            f"Your application for {job.title} has been withdrawn. Thank you for your time. "
            "Send /jobs if you'd like to apply for another role."
        )

    @staticmethod
    def _close_sessions(s: Any, app: Application, status: str) -> None:
        for sitting in s.query(InterviewSession).filter_by(application_id=app.id, finished_at=None):
            sitting.status = status
            sitting.finished_at = _now()

    def _command(self, s: Any, app: Application, command: Command, channel: str) -> Outcome:
        job = definition_of(app.job)
        question = job.questions[app.current_index]
        repo = ApplicationRepository(s)
        practising = app.mode == Mode.PRACTICE
        if command == Command.REPEAT:
            return Outcome().say("Sure, here it is again:")
        if command == Command.HELP:
            return Outcome().say(self._help(app))
        if command == Command.BACK:
            answered = {a.question_id: a for a in repo.answers(app.id)}
            previous = [i for i in range(app.current_index) if job.questions[i].id in answered]
            if not previous:
                return Outcome().say(
                    "This is the first question, so there's nothing to go back to."
                )
            app.current_index = previous[-1]
            before = answered[job.questions[app.current_index].id]
            shown = (before.normalized or {}).get("display") or before.raw_text or "(skipped)"
            return Outcome().say(
                f"OK, let's go back. Your answer was: {shown}\nSend a new answer to change it."
            )
        if command == Command.SKIP:
            if not question.optional:
                return Outcome().say("This question can't be skipped, sorry — it's required.")
            row = repo.answer(app.id, question.id)
            if row is None:
                s.add(
                    Answer(
                        application_id=app.id,
                        question_id=question.id,
                        question_kind=question.kind,
                        status="skipped",
                        channel=channel,
                    )
                )
            else:
                row.status, row.raw_text, row.normalized = "skipped", None, None
                row.revision += 1
            s.flush()
            outcome = self._advance(s, app)
            outcome.replies.insert(0, Reply("Skipped."))
            outcome.saved = (app.id, question.id)
            return outcome
        if command == Command.PAUSE:
            app.status = Status.PAUSED
            self._close_sessions(s, app, "paused")
            return Outcome().say(
                "No problem — your answers are saved. Send me any message when you want to "
                "continue (even days from now), and we'll pick up at this question."
            )
        if command == Command.HUMAN:
            org = app.job.organization
            if practising:
                # No handoff request: it would show the employer that this person practised.
                contact = f" at {org.contact_email}" if org.contact_email else ""
                return Outcome().say(
                    f"Practice runs are private and automated, so no one at {org.name} sees "
                    f"them and I can't pass this one to a person. For questions about the job "
                    f"you can reach {org.name}{contact}. Let's carry on:"
                )
            s.add(
                HandoffRequest(
                    candidate_id=app.candidate_id,
                    application_id=app.id,
                    question_id=question.id,
                    channel=channel,
                )
            )
            return Outcome().say(
                f"I've asked a person at {org.name} to get in touch with you here, usually "
                "within two working days. Meanwhile you can carry on with the interview or "
                "say 'pause'."
            )
        # WITHDRAW: destructive, so confirm first.
        app.pending_action = WITHDRAW
        if practising:
            return Outcome().say(
                f"Do you want to stop this practice run for {job.title}?",
                [("Yes, stop", "yes"), ("No, continue", "no")],
            )
        return Outcome().say(
            f"Do you want to withdraw your application for {job.title}? The interview will end.",
            [("Yes, withdraw", "yes"), ("No, continue", "no")],
        )

    def _confirm_withdraw(self, s: Any, app: Application, text: str) -> Outcome:
        app.pending_action = None
        if parse_yes_no(text) is True:
            return self._finish(s, app, Status.WITHDRAWN)
        return Outcome().say("Good — let's continue.")

    # ---------------------------------------------------------------- practice in the form
    def _practice_request(self, s: Any, app: Application, text: str, sender_id: str) -> Outcome:
        """`/practice …` (or "delete my practice runs") while a run is open.

        Deleting asks for a yes first. During a real interview, `/practice` pauses it (the
        answers are kept; it resumes later like any pause) and switches the form to the
        practice run; during a practice run it says so, as a run cannot hold another.
        """
        app.pending_action = None  # a new request replaces an unanswered question
        argument = practice_argument(text)
        if wants_practice_delete(text, argument):
            count = ApplicationRepository(s).count_practice_runs(app.candidate_id)
            if not count:
                return Outcome().say("You have no practice runs to delete.")
            app.pending_action = DELETE_PRACTICE
            return Outcome(replies=[self._delete_question(count)])
        if app.mode == Mode.PRACTICE:
            return Outcome().say(
                f"You're already in a practice run for {app.job.title}. Finish it first, or say "
                "'withdraw' to stop it."
            )
        jobs = JobRepository(s).list_current()
        job, _ = self._match_practice_job(jobs, argument) if argument else (None, False)
        if app.status != Status.PAUSED:
            app.status = Status.PAUSED
            self._close_sessions(s, app, "paused")
        paused = Reply(
            f"Your interview for {app.job.title} is paused — your answers are saved, and you can "
            "continue it any time (just say hi)."
        )
        if job is None:
            intro = (
                "I couldn't find that job. These are the open jobs you can practise for:"
                if argument
                else "Which job would you like to practise for?"
            )
            return Outcome(replies=[paused, *self._practice_menu(s, intro)])
        open_run = self._latest_open(s, sender_id, job.slug, Mode.PRACTICE)
        if open_run is not None:
            replies = [paused, *self._reopen(s, open_run, sender_id)]
            return Outcome(replies=replies, switch=(job.slug, Mode.PRACTICE, True))
        return Outcome(replies=[paused], switch=(job.slug, Mode.PRACTICE, False))

    def _practice_at_consent(self, s: Any, job: Job, text: str) -> Outcome:
        """`/practice [job]` before consent: nothing is stored yet, so the form simply
        switches to a practice run (for the named job, or this one)."""
        argument = practice_argument(text)
        if wants_practice_delete(text, argument):
            return Outcome().say(
                "To delete your practice runs, first reply 'no' here (nothing is stored), then "
                "send /practice delete."
            )
        target: Job | None = job
        if argument:
            target, _ = self._match_practice_job(JobRepository(s).list_current(), argument)
        if target is None:
            menu = self._practice_menu(s, "I couldn't find that job. Choose one to practise for:")
            return Outcome(replies=menu)
        return Outcome(switch=(target.slug, Mode.PRACTICE, False))

    def _confirm_delete_in_interview(
        self, s: Any, app: Application, text: str, channel: str
    ) -> Outcome:
        """The answer to the delete question asked during a run (a paused run continues
        either way). If the run itself is a practice run it is deleted too: the form ends."""
        app.pending_action = None
        if app.status == Status.PAUSED:
            app.status = Status.IN_PROGRESS
            s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
        if parse_yes_no(text) is not True:
            return Outcome().say("OK — your practice runs are kept. Let's continue.")
        own_run = app.mode == Mode.PRACTICE
        deleted = ApplicationRepository(s).delete_practice_runs(app.candidate_id)
        log.info("practice runs deleted: %d", deleted)
        if own_run:
            return Outcome().say(
                _deleted_text(deleted) + " That includes this one, so it has ended. Send "
                "/practice to start a new one, or /jobs to apply."
            )
        return Outcome().say(_deleted_text(deleted) + " Now, back to your interview:")

    def _choose_timing(self, app: Application, text: str) -> Outcome:
        """The first step of a practice run: feedback after each answer, or at the end."""
        timing, clear = practice.parse_timing(text)
        app.practice_feedback = timing.value
        return Outcome().say(practice.timing_confirmation(timing, clear))

    @staticmethod
    def _practice_step(s: Any, app: Application, question_id: str) -> PracticeStep:
        job = definition_of(app.job)
        index = next(i for i, q in enumerate(job.questions) if q.id == question_id)
        row = ApplicationRepository(s).answer(app.id, question_id)
        answered = row is not None and row.status == "answered"
        normalized = (row.normalized or {}) if row is not None else {}
        return PracticeStep(
            application_id=app.id,
            question_id=question_id,
            number=index + 1,
            kind=assessed_kind(job.questions[index]),
            answered=answered,
            display=str(normalized.get("display") or ""),
            knockout=bool(row.knockout) if row is not None else False,
            timing=Timing(app.practice_feedback or Timing.EACH),
            finished=app.status == Status.COMPLETED,
        )

    def _practice_feedback(self, step: PracticeStep) -> list[Reply]:
        """Score a practice answer now (stored like any score) and say what the candidate
        should hear now: the answer's feedback (timing "each"), and at the end the summary."""
        view: ScoreView | None = None
        if step.kind == "free_text" and step.answered:
            try:
                view = ScoreView.from_answer_score(
                    self._assessment().score_now(step.application_id, step.question_id)
                )
            except Exception:  # the answer is stored; the feedback says it couldn't be scored
                log.exception("practice scoring failed for application %s", step.application_id)
                view = practice.UNSCORED
        replies: list[Reply] = []
        if step.timing == Timing.EACH and step.answered:
            if view is not None:
                replies.append(Reply(practice.free_text_feedback(step.number, view)))
            else:
                text = practice.structured_feedback(step.number, step.display, step.knockout)
                replies.append(Reply(text))
        if step.finished:
            replies += self._practice_summary(step.application_id)
        return replies

    def _practice_summary(self, application_id: str) -> list[Reply]:
        """The end of a practice run: per-question results, the overall score and the
        progress across the candidate's attempts at this job."""
        try:
            self._assessment().refresh_application(application_id)
        except Exception:  # the summary then shows no overall score
            log.exception("overall score failed for practice run %s", application_id)
        with self.db.transaction() as s:
            app = s.get(Application, application_id)
            if app is None:
                return []
            job = definition_of(app.job)
            answers = {a.question_id: a for a in ApplicationRepository(s).answers(app.id)}
            views = _current_score_views(s, app.id, answers)
            items = []
            for number, question in enumerate(job.questions, 1):
                answer = answers.get(question.id)
                status = answer.status if answer is not None else "unanswered"
                items.append(
                    QuestionOutcome(
                        number=number,
                        prompt=question.prompt,
                        kind=assessed_kind(question),
                        status=status,
                        display=(answer.normalized or {}).get("display") if answer else None,
                        knockout=bool(answer and answer.knockout),
                        view=views.get(question.id, practice.UNSCORED)
                        if is_scored(question)
                        else None,
                    )
                )
            runs = ApplicationRepository(s).completed_practice_runs(app.candidate_id, app.job.slug)
            attempts = [_latest_overall(s, run.id) for run in runs]
            overall = _latest_overall(s, app.id)
            messages = practice.run_summary(
                job.title, items, app.practice_feedback or Timing.EACH, overall, attempts
            )
            slug = app.job.slug
        buttons = (
            ("Practise again", practice_payload(slug)),
            ("Apply for real", f'/start{{"job_id":"{slug}"}}'),
            ("Delete my practice runs", practice_payload("delete")),
        )
        return [Reply(m) for m in messages[:-1]] + [Reply(messages[-1], buttons)]


def _latest_overall(s: Any, application_id: str) -> float | None:
    row = ScoreRepository(s).latest_overall(application_id)
    return row.overall if row is not None else None


def _current_score_views(
    s: Any, application_id: str, answers: dict[str, Answer]
) -> dict[str, ScoreView]:
    """The newest stored score of each answer's current revision, as feedback sees it."""
    return {
        qid: ScoreView.from_stored(row.status, row.score, row.explanation)
        for qid, row in ScoreRepository(s).current(application_id, answers).items()
    }


def _deleted_text(count: int) -> str:
    if count == 1:
        return "Done — your practice run has been deleted, with its answers and scores."
    return (
        f"Done — all {count} of your practice runs have been deleted, with their answers and "
        "scores."
    )


def _age_from_number(text: str) -> bool | None:
    import re

    numbers = re.findall(r"\b(\d{1,3})\b", text)
    if len(numbers) != 1:
        return None
    age = int(numbers[0])
    if not 0 < age < 120:
        return None
    return age >= MINIMUM_AGE
