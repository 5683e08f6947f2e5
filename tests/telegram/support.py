"""Helpers for the Telegram tests: an open application at a chosen question, and résumé files
made from scratch (a hand-written PDF with a text stream, a DOCX from python-docx)."""

from __future__ import annotations

from screening.catalog import import_jobs
from storage.db import Database
from storage.models import Application
from storage.repositories import CandidateRepository, JobRepository
from tests.channels.docs_support import docx_bytes, pdf_bytes
from tests.telegram.harness import JOBS_DIR


def open_application(db: Database, sender_id: str, slug: str = "cv-role", index: int = 0) -> str:
    """A candidate for `sender_id` with an open application waiting at question `index`."""
    if slug == "cv-role":
        with db.transaction() as s:
            known = JobRepository(s).current(slug) is not None
        if not known:
            import_jobs(db, JOBS_DIR)
    with db.transaction() as s:
        candidate = CandidateRepository(s).get_or_create(sender_id)
        job = JobRepository(s).current(slug)
        assert job is not None
        s.add(
            Application(
                candidate_id=candidate.id, job_id=job.id, status="in_progress", current_index=index
            )
        )
        return candidate.id


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF written by hand (tests/channels/docs_support.py)."""
    return pdf_bytes(*lines)


def minimal_docx(paragraphs: list[str]) -> bytes:
    return docx_bytes(*paragraphs)
