"""The second factor for export and delete-everything: one-time codes on another path."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from privacy.requests import Kind
from privacy.verification import (
    MAX_CODES_PER_REQUEST,
    DeliveryFailed,
    RequestLocked,
    RequestNotFound,
    check_code,
    normalise_attempt,
    send_code,
)
from storage.db import Database
from storage.models import PrivacyRequest
from tests.privacy.rights_support import (
    code_from_mail,
    code_from_outbox,
    free_port,
    mailbox,
    open_export,
    outbox_texts,
    person,
    request_row,
    settings_for,
)

WEB = "web:alice-session-0001"
TELEGRAM = "telegram:424242"


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_no_second_factor_means_none_and_no_code(db: Database, tmp_path) -> None:
    person(db, WEB)
    request_id = open_export(db, WEB)
    assert send_code(db, settings_for(tmp_path), request_id, WEB) is None
    row = request_row(db, request_id)
    assert row.code_hash is None and row.code_expires_at is None


def test_code_goes_to_the_other_channel_never_the_asking_one(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    delivery = send_code(db, settings_for(tmp_path), request_id, WEB)
    assert delivery is not None and delivery.kind == "channel"
    assert delivery.description == "your Telegram chat"
    assert outbox_texts(db, WEB) == []  # never to the chat that asked
    code = code_from_outbox(db, TELEGRAM)
    row = request_row(db, request_id)
    assert row.status == "awaiting_code" and row.code_attempts == 0
    assert row.code_hash and len(row.code_hash) == 64 and code not in row.code_hash
    expires = row.code_expires_at.replace(tzinfo=row.code_expires_at.tzinfo or UTC)
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)
    assert check_code(db, request_id, code, sender_id=WEB).status == "ok"
    # The other way round: asked on Telegram, the code goes to the web chat.
    request_2 = open_export(db, TELEGRAM)
    delivery = send_code(db, settings_for(tmp_path), request_2, TELEGRAM)
    assert delivery is not None and delivery.description == "your web chat"
    assert len(outbox_texts(db, TELEGRAM)) == 1  # only the first code, none for request 2
    assert check_code(db, request_2, code_from_outbox(db, WEB)).status == "ok"


def test_two_sessions_of_the_same_channel_are_not_a_second_factor(db: Database, tmp_path):
    person(db, WEB, "web:alice-other-device")
    request_id = open_export(db, WEB)
    assert send_code(db, settings_for(tmp_path), request_id, WEB) is None
    assert outbox_texts(db, "web:alice-other-device") == []


def test_a_verified_email_is_preferred_and_gets_the_code(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path)
    person(db, WEB, TELEGRAM, email="alice@example.com")
    request_id = open_export(db, WEB, Kind.ERASURE)
    delivery = send_code(db, settings, request_id, WEB)
    assert delivery is not None and delivery.kind == "email"
    assert delivery.description == "your email a•••@example.com"
    (message,) = mailbox(settings)
    assert message["To"] == "alice@example.com"
    assert "delete all your data" in message.get_content()
    assert outbox_texts(db, TELEGRAM) == []
    assert check_code(db, request_id, code_from_mail(message)).status == "ok"


def test_unverified_email_is_not_a_second_factor(db: Database, tmp_path) -> None:
    from storage.models import Contact

    cid = person(db, WEB)
    with db.transaction() as s:
        s.add(Contact(candidate_id=cid, kind="email", value="new@example.com"))
    assert send_code(db, settings_for(tmp_path), open_export(db, WEB), WEB) is None


def test_right_code_once_with_spaces_or_dashes(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    for typed in ("{a} {b}", "{a}-{b}", " {a}{b} "):
        request_id = open_export(db, WEB)
        send_code(db, settings_for(tmp_path), request_id, WEB)
        code = code_from_outbox(db, TELEGRAM)
        result = check_code(db, request_id, typed.format(a=code[:3], b=code[3:]))
        assert result.status == "ok", typed
        row = request_row(db, request_id)
        assert row.status == "open" and row.detail["verified_at"] and row.code_hash is None
        # One-time: the same code never works twice.
        assert check_code(db, request_id, code).status == "expired"


def test_three_wrong_codes_lock_and_then_the_right_code_is_refused(db: Database, tmp_path):
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    code = code_from_outbox(db, TELEGRAM)
    wrong = other_code(code)
    first, second, third = (check_code(db, request_id, wrong) for _ in range(3))
    assert (first.status, first.attempts_left) == ("wrong", 2)
    assert (second.status, second.attempts_left) == ("wrong", 1)
    assert (third.status, third.attempts_left) == ("locked", 0)
    assert check_code(db, request_id, code).status == "locked"
    row = request_row(db, request_id)
    assert row.status == "locked" and row.locked_at is not None and row.code_hash is None
    with pytest.raises(RequestLocked):
        send_code(db, settings_for(tmp_path), request_id, WEB)
    assert check_code(db, request_id, code).status == "locked"


def test_a_code_older_than_ten_minutes_is_refused(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    code = code_from_outbox(db, TELEGRAM)
    with db.transaction() as s:
        row = s.get(PrivacyRequest, request_id)
        row.code_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert check_code(db, request_id, code).status == "expired"
    assert request_row(db, request_id).code_attempts == 0  # not a wrong attempt
    # A new code works (and resets the attempts).
    send_code(db, settings_for(tmp_path), request_id, WEB)
    assert check_code(db, request_id, code_from_outbox(db, TELEGRAM)).status == "ok"


def test_what_counts_as_an_attempt() -> None:
    assert normalise_attempt("123456") == ("123456", True)
    assert normalise_attempt("123 456") == ("123456", True)
    assert normalise_attempt("123-456") == ("123456", True)
    assert normalise_attempt("１２３４５６") == ("123456", True)  # full-width digits
    assert normalise_attempt("12345") == (None, True)  # a mistyped code
    assert normalise_attempt("1234567") == (None, True)
    assert normalise_attempt("12E456") == (None, True)
    for text in ("", "   ", "cancel", "what code?", "I did not get any code at all 1"):
        assert normalise_attempt(text) == (None, False), text
    assert normalise_attempt("x" * 100_000) == (None, False)


def test_junk_is_not_counted_but_mistyped_codes_are(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    code = code_from_outbox(db, TELEGRAM)
    for junk in ("", "cancel", "which code?", "é" * 5000):
        result = check_code(db, request_id, junk)
        assert (result.status, result.attempts_left) == ("invalid", 3)
    assert check_code(db, request_id, code[:5]).status == "wrong"
    assert request_row(db, request_id).code_attempts == 1
    assert check_code(db, request_id, code).status == "ok"


def test_another_candidates_sender_cannot_use_the_request(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    person(db, "web:mallory-session-01", "telegram:666")
    request_id = open_export(db, WEB)
    with pytest.raises(RequestNotFound):
        send_code(db, settings_for(tmp_path), request_id, "web:mallory-session-01")
    assert outbox_texts(db, "telegram:666") == [] and outbox_texts(db, TELEGRAM) == []
    send_code(db, settings_for(tmp_path), request_id, WEB)
    code = code_from_outbox(db, TELEGRAM)
    with pytest.raises(RequestNotFound):
        check_code(db, request_id, code, sender_id="web:mallory-session-01")
    with pytest.raises(RequestNotFound):
        check_code(db, request_id, code, sender_id="web:nobody-at-all-1")
    assert request_row(db, request_id).code_attempts == 0
    with pytest.raises(RequestNotFound):
        check_code(db, "0" * 32, code)
    with pytest.raises(RequestNotFound):
        send_code(db, settings_for(tmp_path), "not-a-request", WEB)
    assert check_code(db, request_id, code, sender_id=WEB).status == "ok"


def test_resending_codes_is_limited(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    for _ in range(MAX_CODES_PER_REQUEST):
        assert send_code(db, settings_for(tmp_path), request_id, WEB) is not None
    with pytest.raises(RequestLocked):
        send_code(db, settings_for(tmp_path), request_id, WEB)
    row = request_row(db, request_id)
    assert row.status == "locked" and row.locked_at is not None
    assert check_code(db, request_id, code_from_outbox(db, TELEGRAM)).status == "locked"


def test_a_new_code_replaces_the_old_one(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    first = code_from_outbox(db, TELEGRAM)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    second = code_from_outbox(db, TELEGRAM)
    if first != second:
        assert check_code(db, request_id, first).status == "wrong"
    assert check_code(db, request_id, second).status == "ok"


def test_mail_failure_keeps_no_code(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    person(db, WEB, email="alice@example.com")
    request_id = open_export(db, WEB)
    with pytest.raises(DeliveryFailed):
        send_code(db, settings, request_id, WEB)
    row = request_row(db, request_id)
    assert row.code_hash is None and row.status == "open"


def test_mail_failure_falls_back_to_another_channel(db: Database, tmp_path) -> None:
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    person(db, WEB, TELEGRAM, email="alice@example.com")
    request_id = open_export(db, WEB)
    delivery = send_code(db, settings, request_id, WEB)
    assert delivery is not None and delivery.kind == "channel"
    assert check_code(db, request_id, code_from_outbox(db, TELEGRAM)).status == "ok"


def test_concurrent_wrong_codes_all_count(db: Database, tmp_path) -> None:
    person(db, WEB, TELEGRAM)
    request_id = open_export(db, WEB)
    send_code(db, settings_for(tmp_path), request_id, WEB)
    wrong = other_code(code_from_outbox(db, TELEGRAM))
    results: list[str] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        results.append(check_code(db, request_id, wrong).status)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == ["locked"] * 4 + ["wrong"] * 2
    row = request_row(db, request_id)
    assert row.status == "locked" and row.code_attempts == 3
