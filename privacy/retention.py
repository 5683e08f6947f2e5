"""Retention: data is kept only as long as promised, then the purge job removes it.

- Recordings: `candidates.recording_retention_months` (12 by default, the candidate may choose
  up to 24), counted from when the answer was recorded. The file goes and `audio_ref` is
  cleared; the written answer and transcript stay (they follow the application's retention).
- Applications: the organization's `retention_days` after the application ended (completed,
  knocked out or withdrawn). The application goes with everything that hangs off it; a
  candidate left with no application at all is erased (due at once: retention has already
  waited long enough). Practice runs are the candidate's own and not under an employer's
  policy; their recordings follow the recording rule.
- Export archives: their files are deleted when their link expires (privacy.export's
  `purge_expired`; the rows stay as "expired" markers until the candidate is purged).
- Message receipts (idempotency keys, storage.models.MessageReceipt): after
  `RECEIPT_RETENTION_DAYS`. A retry or redelivery of a message comes within minutes (a
  channel redelivers for a day at most); older receipts only say when someone wrote. A legal
  hold keeps them, as it keeps everything.
- The decision log (oversight/decision_log.py): `decision_log_days` (PARLEY_DECISION_LOG_DAYS,
  365 by default, never under 183: the six months an audit of automated decisions needs).
  Its rows outlive the applications they describe (the link is cleared when an application
  is deleted); a legal hold keeps a held candidate's rows.

A candidate under a legal hold keeps everything. Candidates already erased are left to the
purge of their erasure. Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two
purge runs never work on the same row; SQLite serialises writers anyway.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from oversight import decision_log
from privacy.erasure import remove_from_use
from privacy.export import purge_expired
from privacy.holds import active_hold
from privacy.tombstones import Reason, open_erasure
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    Candidate,
    Job,
    LegalHold,
    MessageReceipt,
    Organization,
)

if TYPE_CHECKING:
    from storage.files import FileStore

log = logging.getLogger(__name__)

DEFAULT_RECORDING_MONTHS = 12
MAX_RECORDING_MONTHS = 24
ENDED = ("completed", "knocked_out", "withdrawn")
RECEIPT_RETENTION_DAYS = 30
REAL_APPLICATION = "application"


@dataclass
class RetentionReport:
    recordings: int = 0
    applications: int = 0
    candidates: int = 0
    exports: int = 0
    receipts: int = 0
    decisions: int = 0  # decision log entries past their retention

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    years, month0 = divmod(moment.month - 1 - months, 12)
    year, month = moment.year + years, month0 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def recording_months(value: int | None) -> int:
    """The candidate's setting, within what we promise (0–24; unset → 12)."""
    if value is None:
        return DEFAULT_RECORDING_MONTHS
    return max(0, min(MAX_RECORDING_MONTHS, int(value)))


def apply_retention(
    db: Database,
    files: FileStore,
    *,
    now: datetime,
    decision_log_days: int = decision_log.DEFAULT_DAYS,
) -> RetentionReport:
    report = RetentionReport()
    report.exports = purge_expired(db, files, now=now)  # privacy.export's own expiry
    report.recordings = expire_recordings(db, files, now=now)
    report.applications, report.candidates = expire_applications(db, files, now=now)
    report.receipts = expire_receipts(db, now=now)
    report.decisions = decision_log.purge_expired(db, now, decision_log_days)
    return report


def expire_receipts(db: Database, *, now: datetime) -> int:
    """Delete message receipts older than `RECEIPT_RETENTION_DAYS`, except a held
    candidate's (a hold keeps everything, even the times their messages arrived)."""
    held_applications = (
        select(Application.id)
        .join(LegalHold, LegalHold.candidate_id == Application.candidate_id)
        .where(LegalHold.released_at.is_(None))
    )
    with db.transaction() as s:
        result = s.execute(
            delete(MessageReceipt)
            .where(
                MessageReceipt.created_at < now - timedelta(days=RECEIPT_RETENTION_DAYS),
                MessageReceipt.application_id.not_in(held_applications),
            )
            .execution_options(synchronize_session=False)
        )
        count = int(result.rowcount or 0)
    if count:
        log.info("retention: %d message receipts deleted", count)
    return count


def expire_recordings(db: Database, files: FileStore, *, now: datetime) -> int:
    # The shortest retention anyone can have is 0 months: every recording older than now is
    # a candidate for the check; the per-candidate setting decides.
    count = 0
    with db.transaction() as s:
        rows = s.execute(
            select(Answer, Candidate.id, Candidate.recording_retention_months)
            .join(Application, Application.id == Answer.application_id)
            .join(Candidate, Candidate.id == Application.candidate_id)
            .where(Answer.audio_ref.is_not(None), Candidate.erased_at.is_(None))
            .with_for_update(of=Answer, skip_locked=True)
        ).all()
        held: dict[str, bool] = {}
        for answer, candidate_id, months in rows:
            cutoff = months_before(now, recording_months(months))
            if _aware(answer.answered_at) >= cutoff:
                continue
            if candidate_id not in held:
                held[candidate_id] = active_hold(s, candidate_id) is not None
            if held[candidate_id]:
                continue
            files.delete(answer.audio_ref or "")
            answer.audio_ref = None
            count += 1
    if count:
        log.info("retention: %d recordings deleted", count)
    return count


def expire_applications(db: Database, files: FileStore, *, now: datetime) -> tuple[int, int]:
    """Applications past their organization's retention; returns (applications, candidates
    erased because nothing was left)."""
    apps_deleted = 0
    emptied: set[str] = set()
    with db.transaction() as s:
        policies = s.execute(select(Organization.id, Organization.retention_days)).all()
        for org_id, days in policies:
            cutoff = now - timedelta(days=max(0, int(days)))
            apps = list(
                s.scalars(
                    select(Application)
                    .join(Job, Job.id == Application.job_id)
                    .join(Candidate, Candidate.id == Application.candidate_id)
                    .where(
                        Job.organization_id == org_id,
                        Application.mode == REAL_APPLICATION,
                        Application.status.in_(ENDED),
                        Application.finished_at.is_not(None),
                        Application.finished_at < cutoff,
                        Candidate.erased_at.is_(None),
                    )
                    .with_for_update(of=Application, skip_locked=True)
                )
            )
            for app in apps:
                if active_hold(s, app.candidate_id) is not None:
                    continue
                _delete_application_files(s, files, app)
                emptied.add(app.candidate_id)
                s.delete(app)  # answers, scores, sessions, reviews …: CASCADE
                apps_deleted += 1
        s.flush()
        erased = 0
        for candidate_id in sorted(emptied):
            if _applications_left(s, candidate_id):
                continue
            candidate = s.get(Candidate, candidate_id)
            if candidate is None or open_erasure(s, candidate_id) is not None:
                continue
            remove_from_use(
                s, files, candidate, request_id=None, reason=Reason.RETENTION, due_at=now
            )
            erased += 1
    if apps_deleted:
        log.info("retention: %d applications deleted, %d candidates erased", apps_deleted, erased)
    return apps_deleted, erased


def _delete_application_files(s: Session, files: FileStore, app: Application) -> None:
    for answer in s.scalars(select(Answer).where(Answer.application_id == app.id)):
        for ref in (answer.audio_ref, answer.transcript_ref):
            if ref:
                files.delete(ref)


def _applications_left(s: Session, candidate_id: str) -> int:
    return (
        s.scalar(
            select(func.count())
            .select_from(Application)
            .where(Application.candidate_id == candidate_id)
        )
        or 0
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
