"""Helpers for the rights tests (summary, export, second factor, contacts): settings, people
with data, and reading the codes that were delivered (outbox rows, .eml files)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from parley.settings import Settings
from privacy import outbox
from privacy.requests import Kind, RequestStatus, open_request
from storage.db import Database
from storage.models import ChannelIdentity, Contact, Job, PrivacyRequest
from storage.repositories import CandidateRepository, channel_of

CODE_RE = re.compile(r"code is (\d{3}) (\d{3})")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "var_dir": tmp_path / "var",
        "smtp_url": "",
        "mail_from": "privacy@parley.test",
        "public_url": "https://parley.example/",
        "export_link_minutes": 30,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def person(db: Database, sender_id: str, *others: str, email: str | None = None) -> str:
    """A candidate with `sender_id`, more linked sender ids, and optionally a verified
    email; returns the candidate id."""
    with db.transaction() as s:
        candidate = CandidateRepository(s).get_or_create(sender_id)
        for other in others:
            s.add(
                ChannelIdentity(
                    candidate_id=candidate.id, sender_id=other, channel=channel_of(other)
                )
            )
        if email:
            s.add(
                Contact(
                    candidate_id=candidate.id,
                    kind="email",
                    value=email,
                    verified_at=datetime.now(UTC),
                )
            )
        return candidate.id


def open_export(db: Database, sender_id: str, kind: Kind = Kind.EXPORT) -> str:
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        assert candidate is not None
        return open_request(s, candidate, kind, channel_of(sender_id), status=RequestStatus.OPEN).id


def request_row(db: Database, request_id: str) -> PrivacyRequest:
    with db.transaction() as s:
        row = s.get(PrivacyRequest, request_id)
        assert row is not None
        return row


def outbox_texts(db: Database, sender_id: str) -> list[str]:
    with db.transaction() as s:
        return [r.text for r in outbox.pending(s, sender_id)]


def code_from_outbox(db: Database, sender_id: str) -> str:
    texts = outbox_texts(db, sender_id)
    assert texts, f"no message for {sender_id}"
    match = CODE_RE.search(texts[-1])
    assert match, texts[-1]
    return match.group(1) + match.group(2)


def mailbox(settings: Settings) -> list[email.message.EmailMessage]:
    folder = Path(settings.var_dir) / "mail"
    if not folder.is_dir():
        return []
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    ]


def code_from_mail(message: email.message.Message) -> str:
    body = message.get_content() if hasattr(message, "get_content") else str(message)
    match = CODE_RE.search(body)
    assert match, body
    return match.group(1) + match.group(2)


def any_job_id(db: Database, slug: str | None = None) -> int:
    from sqlalchemy import select

    with db.transaction() as s:
        stmt = select(Job.id).where(Job.is_current)
        if slug:
            stmt = stmt.where(Job.slug == slug)
        job_id = s.scalar(stmt.order_by(Job.id))
        assert job_id is not None
        return job_id


# --------------------------------------------------------------------------- SMTP
class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
