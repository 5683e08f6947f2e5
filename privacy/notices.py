"""Privacy-notice versions: publishing, the version in force, re-consent and history.

Why versions live in a table and not only in code (privacy.notice.NOTICE_VERSION): a consent
is only meaningful with the text it was given to, a change must be announced before it takes
effect (30 days for a major change, as the policies we follow promise), and a major change
needs the candidate's agreement again before their data is processed under it. The version in
code is seeded as the first row the first time anything asks, so an existing install needs no
manual step.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privacy import outbox
from privacy.notice import NOTICE_VERSION
from privacy.requests import Kind, complete, open_request
from storage.db import Database
from storage.models import (
    Application,
    Candidate,
    ChannelIdentity,
    ConsentRecord,
    Job,
    NoticeVersion,
)
from storage.repositories import PRACTICE_CONSENT_SUFFIX, CandidateRepository, channel_of

MAX_VERSION_CHARS = 40
MAX_SUMMARY_CHARS = 2000
MAJOR_NOTICE_DAYS = 30
# A candidate is "active" (told about a new version) with an open application or one touched
# within this many days; older, finished applications are not worth a message.
RECENT_DAYS = 90
# Letters, digits, dots, dashes and underscores: safe in a chat message, a file name and a
# CLI argument. "+" is reserved (practice consents are recorded as "<version>+practice").
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_OPEN = ("age_check", "in_progress", "paused")
OUTBOX_KIND = "notice"


class NoticeError(ValueError):
    """A version that cannot be published; the message says why, for the operator."""


@dataclass(frozen=True)
class PublishResult:
    version: str
    effective_at: datetime
    major: bool
    notified: int  # candidates told (one outbox message each)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def day(value: datetime | date) -> str:
    """22 November 2026 — unambiguous in every locale the chat reaches."""
    return f"{value.day} {value:%B %Y}"


def base_version(recorded: str) -> str:
    """The notice version a consent record refers to ("v+practice" → "v")."""
    return recorded.removesuffix(PRACTICE_CONSENT_SUFFIX)


# --------------------------------------------------------------------------- versions
def _seed(s: Session) -> None:
    """Record the version in code as the first published version when it is missing. Two
    processes may race here: the loser's insert fails on the primary key inside a savepoint
    and is simply dropped."""
    if s.get(NoticeVersion, NOTICE_VERSION) is not None:
        return
    try:
        effective = datetime.fromisoformat(NOTICE_VERSION).replace(tzinfo=UTC)
    except ValueError:
        effective = _now()
    try:
        with s.begin_nested():
            s.add(
                NoticeVersion(
                    version=NOTICE_VERSION,
                    effective_at=min(effective, _now()),
                    major=False,
                    summary="The first published version of the privacy notice.",
                )
            )
    except IntegrityError:
        pass


def versions(s: Session) -> list[NoticeVersion]:
    """Every published version, newest effective date first."""
    _seed(s)
    rows = list(s.scalars(select(NoticeVersion)))
    rows.sort(key=lambda v: (_aware(v.effective_at), _aware(v.published_at)), reverse=True)
    return rows


def _in_force(s: Session, now: datetime | None = None) -> list[NoticeVersion]:
    current = now or _now()
    return [v for v in versions(s) if _aware(v.effective_at) <= current]


def current_version(s: Session) -> str:
    """The version in force now: the newest one whose effective date has come. This is the
    version a consent given now is recorded with (the one shown in the notice)."""
    in_force = _in_force(s)
    return in_force[0].version if in_force else NOTICE_VERSION


def current_notice(s: Session) -> NoticeVersion | None:
    in_force = _in_force(s)
    return in_force[0] if in_force else None


# --------------------------------------------------------------------------- publishing
def publish(
    db: Database,
    version: str,
    effective_at: datetime | date,
    major: bool,
    summary: str,
    *,
    allow_short_notice: bool = False,
    now: datetime | None = None,
) -> PublishResult:
    """Record a new notice version and tell the active candidates on their channel.

    A major version needs at least 30 days' notice (effective on day 30 or later): the
    candidates must have time to read it, and to object or leave, before it applies to them.
    `allow_short_notice=True` overrides that — for a change the law forces on us sooner, and
    only as the operator's explicit decision (the CLI should make it a visible flag). Minor
    versions may take effect at once. Raises NoticeError for an invalid or duplicate version.
    """
    version = (version or "").strip()
    if not version:
        raise NoticeError("The version must not be empty.")
    if len(version) > MAX_VERSION_CHARS:
        raise NoticeError(f"The version must be at most {MAX_VERSION_CHARS} characters.")
    if not _VERSION.fullmatch(version):
        raise NoticeError(
            "The version may only contain letters, digits, '.', '-' and '_' (and must start "
            "with a letter or digit)."
        )
    summary = (summary or "").replace("\x00", "").strip()
    if len(summary) > MAX_SUMMARY_CHARS:
        raise NoticeError(f"The summary must be at most {MAX_SUMMARY_CHARS} characters.")
    if isinstance(effective_at, datetime):
        effective = _aware(effective_at)
    else:
        effective = datetime(effective_at.year, effective_at.month, effective_at.day, tzinfo=UTC)
    current = now or _now()
    # Counted in days: "30 days' notice" announced today may take effect on day 30.
    earliest = (current + timedelta(days=MAJOR_NOTICE_DAYS)).date()
    if major and not allow_short_notice and effective.date() < earliest:
        raise NoticeError(
            f"A major version needs at least {MAJOR_NOTICE_DAYS} days' notice: the earliest "
            f"effective date is {day(earliest)} (or override "
            "it explicitly when the law requires a faster change)."
        )
    try:
        with db.transaction() as s:
            _seed(s)
            if s.get(NoticeVersion, version) is not None:
                raise NoticeError(f"Version {version} is already published.")
            s.add(
                NoticeVersion(
                    version=version,
                    effective_at=effective,
                    major=major,
                    summary=summary or "The privacy notice was updated.",
                    published_at=current,
                )
            )
            s.flush()
            notified = _announce(s, version, effective, major, summary, current)
    except IntegrityError as exc:  # published concurrently by someone else
        raise NoticeError(f"Version {version} is already published.") from exc
    forget_major_versions()
    return PublishResult(version=version, effective_at=effective, major=major, notified=notified)


def active_candidates(s: Session, now: datetime | None = None) -> list[Candidate]:
    """Candidates with an open application (or practice run) or one touched recently, who
    have not been erased and have not withdrawn their consent."""
    since = (now or _now()) - timedelta(days=RECENT_DAYS)
    ids = set(
        s.scalars(
            select(Application.candidate_id).where(
                (Application.status.in_(_OPEN)) | (Application.updated_at >= since)
            )
        )
    )
    if not ids:
        return []
    return list(
        s.scalars(
            select(Candidate)
            .where(
                Candidate.id.in_(ids),
                Candidate.erased_at.is_(None),
                Candidate.consent_withdrawn_at.is_(None),
            )
            .order_by(Candidate.id)
        )
    )


def latest_sender(s: Session, candidate_id: str) -> str | None:
    """The candidate's most recently linked sender id: the channel they use now."""
    return s.scalars(
        select(ChannelIdentity.sender_id)
        .where(ChannelIdentity.candidate_id == candidate_id)
        .order_by(ChannelIdentity.created_at.desc(), ChannelIdentity.id.desc())
    ).first()


def announcement(version: str, effective: datetime, major: bool, summary: str) -> str:
    what = summary or "The privacy notice was updated."
    if major:
        return (
            f"We're changing our privacy notice (version {version}), from {day(effective)}: "
            f"{what}\nThis is a significant change, so before we process your data under it "
            "we'll ask for your agreement — the next time you continue an application on or "
            "after that date. If you don't agree, we stop processing your data, and you can "
            "ask us to delete it at any time ('delete everything'). Say 'privacy notice "
            "history' to see every version."
        )
    return (
        f"We've updated our privacy notice (version {version}, from {day(effective)}): {what}\n"
        "This doesn't change what you agreed to, so there's nothing you need to do. Say "
        "'privacy notice history' to see every version."
    )


def _announce(
    s: Session, version: str, effective: datetime, major: bool, summary: str, now: datetime
) -> int:
    text = announcement(version, effective, major, summary)
    told = 0
    for candidate in active_candidates(s, now):
        sender = latest_sender(s, candidate.id)
        if sender is None:
            continue
        outbox.enqueue(s, candidate.id, sender, OUTBOX_KIND, text)
        told += 1
    return told


# --------------------------------------------------------------------------- re-consent
def latest_consent(s: Session, candidate_id: str) -> ConsentRecord | None:
    """The candidate's newest consent record for real applications (practice consents are
    to the practice notice, a different text)."""
    rows = s.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.candidate_id == candidate_id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    )
    return next((r for r in rows if not r.notice_version.endswith(PRACTICE_CONSENT_SUFFIX)), None)


# Every interview turn asks whether a major version is in force; nearly always none is. The
# answer (the effective dates of all major versions, future ones included) is cached per
# process for MAJOR_CACHE_SECONDS, so a turn costs no query for it. Publishing in this
# process clears the cache; another process (`parley privacy notice publish`) is seen within
# that time — far less than the 30 days' notice a major version gets.
MAJOR_CACHE_SECONDS = 30.0
_major_cache: dict[str, tuple[float, tuple[datetime, ...]]] = {}  # database URL → dates
_major_lock = threading.Lock()


def forget_major_versions() -> None:
    with _major_lock:
        _major_cache.clear()


def major_version_in_force(db: Database, now: datetime | None = None) -> bool:
    """Whether any major version has taken effect (cached; see MAJOR_CACHE_SECONDS)."""
    with _major_lock:
        cached = _major_cache.get(db.url)
    if cached is None or time.monotonic() - cached[0] > MAJOR_CACHE_SECONDS:
        with db.transaction() as s:
            dates = tuple(
                _aware(d)
                for d in s.scalars(select(NoticeVersion.effective_at).where(NoticeVersion.major))
            )
        cached = (time.monotonic(), dates)
        with _major_lock:
            _major_cache[db.url] = cached
    current = now or _now()
    return any(d <= current for d in cached[1])


def reconsent_needed(s: Session, candidate_id: str) -> NoticeVersion | None:
    """The major version in force that the candidate has not agreed to yet, or None.

    Their latest consent is to some version; if a major version took effect after that one,
    their data may not be processed under it until they agree again. A consent to a version
    we do not know (never published) counts as older. No consent at all: None — the ordinary
    consent step handles someone who never agreed.
    """
    consent = latest_consent(s, candidate_id)
    if consent is None or not consent.granted:
        return None
    in_force = _in_force(s)
    major = next((v for v in in_force if v.major), None)
    if major is None:
        return None
    agreed = s.get(NoticeVersion, base_version(consent.notice_version))
    if agreed is not None and _aware(agreed.effective_at) >= _aware(major.effective_at):
        return None
    return major


# --------------------------------------------------------------------------- history
def history(db: Database, sender_id: str) -> str:
    """Every notice version (dates, major or minor, what changed) and the sender's own
    consent history. Logged as an access request when the sender is a candidate."""
    with db.transaction() as s:
        lines = ["Privacy notice versions (newest first):"]
        current = current_version(s)
        for v in versions(s):
            kind = "major change" if v.major else "minor change"
            state = (
                " — in force now"
                if v.version == current
                else (" — coming" if _aware(v.effective_at) > _now() else "")
            )
            lines.append(
                f"• {v.version} ({kind}), effective {day(_aware(v.effective_at))}{state}: "
                f"{v.summary}"
            )
        candidate = CandidateRepository(s).by_sender(sender_id)
        if candidate is None or candidate.erased_at is not None:
            lines.append("\nI have no consent of yours on record.")
            return "\n".join(lines)
        request = open_request(
            s, candidate, Kind.ACCESS, channel_of(sender_id), detail={"what": "consent history"}
        )
        records = list(
            s.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.candidate_id == candidate.id)
                .order_by(ConsentRecord.recorded_at, ConsentRecord.id)
            )
        )
        titles = dict(s.execute(select(Job.id, Job.title)).all()) if records else {}
        lines.append("\nYour consent history:")
        if not records:
            lines.append("• (none recorded)")
        for r in records:
            practice = r.notice_version.endswith(PRACTICE_CONSENT_SUFFIX)
            what = "agreed to" if r.granted else "withdrew or refused consent under"
            scope = ""
            if r.job_id is not None and r.job_id in titles:
                scope = (
                    f" (practice run for {titles[r.job_id]})"
                    if practice
                    else (f" (application for {titles[r.job_id]})")
                )
            lines.append(
                f"• {day(_aware(r.recorded_at))}: {what} version "
                f"{base_version(r.notice_version)}{scope}"
            )
        complete(request)
        return "\n".join(lines)
