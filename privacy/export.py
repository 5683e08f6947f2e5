"""Data portability (GDPR art. 20): everything about a candidate as a machine-readable archive.

Why introspection instead of a list of tables: the promise is "every record about you". A
table added next year that references the candidate must be exported without anyone
remembering to add it here. So the tables are found in `Base.metadata`: every table with a
`candidate_id` column, or a foreign-key chain that ends at `candidates.id` (answer_scores →
answers → applications → candidates). A row belongs to the candidate when *any* of its
paths leads to them.

Rows are read through the ORM, so sealed (encrypted) columns come out decrypted; three
secrets are left out (they are ours, not the candidate's data, and would weaken security):
the wrapped data key, the one-time-code hash and the download-token hash.

The archive is delivered as a short-lived link (`create_link` → `open_link`), never pasted
into a chat: a chat transcript is kept by the chat platform, a link expires.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Table, false, or_, select
from sqlalchemy.orm import Session

from privacy import outbox
from privacy.links import LinkExpired, LinkInvalid, new_token, token_hash
from privacy.requests import RequestStatus, complete
from privacy.verification import RequestNotFound, is_locked
from storage.db import Database
from storage.models import (
    Answer,
    Application,
    Base,
    Candidate,
    ConsentRecord,
    ExportArchive,
    Job,
    PrivacyRequest,
    new_id,
)

__all__ = [
    "EXCLUDED_COLUMNS",
    "CandidateNotFound",
    "LinkExpired",
    "LinkInvalid",
    "NotVerified",
    "build_archive",
    "candidate_rows",
    "create_link",
    "open_link",
    "purge_expired",
    "referencing_tables",
    "send_link",
    "write_export",
]

logger = logging.getLogger("parley.privacy.export")

FORMAT = "parley-export"
FORMAT_VERSION = 1
CANDIDATES = "candidates"
EXPORTS_FOLDER = "exports"
# Secrets: not the candidate's data, and harmful in a file that leaves the system.
EXCLUDED_COLUMNS = frozenset(
    {
        ("candidate_keys", "wrapped_key"),
        ("privacy_requests", "code_hash"),
        ("export_archives", "token_hash"),
        ("channel_link_codes", "code_hash"),
        ("self_id_keys", "wrapped_key"),
    }
)
# Sealed under the candidate's self-ID key, which the ORM does not open: exported in plain
# words by fairness.self_id (the candidate's own answers, e.g. "Prefer not to say").
SELF_IDENTIFICATIONS = "self_identifications"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


class FileStoreLike(Protocol):
    """`storage.files.FileStore`, as far as export uses it."""

    def write(self, candidate_id: str, name: str, data: bytes) -> str: ...
    def read(self, ref: str) -> bytes: ...
    def delete(self, ref: str) -> bool: ...
    def refs_for(self, candidate_id: str) -> list[str]: ...


class ExportSettings(Protocol):
    export_link_minutes: int

    @property
    def public_base_url(self) -> str: ...


class CandidateNotFound(LookupError):
    pass


class NotVerified(PermissionError):
    """The request has not passed the second factor (no `verified_at` in its detail)."""


# --------------------------------------------------------------------------- introspection
def referencing_tables(metadata: Any = None) -> list[Table]:
    """Every table holding rows about a candidate, `candidates` first, then in dependency
    order: `candidates` itself, tables with a `candidate_id` column (with or without a
    foreign key: the erasure tombstone has none), and tables whose foreign keys lead to one
    of those."""
    metadata = metadata if metadata is not None else Base.metadata
    found: dict[str, Table] = {}
    for table in metadata.sorted_tables:  # parents before children
        if table.name == CANDIDATES or "candidate_id" in table.c:
            found[table.name] = table
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name in found:
                found[table.name] = table
                break
    return list(found.values())


def _conditions(metadata: Any, candidate_id: str) -> dict[str, ColumnElement[bool]]:
    """Table name → "this row belongs to the candidate": OR over every path to them."""
    tables = referencing_tables(metadata)
    conds: dict[str, ColumnElement[bool]] = {}
    for table in tables:  # dependency order: a parent's condition exists before its children
        parts: list[ColumnElement[bool]] = []
        if table.name == CANDIDATES:
            parts.append(table.c.id == candidate_id)
        if "candidate_id" in table.c:
            parts.append(table.c.candidate_id == candidate_id)
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent.name == table.name or parent.name not in conds:
                continue
            if fk.parent.name == "candidate_id":
                continue  # already covered
            parts.append(
                fk.parent.in_(select(fk.column).where(conds[parent.name]).scalar_subquery())
            )
        conds[table.name] = or_(*parts) if parts else false()
    return conds


def _mapped_classes() -> dict[str, type]:
    return {
        m.local_table.name: m.class_
        for m in Base.registry.mappers
        if isinstance(m.local_table, Table)
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def candidate_rows(s: Session, candidate_id: str) -> dict[str, list[dict[str, Any]]]:
    """Table name → the candidate's rows (decrypted, JSON-ready, secrets left out), for every
    table that references the candidate; tables without rows map to an empty list."""
    classes = _mapped_classes()
    conds = _conditions(Base.metadata, candidate_id)
    out: dict[str, list[dict[str, Any]]] = {}
    for table in referencing_tables(Base.metadata):
        pk = list(table.primary_key.columns)
        columns = [c for c in table.columns if (table.name, c.name) not in EXCLUDED_COLUMNS]
        cls = classes.get(table.name)
        rows: list[dict[str, Any]] = []
        if cls is not None:
            # Through the ORM: sealed columns are decrypted on load.
            mapper = cls.__mapper__  # type: ignore[attr-defined]
            keys = {c.name: mapper.get_property_by_column(c).key for c in columns}
            for obj in s.scalars(select(cls).where(conds[table.name]).order_by(*pk)):
                rows.append({name: _jsonable(getattr(obj, key)) for name, key in keys.items()})
        else:  # a plain table (no model): nothing in it can be sealed
            stmt = select(*columns).where(conds[table.name]).order_by(*pk)
            rows = [{k: _jsonable(v) for k, v in r._mapping.items()} for r in s.execute(stmt)]
        if table.name == SELF_IDENTIFICATIONS and rows:
            from fairness import self_id  # only the export and the chat open these values

            opened = self_id.for_export(s, candidate_id)
            for row in rows:
                row.update(opened)
        if table.name == "privacy_requests":
            for row in rows:
                if isinstance(row.get("detail"), dict):
                    row["detail"] = {
                        k: v for k, v in row["detail"].items() if not str(k).startswith("_")
                    }
        out[table.name] = rows
    return out


# --------------------------------------------------------------------------- the archive
README = """\
Parley — your data export
=========================

This archive holds every record Parley stores about you, in a machine-readable form, as
required by the right to data portability (GDPR article 20). It was generated on {generated}.

Files
-----
data.json
    UTF-8 JSON. "tables" maps each database table that holds data about you to a list of
    your rows in it; each row is an object of column name → value. Every table that refers
    to you is listed, also when it is empty, so you can see what was checked. Dates and times
    are ISO 8601 in UTC. Encrypted fields are included decrypted. "jobs" lists the jobs you
    applied to or practised for, with the text of each question, so your answers (table
    "answers", columns "question_id", "raw_text", "normalized") can be read next to them.
    "excluded_columns" names the only values left out: security secrets (wrapped
    encryption keys and hashes of one-time codes and download links), which are not data
    about you. If you answered the optional self-identification questions, table
    "self_identifications" shows your answers in plain words.
transcripts/<application id>/<question id>.txt
    Each answer you gave, as plain text with its question (for spoken answers: the
    transcript).
recordings/...
    Audio recordings of your answers, if you answered by voice, as they were stored.
files/...
    Any other file stored for you.

Questions about this export, or to exercise your other rights (correction, deletion,
objection to automated decisions), ask in the chat: for example "what data do you have on
me", "delete my data" or "/privacy".
"""


@dataclass(frozen=True)
class _Job:
    id: int
    slug: str
    version: int
    title: str
    organization: str
    questions: list[dict[str, Any]]


def _jobs(s: Session, candidate_id: str) -> list[_Job]:
    from screening.interview import definition_of  # capability → capability, at use time

    ids = set(s.scalars(select(Application.job_id).where(Application.candidate_id == candidate_id)))
    ids |= {
        j
        for j in s.scalars(
            select(ConsentRecord.job_id).where(ConsentRecord.candidate_id == candidate_id)
        )
        if j is not None
    }
    jobs = []
    for job in s.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.id)) if ids else []:
        try:
            questions = [
                {
                    "id": q.id,
                    "kind": q.kind,
                    "prompt": q.prompt,
                    **({"options": list(q.options)} if hasattr(q, "options") else {}),
                }
                for q in definition_of(job).questions
            ]
        except ValueError:  # an old definition that no longer validates: still export it
            questions = [
                {"id": q.get("id"), "kind": q.get("kind"), "prompt": q.get("prompt")}
                for q in (job.definition or {}).get("questions", [])
                if isinstance(q, dict)
            ]
        jobs.append(
            _Job(job.id, job.slug, job.version, job.title, job.organization.name, questions)
        )
    return jobs


def _safe(name: str) -> str:
    return _SAFE_NAME.sub("_", name).strip("._") or "_"


def _read_file(files: FileStoreLike, ref: str) -> bytes | None:
    try:
        return files.read(ref)
    except FileNotFoundError:
        return None
    except Exception as exc:  # e.g. KeyShredded: the file can no longer be read by anyone
        logger.warning("export: a stored file could not be read (%s)", type(exc).__name__)
        return None


def build_archive(db: Database, files: FileStoreLike, candidate_id: str) -> bytes:
    """The candidate's export as ZIP bytes (data.json, transcripts, recordings, README.txt).
    Raises `CandidateNotFound` for an unknown id; a candidate with no data gets an archive
    with their (empty) tables."""
    generated = datetime.now(UTC)
    with db.transaction() as s:
        if s.get(Candidate, candidate_id) is None:
            raise CandidateNotFound(candidate_id)
        tables = candidate_rows(s, candidate_id)
        jobs = _jobs(s, candidate_id)
        prompts = {(j.id, q["id"]): q["prompt"] for j in jobs for q in j.questions}
        answers = [
            (
                f"transcripts/{_safe(app.id)}/{_safe(answer.question_id)}.txt",
                prompts.get((app.job_id, answer.question_id), answer.question_id),
                answer.transcript_ref,
                answer.raw_text,
            )
            for answer, app in s.execute(
                select(Answer, Application)
                .join(Application, Answer.application_id == Application.id)
                .where(Application.candidate_id == candidate_id)
                .order_by(Application.created_at, Answer.id)
            )
        ]
    # Files are read outside the transaction: the file store opens its own (on SQLite a
    # nested write transaction would wait for ours).
    transcripts: list[tuple[str, str]] = []
    for name, prompt, transcript_ref, raw_text in answers:
        text = None
        if transcript_ref:
            raw = _read_file(files, transcript_ref)
            text = raw.decode("utf-8", "replace") if raw is not None else None
        if text is None:
            text = raw_text
        if text:
            transcripts.append((name, f"Question: {prompt}\n\nAnswer:\n{text}\n"))
    data = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generated_at": generated.isoformat(),
        "candidate_id": candidate_id,
        "excluded_columns": sorted(f"{t}.{c}" for t, c in EXCLUDED_COLUMNS),
        "tables": tables,
        "jobs": [j.__dict__ for j in jobs],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", README.format(generated=generated.isoformat()))
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        for name, text in transcripts:
            zf.writestr(name, text)
        for name, blob in _stored_files(files, candidate_id):
            zf.writestr(name, blob)
    return buffer.getvalue()


def _stored_files(files: FileStoreLike, candidate_id: str) -> Iterable[tuple[str, bytes]]:
    """The candidate's files, except earlier export archives (copies of this very data)."""
    prefix = f"{candidate_id}/"
    for ref in sorted(files.refs_for(candidate_id)):
        name = ref[len(prefix) :] if ref.startswith(prefix) else ref
        if name.startswith(f"{EXPORTS_FOLDER}/"):
            continue
        blob = _read_file(files, ref)
        if blob is None:
            continue
        parts = [_safe(p) for p in name.split("/") if p]
        if parts and parts[0] == "recordings":
            yield "/".join(parts), blob
        else:
            yield "/".join(["files", *parts]), blob


def write_export(db: Database, files: FileStoreLike, candidate_id: str, out: Path) -> Path:
    """`parley privacy export <candidate> --out FILE`: the archive written to `out` (0600:
    it is a complete copy of someone's personal data)."""
    data = build_archive(db, files, candidate_id)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{new_id()[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


# --------------------------------------------------------------------------- links
def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def create_link(
    db: Database,
    files: FileStoreLike,
    settings: ExportSettings,
    candidate_id: str,
    request_id: str | None,
) -> str:
    """Build the archive, store it encrypted, and return a download URL valid for
    `settings.export_link_minutes`. Only the token's hash is stored.

    With a `request_id` (the chat path) the request must be the candidate's, not locked, and
    verified by the second factor (`check_code` → ok); it is then completed. `request_id=None`
    is for operators. Earlier archives of the candidate are deleted: one live copy at most."""
    if request_id is not None:
        with db.transaction() as s:
            _verified_request(s, candidate_id, request_id)
    archive = build_archive(db, files, candidate_id)
    archive_id = new_id()
    token = new_token()
    ref = files.write(candidate_id, f"{EXPORTS_FOLDER}/{archive_id}.zip", archive)
    try:
        with db.transaction() as s:
            old = list(
                s.scalars(select(ExportArchive).where(ExportArchive.candidate_id == candidate_id))
            )
            s.add(
                ExportArchive(
                    id=archive_id,
                    candidate_id=candidate_id,
                    request_id=request_id,
                    token_hash=token_hash(token),
                    path=ref,
                    expires_at=_now() + timedelta(minutes=settings.export_link_minutes),
                )
            )
            if request_id is not None:
                row = _verified_request(s, candidate_id, request_id)
                row.detail = {**(row.detail or {}), "archive_id": archive_id}
                complete(row)
            for previous in old:
                _expire(s, files, previous)
    except BaseException:
        files.delete(ref)
        raise
    logger.info("export archive %s created", archive_id)
    return f"{settings.public_base_url}export/{token}"


def _verified_request(s: Session, candidate_id: str, request_id: str) -> PrivacyRequest:
    row = s.get(PrivacyRequest, request_id)
    if row is None or row.candidate_id != candidate_id:
        raise RequestNotFound("no such request for this candidate")
    if is_locked(row):
        raise NotVerified("the request is locked")
    if row.status == RequestStatus.COMPLETED:
        raise NotVerified("the request is already completed")
    if not (row.detail or {}).get("verified_at"):
        raise NotVerified("the request has not passed the second factor")
    return row


def _expire(s: Session, files: FileStoreLike, row: ExportArchive) -> None:
    """Delete the archive's file; the row stays (so its link answers "expired", not
    "unknown") with its expiry moved to now."""
    files.delete(row.path)
    if _aware(row.expires_at) > _now():
        row.expires_at = _now()


def open_link(db: Database, files: FileStoreLike, token: str) -> bytes:
    """The archive behind a download token. Raises `LinkInvalid` (malformed or unknown
    token) or `LinkExpired` (past its expiry — the file is then deleted — or the candidate's
    data is no longer available). Counts downloads."""
    digest = token_hash(token)  # LinkInvalid for malformed tokens
    with db.transaction() as s:
        row = s.scalar(select(ExportArchive).where(ExportArchive.token_hash == digest))
        if row is None:
            raise LinkInvalid("unknown token")
        candidate = s.get(Candidate, row.candidate_id)
        expired = _aware(row.expires_at) <= _now() or candidate is None or candidate.erased_at
        if expired:
            _expire(s, files, row)
        archive_id, path = row.id, row.path
    if expired:
        raise LinkExpired("the link has expired")
    # Outside the transaction: the file store opens its own.
    try:
        data = files.read(path)
    except FileNotFoundError:
        raise LinkExpired("the archive is gone") from None
    except Exception as exc:  # KeyShredded: the candidate's data was destroyed meanwhile
        logger.warning("export archive %s unreadable (%s)", archive_id, type(exc).__name__)
        raise LinkExpired("the archive is no longer readable") from None
    with db.transaction() as s:
        row = s.get(ExportArchive, archive_id, with_for_update=True)
        if row is not None:
            row.downloads += 1
    logger.info("export archive %s downloaded", archive_id)
    return data


def purge_expired(db: Database, files: FileStoreLike, *, now: datetime | None = None) -> int:
    """Delete the files of expired archives (for the background worker). Returns how many
    archives were expired; rows stay as "expired" markers until the candidate is purged."""
    moment = now or _now()
    count = 0
    with db.transaction() as s:
        for row in s.scalars(select(ExportArchive).where(ExportArchive.expires_at <= moment)):
            if files.delete(row.path):
                count += 1
    return count


def send_link(
    db: Database,
    files: FileStoreLike,
    settings: ExportSettings,
    candidate_id: str,
    request_id: str | None,
    sender_id: str,
) -> str:
    """`create_link`, with the link delivered through the outbox to `sender_id` (the chat
    that asked) instead of returned: the token then never passes through Rasa, so it is not
    kept in the conversation's tracker. Returns the reply for the chat."""
    url = create_link(db, files, settings, candidate_id, request_id)
    minutes = settings.export_link_minutes
    with db.transaction() as s:
        outbox.enqueue(
            s,
            candidate_id,
            sender_id,
            "export_link",
            f"Your data export is ready: {url}\n\nThe link works for {minutes} minutes; "
            "after that the archive is deleted. It is a ZIP file with your data as JSON, your "
            "answers as text and any recordings (see README.txt inside).",
        )
    return (
        "Your export is ready. I'm sending the download link as a separate message in a "
        f"moment; it works for {minutes} minutes."
    )
