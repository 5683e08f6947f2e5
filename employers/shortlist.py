"""Ranked shortlists of a job's applications, as an organization's people see them.

Why this shape:
- One rule of visibility for every employer view (`visible_conditions`): the organization's
  own jobs (every version of the slug), real applications only (practice runs are the
  candidate's alone), never withdrawn ones, never a candidate who was erased or withdrew
  consent. A job of another organization is answered exactly like an unknown job, so the
  reply does not reveal that it exists.
- The ranking works on plain columns only. Personal values are sealed per candidate
  (storage/encryption.py) and unsealed when an entity is loaded, so the whole ranked set is
  built from a few grouped column selects (the latest overall score per application via a
  subquery, the employer's stage and override, open reviews) and only the rows on the page
  are loaded as entities: their names and score explanations are the only values decrypted.
  1,000 completed applications build a page in a few tens of milliseconds on SQLite.
- Showing a row is a read of the candidate's data by the employer: each row on the page (and
  only those) writes an access-log entry in the same transaction as the read.
- A candidate who opted out of AI scoring is shown without any AI score (a person scores
  them); a score a person set (the override) wins over the AI's.
- Human oversight (oversight/overrides.py): an application a person reinstated after a
  knockout is ranked as not knocked out (its AI score stays what the model gave; the row is
  flagged), and a rank a person pinned puts the row at that position of the list (ties:
  the earlier pin first). Each row shown writes a "rank" entry in the decision log (who
  ranked it: the system; its position, the score and the rows it was computed from).

Scores are 0..1 in the database; people see whole numbers 0–100.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from nlu.matching import JobMatch, match
from oversight.decision_log import RANK_OVERRIDE, record_rank
from privacy.audit import log_employer_read
from privacy.preferences import employer_may_see_profile
from screening.interview import Mode, Status, definition_of
from screening.job_fit import profile_of
from screening.job_schema import is_scored
from storage.db import Database
from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationReview,
    ApplicationScore,
    Booking,
    Candidate,
    DecisionLogEntry,
    HumanReview,
    Interviewer,
    Job,
    Organization,
)

USAGE = (
    "Usage: `/shortlist <job> [top N] [min SCORE] [status STATUS]`\n"
    "• `job` — the job id, e.g. `barista`\n"
    "• `top N` — only the N best-ranked candidates (1–1000)\n"
    "• `min SCORE` — only scores of at least SCORE (0–100; `min 0.7` means 70)\n"
    "• `status` — completed (default), advanced, rejected, review, knocked-out, "
    "in-progress or all\n"
    "Example: `/shortlist barista top 10 min 70`"
)

STATUSES = ("completed", "advanced", "rejected", "review", "knocked-out", "in-progress", "all")
_STATUS_ALIASES = {
    "knocked_out": "knocked-out",
    "knockedout": "knocked-out",
    "knockout": "knocked-out",
    "in_progress": "in-progress",
    "inprogress": "in-progress",
    "open": "in-progress",
    "reviews": "review",
    "done": "completed",
}
STAGES = ("new", "advanced", "rejected")
MAX_TOP = 1000
MAX_PAGE = 1000
MAX_PAGE_SIZE = 100
MAX_TEXT = 300  # a real command is a few words; anything longer is refused unread
_JOB_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_INT_RE = re.compile(r"^[0-9]{1,4}$")
_SCORE_RE = re.compile(r"^(?:[0-9]{1,3}(?:\.[0-9]{1,4})?|\.[0-9]{1,4})%?$")
_OPTIONS = {"top": "top", "min": "min", "min-score": "min", "minscore": "min", "score": "min",
            "status": "status", "page": "page"}  # fmt: skip
_FINISHED = (Status.COMPLETED, Status.KNOCKED_OUT)
_IN_PROGRESS = (Status.AGE_CHECK, Status.IN_PROGRESS, Status.PAUSED)


class UsageError(ValueError):
    """The command could not be understood; the message says why and shows the usage."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"{problem}\n{USAGE}" if problem else USAGE)


class UnknownJob(LookupError):
    """No such job in the employer's organization (also for another organization's job)."""


class NotVisible(LookupError):
    """The application is not one the organization may see (or does not exist)."""


def _shown(token: str) -> str:
    """A user's token safe to echo into Slack mrkdwn: no mentions, links or markup."""
    return re.sub(r"[^A-Za-z0-9._=%-]", "", token)[:30] or "?"


def _status(value: str) -> str:
    status = _STATUS_ALIASES.get(value.lower(), value.lower())
    if status not in STATUSES:
        raise UsageError(f"Unknown status `{_shown(value)}`: use one of {', '.join(STATUSES)}.")
    return status


def _whole(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"`{what}` must be a whole number from {low} to {high}.")
    return value


@dataclass(frozen=True)
class ShortlistQuery:
    """What to show: the job, an optional top-N and minimum score (0–100), which statuses,
    and the page. Validated on construction, whatever built it (a command, a button's value,
    the CLI), so a stale or forged page button cannot ask for something odd."""

    job: str
    top: int | None = None
    min_score: int | None = None
    status: str = "completed"
    page: int = 1
    page_size: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.job, str) or not _JOB_RE.match(self.job):
            shown = _shown(self.job) if isinstance(self.job, str) else "?"
            raise UsageError(f"`{shown}` is not a job id.")
        if self.top is not None:
            _whole(self.top, "top", 1, MAX_TOP)
        if self.min_score is not None:
            _whole(self.min_score, "min", 0, 100)
        if not isinstance(self.status, str):
            raise UsageError("Unknown status.")
        object.__setattr__(self, "status", _status(self.status))
        _whole(self.page, "page", 1, MAX_PAGE)
        _whole(self.page_size, "page size", 1, MAX_PAGE_SIZE)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> ShortlistQuery:
        """A query from a page button's value (JSON): unknown keys and wrong types refused."""
        if not isinstance(data, dict) or not set(data) <= set(cls.__dataclass_fields__):
            raise UsageError("That shortlist page is no longer valid.")
        return cls(**data)

    def with_page(self, page: int) -> ShortlistQuery:
        return ShortlistQuery(self.job, self.top, self.min_score, self.status, page, self.page_size)


def _parse_score(value: str) -> int:
    if not _SCORE_RE.match(value):
        raise UsageError(f"`min` needs a score from 0 to 100, not `{_shown(value)}`.")
    percent = value.endswith("%")
    number = float(value.rstrip("%"))
    if not percent and "." in value and number <= 1:
        number *= 100  # min 0.7 → 70: the scale the scores are stored in
    score = math.floor(number + 0.5)
    if not 0 <= score <= 100:
        raise UsageError(f"`min` needs a score from 0 to 100, not `{_shown(value)}`.")
    return score


def _parse_int(value: str, what: str, high: int) -> int:
    if not _INT_RE.match(value) or not 1 <= int(value) <= high:
        raise UsageError(f"`{what}` needs a whole number from 1 to {high}, not `{_shown(value)}`.")
    return int(value)


def parse_args(text: str) -> ShortlistQuery:
    """`<job> [top N] [min SCORE] [status STATUS] [page P]`, options in any order after the
    job, as `top 10` or `top=10`. Raises UsageError (with the usage) for anything else:
    empty, too long, an option twice, a missing or malformed value, unknown words."""
    if not isinstance(text, str):
        raise UsageError("")
    if len(text) > MAX_TEXT:
        raise UsageError(f"That is too long ({len(text)} characters).")
    tokens = text.split()
    if not tokens or tokens[0].lower() in ("help", "-h", "--help", "?"):
        raise UsageError("" if tokens else "Which job? Give its id.")
    job, rest = tokens[0].lower(), tokens[1:]
    if job.lstrip("-").split("=", 1)[0] in _OPTIONS:
        raise UsageError("Start with the job id, then the options.")
    if not _JOB_RE.match(job):
        raise UsageError(f"`{_shown(tokens[0])}` is not a job id.")
    values: dict[str, str] = {}
    i = 0
    while i < len(rest):
        token = rest[i]
        name, eq, value = token.lower().lstrip("-").partition("=")
        option = _OPTIONS.get(name)
        if option is None:
            raise UsageError(f"I don't understand `{_shown(token)}`.")
        if not eq:
            i += 1
            if i >= len(rest):
                raise UsageError(f"`{option}` needs a value.")
            value = rest[i]
        if not value:
            raise UsageError(f"`{option}` needs a value.")
        if option in values:
            raise UsageError(f"`{option}` is given twice.")
        values[option] = value
        i += 1
    return ShortlistQuery(
        job=job,
        top=_parse_int(values["top"], "top", MAX_TOP) if "top" in values else None,
        min_score=_parse_score(values["min"]) if "min" in values else None,
        status=_status(values["status"]) if "status" in values else "completed",
        page=_parse_int(values["page"], "page", MAX_PAGE) if "page" in values else 1,
    )


@dataclass
class Row:
    """One application as the shortlist shows it (scores 0–100)."""

    rank: int
    application_id: str
    ref: str
    name: str | None
    score: int | None
    ai_score: int | None
    overridden: bool
    override_by: str | None
    knocked_out: bool
    knocked_out_by: str | None
    questions: list[dict[str, Any]]
    insufficient_data: bool
    needs_review: bool
    open_reviews: list[str]
    ai_opt_out: bool
    interview_status: str
    stage: str
    booking: dict[str, Any] | None
    finished_at: str | None
    channel: str | None
    # How the answers to this application fit the job's requirements (nlu.matching: skills,
    # experience, place, salary; 0–100 with one reason per factor). None when the job has no
    # `matching:` section, the answers say nothing it can use, or the candidate opted out.
    job_match: int | None = None
    job_match_reasons: list[str] = field(default_factory=list)
    # Human oversight: the position a person pinned (1 = top) and who; a knockout a person
    # overrode (the application is ranked as not knocked out) and who.
    pinned_rank: int | None = None
    pinned_by: str | None = None
    knockout_overridden: bool = False
    knockout_override_by: str | None = None


@dataclass
class Shortlist:
    job_slug: str
    job_title: str
    org_name: str
    query: ShortlistQuery
    total: int
    page: int
    pages: int
    rows: list[Row]
    cutoff: int | None
    scores: list[int]
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["query"] = self.query.to_json()
        return data


def pct(value: float | None) -> int | None:
    """A stored 0..1 score as people see it: a whole number 0–100."""
    if value is None:
        return None
    return max(0, min(100, math.floor(value * 100 + 0.5)))


def _job_match(s: Session, app: Application) -> JobMatch | None:
    """The job match of one application, from that application's own answers only."""
    matching = definition_of(app.job).matching
    if matching is None:
        return None
    profile = profile_of(s, app.candidate_id, application_id=app.id)
    if profile.is_empty():
        return None
    return match(profile, app.job.slug, app.job.title, matching)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC (SQLite hands back naive datetimes; they are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def visible_conditions() -> list[ColumnElement[bool]]:
    """Which applications an employer view may show at all (with `Candidate` joined)."""
    return [
        Application.mode == Mode.APPLICATION,
        Application.status != Status.WITHDRAWN,
        Candidate.erased_at.is_(None),
        Candidate.consent_withdrawn_at.is_(None),
    ]


def visible_application(s: Session, organization_id: int, application_id: str) -> Application:
    """The application if the organization may see it, else NotVisible (the same answer for
    an unknown id, another organization's, a practice run, withdrawn or erased)."""
    if not isinstance(application_id, str) or not re.fullmatch(r"[a-f0-9]{32}", application_id):
        raise NotVisible("No such application in your organization.")
    found = s.scalar(
        select(Application.id)
        .join(Candidate, Candidate.id == Application.candidate_id)
        .join(Job, Job.id == Application.job_id)
        .where(
            Application.id == application_id,
            Job.organization_id == organization_id,
            *visible_conditions(),
        )
    )
    if found is None:
        raise NotVisible("No such application in your organization (or it was withdrawn).")
    app = s.get(Application, application_id)
    assert app is not None
    return app


def job_slugs(s: Session, organization_id: int) -> list[str]:
    """The organization's current jobs, for "Your jobs: …"."""
    return list(
        s.scalars(
            select(Job.slug)
            .where(Job.organization_id == organization_id, Job.is_current)
            .distinct()
            .order_by(Job.slug)
        )
    )


def unknown_job_message(slug: str, org_name: str, slugs: list[str]) -> str:
    return f"No job `{_shown(slug)}` in {org_name}. Your jobs: {', '.join(slugs) or 'none yet'}"


_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Ranked:
    """A ranked application before its page is known: plain columns only. Built for every
    visible application of the job, so kept cheap: positional, slotted, the effective score
    and the finish time (aware, for the ranking) computed once."""

    application_id: str
    candidate_id: str
    status: str
    finished_at: datetime | None
    knocked_out_by: str | None
    ai_opt_out: bool
    stage: str
    override: int | None
    override_by: str | None
    ai_score: int | None
    knocked_out: bool
    score: int | None = None
    reviews: list[str] = field(default_factory=list)
    flagged: bool = False
    score_id: int | None = None  # the ApplicationScore row the AI score comes from
    pinned: int | None = None
    pinned_by: str | None = None
    knockout_overridden: bool = False
    knockout_override_by: str | None = None

    def sort_key(self) -> tuple[Any, ...]:
        """Effective score high to low (unscored after scored), knocked out last, then who
        finished first, then the id (a stable order across pages)."""
        score = self.score
        return (
            self.knocked_out,
            score is None,
            -(score or 0),
            self.finished_at is None,
            self.finished_at or _EPOCH,
            self.application_id,
        )


def current_answer_scores(
    s: Session, application_ids: list[str]
) -> dict[str, dict[str, tuple[int, str, float | None, bool]]]:
    """Per application and question: the newest AnswerScore of the answer's current revision
    as (row id, status, score, needs_review) — columns only, nothing decrypted."""
    if not application_ids:
        return {}
    newest = (
        select(func.max(AnswerScore.id))
        .join(
            Answer,
            and_(
                Answer.id == AnswerScore.answer_id, Answer.revision == AnswerScore.answer_revision
            ),
        )
        .where(AnswerScore.application_id.in_(application_ids))
        .group_by(AnswerScore.answer_id)
    )
    found: dict[str, dict[str, tuple[int, str, float | None, bool]]] = {}
    for row_id, app_id, qid, status, score, review in s.execute(
        select(
            AnswerScore.id,
            AnswerScore.application_id,
            AnswerScore.question_id,
            AnswerScore.status,
            AnswerScore.score,
            AnswerScore.needs_review,
        ).where(AnswerScore.id.in_(newest))
    ):
        found.setdefault(app_id, {})[qid] = (row_id, status, score, bool(review))
    return found


def open_review_reasons(s: Session, candidate_ids: Any) -> dict[tuple[str, str | None], list[str]]:
    """Open human reviews keyed by (candidate, application or None for candidate-wide)."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for cid, app_id, reason in s.execute(
        select(HumanReview.candidate_id, HumanReview.application_id, HumanReview.reason)
        .where(HumanReview.status == "open", HumanReview.candidate_id.in_(candidate_ids))
        .order_by(HumanReview.created_at, HumanReview.id)
    ):
        found.setdefault((cid, app_id), []).append(reason)
    return found


def bookings_of(s: Session, application_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per application the active booking, else the latest one (starts_at UTC, interviewer)."""
    found: dict[str, dict[str, Any]] = {}
    for app_id, starts, status, name in s.execute(
        select(Booking.application_id, Booking.starts_at, Booking.status, Interviewer.name)
        .join(Interviewer, Interviewer.id == Booking.interviewer_id)
        .where(Booking.application_id.in_(application_ids))
        .order_by(Booking.created_at, Booking.id)
    ):
        if found.get(app_id, {}).get("status") == "booked" and status != "booked":
            continue
        found[app_id] = {"starts_at": iso(starts), "interviewer": name, "status": status}
    return found


class ShortlistService:
    """Builds shortlists; one transaction per build (the read and its access log)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def build(self, organization_id: int, query: ShortlistQuery, *, actor: str) -> Shortlist:
        with self.db.transaction() as s:
            org = s.get(Organization, organization_id)
            jobs = list(
                s.execute(
                    select(Job.id, Job.title, Job.version).where(
                        Job.organization_id == organization_id, Job.slug == query.job
                    )
                )
            )
            if org is None or not jobs:
                name = org.name if org is not None else "your organization"
                raise UnknownJob(
                    unknown_job_message(query.job, name, job_slugs(s, organization_id))
                )
            title = max(jobs, key=lambda j: j.version).title
            job_ids = [j.id for j in jobs]
            everyone = self._ranked_candidates(s, job_ids)
            matching = place_pins(s, self._filter(s, everyone, query))
            cutoff = query.min_score
            if query.top is not None:
                matching = matching[: query.top]
                kept = [c.score for c in matching if c.score is not None and not c.knocked_out]
                cutoff = min(kept) if kept else query.min_score
            total = len(matching)
            pages = max(1, math.ceil(total / query.page_size))
            page = min(query.page, pages)
            start = (page - 1) * query.page_size
            on_page = matching[start : start + query.page_size]
            rows = self._rows(s, organization_id, on_page, start, query, actor)
            _log_ranks(s, rows, on_page, total, query)
            scores = sorted(
                c.score for c in everyone if c.status == Status.COMPLETED and c.score is not None
            )
            return Shortlist(
                job_slug=query.job,
                job_title=title,
                org_name=org.name,
                query=query,
                total=total,
                page=page,
                pages=pages,
                rows=rows,
                cutoff=cutoff,
                scores=scores,
            )

    @staticmethod
    def _ranked_candidates(s: Session, job_ids: list[int]) -> list[_Ranked]:
        # The newest overall score per application: a correlated max(id) through the
        # application_id index. (A grouped subquery joined back is several times slower on
        # PostgreSQL before its statistics exist, i.e. on any fresh or busy table.)
        latest = (
            select(func.max(ApplicationScore.id))
            .where(ApplicationScore.application_id == Application.id)
            .correlate(Application)
            .scalar_subquery()
        )
        stmt = (
            select(
                Application.id,
                Application.candidate_id,
                Application.status,
                Application.finished_at,
                Application.knocked_out_by,
                Candidate.ai_opt_out,
                ApplicationReview.stage,
                ApplicationReview.override_score,
                ApplicationReview.override_by,
                ApplicationScore.overall,
                ApplicationScore.knocked_out,
                ApplicationScore.id,
                ApplicationReview.pinned_rank,
                ApplicationReview.rank_pinned_by,
                ApplicationReview.knockout_overridden_at,
                ApplicationReview.knockout_override_by,
            )
            .join(Candidate, Candidate.id == Application.candidate_id)
            .outerjoin(ApplicationReview, ApplicationReview.application_id == Application.id)
            .outerjoin(ApplicationScore, ApplicationScore.id == latest)
            .where(Application.job_id.in_(job_ids), *visible_conditions())
        )
        found = []
        for (
            app_id,
            candidate_id,
            status,
            finished,
            knocked_out_by,
            opted_out,
            stage,
            override_score,
            override_by,
            overall,
            score_knocked_out,
            score_id,
            pinned,
            pinned_by,
            knockout_overridden_at,
            knockout_override_by,
        ) in s.execute(stmt):
            if finished is not None and finished.tzinfo is None:
                finished = finished.replace(tzinfo=UTC)  # SQLite: naive, stored as UTC
            override = pct(override_score)
            # Opted out of AI scoring: no AI score, not even one from before.
            ai_score = None if opted_out else pct(overall)
            # A person reinstated it after the knockout: ranked as not knocked out.
            reinstated = knockout_overridden_at is not None
            knocked = (status == Status.KNOCKED_OUT or bool(score_knocked_out)) and not reinstated
            found.append(
                _Ranked(
                    app_id,
                    candidate_id,
                    status,
                    finished,
                    knocked_out_by,
                    bool(opted_out),
                    stage or "new",
                    override,
                    override_by,
                    ai_score,
                    knocked,
                    override if override is not None else ai_score,
                    score_id=score_id,
                    pinned=pinned,
                    pinned_by=pinned_by if pinned is not None else None,
                    knockout_overridden=reinstated,
                    knockout_override_by=knockout_override_by if reinstated else None,
                )
            )
        if found:
            candidate_ids = select(Application.candidate_id).where(Application.job_id.in_(job_ids))
            reviews = open_review_reasons(s, candidate_ids)
            for c in found:
                c.reviews = reviews.get((c.candidate_id, c.application_id), []) + reviews.get(
                    (c.candidate_id, None), []
                )
        return found

    @staticmethod
    def _filter(s: Session, everyone: list[_Ranked], query: ShortlistQuery) -> list[_Ranked]:
        status = query.status
        if status == "completed":
            chosen = [c for c in everyone if c.status in _FINISHED and c.stage != "rejected"]
        elif status == "advanced":
            chosen = [c for c in everyone if c.stage == "advanced"]
        elif status == "rejected":
            chosen = [c for c in everyone if c.stage == "rejected"]
        elif status == "knocked-out":
            chosen = [c for c in everyone if c.status == Status.KNOCKED_OUT]
        elif status == "in-progress":
            chosen = [c for c in everyone if c.status in _IN_PROGRESS]
        elif status == "review":
            scored = [c.application_id for c in everyone if not c.ai_opt_out]
            flags = current_answer_scores(s, scored)
            for c in everyone:
                c.flagged = any(v[3] for v in flags.get(c.application_id, {}).values())
            chosen = [c for c in everyone if c.reviews or c.flagged]
        else:
            chosen = list(everyone)
        if query.min_score is not None:
            chosen = [c for c in chosen if c.score is not None and c.score >= query.min_score]
        return chosen

    @staticmethod
    def _rows(
        s: Session,
        organization_id: int,
        on_page: list[_Ranked],
        start: int,
        query: ShortlistQuery,
        actor: str,
    ) -> list[Row]:
        if not on_page:
            return []
        ids = [c.application_id for c in on_page]
        apps = {a.id: a for a in s.scalars(select(Application).where(Application.id.in_(ids)))}
        candidates = {
            c.id: c
            for c in s.scalars(
                select(Candidate).where(Candidate.id.in_([c.candidate_id for c in on_page]))
            )
        }
        scores = current_answer_scores(s, [c.application_id for c in on_page if not c.ai_opt_out])
        score_ids = [v[0] for per in scores.values() for v in per.values()]
        explanations = {
            r.id: r.explanation or {}
            for r in s.scalars(select(AnswerScore).where(AnswerScore.id.in_(score_ids)))
        }
        answers: dict[str, dict[str, tuple[str, str, datetime]]] = {}
        for app_id, qid, status, channel, at in s.execute(
            select(
                Answer.application_id,
                Answer.question_id,
                Answer.status,
                Answer.channel,
                Answer.answered_at,
            ).where(Answer.application_id.in_(ids))
        ):
            answers.setdefault(app_id, {})[qid] = (status, channel, at)
        bookings = bookings_of(s, ids)
        rows = []
        for offset, c in enumerate(on_page):
            app = apps[c.application_id]
            candidate = candidates[c.candidate_id]
            given = answers.get(app.id, {})
            questions = _questions(app, given, scores.get(app.id, {}), explanations, c.ai_opt_out)
            latest = max(given.values(), key=lambda v: _aware(v[2]), default=None)
            visible = employer_may_see_profile(s, candidate, organization_id)
            fit = None if c.ai_opt_out else _job_match(s, app)
            rows.append(
                Row(
                    rank=start + offset + 1,
                    application_id=app.id,
                    ref=app.id[:8],
                    name=candidate.name if visible else None,
                    score=c.score,
                    ai_score=c.ai_score,
                    overridden=c.override is not None,
                    override_by=c.override_by if c.override is not None else None,
                    knocked_out=c.knocked_out,
                    knocked_out_by=c.knocked_out_by,
                    questions=questions,
                    insufficient_data=any(q["status"] == "insufficient_data" for q in questions),
                    needs_review=any(q["needs_review"] for q in questions),
                    open_reviews=list(c.reviews),
                    ai_opt_out=c.ai_opt_out,
                    interview_status=c.status,
                    stage=c.stage,
                    booking=bookings.get(app.id),
                    finished_at=iso(c.finished_at),
                    channel=latest[1] if latest else None,
                    job_match=pct(fit.score) if fit is not None else None,
                    job_match_reasons=fit.reasons() if fit is not None else [],
                    pinned_rank=c.pinned,
                    pinned_by=c.pinned_by,
                    knockout_overridden=c.knockout_overridden,
                    knockout_override_by=c.knockout_override_by,
                )
            )
        # Logged after every row is read: an access-log row pending in the session would make
        # each following query flush first.
        for row in rows:
            log_employer_read(
                s,
                apps[row.application_id],
                actor=actor,
                purpose=f"shortlist {query.job}",
                action="viewed your application in a shortlist",
            )
        return rows


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def place_pins(s: Session, chosen: list[_Ranked]) -> list[_Ranked]:
    """The ranked order: rows without a pin by `_Ranked.sort_key`, each pinned row at its
    pinned position (1 = top) of this list. Two pins on one position: the earlier pin (its
    older `rank_override` log entry) first, the other right after it; a pin beyond the end
    of the list puts the row last."""
    free = sorted((c for c in chosen if c.pinned is None), key=_Ranked.sort_key)
    pinned = [c for c in chosen if c.pinned is not None]
    if not pinned:
        return free
    when = dict(
        s.execute(
            select(DecisionLogEntry.application_id, func.max(DecisionLogEntry.id))
            .where(
                DecisionLogEntry.decision == RANK_OVERRIDE,
                DecisionLogEntry.application_id.in_([c.application_id for c in pinned]),
            )
            .group_by(DecisionLogEntry.application_id)
        ).all()
    )
    pinned.sort(key=lambda c: (c.pinned, when.get(c.application_id) or 0, c.sort_key()))
    placed: list[_Ranked] = []
    p = f = 0
    while p < len(pinned) or f < len(free):
        if p < len(pinned) and (f >= len(free) or (pinned[p].pinned or 0) <= len(placed) + 1):
            placed.append(pinned[p])
            p += 1
        else:
            placed.append(free[f])
            f += 1
    return placed


def _log_ranks(
    s: Session, rows: list[Row], on_page: list[_Ranked], total: int, query: ShortlistQuery
) -> None:
    """One "rank" decision-log entry per row shown: the position the tool gave it in this
    view (out of `total`), its effective score and the rows it was computed from."""
    ranked = {c.application_id: c for c in on_page}
    for row in rows:
        c = ranked[row.application_id]
        app = s.get(Application, row.application_id)
        if app is None:  # pragma: no cover - loaded by _rows in this transaction
            continue
        record_rank(
            s,
            app,
            rank=row.rank,
            of=total,
            score=row.score,
            application_score_id=c.score_id,
            override=c.override,
            pinned_rank=c.pinned,
            knockout_overridden=c.knockout_overridden,
            query=query.to_json(),
        )


def _questions(
    app: Application,
    given: dict[str, tuple[str, str, datetime]],
    scores: dict[str, tuple[int, str, float | None, bool]],
    explanations: dict[int, dict[str, Any]],
    opted_out: bool,
) -> list[dict[str, Any]]:
    """The scored questions of the application's job version with their current scores."""
    found = []
    for q in definition_of(app.job).questions:
        if not is_scored(q):
            continue
        answer = given.get(q.id)
        score = scores.get(q.id)
        if answer is None or answer[0] == "skipped":
            status, value, summary, review = (
                "skipped" if answer else "unanswered",
                None,
                "",
                False,
            )
        elif opted_out:
            status, value, summary, review = "awaiting_person", None, "", False
        elif score is None:
            status, value, summary, review = "unscored", None, "", False
        else:
            row_id, status, raw, review = score
            value = pct(raw) if status == "scored" else None
            summary = str(explanations.get(row_id, {}).get("summary") or "")
        found.append(
            {
                "question_id": q.id,
                "prompt": q.prompt,
                "score": value,
                "status": status,
                "summary": summary,
                "needs_review": bool(review),
            }
        )
    return found
