"""The interview service: every decision of a screening interview, independent of Rasa.

Rasa's form drives the turn-taking; this service decides what a message *means* for the
interview (consent, age, an answer, a command), writes the result to the database at once,
and says what to reply. Keeping it free of Rasa types means it is tested directly against
SQLite and PostgreSQL, and every channel gets exactly the same behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from privacy.notice import NOTICE_VERSION, ai_disclosure, notice_summary
from screening.commands import Command, MessageNlu, recognise_command
from screening.job_schema import JobDefinition
from screening.questions import parse_answer, parse_yes_no, prompt_for
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    ConsentRecord,
    HandoffRequest,
    InterviewSession,
    Job,
)
from storage.repositories import (
    ApplicationRepository,
    CandidateRepository,
    JobRepository,
    channel_of,
)

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


@dataclass
class Outcome:
    """Result of handling one message: what to say, and the new value of the input slot."""

    replies: list[Reply] = field(default_factory=list)
    slot_value: Any = None
    saved: tuple[str, str] | None = None  # (application id, question id) of a stored answer

    def say(self, text: str, buttons: list[tuple[str, str]] | None = None) -> Outcome:
        self.replies.append(Reply(text, tuple(buttons or ())))
        return self


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


YES_NO = [("Yes", "yes"), ("No", "no")]
HELP_TEXT = (
    "You can say at any time:\n"
    "• 'repeat' — hear the question again\n"
    "• 'back' — change your previous answer\n"
    "• 'skip' — skip a question marked optional\n"
    "• 'pause' — continue later, from this question (even days later)\n"
    "• 'human' — ask a person to contact you\n"
    "• 'withdraw' — withdraw your application\n"
    "• 'which jobs fit me?' — see the open jobs that match what you've told me"
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
    ) -> None:
        """`on_answer(application_id, question_id)` runs after each answer is committed
        (the assessment hooks in here to score it); its failures never reach the candidate."""
        self.db = db
        self._today = today
        self._on_answer = on_answer
        self._job_fit = job_fit

    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    # ---------------------------------------------------------------- choosing a job
    def job_menu(self, intro: str) -> list[Reply]:
        """The open jobs as buttons, introduced by `intro`."""
        with self.db.transaction() as s:
            return self._job_menu(s, intro)

    @staticmethod
    def _job_menu(s: Any, intro: str) -> list[Reply]:
        jobs = [
            (j.slug, f"{j.title} — {j.organization.name}, {j.location}")
            for j in JobRepository(s).list_current()
        ]
        if not jobs:
            return [Reply("There are no open jobs at the moment. Please check back later.")]
        buttons = tuple((label, f'/start{{"job_id":"{slug}"}}') for slug, label in jobs)
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
                    open_app = self._latest_open(s, sender_id, None)
                    if open_app is not None:
                        slug = open_app.job.slug
            if slug is None:
                return JobChoice(None, self._job_menu(s, "Which job would you like to apply for?"))
            candidate = CandidateRepository(s).by_sender(sender_id)
            if candidate is not None:
                apps = ApplicationRepository(s).for_candidate_and_slug(candidate.id, slug)
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

    # ---------------------------------------------------------------- state
    def _latest_open(self, s: Any, sender_id: str, slug: str | None) -> Application | None:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return None
        apps = ApplicationRepository(s).for_candidate(candidate.id)
        for app in apps:
            if app.status in OPEN_STATUSES and (slug is None or app.job.slug == slug):
                return app
        return None

    def stage(
        self, sender_id: str, slug: str | None, consent: Any = None, age_ok: Any = None
    ) -> Stage:
        """Where the interview stands; `consent`/`age_ok` are the conversation's own memory
        for the steps before anything may be stored."""
        if consent is False or age_ok is False:
            return Stage.DONE
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug)
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
    ) -> TurnResult:
        """Handle what the person said for `slot` (if anything), then ask for what comes next.

        Asking is part of the same turn on purpose: Rasa calls the action server once per
        message instead of twice (validate, then ask), which halves its per-turn cost.
        """
        replies: list[Reply] = []
        slots: dict[str, Any] = {}
        if slot is not None and value is not None and not isinstance(value, bool):
            stage = self.stage(sender_id, slug, consent, age_ok)
            text = str(value)
            if stage == Stage.CONSENT and slot == "consent" and slug:
                outcome = self.handle_consent(sender_id, slug, text, nlu)
                consent = slots["consent"] = outcome.slot_value
            elif stage == Stage.AGE and slot == "age_confirmed":
                outcome = self.handle_age(sender_id, slug, text, nlu)
                age_ok = slots["age_confirmed"] = outcome.slot_value
            elif stage == Stage.QUESTION and slot == "answer":
                outcome = self.handle_answer(sender_id, slug, text, nlu)
            else:  # a value for a step that is already over: nothing to do
                outcome = Outcome()
            replies += outcome.replies
            if slot == "answer" or slots.get(slot) is None:
                slots[slot] = None
        stage = self.stage(sender_id, slug, consent, age_ok)
        if stage == Stage.CONSENT:
            replies += self.prompt(sender_id, slug, stage, full=not intro_shown)
            slots["intro_shown"] = True
        elif stage != Stage.DONE:
            replies += self.prompt(sender_id, slug, stage)
        return TurnResult(replies, slots, SLOT_FOR_STAGE[stage])

    # ---------------------------------------------------------------- prompts
    def prompt(
        self, sender_id: str, slug: str | None, stage: Stage, full: bool = True
    ) -> list[Reply]:
        """What to ask for `stage` (the form's "ask" step)."""
        with self.db.transaction() as s:
            if stage == Stage.CONSENT:
                job = JobRepository(s).current(slug or "")
                if job is None:
                    return []
                consent_q = Reply(
                    "Do you agree to take part under this notice? Your answers are only stored "
                    "if you agree.",
                    (("I agree", "yes"), ("I do not agree", "no")),
                )
                return [*self._intro(job), consent_q] if full else [consent_q]
            if stage == Stage.AGE:
                return [Reply(f"Are you {MINIMUM_AGE} years old or older?", tuple(YES_NO))]
            if stage != Stage.QUESTION:
                return []
            app = self._latest_open(s, sender_id, slug)
            if app is None or app.status == Status.PAUSED or app.pending_action:
                return []
            return [self._question_reply(app)]

    @staticmethod
    def _intro(job: Job) -> list[Reply]:
        org = job.organization.name
        return [
            Reply(
                f"Hello! Thanks for your interest in the {job.title} role at {org} "
                f"({job.location}). I'll ask you a few screening questions; it takes about "
                "5–10 minutes."
            ),
            Reply(ai_disclosure(org)),
            Reply(notice_summary(org)),
        ]

    def resume(self, sender_id: str, slug: str | None) -> tuple[str | None, list[Reply]]:
        """Reopen the sender's open application (for `slug`, or their latest one).

        Returns the job slug to run the form for (None when there is nothing to resume).
        """
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug)
            if app is None:
                return None, []
            replies = []
            if app.status == Status.PAUSED or app.pending_action:
                app.status = Status.IN_PROGRESS if app.status == Status.PAUSED else app.status
                app.pending_action = None
                s.add(
                    InterviewSession(
                        application_id=app.id, channel=channel_of(sender_id), status="active"
                    )
                )
            if app.status != Status.AGE_CHECK:
                replies.append(
                    Reply(
                        f"Welcome back! Let's continue your interview for {app.job.title} "
                        "where you left off."
                    )
                )
            return app.job.slug, replies

    def _question_reply(self, app: Application) -> Reply:
        job = definition_of(app.job)
        question = job.questions[app.current_index]
        text, buttons = prompt_for(question)
        header = f"Question {app.current_index + 1} of {len(job.questions)}"
        if question.optional:
            header += " (optional — say 'skip' to skip)"
        return Reply(f"{header}:\n{text}", tuple(buttons))

    # ---------------------------------------------------------------- consent and age
    def handle_consent(self, sender_id: str, slug: str, text: str, nlu: MessageNlu) -> Outcome:
        command = recognise_command(text, nlu)
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
                return Outcome().say(
                    f"You can reach a person at {org.name}{contact}. If you'd rather continue "
                    "here, reply 'yes' to agree to the notice."
                )
            if command == Command.REPEAT:
                return Outcome(replies=self._intro(job))
            answer = parse_yes_no(text)
            channel = channel_of(sender_id)
            if answer is None:
                return Outcome().say("Sorry, I need a yes or a no to continue.")
            if answer is False:
                s.add(
                    ConsentRecord(
                        candidate_id=None,
                        job_id=job.id,
                        notice_version=NOTICE_VERSION,
                        granted=False,
                        channel=channel,
                    )
                )
                return Outcome(slot_value=False).say(
                    "Understood — we won't ask any questions and nothing about you is stored "
                    "beyond the fact that consent was declined. If you change your mind, send "
                    "/start. Thank you!"
                )
            candidate = CandidateRepository(s).get_or_create(sender_id)
            existing = ApplicationRepository(s).for_candidate(candidate.id)
            app = next((a for a in existing if a.job_id == job.id), None)
            if app is None:
                app = Application(candidate_id=candidate.id, job_id=job.id, status=Status.AGE_CHECK)
                s.add(app)
            else:  # a withdrawn application for the same version is reopened
                app.status = Status.AGE_CHECK
                app.finished_at = None
            s.flush()
            s.add(
                ConsentRecord(
                    candidate_id=candidate.id,
                    job_id=job.id,
                    notice_version=NOTICE_VERSION,
                    granted=True,
                    channel=channel,
                )
            )
            s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
            log.info("consent granted application=%s", app.id)
            return Outcome(slot_value=True).say("Thank you!")

    def handle_age(self, sender_id: str, slug: str | None, text: str, nlu: MessageNlu) -> Outcome:
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
            app = self._latest_open(s, sender_id, slug)
            if app is None:
                return Outcome(slot_value=False)
            if answer is False:
                # The notice promises: under 16, nothing is kept. Delete the person entirely.
                candidate = app.candidate
                s.delete(candidate)
                log.info("under-age candidate removed")
                return Outcome(slot_value=False).say(
                    f"Thank you for your honesty. We can only interview people aged "
                    f"{MINIMUM_AGE} or over, so we have to stop here — nothing you told us has "
                    "been kept. Good luck, and feel free to come back when you're older!"
                )
            app.age_confirmed_at = _now()
            app.status = Status.IN_PROGRESS
            return Outcome(slot_value=True).say("Great, let's begin.")

    # ---------------------------------------------------------------- answers and commands
    def handle_answer(
        self, sender_id: str, slug: str | None, text: str, nlu: MessageNlu
    ) -> Outcome:
        """Handle a message while a question is open. Always returns slot_value None: the
        form keeps asking until the service says the interview is over."""
        with self.db.transaction() as s:
            app = self._latest_open(s, sender_id, slug)
            if app is None:
                return Outcome()
            app = ApplicationRepository(s).get(app.id, lock=True) or app
            channel = channel_of(sender_id)
            if app.status == Status.PAUSED:
                app.status = Status.IN_PROGRESS
                s.add(InterviewSession(application_id=app.id, channel=channel, status="active"))
                return Outcome().say("Welcome back! Let's continue where you left off.")
            if app.pending_action == "withdraw":
                return self._confirm_withdraw(s, app, text)
            command = recognise_command(text, nlu)
            if command is None and not text.lstrip().startswith("/"):
                outcome = self._answer(s, app, text, channel)
            elif command is None:
                # A payload such as /start{...} or /list_jobs is never an answer.
                return Outcome().say(
                    f"You're in the middle of the interview for {app.job.title}. To switch to "
                    "another job, say 'pause' first.\n" + HELP_TEXT
                )
            elif command == Command.JOB_FIT:
                outcome = Outcome()
            else:
                outcome = self._command(s, app, command, channel)
        if command == Command.JOB_FIT:
            # Outside the transaction: matching reads the database itself.
            outcome.replies = self._job_fit(sender_id) if self._job_fit else []
            outcome.replies.append(Reply("Now, back to the interview:"))
        if outcome.saved and self._on_answer is not None:
            try:
                self._on_answer(*outcome.saved)
            except Exception:  # the answer is safe; a later `parley rescore` can score it
                log.exception("post-answer hook failed for application %s", outcome.saved[0])
        return outcome

    def _answer(self, s: Any, app: Application, text: str, channel: str) -> Outcome:
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
        s.flush()
        if parsed.knockout:
            outcome = self._finish(s, app, Status.KNOCKED_OUT, knocked_out_by=question.id)
        else:
            outcome = self._advance(s, app)
        outcome.saved = (app.id, question.id)
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
        if status == Status.COMPLETED:
            return Outcome().say(
                f"Thank you — that was the last question, and your interview for {job.title} "
                f"is complete. What happens next: {job.next_steps}"
            )
        if status == Status.KNOCKED_OUT:
            return Outcome().say(
                f"Thank you for your answers. Unfortunately we can't take your application for "
                f"{job.title} further at this time. We appreciate the time you took, and we "
                "wish you the best in your search."
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
        if command == Command.REPEAT:
            return Outcome().say("Sure, here it is again:")
        if command == Command.HELP:
            return Outcome().say(HELP_TEXT)
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
            s.add(
                HandoffRequest(
                    candidate_id=app.candidate_id,
                    application_id=app.id,
                    question_id=question.id,
                    channel=channel,
                )
            )
            org = app.job.organization
            return Outcome().say(
                f"I've asked a person at {org.name} to get in touch with you here, usually "
                "within two working days. Meanwhile you can carry on with the interview or "
                "say 'pause'."
            )
        # WITHDRAW: destructive, so confirm first.
        app.pending_action = "withdraw"
        return Outcome().say(
            f"Do you want to withdraw your application for {job.title}? The interview will end.",
            [("Yes, withdraw", "yes"), ("No, continue", "no")],
        )

    def _confirm_withdraw(self, s: Any, app: Application, text: str) -> Outcome:
        app.pending_action = None
        if parse_yes_no(text) is True:
            return self._finish(s, app, Status.WITHDRAWN)
        return Outcome().say("Good — let's continue.")


def _age_from_number(text: str) -> bool | None:
    import re

    numbers = re.findall(r"\b(\d{1,3})\b", text)
    if len(numbers) != 1:
        return None
    age = int(numbers[0])
    if not 0 < age < 120:
        return None
    return age >= MINIMUM_AGE
