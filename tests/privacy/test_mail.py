"""Plain-text email: a real local SMTP server (aiosmtpd), STARTTLS with login, and the
development mailbox (.eml files) when no SMTP server is configured."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import os
import ssl
import stat
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from privacy.mail import MailError, parse_smtp_url, send_mail
from tests.privacy.rights_support import (  # noqa: F401 (smtp: a fixture)
    Inbox,
    free_port,
    settings_for,
    smtp,
)


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_plain_smtp_delivers_a_utf8_message(smtp, tmp_path) -> None:  # noqa: F811
    inbox, port = smtp
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    assert send_mail(settings, "jöhn@example.com", "Your code", "Code 123 456 — ünïcode") == "smtp"
    ((sender, rcpts, message),) = inbox.messages
    assert sender == "privacy@parley.test" and rcpts == ["jöhn@example.com"]
    assert message["Subject"] == "Your code" and message["Auto-Submitted"] == "auto-generated"
    assert "Code 123 456 — ünïcode" in message.get_content()
    assert message["Message-ID"] and message["Date"]
    assert not (tmp_path / "var" / "mail").exists()  # nothing written locally


def test_starttls_with_login(tmp_path, monkeypatch) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"p@ss word")

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)  # fmt: skip
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate only
        url = f"smtp://mailer:p%40ss%20word@127.0.0.1:{port}?starttls"
        send_mail(settings_for(tmp_path, smtp_url=url), "a@example.com", "S", "B")
        assert logins == [(b"mailer", b"p@ss word")] and len(inbox.messages) == 1
        bad = f"smtp://mailer:wrong@127.0.0.1:{port}?starttls"
        # smtplib tries the next mechanism after a refusal and aiosmtpd stops answering: the
        # client's timeout ends it (20 s in production; shortened here).
        monkeypatch.setattr("privacy.mail.TIMEOUT_S", 2.0)
        with pytest.raises(MailError, match="login"):
            send_mail(settings_for(tmp_path, smtp_url=bad), "a@example.com", "S", "B")
        # Without STARTTLS this server refuses to take the mail.
        with pytest.raises(MailError):
            send_mail(settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{port}"),
                      "a@example.com", "S", "B")  # fmt: skip
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


def test_untrusted_certificate_is_refused(tmp_path) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls)
    controller.start()
    try:
        url = f"smtp://127.0.0.1:{port}?starttls=1"
        with pytest.raises(MailError, match="starttls"):
            send_mail(settings_for(tmp_path, smtp_url=url), "a@example.com", "S", "B")
        assert inbox.messages == []
    finally:
        controller.stop()


def test_without_smtp_mail_goes_to_the_development_mailbox(tmp_path) -> None:
    settings = settings_for(tmp_path)
    path = Path(send_mail(settings, "a@example.com", "Hello", "Your code is 111 222."))
    assert path.parent == tmp_path / "var" / "mail" and path.suffix == ".eml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "a@example.com" and message["From"] == "privacy@parley.test"
    assert "Your code is 111 222." in message.get_content()
    second = Path(send_mail(settings, "a@example.com", "Hello", "again"))
    assert second != path and len(list(path.parent.iterdir())) == 2


def test_unreachable_server_and_bad_input(tmp_path) -> None:
    settings = settings_for(tmp_path, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(MailError, match="connect") as err:
        send_mail(settings, "secret-person@example.com", "S", "B")
    assert "secret-person" not in str(err.value)  # never the address
    for bad in ("no-at-sign", "a@example.com\r\nBcc: x@evil.test", "a@x.com, b@y.com"):
        with pytest.raises(MailError):
            send_mail(settings_for(tmp_path), bad, "S", "B")
    assert not (tmp_path / "var" / "mail").exists()


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.com")
    assert (plain.port, plain.starttls, plain.implicit_tls) == (25, False, False)
    tls = parse_smtp_url("smtp://u:p@mail.example.com?starttls")
    assert (tls.port, tls.starttls, tls.username, tls.password) == (587, True, "u", "p")
    assert parse_smtp_url("smtp://h?starttls=0").starttls is False
    implicit = parse_smtp_url("smtps://mail.example.com")
    assert (implicit.port, implicit.implicit_tls, implicit.starttls) == (465, True, False)
    assert parse_smtp_url("smtps://h:2465").port == 2465
    for bad in ("http://h", "smtp://", "smtp://h:99999", "mail.example.com"):
        with pytest.raises(MailError):
            parse_smtp_url(bad)
