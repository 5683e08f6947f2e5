"""Importing job files into the database: validated, idempotent and versioned.

A job's identity is its slug; its *version* changes whenever the validated content changes
(content hash). Interviews keep the version they started with, so editing a job never changes
the questions under a candidate's feet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from screening.job_schema import JobDefinition, content_hash, load_job_path
from storage.db import Database
from storage.models import Job, Organization
from storage.repositories import JobRepository


@dataclass(frozen=True)
class ImportResult:
    slug: str
    version: int
    status: str  # created | new_version | unchanged
    path: str


def import_jobs(db: Database, path: Path) -> list[ImportResult]:
    """Validate every job file under `path` first, then import them in one transaction.

    Raises JobFileError before anything is written if any file is invalid.
    """
    loaded = load_job_path(path)
    results: list[ImportResult] = []
    with db.transaction() as s:
        repo = JobRepository(s)
        for file_path, job in loaded:
            results.append(_import_one(s, repo, file_path, job))
    return results


def _import_one(s, repo: JobRepository, file_path: Path, job: JobDefinition) -> ImportResult:  # type: ignore[no-untyped-def]
    org = repo.organization(job.organization.id)
    if org is None:
        org = Organization(slug=job.organization.id, name=job.organization.name)
        s.add(org)
    org.name = job.organization.name
    org.contact_email = job.organization.contact_email
    org.retention_days = job.organization.retention_days
    s.flush()
    digest = content_hash(job)
    current = repo.current(job.id)
    if current is not None and current.content_hash == digest:
        return ImportResult(job.id, current.version, "unchanged", str(file_path))
    version = repo.latest_version(job.id) + 1
    if current is not None:
        current.is_current = False
        s.flush()
    s.add(
        Job(
            organization_id=org.id,
            slug=job.id,
            version=version,
            is_current=True,
            content_hash=digest,
            title=job.title,
            location=job.location,
            definition=job.model_dump(mode="json"),
            source_path=str(file_path),
        )
    )
    s.flush()
    return ImportResult(
        job.id, version, "created" if version == 1 else "new_version", str(file_path)
    )


def list_jobs(db: Database) -> list[dict[str, object]]:
    with db.transaction() as s:
        return [
            {
                "id": j.slug,
                "version": j.version,
                "title": j.title,
                "organization": j.organization.name,
                "location": j.location,
                "questions": len(j.definition.get("questions", [])),
                "loaded_at": j.created_at.isoformat(),
            }
            for j in JobRepository(s).list_current()
        ]
