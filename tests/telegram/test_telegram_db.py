"""The gateway with the app database (SQLite and PostgreSQL): résumés where a question asks
for one, file size limits, the outbox, and linking a Telegram chat to an application."""

from __future__ import annotations

import logging

from bot.telegram.gateway import TelegramConfig
from bot.telegram.media import NO_DOCUMENT_HERE, too_large
from parley import telegram_standin as tg
from privacy import outbox
from screening import channel_links
from storage.db import Database
from storage.models import ChannelIdentity, OutboundMessage
from storage.repositories import CandidateRepository
from tests.telegram.harness import CHAT, run, telegram
from tests.telegram.support import minimal_docx, minimal_pdf, open_application

SENDER = f"telegram:{CHAT}"
PDF_MIME = "application/pdf"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CV_LINES = [
    "Casey Example - Backend Engineer",
    "Experience: eight years building Python services with PostgreSQL and Redis.",
    "Led a team of four; moved the deploys to Kubernetes; cut p95 latency by half.",
    "Education: BSc Computer Science, Testville University.",
]


def send_file(h, data: bytes, name: str, mime: str, size: int | None = None) -> None:
    file_id = h.standin.add_file(data, f"documents/{name}")
    h.send(
        tg.document_update(
            CHAT, file_id, size=len(data) if size is None else size, file_name=name, mime=mime
        )
    )


def test_resume_pdf_becomes_the_answer_cut_to_the_question(db: Database, standin, rasa, caplog):
    open_application(db, SENDER, index=0)  # cv-role: the CV question, max_chars 200
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db) as h:
            send_file(h, minimal_pdf(CV_LINES), "Casey-CV.pdf", PDF_MIME)
            texts = await standin.wait_sent(2)
            assert texts[0].startswith("Thanks, I've read your CV (1 page).")
            assert "first 200 characters" in texts[0]
            (answer,) = rasa.messages()
            assert answer.startswith("Casey Example - Backend Engineer")
            assert "eight years building Python" in answer
            assert len(answer) <= 200
            assert rasa.metadata == [{"document": {"kind": "pdf", "pages": 1}}]
            assert rasa.senders() == [SENDER]

    run(scenario())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Casey" not in logged and "Python services" not in logged  # never logged


def test_resume_docx(db: Database, standin, rasa):
    open_application(db, SENDER, index=0)

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db) as h:
            send_file(h, minimal_docx(CV_LINES[:2]), "cv.docx", DOCX_MIME)
            texts = await standin.wait_sent(2)
            assert texts[0].startswith("Thanks, I've read your CV")
            assert "first" not in texts[0]  # short enough: nothing cut
            assert rasa.messages()[0].startswith("Casey Example")
            assert rasa.metadata[0]["document"]["kind"] == "docx"

    run(scenario())


def test_a_file_where_no_question_asks_for_one(db: Database, standin, rasa):
    async def scenario() -> None:
        async with telegram(standin, rasa, db=db) as h:
            send_file(h, minimal_pdf(CV_LINES), "cv.pdf", PDF_MIME)  # no application at all
            assert await standin.wait_sent(1) == [NO_DOCUMENT_HERE]
            open_application(db, SENDER, index=1)  # the motivation question
            send_file(h, minimal_pdf(CV_LINES), "cv.pdf", PDF_MIME)
            assert await standin.wait_sent(2) == [NO_DOCUMENT_HERE] * 2
            assert standin.calls_of("getFile") == []  # not even downloaded
            assert rasa.messages() == []

    run(scenario())


def test_unreadable_and_oversized_files_get_clear_messages(db: Database, standin, rasa):
    open_application(db, SENDER, index=0)
    config = TelegramConfig(max_upload_bytes=50_000)

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db, config=config) as h:
            send_file(h, b"just some text, not a CV file", "cv.txt", "text/plain")
            texts = await standin.wait_sent(1)
            assert "PDF or a Word" in texts[0]
            big = minimal_pdf(CV_LINES) + b"%" * 60_000
            send_file(h, big, "big.pdf", PDF_MIME)  # declared size over the limit
            texts = await standin.wait_sent(2)
            assert texts[1] == too_large(50_000)
            assert "The limit is 48 KB" in texts[1]
            downloads_before = len(standin.calls_of("getFile"))
            send_file(h, big, "lying.pdf", PDF_MIME, size=1000)  # declared small, is big
            texts = await standin.wait_sent(3)
            assert texts[2] == too_large(50_000)
            assert len(standin.calls_of("getFile")) == downloads_before + 1
            assert rasa.messages() == []
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_outbox_messages_are_delivered_and_marked_sent(db: Database, standin, rasa):
    candidate_id = open_application(db, SENDER, slug="test-role")
    with db.transaction() as s:
        outbox.enqueue(s, candidate_id, SENDER, "notice", "Your export is ready: https://x/e/1")
        outbox.enqueue(s, candidate_id, "web:someone-else-1", "notice", "not for Telegram")

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db):
            assert await standin.wait_sent(1, CHAT) == ["Your export is ready: https://x/e/1"]
            call = standin.calls_of("sendMessage")[0]
            assert call.params["link_preview_options"] == {"is_disabled": True}

    run(scenario())
    with db.transaction() as s:
        rows = {r.sender_id: r.sent_at for r in s.query(OutboundMessage).all()}
    assert rows[SENDER] is not None
    assert rows["web:someone-else-1"] is None


def test_link_a_telegram_chat_to_an_application_started_on_the_web(db: Database, standin, rasa):
    web_sender = "web:abcdefgh12345678"
    candidate_id = open_application(db, web_sender, slug="test-role")
    issued = channel_links.issue_code(db, web_sender)

    async def scenario() -> None:
        async with telegram(standin, rasa, db=db) as h:
            h.send(tg.text_update(CHAT, "/link"))  # nothing to link from here yet
            texts = await standin.wait_sent(1, CHAT)
            assert "nothing to link yet" in texts[0]
            h.send(tg.text_update(CHAT, "/link WRNG-CODE"))
            texts = await standin.wait_sent(2, CHAT)
            assert "isn't right" in texts[1]
            assert rasa.messages() == []  # codes never reach Rasa
            h.send(tg.text_update(CHAT, f"/link {issued.code}"))
            texts = await standin.wait_sent(4, CHAT)
            assert texts[2].startswith("Done: this chat is now linked")
            assert texts[3] == "Question 1?"  # the interview resumes here
            assert rasa.messages() == ["/start"]
            assert rasa.senders() == [SENDER]

    run(scenario())
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(SENDER)
        assert candidate is not None and candidate.id == candidate_id
        channels = {
            i.channel for i in s.query(ChannelIdentity).filter_by(candidate_id=candidate_id)
        }
        assert channels == {"web", "telegram"}
