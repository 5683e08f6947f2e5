"""Résumé text extraction (screening.documents): real PDF and DOCX files, and hostile ones."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from screening.documents import (
    MAX_DOCUMENT_BYTES,
    MAX_PAGES,
    DocumentError,
    ExtractedDocument,
    extract_text,
    fit_answer,
)
from tests.channels.docs_support import docx_bytes, pdf_bytes

CV = [
    "Ada Example - Backend engineer",
    "2019-2024: PostgreSQL and Python at Acme (payments, 40k requests/s)",
    "Skills: Python, PostgreSQL, Redis, Kubernetes",
]


def test_pdf_text_is_extracted() -> None:
    doc = extract_text(pdf_bytes(*CV), "cv.pdf", "application/pdf")
    assert doc.kind == "pdf" and doc.pages == 1 and not doc.truncated
    for line in CV:
        assert line in doc.text


def test_docx_text_is_extracted_including_tables() -> None:
    import docx

    document = docx.Document()
    for line in CV:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Languages"
    table.rows[0].cells[1].text = "English, Dutch"
    buffer = io.BytesIO()
    document.save(buffer)
    doc = extract_text(buffer.getvalue(), "cv.docx", None)
    assert doc.kind == "docx"
    assert all(line in doc.text for line in CV) and "Languages | English, Dutch" in doc.text


def test_kind_is_decided_by_content_not_by_name() -> None:
    assert extract_text(pdf_bytes(*CV), "cv.docx", "image/png").kind == "pdf"
    assert extract_text(docx_bytes(*CV), "cv.pdf", "application/pdf").kind == "docx"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "cv.pdf", "empty"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "me.png", "can't read that type"),
        (b"\xd0\xcf\x11\xe0 old word", "cv.doc", "old Word"),
        (b"%PDF-1.4 garbage garbage", "cv.pdf", "couldn't read that PDF"),
        (b"PK\x03\x04 not a zip", "cv.docx", "damaged"),
        (pdf_bytes(""), "blank.pdf", "couldn't find any text"),
        (pdf_bytes("x", pages=MAX_PAGES + 1), "long.pdf", "pages"),
    ],
)
def test_unusable_files_get_a_clear_message(data: bytes, name: str, message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        extract_text(data, name, None)


def test_too_large_is_refused_before_parsing() -> None:
    with pytest.raises(DocumentError, match="too large"):
        extract_text(b"%PDF-" + b"0" * MAX_DOCUMENT_BYTES, "big.pdf", None)


def test_docx_zip_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<a/>")
        zf.writestr("word/bomb.bin", b"\0" * (60 * 1024 * 1024))
    with pytest.raises(DocumentError, match="too large inside"):
        extract_text(buffer.getvalue(), "cv.docx", None)


def test_random_bytes_never_crash() -> None:
    rng = random.Random(6)
    good_pdf, good_docx = pdf_bytes(*CV), docx_bytes(*CV)
    for n in range(300):
        base = good_pdf if n % 2 else good_docx
        data = bytearray(base)
        for _ in range(rng.randint(1, 40)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if n % 7 == 0:
            data = data[: rng.randrange(1, len(data))]
        try:
            doc = extract_text(bytes(data), "cv", None)
        except DocumentError as exc:
            assert str(exc)
        else:
            assert isinstance(doc.text, str)


def test_fit_answer_cuts_at_a_boundary_and_says_so() -> None:
    doc = ExtractedDocument("word " * 3000, "pdf", 1)
    text, cut = fit_answer(doc, 4000)
    assert cut and len(text) <= 4000 and text.endswith("word")
    short, cut = fit_answer(ExtractedDocument("short text here", "pdf", 1), 4000)
    assert short == "short text here" and not cut
