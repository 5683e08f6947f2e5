"""The privacy commands in the conversation (privacy/chat.py), on SQLite and PostgreSQL.

`PrivacyConversation` plays Rasa's part like tests/practice_support.Chat, plus what the rules
do for privacy intents outside the form (action_privacy) and what action_route does first (a
pending privacy request takes the message). Inside the form every message goes through the
interview service, whose privacy hook is the same PrivacyChat as in actions/runtime.py.
Codes are read from the development mailbox (.eml files under var/mail), as a person would.
"""

from __future__ import annotations

import dataclasses
import email
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.inbound import prepare
from parley.settings import Settings
from privacy import export, outbox
from privacy.chat import NOTHING_STORED, SECOND_FACTOR_HELP, PrivacyChat
from privacy.requests import Kind, RequestStatus
from privacy.tombstones import erasure_for_sender
from screening.commands import MessageNlu, PrivacyCommand, explicit_privacy
from screening.interview import InterviewService
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Answer,
    Application,
    Candidate,
    ChannelIdentity,
    Contact,
    HumanReview,
    PrivacyRequest,
)
from tests.practice_support import Chat
from tests.support import ROOT
from tests.test_interview_service import TODAY, VALID

JOB = "test-role"
ORDER = ["motivation", "right_to_work", "years", "shift", "start_date", "anything_else"]


@dataclass
class PrivacyConversation(Chat):
    privacy: PrivacyChat | None = None

    def send(self, text: str, intent: str | None = None, confidence: float = 0.0) -> list[str]:
        """What a gateway and Rasa do with a typed message (prepare → rules → actions)."""
        prepared = prepare(text)
        if prepared.text is None:
            return self._done([_Reply(prepared.reply or "")])  # type: ignore[list-item]
        text = prepared.text
        assert self.privacy is not None
        nlu = MessageNlu(intent, confidence)
        if self.requested is None:
            explicit = explicit_privacy(text)
            if explicit is not None:  # rule: privacy intent → action_privacy
                return self._done(self.privacy.handle(self.sender, *explicit, text))
            if (intent or "").startswith("privacy_"):
                return self._done(self.privacy.handle(self.sender, intent or "", None, text))
            pending = self.privacy.pending_input(self.sender, text, nlu)  # action_route
            if pending is not None:
                return self._done(pending)
        return super().send(text, intent, confidence)


@dataclass(frozen=True)
class _Reply:
    text: str
    buttons: tuple[tuple[str, str], ...] = ()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings(root=ROOT),
        var_dir=tmp_path / "var",
        public_url="https://parley.test",
        export_link_minutes=30,
        purge_after_days=30,
    )


@pytest.fixture
def files(settings: Settings, db: Database) -> FileStore:
    return FileStore(settings.files_dir, db)


@pytest.fixture
def chat(db: Database, settings: Settings, files: FileStore) -> PrivacyChat:
    return PrivacyChat(db, settings, files)


@pytest.fixture
def service(db: Database, chat: PrivacyChat) -> InterviewService:
    return InterviewService(db, today=TODAY, privacy=chat.in_interview)


def talk(service: InterviewService, chat: PrivacyChat, sender: str) -> PrivacyConversation:
    return PrivacyConversation(service=service, sender=sender, privacy=chat)


def begin(convo: PrivacyConversation, answered: int = 0) -> None:
    convo.start(JOB)
    convo.send("yes")
    convo.send("yes")
    for qid in ORDER[:answered]:
        convo.send(VALID[qid])


def last_code(settings: Settings) -> str:
    """The newest one-time code in the development mailbox."""
    mails = sorted((settings.var_dir / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    assert mails, "no mail was sent"
    message = email.message_from_bytes(mails[-1].read_bytes())
    body = message.get_payload(decode=True) if not message.is_multipart() else None
    text = body.decode() if isinstance(body, bytes) else str(message.get_payload(0))
    match = re.search(r"\b(\d{3}) ?(\d{3})\b", text)
    assert match, text
    return match.group(1) + match.group(2)


def add_verified_email(convo: PrivacyConversation, settings: Settings) -> None:
    replies = convo.send("/contact email jane.doe@example.com")
    assert "j•••@example.com" in replies[0], replies
    verified = convo.send("/verify " + last_code(settings))
    assert "is verified" in verified[0], verified


def requests(db: Database, kind: str | None = None) -> list[PrivacyRequest]:
    with db.transaction() as s:
        stmt = select(PrivacyRequest).order_by(PrivacyRequest.received_at)
        if kind:
            stmt = stmt.where(PrivacyRequest.kind == kind)
        return list(s.scalars(stmt))


def answers(db: Database, sender: str) -> dict[str, Answer]:
    with db.transaction() as s:
        rows = s.scalars(
            select(Answer)
            .join(Application, Answer.application_id == Application.id)
            .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
            .where(ChannelIdentity.sender_id == sender)
        )
        return {a.question_id: a for a in rows}


def candidate_of(db: Database, sender: str) -> Candidate | None:
    """The candidate behind a sender id — also once erased, when the identity is gone and
    only the pending erasure remembers the sender (sealed)."""
    with db.transaction() as s:
        found = s.scalar(
            select(Candidate).join(ChannelIdentity).where(ChannelIdentity.sender_id == sender)
        )
        if found is None:
            erasure = erasure_for_sender(s, sender)
            found = s.get(Candidate, erasure.candidate_id) if erasure else None
        return found


# --------------------------------------------------------------------------- every command
COMMANDS = [
    # (slash, natural language, intent, a fragment of the reply)
    ("/mydata", "what data do you have on me?", "privacy_view", "everything I store about you"),
    ("/export", "export my data", "privacy_export", "no verified email"),
    ("/delete", "delete my data", "privacy_delete_all", "Delete everything?"),
    ("/delete_answer 3", "delete my answer to question 3", "privacy_delete_answer", "question 3"),
    ("/delete_recordings", "delete my recordings", "privacy_delete_answer", "recordings"),
    ("/optout", "opt out of AI scoring", "privacy_opt_out", "won't be scored"),
    ("/review", "I want a human to review the decision", "privacy_review", "your own words"),
    ("/correct", "correct my answer", "privacy_correct", "Which answer"),
    ("/dispute 1", "my score is wrong", "privacy_correct", "assessment"),
    ("/withdraw_consent", "withdraw my consent", "privacy_withdraw_consent", "withdrawn your"),
    ("/viewed", "which employers viewed my profile", "privacy_access_log", "No employer"),
    ("/notices", "show me the privacy notice", "privacy_notices", "Privacy notice versions"),
    ("/settings", "privacy settings", "privacy_settings", "recording"),
    ("/contact", "add my email", "privacy_contact", "/contact email"),
]


@pytest.mark.parametrize(("slash", "words", "intent", "expected"), COMMANDS)
def test_every_command_as_slash_and_words(
    service: InterviewService,
    chat: PrivacyChat,
    slash: str,
    words: str,
    intent: str,
    expected: str,
) -> None:
    for i, (text, nlu) in enumerate([(slash, None), (words, intent)]):
        convo = talk(service, chat, f"web:every-{i}")
        begin(convo, answered=len(ORDER))  # a completed application
        assert not convo.in_form
        replies = convo.send(text, nlu, 0.95)
        assert any(expected.lower() in r.lower() for r in replies), (text, replies)
        convo.send("cancel")


@pytest.mark.parametrize(("slash", "words", "intent", "expected"), COMMANDS)
def test_every_command_mid_interview_then_the_same_question(
    service: InterviewService,
    chat: PrivacyChat,
    db: Database,
    slash: str,
    words: str,
    intent: str,
    expected: str,
) -> None:
    for i, (text, nlu) in enumerate([(slash, None), (words, intent)]):
        sender = f"web:mid-{i}"
        convo = talk(service, chat, sender)
        begin(convo, answered=2)
        before = {q: (a.raw_text, a.revision) for q, a in answers(db, sender).items()}
        replies = convo.send(text, nlu, 0.95)
        assert any(expected.lower() in r.lower() for r in replies), (text, replies)
        if intent == "privacy_withdraw_consent":
            assert not convo.in_form  # consent withdrawn: the interview ended
            continue
        if not replies[-1].startswith("Question 3 of 6"):
            # Waiting for a yes, a statement or a number: "cancel" brings the question back.
            assert "Question" not in replies[-1]
            replies = convo.send("cancel")
        assert replies[-1].startswith("Question 3 of 6"), replies
        after = {q: (a.raw_text, a.revision) for q, a in answers(db, sender).items()}
        assert after == before  # nothing lost, nothing changed
        convo.send(VALID["years"])
        assert answers(db, sender)["years"].normalized["value"] == 4


def test_view_mid_interview_shows_the_summary_and_asks_the_same_question_again(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:view")
    begin(convo, answered=1)
    replies = convo.send("what data do you have on me?", "privacy_view", 0.97)
    assert "everything I store about you" in replies[0]
    assert any(VALID["motivation"][:30] in r for r in replies)
    assert replies[-2] == "Now, back to your interview:"
    assert replies[-1].startswith("Question 2 of 6")
    assert "Question 3 of 6" in convo.send("yes")[-1]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I deleted the old data and exported reports", "privacy_export"),
        ("I deleted the old data and exported reports", "privacy_delete_all"),
        ("My manager would review my work and correct my reports every week", "privacy_review"),
        ("I withdraw cash for the till and count it", "withdraw"),
    ],
)
def test_answers_that_mention_privacy_words_stay_answers(
    service: InterviewService, chat: PrivacyChat, db: Database, text: str, intent: str
) -> None:
    convo = talk(service, chat, "web:answer")
    begin(convo)
    assert "Question 2 of 6" in convo.send(text, intent, 0.9)[-1]
    assert answers(db, "web:answer")["motivation"].raw_text == text
    assert requests(db) == []


# --------------------------------------------------------------------------- export
def test_export_with_contact_verification_and_code(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings, files: FileStore
) -> None:
    convo = talk(service, chat, "web:export")
    begin(convo, answered=len(ORDER))
    assert convo.send("/export") == [SECOND_FACTOR_HELP]
    open_export = requests(db, Kind.EXPORT)
    assert [r.status for r in open_export] == [RequestStatus.OPEN]  # logged, with a due date
    add_verified_email(convo, settings)

    sent = convo.send("/export")
    assert "6-digit code to your email j•••@example.com" in sent[0]
    assert len(requests(db, Kind.EXPORT)) == 1  # the open request continues
    assert "isn't right" in convo.send("000000" if last_code(settings) != "000000" else "111111")[0]
    reply = convo.send(last_code(settings))[0]
    assert "30 minutes" in reply and "/export/" not in reply  # the token never goes via Rasa
    with db.transaction() as s:
        sent_out = [m.text for m in outbox.pending(s, "web:export")]
    url = re.search(r"https://parley\.test/export/(\S+)", " ".join(sent_out))
    assert url, sent_out
    assert all(VALID["motivation"] not in m for m in [reply, *sent_out])  # never the data
    archive = zipfile.ZipFile(io.BytesIO(export.open_link(db, files, url.group(1))))
    assert VALID["motivation"] in archive.read("data.json").decode()
    assert requests(db, Kind.EXPORT)[0].status == RequestStatus.COMPLETED


def test_wrong_codes_lock_and_expired_code_offers_a_new_one(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    convo = talk(service, chat, "web:codes")
    begin(convo, answered=len(ORDER))
    add_verified_email(convo, settings)
    convo.send("/export")
    code = last_code(settings)
    wrong = "123456" if code != "123456" else "654321"
    assert "doesn't look like the code" in convo.send("what code?")[0]
    assert "2 tries left" in convo.send(wrong)[0]
    # Expire the code: a new one is offered, and sent on request.
    with db.transaction() as s:
        row = s.scalars(select(PrivacyRequest).where(PrivacyRequest.kind == "export")).one()
        row.code_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    assert "expired" in convo.send(code)[0]
    assert "6-digit code" in convo.send("send me a new code")[0]
    for left in ("2 tries", "1 try"):
        assert left in convo.send(wrong)[0]
    locked = convo.send(wrong)[0]
    assert "locked" in locked and "/export" in locked
    assert requests(db, Kind.EXPORT)[0].status == RequestStatus.LOCKED
    # Locked: even the right code does nothing now; a new request starts again.
    assert "download" not in " ".join(convo.send(last_code(settings)))
    assert "6-digit code" in convo.send("/export")[0]
    assert len(requests(db, Kind.EXPORT)) == 2


def test_export_without_any_data(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:nobody")
    assert convo.send("/export") == [NOTHING_STORED]
    assert convo.send("export my data", "privacy_export", 0.9) == [NOTHING_STORED]
    assert convo.send("/delete") == [NOTHING_STORED]
    assert "start an interview first" in convo.send("/contact email a@example.com")[0]
    assert candidate_of(db, "web:nobody") is None
    assert requests(db) == []


# --------------------------------------------------------------------------- deleting
def test_delete_everything_mid_interview_ends_it(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    convo = talk(service, chat, "web:delete")
    begin(convo, answered=1)
    add_verified_email(convo, settings)
    assert convo.in_form
    asked = convo.send("/delete")
    assert "Delete everything?" in asked[-1] and "30 days" in asked[-1]
    assert not any("Question" in r for r in asked)  # the question waits for the yes
    assert "6-digit code" in convo.send("yes")[-1]
    assert convo.in_form
    done = convo.send(last_code(settings))
    assert "deleted completely by" in done[0], done
    assert not convo.in_form  # the form ended cleanly
    candidate = candidate_of(db, "web:delete")
    assert candidate is not None and candidate.erased_at is not None
    again = convo.send("/delete")
    assert "already scheduled" in again[0]
    assert len(requests(db, Kind.ERASURE)) == 1


def test_delete_everything_no_or_unclear_deletes_nothing(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:keep")
    begin(convo, answered=2)
    convo.send("/delete")
    replies = convo.send("no")
    assert "nothing is deleted" in replies[0]
    assert replies[-1].startswith("Question 3 of 6")
    convo.send("/delete")
    assert "nothing is deleted" in convo.send("hmm, maybe later")[0]
    assert candidate_of(db, "web:keep").erased_at is None  # type: ignore[union-attr]
    assert [r.status for r in requests(db, Kind.ERASURE)] == [RequestStatus.CANCELLED] * 2


def test_repeated_delete_requests_reuse_one_request(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    convo = talk(service, chat, "web:twice")
    begin(convo, answered=len(ORDER))
    add_verified_email(convo, settings)
    convo.send("/delete")
    convo.send("/delete")
    convo.send("yes")
    assert "already asked" in convo.send("delete my data", "privacy_delete_all", 0.9)[0]
    assert len(requests(db, Kind.ERASURE)) == 1
    assert "deleted completely" in convo.send(last_code(settings))[0]


def test_delete_one_answer_after_confirmation(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:one")
    begin(convo, answered=len(ORDER))
    assert "Which answer" in convo.send("delete one of my answers", "privacy_delete_answer", 0.9)[0]
    assert "question 3" in convo.send("number 3")[0]
    assert "years" in answers(db, "web:one")
    convo.send("yes")
    assert "years" not in answers(db, "web:one")
    assert "motivation" in answers(db, "web:one")


# --------------------------------------------------------------------------- other people
def test_another_sender_cannot_answer_a_pending_code_or_reach_the_data(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    owner = talk(service, chat, "web:owner")
    begin(owner, answered=len(ORDER))
    add_verified_email(owner, settings)
    owner.send("/export")
    code = last_code(settings)

    other = talk(service, chat, "telegram:intruder")
    for attempt in (code, "/verify " + code):
        replies = other.send(attempt)
        assert not any("export" in r.lower() and "http" in r for r in replies), replies
    assert other.send("/export") == [NOTHING_STORED]
    assert other.send("/delete") == [NOTHING_STORED]
    # The intruder with data of their own still reaches only their own requests.
    begin(other, answered=len(ORDER))
    assert other.send("/export") == [SECOND_FACTOR_HELP]
    assert not any("export is ready" in r for r in other.send(code))
    waiting = [r for r in requests(db, Kind.EXPORT) if r.status == RequestStatus.AWAITING_CODE]
    assert len(waiting) == 1 and waiting[0].code_attempts == 0
    assert "export is ready" in owner.send(code)[0]


def test_an_interview_command_replaces_a_pending_request(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    convo = talk(service, chat, "web:replace")
    begin(convo, answered=1)
    add_verified_email(convo, settings)
    convo.send("/export")
    replies = convo.send("/repeat")
    assert replies[-1].startswith("Question 2 of 6")
    assert requests(db, Kind.EXPORT)[0].status == RequestStatus.CANCELLED
    # A pending "withdraw?" question is replaced by a privacy command, then the question.
    convo.send("/withdraw")
    replies = convo.send("/notices")
    assert replies[-1].startswith("Question 2 of 6")


# --------------------------------------------------------------------------- oversight
def test_review_statement_mid_interview_then_resume(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    first = talk(service, chat, "web:review")
    begin(first, answered=2)
    asked = first.send("/review")
    assert "your own words" in asked[-1] and "Question" not in asked[-1]
    replies = first.send("I have <b>years</b> of experience they missed")
    assert replies[-1].startswith("Question 3 of 6")
    with db.transaction() as s:
        review = s.scalars(select(HumanReview)).one()
        assert review.statement == "I have <b>years</b> of experience they missed"
    assert len(requests(db, Kind.REVIEW)) == 1


def test_correct_an_answer_asks_for_what_is_missing(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:correct")
    begin(convo, answered=len(ORDER))
    assert "Which answer" in convo.send("/correct")[0]
    assert "question 3" in convo.send("3")[0]
    convo.send("7 years")
    assert answers(db, "web:correct")["years"].normalized["value"] == 7
    convo.send("/correct 2 no")
    assert answers(db, "web:correct")["right_to_work"].raw_text == "no"


def test_settings_opt_out_and_opt_in(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = talk(service, chat, "web:settings")
    begin(convo, answered=len(ORDER))
    convo.send("/settings recordings on")
    convo.send("/settings visibility all")
    convo.send("/settings retention 6")
    convo.send("/optout")
    candidate = candidate_of(db, "web:settings")
    assert candidate is not None
    assert candidate.recordings_access == "recordings"
    assert candidate.profile_visibility == "all_employers"
    assert candidate.recording_retention_months == 6
    assert candidate.ai_opt_out is True
    convo.send("opt back in", "privacy_opt_in", 0.9)
    assert candidate_of(db, "web:settings").ai_opt_out is False  # type: ignore[union-attr]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("typed", "reply"),
    [
        ("/delete_answer abc def", "question number"),
        ("/correct ???", "/correct"),
        ("/settings retention 99", "Settings you can change"),
        ("/contact email not-an-address", "/contact email"),
        ("/verify abc", "/verify"),
        ("/review " + "x" * 2_001, "too long"),
        ("/privacy_export{broken", "broken"),
    ],
)
def test_malformed_arguments_get_a_clear_reply(
    service: InterviewService, chat: PrivacyChat, db: Database, typed: str, reply: str
) -> None:
    convo = talk(service, chat, "web:bad")
    begin(convo, answered=1)
    replies = convo.send(typed)
    assert reply in replies[0], replies
    assert requests(db) == []
    assert len(answers(db, "web:bad")) == 1


def test_hostile_and_huge_arguments_straight_to_the_chat(chat: PrivacyChat, db: Database) -> None:
    """Rasa's REST channel can be reached without a gateway: the chat checks again."""
    assert "too long" in chat.handle("web:x", PrivacyCommand.REVIEW, "y" * 50_000)[0].text
    assert chat.handle("web:x", PrivacyCommand.DELETE_ANSWER, "'; DROP TABLE answers; --")
    assert chat.pending_input("web:x", "123456") is None
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Answer)) == 0


def test_pending_code_answered_in_another_chat_of_the_same_person_is_ignored(
    service: InterviewService, chat: PrivacyChat, db: Database, settings: Settings
) -> None:
    convo = talk(service, chat, "web:a")
    begin(convo, answered=len(ORDER))
    add_verified_email(convo, settings)
    convo.send("/export")
    with db.transaction() as s:
        candidate = s.scalars(select(Candidate)).one()
        s.add(
            ChannelIdentity(candidate_id=candidate.id, channel="telegram", sender_id="telegram:a")
        )
    assert chat.pending_input("telegram:a", last_code(settings)) is None
    assert requests(db, Kind.EXPORT)[0].status == RequestStatus.AWAITING_CODE


def test_contacts_have_a_verified_email(
    db: Database, service: InterviewService, chat: PrivacyChat, settings: Settings
) -> None:
    convo = talk(service, chat, "web:contact")
    begin(convo, answered=2)
    assert "Question 3 of 6" in convo.send("/contact email jane@example.com")[-1]
    # The interview goes on while the email is on its way; the code is taken when typed.
    assert answers(db, "web:contact").get("years") is None
    assert "verified" in convo.send(last_code(settings))[0]
    with db.transaction() as s:
        assert s.scalars(select(Contact)).one().verified_at is not None
