"""Adding and verifying contacts for the second factor (email works; phones wait for SMS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from privacy.contacts import (
    MAX_VERIFICATIONS_PER_DAY,
    add_contact,
    is_contact_verification,
    normalise_email,
    normalise_phone,
    verify_contact,
)
from privacy.requests import pending_for
from privacy.verification import send_code
from storage.db import Database
from storage.models import Contact, PrivacyRequest
from tests.privacy.rights_support import (  # noqa: F401 (smtp: a fixture)
    code_from_mail,
    free_port,
    mailbox,
    open_export,
    person,
    settings_for,
    smtp,
)

WEB = "web:alice-session-0001"


def contacts_of(db: Database, candidate_id: str) -> list[Contact]:
    with db.transaction() as s:
        return list(s.scalars(select(Contact).where(Contact.candidate_id == candidate_id)))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_add_and_verify_an_email(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    reply = add_contact(db, settings, WEB, "email", "  Alice.Smith@Example.COM ")
    assert "A•••@example.com" in reply and "10 minutes" in reply
    assert "Alice.Smith" not in reply
    (contact,) = contacts_of(db, cid)
    assert contact.value == "Alice.Smith@example.com" and contact.verified_at is None
    (message,) = mailbox(settings)
    assert message["To"] == "Alice.Smith@example.com"
    code = code_from_mail(message)
    with db.transaction() as s:
        pending = pending_for(s, cid)
        assert pending is not None and is_contact_verification(pending)
        assert code not in (pending.code_hash or "")
    # Until verified, the address is not a second factor.
    assert send_code(db, settings, open_export(db, WEB), WEB) is None
    assert "2 more tries" in verify_contact(db, WEB, wrong(code))
    reply = verify_contact(db, WEB, f"{code[:3]} {code[3:]}")
    assert "verified" in reply
    (contact,) = contacts_of(db, cid)
    assert contact.verified_at is not None
    delivery = send_code(db, settings, open_export(db, WEB), WEB)
    assert delivery is not None and delivery.description == "your email A•••@example.com"
    assert "already verified" in add_contact(db, settings, WEB, "email", "alice.smith@example.com")


def test_wrong_codes_count_down_then_lock(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    add_contact(db, settings, WEB, "email", "a@example.com")
    code = code_from_mail(mailbox(settings)[-1])
    assert "2 more tries" in verify_contact(db, WEB, wrong(code))
    assert "6-digit code" in verify_contact(db, WEB, "what code?")  # not counted
    assert "1 more try" in verify_contact(db, WEB, wrong(code))
    assert "third wrong code" in verify_contact(db, WEB, wrong(code))
    assert contacts_of(db, cid) == []  # the unverified address is not kept
    assert "no email address waiting" in verify_contact(db, WEB, code)
    with db.transaction() as s:
        rows = list(s.scalars(select(PrivacyRequest).where(PrivacyRequest.candidate_id == cid)))
        assert [r.status for r in rows] == ["locked"] and rows[0].locked_at is not None


def test_expired_code(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    add_contact(db, settings, WEB, "email", "a@example.com")
    code = code_from_mail(mailbox(settings)[-1])
    with db.transaction() as s:
        row = s.scalar(select(PrivacyRequest).where(PrivacyRequest.candidate_id == cid))
        row.code_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    assert "expired" in verify_contact(db, WEB, code)
    assert contacts_of(db, cid)[0].verified_at is None


def test_adding_again_supersedes_the_earlier_code(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    add_contact(db, settings, WEB, "email", "old@example.com")
    old_code = code_from_mail(mailbox(settings)[-1])
    add_contact(db, settings, WEB, "email", "new@example.com")
    new_code = code_from_mail(mailbox(settings)[-1])
    assert [c.value for c in contacts_of(db, cid)] == ["new@example.com"]
    if old_code != new_code:
        assert "doesn't match" in verify_contact(db, WEB, old_code)
    assert "verified" in verify_contact(db, WEB, new_code)


def test_phone_numbers_are_not_stored_until_sms_exists(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    reply = add_contact(db, settings, WEB, "phone", "+44 20 7946 0958")
    assert "SMS" in reply and "not available" in reply and "+44" in reply
    assert "7946" not in reply  # masked
    assert "international format" in add_contact(db, settings, WEB, "phone", "0207 946 0958")
    assert contacts_of(db, cid) == [] and mailbox(settings) == []


@pytest.mark.parametrize(
    "value", ["", "   ", "no-at-sign", "a@b", "a@@example.com", "a b@example.com",
              "a@example.com\nBcc: x@evil.test", "x" * 300 + "@example.com",
              "a@" + "d" * 300 + ".com", ".a@example.com", "a..b@example.com"],
)  # fmt: skip
def test_malformed_emails_are_refused(db: Database, tmp_path, value: str) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    assert "doesn't look like an email" in add_contact(db, settings, WEB, "email", value)
    assert contacts_of(db, cid) == [] and mailbox(settings) == []


def test_validators() -> None:
    assert normalise_email("<Bob@Example.org>") == "Bob@example.org"
    assert normalise_phone("0044 (20) 7946-0958") == "+442079460958"
    assert normalise_phone("+0 123 456 789") is None
    assert normalise_phone("+1 23") is None


def test_unknown_sender_and_unknown_kind(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    assert "nothing stored" in add_contact(db, settings, "web:nobody-0000001", "email", "a@b.co")
    assert "nothing stored" in verify_contact(db, "web:nobody-0000001", "123456")
    person(db, WEB)
    assert "Which one" in add_contact(db, settings, WEB, "fax", "123")
    assert "no email address waiting" in verify_contact(db, WEB, "123456")
    assert mailbox(settings) == []


def test_another_sender_cannot_verify_someone_elses_contact(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    alice = person(db, WEB)
    person(db, "web:mallory-session-01")
    add_contact(db, settings, WEB, "email", "alice@example.com")
    code = code_from_mail(mailbox(settings)[-1])
    assert "no email address waiting" in verify_contact(db, "web:mallory-session-01", code)
    assert contacts_of(db, alice)[0].verified_at is None
    assert "verified" in verify_contact(db, WEB, code)


def test_codes_per_day_are_limited(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    cid = person(db, WEB)
    for i in range(MAX_VERIFICATIONS_PER_DAY):
        assert "sent a 6-digit code" in add_contact(db, settings, WEB, "email", f"a{i}@x.org")
    assert "several verification codes" in add_contact(db, settings, WEB, "email", "z@x.org")
    assert len(mailbox(settings)) == MAX_VERIFICATIONS_PER_DAY
    with db.transaction() as s:
        count = s.scalar(
            select(func.count()).select_from(Contact).where(Contact.candidate_id == cid)
        )
    assert count == 1  # superseded unverified addresses are dropped


def test_mail_failure_saves_nothing(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    cid = person(db, WEB)
    assert "couldn't send" in add_contact(db, settings, WEB, "email", "a@example.com")
    assert contacts_of(db, cid) == []
    with db.transaction() as s:
        assert s.scalar(select(PrivacyRequest).where(PrivacyRequest.candidate_id == cid)) is None


def test_code_by_real_smtp(db: Database, tmp_path, smtp) -> None:  # noqa: F811
    inbox, port = smtp
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    person(db, WEB)
    add_contact(db, settings, WEB, "email", "alice@example.com")
    ((_, rcpts, message),) = inbox.messages
    assert rcpts == ["alice@example.com"]
    assert "verified" in verify_contact(db, WEB, code_from_mail(message))
