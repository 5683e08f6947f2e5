"""Privacy commands through Rasa's REST channel, against the real Rasa server, action server
and web gateway (the embedded stack): mid-interview requests resume the interview, a contact
is verified with the code from the development mailbox, the export link downloads a ZIP from
the gateway, and "delete everything" needs a confirmation and a code."""

from __future__ import annotations

import email
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.inbound import prepare
from storage.models import Application, Candidate, ChannelIdentity, PrivacyRequest
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import VALID, answers_of, application_of, begin

pytestmark = pytest.mark.e2e


def send(stack: Stack, sender: str, typed: str) -> list[str]:
    """What a gateway does: normalise the typed text, then post it to Rasa."""
    prepared = prepare(typed)
    assert prepared.text is not None, prepared.reply
    return stack.texts(sender, prepared.text)


def mailbox(stack: Stack) -> Path:
    return stack.settings.var_dir / "mail"


def mails(stack: Stack) -> list[Path]:
    folder = mailbox(stack)
    return (
        sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns) if folder.is_dir() else []
    )


def code_in(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes())
    part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else None
    text = part.get_content() if part is not None else message.get_payload(decode=True).decode()
    match = re.search(r"\b(\d{3}) ?(\d{3})\b", text)
    assert match, text
    return match.group(1) + match.group(2)


def new_code(stack: Stack, before: list[Path]) -> str:
    fresh = [p for p in mails(stack) if p not in before]
    assert fresh, "no new mail"
    return code_in(fresh[-1])


def candidate_of(stack: Stack, sender: str) -> Candidate | None:
    with stack.db.transaction() as s:
        return s.scalar(
            select(Candidate).join(ChannelIdentity).where(ChannelIdentity.sender_id == sender)
        )


def test_privacy_mid_interview_export_and_delete(stack: Stack, sender: str) -> None:
    assert "Question 1 of 6" in begin(stack, sender)[-1]
    assert "Question 2 of 6" in stack.texts(sender, VALID[0][1])[-1]

    # Natural language mid-interview: the summary, then the same question again.
    replies = send(stack, sender, "what data do you have on me?")
    assert "everything I store about you" in replies[0], replies
    assert any(VALID[0][1][:30] in r for r in replies)
    assert replies[-1].startswith("Question 2 of 6"), replies
    # An answer that mentions deleting and exporting stays an answer.
    assert "Question 3 of 6" in send(stack, sender, "yes")[-1]

    # Add and verify an email for one-time codes, mid-interview.
    before = mails(stack)
    replies = send(stack, sender, "/contact email jane.e2e@example.com")
    assert "j•••@example.com" in replies[0], replies
    assert replies[-1].startswith("Question 3 of 6")
    replies = send(stack, sender, "/verify " + new_code(stack, before))
    assert "is verified" in replies[0], replies

    # Export: a code to the email, typed here, then a link served by the web gateway.
    before = mails(stack)
    replies = send(stack, sender, "/export")
    assert "6-digit code" in replies[-1] and "Question" not in replies[-1], replies
    replies = send(stack, sender, new_code(stack, before))
    assert "separate message" in replies[0] and "/export/" not in replies[0], replies
    assert replies[-1].startswith("Question 3 of 6"), replies
    # The link arrives as the gateway's own message (the page polls the outbox).
    polled = stack.http.get(
        stack.settings.web_url + "api/outbox", params={"session": sender.removeprefix("web:")}
    ).json()["messages"]
    link = re.search(r"(https?://\S+/export/\S+)", " ".join(m["text"] for m in polled))
    assert link, polled
    download = stack.http.get(link.group(1))
    assert download.status_code == 200, download.text
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    data = archive.read("data.json").decode()
    assert VALID[0][1] in data
    assert json.loads(data)

    # The interview goes on with nothing lost.
    assert "Question 4 of 6" in send(stack, sender, VALID[2][1])[-1]
    assert set(answers_of(stack, sender)) == {"motivation", "right_to_work", "years"}

    # Delete everything: confirm, then the code; the interview ends.
    replies = send(stack, sender, "/delete")
    assert "Delete everything?" in replies[-1], replies
    before = mails(stack)
    replies = send(stack, sender, "yes")
    assert "6-digit code" in replies[-1], replies
    candidate = candidate_of(stack, sender)
    app = application_of(stack, sender)
    assert candidate is not None and app is not None
    replies = send(stack, sender, new_code(stack, before))
    assert "deleted completely by" in replies[0], replies
    # Out of use at once: the chat no longer resolves to the candidate, whose rows wait for
    # the purge with the application withdrawn.
    assert candidate_of(stack, sender) is None
    with stack.db.transaction() as s:
        erased = s.get(Candidate, candidate.id)
        assert erased is not None and erased.erased_at is not None
        assert s.get(Application, app.id).status == "withdrawn"
    assert "already scheduled for deletion" in send(stack, sender, "/mydata")[0]
    again = send(stack, sender, "delete my data")
    assert "already scheduled" in again[0], again
    with stack.db.transaction() as s:
        kinds = [r.kind for r in s.scalars(select(PrivacyRequest).where(
            PrivacyRequest.candidate_id == candidate.id, PrivacyRequest.kind == "erasure"
        ))]  # fmt: skip
    assert kinds == ["erasure"]


def test_privacy_outside_the_interview_and_for_strangers(stack: Stack, sender: str) -> None:
    replies = send(stack, sender, "/mydata")
    assert "nothing stored" in replies[0], replies
    assert "nothing stored" in send(stack, sender, "export my data")[0]
    assert "start an interview first" in send(stack, sender, "/contact email x@example.com")[0]
    # Malformed arguments never reach Rasa.
    assert prepare("/delete_answer the shifts one").reply
    # A finished interview, then natural language outside the form.
    begin(stack, sender)
    for _, text in VALID:
        stack.texts(sender, text)
    replies = send(stack, sender, "which employers viewed my profile?")
    assert "No employer has viewed" in replies[0], replies
    replies = send(stack, sender, "withdraw my consent")
    assert "withdrawn your consent" in replies[0], replies
