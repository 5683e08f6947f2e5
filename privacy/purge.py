"""The purge job: finish every due erasure, and enforce retention.

For each erasure whose date has come (`due_at` ≤ now) and that no legal hold blocks:

1. Rasa's tracker-store events and Redis keys of every sender id the person used;
2. every file of the candidate (recordings, transcripts, exports);
3. every log line under `settings.log_dir` that mentions them (privacy/log_scrub.py);
4. the candidate row — ON DELETE CASCADE removes every row that references it, the data key
   (`candidate_keys`) included, which is crypto-shredding: any copy of their sealed data, in
   backups too, can no longer be read;
5. then the database is *checked*: every table of `Base.metadata` with a column that
   references `candidates.id` (or is named `candidate_id`) is counted for the id, and any row
   left fails the erasure loudly (rolled back, reported, retried next run);
6. the `erasures` row becomes a tombstone: candidate id and sender ids cleared, `purged_at`
   set, status "purged" — a keyed hash, the request id and the dates remain.

Steps 1–3 are outside the database and idempotent, so they run first: if anything fails, the
transaction is rolled back and the next run does them again. Each erasure is claimed with
`SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL) inside its own transaction, so concurrent runs
never process the same erasure twice; on SQLite the transaction's write lock does the same.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, delete, func, select
from sqlalchemy.orm import Session

from oversight import decision_log
from privacy import log_scrub, tracker
from privacy.holds import active_hold
from privacy.retention import apply_retention
from privacy.tombstones import OPEN, ErasureStatus, load_sender_ids
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    Base,
    Candidate,
    CandidateKey,
    ChannelIdentity,
    Contact,
    Correction,
    Erasure,
    HumanReview,
)

if TYPE_CHECKING:
    from parley.settings import Settings
    from storage.files import FileStore

log = logging.getLogger(__name__)
# The turn that confirmed an erasure is written to the tracker by Rasa after the action has
# returned, so "events up to the removal" includes two more minutes.
TRACKER_GRACE = timedelta(minutes=2)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# Shorter values would match unrelated log lines ("yes", "Jo").
MIN_NAME_LENGTH = 4
MIN_TEXT_LENGTH = 8


class PurgeIncomplete(RuntimeError):
    """Rows still reference a purged candidate: a table without ON DELETE CASCADE."""


@dataclass
class PurgeReport:
    """What one run did, in counts and row ids only (it is logged and printed as JSON)."""

    started_at: str = ""
    finished_at: str = ""
    purged: int = 0
    held: list[int] = field(default_factory=list)  # erasure ids blocked by a legal hold
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "erasure 7: PurgeIncomplete: answers"
    skipped: int = 0  # claimed by a concurrent run, or no longer due
    tracker_events: int = 0
    redis_keys: int = 0
    files: int = 0
    log_lines: int = 0
    retention: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def ok(self) -> bool:
        return not self.failed


def run_purge(
    db: Database,
    settings: Settings,
    files: FileStore,
    *,
    now: datetime | None = None,
    erasure_ids: list[int] | None = None,
    retention: bool = True,
) -> PurgeReport:
    """Enforce retention, then purge every due erasure (only `erasure_ids`, if given)."""
    now = now or datetime.now(UTC)
    report = PurgeReport(started_at=now.isoformat())
    if retention and erasure_ids is None:
        days = getattr(settings, "decision_log_days", decision_log.DEFAULT_DAYS)
        report.retention = apply_retention(db, files, now=now, decision_log_days=days).to_dict()
    with db.transaction() as s:
        stmt = select(Erasure.id).where(
            Erasure.status.in_([str(x) for x in OPEN]), Erasure.due_at <= now
        )
        if erasure_ids is not None:
            stmt = stmt.where(Erasure.id.in_(erasure_ids))
        due = list(s.scalars(stmt.order_by(Erasure.due_at, Erasure.id)))
    redis = _redis(settings)
    for erasure_id in due:
        try:
            _purge_one(db, settings, files, erasure_id, now, report, redis)
        except Exception as exc:  # one bad erasure must not stop the others
            report.failed.append(erasure_id)
            detail = str(exc) if isinstance(exc, PurgeIncomplete) else ""
            report.errors.append(f"erasure {erasure_id}: {type(exc).__name__} {detail}".strip())
            log.error("purge of erasure %s failed: %s", erasure_id, type(exc).__name__)
    report.finished_at = datetime.now(UTC).isoformat()
    log.info(
        "purge: %d purged, %d held, %d failed, %d skipped",
        report.purged, len(report.held), len(report.failed), report.skipped,
    )  # fmt: skip
    return report


def _purge_one(
    db: Database,
    settings: Settings,
    files: FileStore,
    erasure_id: int,
    now: datetime,
    report: PurgeReport,
    redis: Any,
) -> None:
    with db.transaction() as s:
        row = s.scalar(
            select(Erasure)
            .where(
                Erasure.id == erasure_id,
                Erasure.status.in_([str(x) for x in OPEN]),
                Erasure.due_at <= now,
            )
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if row is None:
            report.skipped += 1
            return
        candidate_id = row.candidate_id
        if candidate_id and active_hold(s, candidate_id) is not None:
            row.status = str(ErasureStatus.HELD)
            report.held.append(row.id)
            return
        sender_ids = set(load_sender_ids(s, row.sender_ids))
        needles: set[str] = set()
        if candidate_id:
            sender_ids.update(
                s.scalars(
                    select(ChannelIdentity.sender_id).where(
                        ChannelIdentity.candidate_id == candidate_id
                    )
                )
            )
            needles = personal_needles(s, candidate_id)
        needles |= {x.lower() for x in (*sender_ids, candidate_id or "") if x}
        ids = sorted(sender_ids)
        # Events after the removal (plus a grace for the turn that asked, which Rasa writes
        # after the action returns) belong to a new conversation of a reused sender id.
        removed = _aware(row.removed_at or row.requested_at)
        report.tracker_events += tracker.delete_tracker_events(
            settings.tracker_url, ids, until=removed + TRACKER_GRACE
        )
        if redis is not None:
            report.redis_keys += tracker.delete_redis_keys(
                redis, settings.lock_prefix, ids, [candidate_id] if candidate_id else []
            )
        if candidate_id:
            report.files += files.delete_candidate(candidate_id)
        report.log_lines += log_scrub.scrub_logs(settings.log_dir, needles)
        if candidate_id:
            s.execute(delete(CandidateKey).where(CandidateKey.candidate_id == candidate_id))
            db.keyring.forget(candidate_id)
            s.execute(delete(Candidate).where(Candidate.id == candidate_id))  # CASCADE
        row.candidate_id = None
        row.sender_ids = None
        row.purged_at = now
        row.status = str(ErasureStatus.PURGED)
        s.flush()
        if candidate_id:
            left = references(s, candidate_id)
            if left:
                raise PurgeIncomplete(", ".join(sorted(left)))
        report.purged += 1
        log.info("erasure %s purged", erasure_id)


def referencing_columns() -> list[Column[Any]]:
    """Every column in the schema that can hold a candidate id: foreign keys to
    `candidates.id`, any column named `candidate_id` (the tombstone's has no FK), and the
    primary key of `candidates` itself. Introspected, so a table added later is covered."""
    columns: list[Column[Any]] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            refers = any(
                fk.column.table.name == Candidate.__tablename__ for fk in column.foreign_keys
            )
            if refers or column.name == "candidate_id":
                columns.append(column)
    columns.append(Candidate.__table__.c.id)  # type: ignore[attr-defined]
    return columns


def references(s: Session, candidate_id: str) -> dict[str, int]:
    """`table.column` → rows that still hold the candidate id (empty when none do)."""
    found: dict[str, int] = {}
    for column in referencing_columns():
        count = s.scalar(
            select(func.count()).select_from(column.table).where(column == candidate_id)
        )
        if count:
            found[f"{column.table.name}.{column.name}"] = int(count)
    return found


def personal_needles(s: Session, candidate_id: str) -> set[str]:
    """What identifies the person in free text: their name, contact values and the texts
    they wrote (answers, corrections, review statements). Read through the ORM, so sealed
    values are opened with the data key that is about to be destroyed."""
    names: list[str] = []
    texts: list[str] = []
    candidate = s.get(Candidate, candidate_id)
    if candidate is not None:
        names.append(_safe(lambda: candidate.name))
    for contact in s.scalars(select(Contact).where(Contact.candidate_id == candidate_id)):
        names.append(_safe(lambda c=contact: c.value))
    answers = s.scalars(
        select(Answer)
        .join(Application, Application.id == Answer.application_id)
        .where(Application.candidate_id == candidate_id)
    )
    for answer in answers:
        texts.append(_safe(lambda a=answer: a.raw_text))
    for corr in s.scalars(select(Correction).where(Correction.candidate_id == candidate_id)):
        texts.extend([_safe(lambda c=corr: c.old_value), _safe(lambda c=corr: c.new_value)])
    for review in s.scalars(select(HumanReview).where(HumanReview.candidate_id == candidate_id)):
        texts.append(_safe(lambda r=review: r.statement))
    return log_scrub.needle_variants(names, MIN_NAME_LENGTH) | log_scrub.needle_variants(
        texts, MIN_TEXT_LENGTH
    )


def _safe(read: Any) -> str:
    """A sealed value that cannot be opened (key already gone) is unreadable anyway."""
    try:
        value = read()
    except Exception:  # e.g. KeyShredded: nothing readable to scrub
        return ""
    return value if isinstance(value, str) else ""


def _redis(settings: Settings) -> Any:
    """A Redis client, or None where there is no Redis: the embedded profile uses Rasa's
    in-memory lock store and nothing of ours lives in Redis. The prod profile requires it
    (an unreachable Redis fails the run, and the erasures are retried next time)."""
    import redis as redis_lib

    client = tracker.redis_client(settings.redis_host, settings.redis_port, settings.redis_db)
    try:
        client.ping()  # type: ignore[attr-defined]
    except redis_lib.RedisError:
        if settings.profile == "prod":
            raise
        return None
    return client
