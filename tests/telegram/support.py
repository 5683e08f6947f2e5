"""Helpers for the Telegram tests: an open application at a chosen question, and résumé files
made from scratch (a hand-written PDF with a text stream, a DOCX from python-docx)."""

from __future__ import annotations

import io

from screening.catalog import import_jobs
from storage.db import Database
from storage.models import Application
from storage.repositories import CandidateRepository, JobRepository
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


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF written by hand: catalog, pages, page, a Helvetica text stream."""
    shown = " ".join(f"({_pdf_escape(line)}) '" for line in lines)
    content = f"BT /F1 11 Tf 72 750 Td 14 TL {shown} ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(content.encode('latin-1'))} >>\nstream\n{content}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def minimal_docx(paragraphs: list[str]) -> bytes:
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
