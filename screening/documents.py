"""Text out of a résumé file (PDF or DOCX), for questions that accept one.

The text becomes the answer to the question, so it is personal data like any answer: sealed at
rest, exported and deleted with the application. The file itself is not kept (data
minimisation): the employer reads the extracted text, and the candidate can send a new file to
replace it. Extraction runs on untrusted input, so it is bounded everywhere: file size, pages,
uncompressed size inside a DOCX (a zip), and the length of the text; anything unreadable,
encrypted or empty gets a message the candidate can act on.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

logger = logging.getLogger("parley.documents")

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_PAGES = 30
MAX_DOCX_UNCOMPRESSED = 50 * 1024 * 1024
MAX_TEXT_CHARS = 50_000
MIN_TEXT_CHARS = 20

PDF_MIMES = {"application/pdf", "application/x-pdf"}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SUPPORTED_HINT = "Please send your CV as a PDF or a Word (.docx) file."


class DocumentError(ValueError):
    """The file cannot be used; `str()` is a message for the candidate."""


@dataclass(frozen=True)
class ExtractedDocument:
    text: str
    kind: Literal["pdf", "docx"]
    pages: int
    truncated: bool = False


def detect_kind(data: bytes, filename: str | None, mime: str | None) -> Literal["pdf", "docx"]:
    """PDF or DOCX by content (the name and MIME type are the sender's claim, not proof)."""
    if data[:5] == b"%PDF-":
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
    name = (filename or "").lower()
    if name.endswith(".doc") or (mime or "") == "application/msword":
        raise DocumentError(
            "That looks like an old Word (.doc) file, which I can't read. Please save it as "
            ".docx or PDF and send it again."
        )
    if name.endswith((".pdf", ".docx")) or (mime or "") in PDF_MIMES | {DOCX_MIME}:
        raise DocumentError("I couldn't open that file: it seems damaged. " + SUPPORTED_HINT)
    raise DocumentError("I can't read that type of file. " + SUPPORTED_HINT)


def _tidy(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch >= " ")
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _pdf_text(data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise DocumentError(
                        "That PDF is password-protected. Please send a copy without a password."
                    )
            except DocumentError:
                raise
            except Exception:
                raise DocumentError(
                    "That PDF is password-protected. Please send a copy without a password."
                ) from None
        pages = reader.pages
        count = len(pages)
        if count > MAX_PAGES:
            raise DocumentError(
                f"That document has {count} pages; a CV of up to {MAX_PAGES} pages, please."
            )
        parts: list[str] = []
        size = 0
        for page in pages:
            part = page.extract_text() or ""
            parts.append(part)
            size += len(part)
            if size > MAX_TEXT_CHARS:
                break
        return "\n\n".join(parts), count
    except DocumentError:
        raise
    except (PdfReadError, Exception) as exc:  # pypdf raises many types on hostile input
        logger.info("pdf unreadable: %s", type(exc).__name__)
        raise DocumentError("I couldn't read that PDF. " + SUPPORTED_HINT) from None


def _docx_text(data: bytes) -> tuple[str, int]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            if sum(info.file_size for info in zf.infolist()) > MAX_DOCX_UNCOMPRESSED:
                raise DocumentError("That Word file is too large inside. " + SUPPORTED_HINT)
        import docx

        document = docx.Document(io.BytesIO(data))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                parts.append(" | ".join(cell.text for cell in row.cells))
        return "\n".join(parts), 1
    except DocumentError:
        raise
    except Exception as exc:  # zip, XML and docx errors on hostile input
        logger.info("docx unreadable: %s", type(exc).__name__)
        raise DocumentError("I couldn't read that Word file. " + SUPPORTED_HINT) from None


def extract_text(
    data: bytes, filename: str | None = None, mime: str | None = None
) -> ExtractedDocument:
    """The readable text of a PDF or DOCX résumé, tidied and capped at MAX_TEXT_CHARS."""
    if not data:
        raise DocumentError("That file is empty. " + SUPPORTED_HINT)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            f"That file is too large ({len(data) / 1_048_576:.1f} MB); the limit is "
            f"{MAX_DOCUMENT_BYTES // 1_048_576} MB."
        )
    kind = detect_kind(data, filename, mime)
    raw, pages = _pdf_text(data) if kind == "pdf" else _docx_text(data)
    text = _tidy(raw)
    if len(text) < MIN_TEXT_CHARS:
        raise DocumentError(
            "I couldn't find any text in that file (a scanned image has none). Please send a "
            "PDF or Word file with selectable text, or type the main points instead."
        )
    truncated = len(text) > MAX_TEXT_CHARS
    return ExtractedDocument(text[:MAX_TEXT_CHARS], kind, pages, truncated)


def fit_answer(document: ExtractedDocument, max_chars: int) -> tuple[str, bool]:
    """The document's text cut to the question's length limit at a line or word boundary;
    True when something was cut (the candidate is told)."""
    text = document.text
    if len(text) <= max_chars and not document.truncated:
        return text, False
    cut = text[:max_chars]
    for sep in ("\n", " "):
        at = cut.rfind(sep)
        if at > max_chars * 0.8:
            cut = cut[:at]
            break
    return cut.rstrip(), True
