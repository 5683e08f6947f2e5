""" "What data do you have on me?" — a readable summary of everything stored (GDPR art. 15).

Why it includes the AI-inferred data in words: the right of access covers what we *derived*
about a person, not only what they typed — scores, their explanations, the job-match results
and how their answers were categorised (skills, experience, place, salary). People must be
able to see and challenge those.

Why raw identifiers are not shown: the reply lands in a chat, which the chat platform keeps.
The summary names the linked channels ("Telegram chat"), shows the current chat's own id
(the person can see it anyway), masks contact details (j•••@example.com) and never prints ids
of other channels, codes or tokens.

Completeness does not depend on this file being kept up to date: any table that references
the candidate (found by the same introspection as the export) and is not summarised in
words here is listed with its row count at the end, so nothing is ever silently left out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privacy.export import candidate_rows
from privacy.requests import OPEN_STATUSES, Kind, RequestStatus, complete, open_request
from privacy.retention import RECEIPT_RETENTION_DAYS
from privacy.reviews import describe_reason
from privacy.verification import channel_name, mask_contact
from storage.db import Database
from storage.models import (
    AccessLogEntry,
    Answer,
    AnswerScore,
    Application,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    Contact,
    Correction,
    EmployerDecision,
    HumanReview,
    Job,
    Organization,
    PrivacyRequest,
)
from storage.repositories import (
    ApplicationRepository,
    CandidateRepository,
    ScoreRepository,
    channel_of,
)

logger = logging.getLogger("parley.privacy.summary")

MAX_MESSAGE_CHARS = 3500
MAX_QUOTE_CHARS = 300
MAX_MATCHES = 10

NOTHING_STORED = (
    "I have nothing stored about you: no profile, no answers, no scores. (If you used "
    "another chat app with us, ask there — each chat is only linked to you once you start "
    "an interview in it.)"
)

# Tables summarised in words below; anything else referencing the candidate gets a count.
_COVERED = {
    "bookings",
    "booking_reminders",
    "booking_invitations",
    "candidates",
    "channel_identities",
    "contacts",
    "applications",
    "answers",
    "answer_scores",
    "application_scores",
    "consent_records",
    "human_reviews",
    "corrections",
    "privacy_requests",
    "access_log",
    "export_archives",
    "handoff_requests",
    "legal_holds",
    "candidate_keys",
    "employer_decisions",
    "application_reviews",
    "employer_notifications",
    "employer_audit",
    "message_receipts",
    "self_identifications",
    "self_id_keys",
    "decision_log",
}

# employer_decisions.kind in the candidate's words (employers/decisions.py writes them).
_DECISIONS = {
    "advanced": "moved your application forward",
    "rejected": "decided not to go ahead with your application",
    "review_requested": "asked a second person to review your application",
    "review_resolved": "resolved a review of your application",
    "score_override": "set your score by hand",
    "knockout_override": "reinstated your application after the automatic knockout",
    "rank_override": "chose your application's place in their shortlist by hand",
    "invited": "invited you to book an interview",
}

_RECORDINGS = {
    "transcripts_only": "employers may read transcripts of your spoken answers, not listen to "
    "the recordings",
    "recordings": "employers may listen to your recordings",
}
_VISIBILITY = {
    "applied_only": "only employers of jobs you applied to can see your profile",
    "all_employers": "employers of other jobs may also see your profile",
}
_REQUEST_KINDS = {
    "access": "see your data",
    "export": "export your data",
    "erasure": "delete all your data",
    "partial_erasure": "delete an answer or recording",
    "rectification": "correct your data",
    "objection": "opt out of AI scoring",
    "review": "human review of a decision",
    "withdraw_consent": "withdraw consent",
    "access_log": "see who viewed your profile",
    "settings": "change a privacy setting",
}


def _day(value: datetime | None) -> str:
    if value is None:
        return "—"
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%d")


def _quote(text: str | None, limit: int | None = MAX_QUOTE_CHARS) -> str:
    text = " ".join((text or "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"“{text}”"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# --------------------------------------------------------------------------- sections
def _profile(s: Session, candidate: Candidate, sender_id: str) -> list[str]:
    lines = ["YOUR PROFILE", f"• Stored since {_day(candidate.created_at)}."]
    if candidate.name:
        lines.append(f"• Name: {candidate.name}")
    lines.append(f"• Region (decides legal deadlines): {candidate.region}")
    if candidate.erased_at:
        lines.append(
            f"• You asked to delete everything on {_day(candidate.erased_at)}; the data is out "
            f"of use and will be fully removed by {_day(candidate.purge_after)}."
        )
    if candidate.consent_withdrawn_at:
        lines.append(f"• You withdrew your consent on {_day(candidate.consent_withdrawn_at)}.")
    channels = []
    for identity in s.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.candidate_id == candidate.id)
        .order_by(ChannelIdentity.created_at, ChannelIdentity.id)
    ):
        name = channel_name(identity.channel or channel_of(identity.sender_id))
        if identity.sender_id == sender_id:
            channels.append(f"{name} (this chat, id {identity.sender_id})")
        else:
            channels.append(f"{name} (linked {_day(identity.created_at)})")
    lines.append("• Chats linked to you: " + "; ".join(channels))
    contacts = list(
        s.scalars(select(Contact).where(Contact.candidate_id == candidate.id).order_by(Contact.id))
    )
    if contacts:
        lines.append("• Contact details (shown masked):")
        for c in contacts:
            state = f"verified {_day(c.verified_at)}" if c.verified_at else "not verified"
            lines.append(f"  – {c.kind} {mask_contact(c.kind, c.value)} ({state})")
    else:
        lines.append("• Contact details: none.")
    return lines


def _settings(candidate: Candidate) -> list[str]:
    return [
        "YOUR PRIVACY SETTINGS",
        "• AI scoring: "
        + (
            "you opted out — a person reviews your answers instead"
            if candidate.ai_opt_out
            else "on (a person reviews the results; you can opt out)"
        ),
        "• Recordings: "
        + _RECORDINGS.get(candidate.recordings_access, candidate.recordings_access),
        "• Visibility: "
        + _VISIBILITY.get(candidate.profile_visibility, candidate.profile_visibility),
        f"• Recordings are kept for {candidate.recording_retention_months} months.",
    ]


def _application(s: Session, app: Application) -> list[str]:
    from screening.interview import definition_of

    try:
        questions = {q.id: q.prompt for q in definition_of(app.job).questions}
    except ValueError:
        questions = {}
    kind = "Practice run" if app.mode == "practice" else "Application"
    lines = [
        f"{kind.upper()}: {app.job.title} at {app.job.organization.name} (version "
        f"{app.job.version})",
        f"• Status: {app.status.replace('_', ' ')}; started {_day(app.created_at)}"
        + (f", finished {_day(app.finished_at)}" if app.finished_at else "")
        + (f"; stopped by the answer to {app.knocked_out_by}" if app.knocked_out_by else ""),
    ]
    answers = ApplicationRepository(s).answers(app.id)
    scores = ScoreRepository(s).current(app.id, {a.question_id: a for a in answers})
    if not answers:
        lines.append("• No answers yet.")
    for n, answer in enumerate(answers, 1):
        prompt = questions.get(answer.question_id, answer.question_id)
        lines.append(f"{n}. {_quote(prompt, 120)}")
        lines.extend(_answer(answer))
        lines.extend(_score(scores.get(answer.question_id)))
    overall = ScoreRepository(s).latest_overall(app.id)
    if overall is not None:
        state = "complete" if overall.complete else "so far"
        text = f"• Overall AI score ({state}): {_pct(overall.overall)}"
        if overall.knocked_out:
            text += " — a required answer did not meet the job's requirement"
        needs_review = (overall.breakdown or {}).get("needs_review") or []
        if needs_review:
            text += f"; {len(needs_review)} answer(s) flagged for a person to review"
        lines.append(text + f" (computed {_day(overall.created_at)}).")
    return lines


def _answer(answer: Answer) -> list[str]:
    if answer.status != "answered":
        return [f"   You skipped this question ({_day(answer.answered_at)})."]
    normalized = answer.normalized or {}
    shown = _quote(answer.raw_text, None)  # in full: it is what the person is asking about
    display = normalized.get("display") or normalized.get("value")
    if display is not None and str(display).strip() != (answer.raw_text or "").strip():
        shown += f" — understood as {_quote(str(display), 120)}"
    extra = f", revision {answer.revision}" if answer.revision > 1 else ""
    rec = "; a recording is stored" if answer.audio_ref else ""
    return [f"   Your answer: {shown} ({_day(answer.answered_at)}, {answer.channel}{extra}{rec})"]


def _score(row: AnswerScore | None) -> list[str]:
    if row is None:
        return []
    doc = row.explanation if isinstance(row.explanation, dict) else {}
    if row.status != "scored" or row.score is None:
        reason = doc.get("reason") or "not enough to score"
        return [f"   AI score: none ({reason})."]
    lines = [
        f"   AI score: {_pct(row.score)}" + (" — sent to a person" if row.needs_review else "")
    ]
    if doc.get("summary"):
        lines.append(f"   Why: {doc['summary']}")

    def points(key: str) -> list[str]:
        items = doc.get(key)
        return [
            str(x["point"])
            for x in (items if isinstance(items, list) else [])
            if isinstance(x, dict) and x.get("point")
        ]

    covered, missing = points("key_points_covered"), points("key_points_missing")
    if covered:
        lines.append("   Covered: " + "; ".join(covered))
    if missing:
        lines.append("   Missing: " + "; ".join(missing))
    lines.append(f"   (model {row.model_name} {row.model_version}, {_day(row.created_at)})")
    return lines


def _consents(s: Session, candidate_id: str) -> list[str]:
    rows = list(
        s.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.candidate_id == candidate_id)
            .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
        )
    )
    lines = ["CONSENT HISTORY"]
    if not rows:
        return [*lines, "• None recorded."]
    for r in rows:
        verb = "gave consent" if r.granted else "refused consent"
        lines.append(
            f"• {_day(r.recorded_at)}: you {verb} (privacy notice version {r.notice_version}, "
            f"{r.channel})"
        )
    return lines


def _matching(db_matches: tuple[Any, list[Any]] | None) -> list[str]:
    lines = ["JOB MATCHING (AI-INFERRED)"]
    if db_matches is None:
        return [*lines, "• Not available right now."]
    profile, results = db_matches
    if profile.is_empty():
        return [*lines, "• Nothing: your answers hold no skills, experience, place or salary."]
    lines.append("• How your answers were categorised for matching:")
    if profile.skills:
        lines.append("  – skills: " + _quote("; ".join(profile.skills), 200))
    if profile.years_experience is not None:
        lines.append(f"  – years of experience: {profile.years_experience:g}")
    if profile.location:
        lines.append(f"  – place: {profile.location}")
    if profile.work_mode:
        lines.append(f"  – work mode: {profile.work_mode}")
    if profile.salary_expectation is not None:
        lines.append(f"  – salary expectation: {profile.salary_expectation:g}")
    if profile.availability is not None:
        lines.append(f"  – available from: {profile.availability.isoformat()}")
    if not results:
        return [*lines, "• No open job has matching information."]
    lines.append("• How well you match the open jobs (computed now, not stored):")
    for m in results[:MAX_MATCHES]:
        lines.append(f"  – {m.title}: {_pct(m.score)}")
        lines.extend(f"    · {reason}" for reason in m.reasons())
    if len(results) > MAX_MATCHES:
        lines.append(f"  …and {len(results) - MAX_MATCHES} more jobs.")
    return lines


def _reviews(s: Session, candidate_id: str) -> list[str]:
    lines: list[str] = []
    reviews = list(
        s.scalars(
            select(HumanReview)
            .where(HumanReview.candidate_id == candidate_id)
            .order_by(HumanReview.created_at, HumanReview.id)
        )
    )
    if reviews:
        lines.append("HUMAN REVIEWS")
        for r in reviews:
            text = f"• {_day(r.created_at)}: {describe_reason(r.reason)} — {r.status}"
            if r.statement:
                text += f"; your statement: {_quote(r.statement, 200)}"
            if r.resolution:
                text += f"; outcome ({_day(r.resolved_at)}): {_quote(r.resolution, 200)}"
            lines.append(text)
    corrections = list(
        s.scalars(
            select(Correction)
            .where(Correction.candidate_id == candidate_id)
            .order_by(Correction.created_at, Correction.id)
        )
    )
    if corrections:
        lines.append("CORRECTIONS")
        for c in corrections:
            lines.append(
                f"• {_day(c.created_at)}: {c.target}: {_quote(c.old_value, 120)} → "
                f"{_quote(c.new_value, 120)} ({c.status.replace('_', ' ')})"
            )
    return lines


def _employer(s: Session, candidate_id: str, rows: dict[str, list[Any]]) -> list[str]:
    """What people at the employers decided about the candidate's applications, with their
    notes (the candidate's data as much as the answers are), and the employer-side records
    that mention an application of theirs without holding its content."""
    lines = ["WHAT EMPLOYERS DECIDED"]
    decisions = s.execute(
        select(EmployerDecision, Job.title, Organization.name)
        .join(Application, Application.id == EmployerDecision.application_id)
        .join(Job, Job.id == Application.job_id)
        .join(Organization, Organization.id == EmployerDecision.organization_id)
        .where(EmployerDecision.candidate_id == candidate_id)
        .order_by(EmployerDecision.created_at, EmployerDecision.id)
    ).all()
    for d, title, org in decisions:
        text = f"• {_day(d.created_at)}: {org} {_DECISIONS.get(d.kind, d.kind)} ({title})"
        if d.kind == "score_override" and d.new_score is not None:
            text += f": {_pct(d.new_score)} instead of the AI's {_pct(d.old_score)}"
        if d.reason:
            text += f"; their note: {_quote(d.reason, 200)}"
        lines.append(text)
    notices = len(rows.get("employer_notifications", []))
    if notices:
        lines.append(
            f"• {notices} notice(s) to an employer's team about your application (a "
            "reference number and the score; never your name or your answers)."
        )
    actions = len(rows.get("employer_audit", []))
    if actions:
        lines.append(f"• {actions} entry(ies) in an employer's security log of actions on your "
                     "application.")
    return lines if len(lines) > 1 else []


def _requests(s: Session, candidate_id: str, rows: dict[str, list[Any]]) -> list[str]:
    lines = ["YOUR PRIVACY REQUESTS"]
    open_rows = list(
        s.scalars(
            select(PrivacyRequest)
            .where(
                PrivacyRequest.candidate_id == candidate_id,
                PrivacyRequest.status.in_([str(x) for x in OPEN_STATUSES]),
            )
            .order_by(PrivacyRequest.received_at)
        )
    )
    total = len(rows.get("privacy_requests", []))
    for r in open_rows:
        lines.append(
            f"• Open: {_REQUEST_KINDS.get(r.kind, r.kind)} — received {_day(r.received_at)}, "
            f"answered by {_day(r.due_at)} at the latest ({r.status.replace('_', ' ')})"
        )
    lines.append(f"• {total} request(s) in all, including this one (answered at once).")
    views = s.scalar(
        select(func.count())
        .select_from(AccessLogEntry)
        .where(AccessLogEntry.candidate_id == candidate_id, AccessLogEntry.actor_kind == "employer")
    )
    if views:
        lines.append(f"• Employers looked at your data {views} time(s) — ask me who viewed it.")
    for name, label in (
        ("handoff_requests", "request(s) to talk to a person"),
        ("export_archives", "data export(s) (download links expire)"),
        ("legal_holds", "legal hold(s): a legal obligation to keep your data for now"),
    ):
        if rows.get(name):
            lines.append(f"• {len(rows[name])} {label}.")
    if rows.get("candidate_keys"):
        lines.append("• Your data is encrypted under a key of its own.")
    return lines


def _bookings(s: Session, candidate_id: str) -> list[str]:
    """Booked interviews (with their planned reminders) and open invitations to book."""
    from scheduling.timezones import describe_slot
    from storage.models import Booking, BookingInvitation, BookingReminder

    lines = ["INTERVIEWS WITH A PERSON"]
    for booking in s.scalars(
        select(Booking).where(Booking.candidate_id == candidate_id).order_by(Booking.starts_at)
    ):
        start = booking.starts_at if booking.starts_at.tzinfo else booking.starts_at.replace(
            tzinfo=UTC
        )
        length = int((booking.ends_at - booking.starts_at).total_seconds() // 60)
        when = describe_slot(start, booking.candidate_timezone, booking.interviewer.timezone,
                             length)
        reminders = s.scalar(
            select(func.count()).select_from(BookingReminder).where(
                BookingReminder.booking_id == booking.id, BookingReminder.status == "pending"
            )
        )
        lines.append(
            f"• {when} with {booking.interviewer.name}: {booking.status}"
            + (f" ({reminders} reminder(s) planned)" if booking.status == "booked" else "")
        )
    waiting = s.scalar(
        select(func.count()).select_from(BookingInvitation).where(
            BookingInvitation.candidate_id == candidate_id,
            BookingInvitation.status.not_in(["booked", "closed"]),
        )
    )
    if waiting:
        lines.append(f"• Invitations to book an interview, not booked yet: {waiting}")
    return lines if len(lines) > 1 else []


def _others(rows: dict[str, list[Any]]) -> list[str]:
    extra = [(name, len(r)) for name, r in rows.items() if name not in _COVERED and r]
    receipts = len(rows.get("message_receipts", []))
    self_id = bool(rows.get("self_identifications"))
    decisions = len(rows.get("decision_log", []))
    if not extra and not receipts and not self_id and not decisions:
        return []
    lines = ["OTHER RECORDS (export your data to see them in full)"]
    if self_id:
        lines.append(
            "• Your voluntary self-identification (sex, race/ethnicity): sealed under a key of "
            "its own and only counted in anonymous bias-audit totals; /selfid shows, changes "
            "or deletes it"
        )
    if decisions:
        lines.append(
            f"• {decisions} decision-log entries: each automated decision about your "
            "applications (knockout, score, place in a shortlist) and each decision by a "
            "person, with the model versions used (kept at least six months)"
        )
    if receipts:
        lines.append(
            f"• Receipts for {receipts} of your interview messages (when each arrived, kept "
            f"{RECEIPT_RETENTION_DAYS} days, so that a message delivered twice counts once)"
        )
    lines.extend(f"• {name.replace('_', ' ')}: {count}" for name, count in extra)
    return lines


# --------------------------------------------------------------------------- messages
def split_messages(sections: Iterable[list[str]], limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Sections (lists of lines) packed into messages of at most `limit` characters: whole
    sections when they fit, else line by line, and an over-long line is cut."""
    messages: list[str] = []
    current = ""

    def push(block: str) -> None:
        nonlocal current
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            return
        if current:
            messages.append(current)
        current = ""
        if len(block) <= limit:
            current = block
            return
        for line in block.split("\n"):
            while len(line) > limit:
                if current:
                    messages.append(current)
                    current = ""
                messages.append(line[:limit])
                line = line[limit:]
            joined = f"{current}\n{line}" if current else line
            if len(joined) <= limit:
                current = joined
            else:
                messages.append(current)
                current = line

    for section in sections:
        if section:
            push("\n".join(section))
    if current:
        messages.append(current)
    return messages


def summarize(db: Database, sender_id: str) -> list[str]:
    """Everything stored about the person behind `sender_id`, as chat messages of at most
    3,500 characters each. Logs an access request, completed at once."""
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None:
            return [NOTHING_STORED]
        candidate_id = candidate.id
    matches = _job_matches(db, sender_id)
    with db.transaction() as s:
        candidate = s.get(Candidate, candidate_id)
        if candidate is None:  # deleted in between
            return [NOTHING_STORED]
        request = open_request(s, candidate, Kind.ACCESS, channel_of(sender_id))
        complete(request, RequestStatus.COMPLETED)
        s.flush()
        rows = candidate_rows(s, candidate_id)
        apps = ApplicationRepository(s).for_candidate(candidate_id)
        apps.sort(key=lambda a: (a.created_at, a.id))
        sections: list[list[str]] = [
            [
                f"Here is everything I store about you, as of {_day(datetime.now(UTC))}. "
                'To get it all as a file, say "export my data".'
            ],
            _profile(s, candidate, sender_id),
            _settings(candidate),
        ]
        if not apps:
            sections.append(["APPLICATIONS", "• None."])
        sections.extend(_application(s, app) for app in apps)
        sections.append(_consents(s, candidate_id))
        sections.append(_matching(matches))
        sections.append(_reviews(s, candidate_id))
        sections.append(_employer(s, candidate_id, rows))
        sections.append(_bookings(s, candidate_id))
        sections.append(_requests(s, candidate_id, rows))
        sections.append(_others(rows))
    logger.info("access request %s answered", request.id)
    return split_messages(sections)


def _job_matches(db: Database, sender_id: str) -> tuple[Any, list[Any]] | None:
    from screening.job_fit import JobFitService

    try:
        return JobFitService(db).matches(sender_id)
    except Exception as exc:  # the summary must not fail because matching did
        logger.warning("job matching unavailable for the summary (%s)", type(exc).__name__)
        return None
