"""Plain-text email for one-time codes and contact verification.

Two ways out, chosen by `settings.smtp_url`:

* set — SMTP with `smtplib`. `smtp://[user:password@]host[:port]` talks plain SMTP (port 25 by
  default); add `?starttls` (or `?starttls=1`) to upgrade with STARTTLS (port 587 by default);
  `smtps://…` uses implicit TLS from the first byte (port 465 by default), which is what
  `smtps` means to every mail server. Certificates are verified against the system's trust
  store (`SSL_CERT_FILE` is honoured).
* unset — a development mailbox: each message is written as an RFC 5322 `.eml` file under
  `settings.var_dir / "mail"` (readable with any mail client, `cat`, or Python's `email`
  package). Nothing leaves the machine, which is the right default for a laptop install.

Why errors say nothing about the recipient: an address is personal data and must not reach
the logs. `MailError` carries only what failed (connect, TLS, login, refused).
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

logger = logging.getLogger("parley.privacy.mail")

TIMEOUT_S = 20.0
MAILBOX_DIR = "mail"


class MailSettings(Protocol):
    smtp_url: str
    mail_from: str
    var_dir: Path


class MailError(RuntimeError):
    """Sending failed. The message names the step, never the recipient or the content."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://user:pw@host:587?starttls` → where and how to connect. Raises `MailError` on a
    URL that cannot work (wrong scheme, no host), so a typo fails loudly on the first mail."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise MailError("PARLEY_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailError("PARLEY_SMTP_URL has no host")
    query = parse_qs(parts.query, keep_blank_values=True)
    flag = query.get("starttls", [None])[0]
    starttls = scheme == "smtp" and flag is not None and flag.lower() not in ("0", "false", "no")
    implicit = scheme == "smtps"
    try:
        explicit_port = parts.port
    except ValueError:
        raise MailError("PARLEY_SMTP_URL has an invalid port") from None
    port = explicit_port or (465 if implicit else 587 if starttls else 25)
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    if any(c in to for c in "\r\n,;") or "@" not in to:
        raise MailError("invalid recipient address")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = sender.rpartition("@")[2] or "parley.local"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a code
    msg.set_content(body, charset="utf-8")
    return msg


def send_mail(settings: MailSettings, to: str, subject: str, body: str) -> str:
    """Send one plain-text email. Returns "smtp" or the path of the `.eml` file written to
    the development mailbox. Raises `MailError` when it could not be sent."""
    msg = build_message(settings.mail_from, to, subject, body)
    if not settings.smtp_url:
        return str(_write_eml(Path(settings.var_dir) / MAILBOX_DIR, msg))
    _send_smtp(parse_smtp_url(settings.smtp_url), msg)
    return "smtp"


def _write_eml(folder: Path, msg: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    # 0600: the mailbox holds codes and addresses; only the service user may read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(msg.as_bytes())
    logger.info("mail written to the development mailbox (%s)", path.name)
    return path


def _send_smtp(target: SmtpTarget, msg: EmailMessage) -> None:
    context = ssl.create_default_context()
    step = "connect"
    try:
        client: smtplib.SMTP
        if target.implicit_tls:
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT_S, context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_S)
        with client:
            client.ehlo()
            if target.starttls:
                step = "starttls"
                client.starttls(context=context)
                client.ehlo()
            if target.username is not None:
                step = "login"
                client.login(target.username, target.password or "")
            step = "send"
            refused = client.send_message(msg)
            if refused:
                raise MailError("the mail server refused the recipient")
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused:
        raise MailError("the mail server refused the recipient") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError(f"SMTP {step} failed ({type(exc).__name__})") from None
    logger.info("mail sent via SMTP")
