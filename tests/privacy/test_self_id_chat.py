"""The voluntary self-identification dialogue (privacy/chat.py), on SQLite and PostgreSQL.

Driven the way a gateway and Rasa drive it (tests/privacy/test_chat.PrivacyConversation):
buttons are their payloads through `bot.inbound.prepare`, typed words go to action_route's
pending hook, and inside the form every message goes through the interview service.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fairness import self_id
from fairness.categories import DECLINED, LABELS, RACE_ETHNICITY
from parley.settings import Settings
from privacy.chat import (
    NOTHING_STORED,
    SELF_ID_AFTER_APPLICATION,
    SELF_ID_DELETED,
    SELF_ID_INTRO,
    PrivacyChat,
)
from screening.commands import (
    SELF_ID_BUTTON,
    SELF_ID_OFFER,
    MessageNlu,
    PrivacyCommand,
    privacy_payload,
    recognise_privacy,
)
from screening.interview import InterviewService
from storage.db import Database
from storage.files import FileStore
from storage.models import (
    Application,
    BookingInvitation,
    ChannelIdentity,
    SelfIdentification,
    SelfIdKey,
)
from storage.repositories import CandidateRepository
from tests.practice_support import Chat, practice_service
from tests.privacy.test_chat import ORDER, PrivacyConversation, begin, talk
from tests.support import ROOT
from tests.test_interview_service import TODAY, VALID


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return dataclasses.replace(
        Settings(root=ROOT), var_dir=tmp_path / "var", public_url="https://parley.test"
    )


@pytest.fixture
def chat(db: Database, settings: Settings, tmp_path: Path) -> PrivacyChat:
    return PrivacyChat(db, settings, FileStore(settings.files_dir, db))


@pytest.fixture
def service(db: Database, chat: PrivacyChat) -> InterviewService:
    return InterviewService(db, today=TODAY, privacy=chat.in_interview)


def _applied(service: InterviewService, chat: PrivacyChat, sender: str) -> PrivacyConversation:
    """A conversation whose application is complete (the offer was the last reply)."""
    convo = talk(service, chat, sender)
    begin(convo, answered=len(ORDER))
    assert not convo.in_form
    return convo


def _cid(db: Database, sender: str) -> str:
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender)
        assert candidate is not None
        return candidate.id


def _stored(db: Database, sender: str) -> tuple[str | None, str | None]:
    with db.transaction() as s:
        return self_id.read(s, _cid(db, sender))


def _step(db: Database, sender: str) -> str | None:
    with db.transaction() as s:
        row = s.get(SelfIdentification, _cid(db, sender))
        return row.step if row is not None else None


def _rows(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _payload(argument: str | None = None) -> str:
    return privacy_payload(PrivacyCommand.SELF_ID, argument)


# --------------------------------------------------------------------------- the offer
def test_a_finished_application_offers_it_with_a_button(
    service: InterviewService, chat: PrivacyChat
) -> None:
    convo = talk(service, chat, "web:offer")
    begin(convo, answered=len(ORDER) - 1)
    replies = convo.send(VALID[ORDER[-1]])
    assert any("interview for" in r and "is complete" in r for r in replies)
    offer = next(r for r in convo.replies if r.text == SELF_ID_OFFER)
    assert offer.buttons == (SELF_ID_BUTTON,)
    assert "optional" in SELF_ID_OFFER and "never used to score you" in SELF_ID_OFFER


def test_a_knocked_out_application_offers_it_too(
    service: InterviewService, chat: PrivacyChat
) -> None:
    convo = talk(service, chat, "web:offer-ko")
    begin(convo, answered=1)
    replies = convo.send("no")  # no right to work: knocked out
    assert any("can't take your application" in r for r in replies)
    assert SELF_ID_OFFER in replies
    assert any(r.buttons == (SELF_ID_BUTTON,) for r in convo.replies)


def test_a_practice_run_never_offers_it(db: Database, chat: PrivacyChat) -> None:
    convo = Chat(service=practice_service(db, TODAY), sender="web:practice-only")
    convo.begin_practice()
    seen: list[str] = []
    for qid in ORDER:
        seen += convo.send(VALID[qid])
    assert seen and not convo.in_form
    assert not any("self-identification" in r or r == SELF_ID_OFFER for r in seen)
    # Practice runs only: there is no application to ask it after.
    replies = chat.handle("web:practice-only", PrivacyCommand.SELF_ID, None, "/selfid")
    assert [r.text for r in replies] == [SELF_ID_AFTER_APPLICATION]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(SelfIdentification)) == 0


def test_nobody_yet(chat: PrivacyChat, db: Database) -> None:
    replies = chat.handle("web:stranger", PrivacyCommand.SELF_ID, None, "/selfid")
    assert [r.text for r in replies] == [SELF_ID_AFTER_APPLICATION]
    assert SELF_ID_AFTER_APPLICATION != NOTHING_STORED
    assert _rows(db, SelfIdentification) == 0


# --------------------------------------------------------------------------- the flow
def test_with_buttons(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:buttons")
    replies = convo.send(SELF_ID_BUTTON[1])
    assert replies[0] == SELF_ID_INTRO
    assert "Question 1 of 2" in replies[1]
    titles = [title for title, _ in convo.replies[1].buttons]
    assert titles == ["Female", "Male", "Prefer not to say", "Skip"]
    female = convo.replies[1].buttons[0][1]
    replies = convo.send(female)
    assert replies[0].startswith("Saved: Female.") and "Question 2 of 2" in replies[0]
    race_buttons = convo.replies[0].buttons
    assert [t for t, _ in race_buttons] == [
        *(LABELS[v] for v in RACE_ETHNICITY),
        "Prefer not to say",
        "Skip",
    ]
    asian = dict(race_buttons)["Asian"]
    replies = convo.send(asian)
    assert "Saved: Asian." in replies[0] and "sex: Female; race/ethnicity: Asian" in replies[0]
    assert _stored(db, "web:buttons") == ("female", "asian")
    assert _step(db, "web:buttons") is None
    assert _rows(db, SelfIdKey) == 1


def test_with_words_and_numbers(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:words")
    assert "Question 1 of 2" in convo.send("/selfid")[1]
    assert "Saved: Female." in convo.send("a woman")[0]
    replies = convo.send("8")  # the menu's "Prefer not to say"
    assert "Saved: Prefer not to say." in replies[0]
    assert _stored(db, "web:words") == ("female", DECLINED)
    # Numbers follow the menu: 2 = White.
    convo.send("/selfid change")
    convo.send("3")  # Prefer not to say
    convo.send("2")
    assert _stored(db, "web:words") == (DECLINED, "white")


@pytest.mark.parametrize("alias", ["/selfid", "/self_id", "/eeo", "/diversity"])
def test_every_alias(
    service: InterviewService, chat: PrivacyChat, db: Database, alias: str
) -> None:
    convo = _applied(service, chat, f"web:alias{alias[1:]}")
    assert "Question 1 of 2" in convo.send(alias)[1]
    assert _step(db, f"web:alias{alias[1:]}") is not None


def test_in_natural_language(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:nl")
    text = "I want to answer the diversity questions"
    assert recognise_privacy(text, MessageNlu("privacy_self_id", 0.9)) == PrivacyCommand.SELF_ID
    assert "Question 1 of 2" in convo.send(text, "privacy_self_id", 0.9)[1]
    convo.send("male")
    convo.send("hispanic")
    assert _stored(db, "web:nl") == ("male", "hispanic_latino")
    replies = convo.send("delete my self identification", "privacy_self_id", 0.9)
    assert replies == [SELF_ID_DELETED]
    assert _stored(db, "web:nl") == (None, None)
    # An answer that merely mentions diversity stays an answer: the cue must be there.
    assert recognise_privacy("I like diverse teams", MessageNlu("privacy_self_id", 0.9)) is None


def test_skip_both(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:skip")
    convo.send("/selfid")
    assert convo.send("skip")[0].startswith("Skipped.")
    replies = convo.send("/skip")
    assert "nothing is stored" in replies[0]
    assert _stored(db, "web:skip") == (None, None)
    assert _step(db, "web:skip") is None
    # The skip buttons do the same.
    convo.send("/selfid")
    convo.send(_payload("sex skip"))
    assert "nothing is stored" in convo.send(_payload("race skip"))[0]


def test_skip_keeps_an_earlier_answer(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:keep")
    convo.send("/selfid")
    convo.send("female")
    convo.send("white")
    convo.send("/selfid change")
    convo.send("skip")
    replies = convo.send("black")
    assert "sex: Female; race/ethnicity: Black or African American" in replies[0]
    assert _stored(db, "web:keep") == ("female", "black")


def test_cancel_keeps_what_was_answered(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:cancel")
    convo.send("/selfid")
    convo.send("male")
    replies = convo.send("cancel")
    assert "stopped" in replies[0]
    assert _stored(db, "web:cancel") == ("male", None) and _step(db, "web:cancel") is None
    # The next message is no answer any more.
    convo.send("asian")
    assert _stored(db, "web:cancel") == ("male", None)


def test_stored_answers_are_shown_with_change_and_delete(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:show")
    convo.send("/selfid")
    convo.send("prefer not to say")
    convo.send("two or more races")
    replies = convo.send("/selfid")
    assert "sex: Prefer not to say; race/ethnicity: Two or More Races" in replies[0]
    assert [t for t, _ in convo.replies[0].buttons] == ["Change", "Delete"]
    assert _step(db, "web:show") is None
    change, delete = (p for _, p in convo.replies[0].buttons)
    assert "Question 1 of 2" in convo.send(change)[1]
    assert convo.send(delete) == [SELF_ID_DELETED]
    assert _rows(db, SelfIdentification) == 0 and _rows(db, SelfIdKey) == 0
    assert "nothing to delete" in convo.send("/selfid delete")[0]


# --------------------------------------------------------------------------- odd input
@pytest.mark.parametrize(
    "text",
    [
        "purple",
        "<script>alert(1)</script>",
        "x" * 5_000,
        "female; DROP TABLE self_identifications;--",
        "9",
        "0",
        "female male",
    ],
)
def test_an_unrecognised_answer_saves_nothing(
    service: InterviewService, chat: PrivacyChat, db: Database, text: str
) -> None:
    sender = f"web:odd{abs(hash(text)) % 10_000}"
    convo = _applied(service, chat, sender)
    convo.send("/selfid")
    replies = convo.send(text)
    assert "didn't recognise" in replies[0] and "saved nothing" in replies[0]
    assert _stored(db, sender) == (None, None) and _step(db, sender) is None
    # Not swallowed afterwards: the next "female" is no answer to a question nobody asked.
    convo.send("female")
    assert _stored(db, sender) == (None, None)


def test_empty_and_control_characters(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:ctrl")
    convo.send("/selfid")
    assert "didn't receive any text" in convo.send("   ")[0]  # the gateway answers that
    assert _step(db, "web:ctrl") is not None  # still waiting
    replies = convo.send("\x00fe\x07male\x1f")  # the gateway drops control characters
    assert replies[0].startswith("Saved: Female.")
    replies = convo.send("\x1b[31mwhite\x1b[0m")  # a terminal escape is left as "[31m…"
    assert "didn't recognise" in replies[0]
    assert _stored(db, "web:ctrl") == ("female", None)
    # Straight to the hook (no gateway): blank text is unrecognised, not an error.
    convo.send("/selfid change")
    out = chat.pending_input("web:ctrl", "\t\n", MessageNlu())
    assert out is not None and "didn't recognise" in out[0].text


def test_a_broken_button_payload(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:broken")
    convo.send("/selfid")
    assert "/selfid" in convo.send(_payload("sex purple"))[0]
    assert "/selfid" in convo.send('/privacy_self_id{"privacy_arg": 5}')[0]
    assert "/selfid" in convo.send("/selfid banana")[0]
    assert _stored(db, "web:broken") == (None, None)


def test_a_command_is_not_swallowed(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:cmd")
    convo.send("/selfid")
    replies = convo.send("/mydata")
    assert any("everything I store about you" in r for r in replies)
    assert _step(db, "web:cmd") is None
    # A privacy request in words, too.
    convo.send("/selfid")
    replies = convo.send("what data do you have on me?", "privacy_view", 0.95)
    assert any("everything I store about you" in r for r in replies)
    assert _step(db, "web:cmd") is None
    # And starting an interview (the start action cancels what waits).
    convo.send("/selfid")
    assert chat.cancel_pending("web:cmd") is True
    assert _step(db, "web:cmd") is None


def test_a_duplicated_message(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:dup")
    convo.send("/selfid")
    convo.send("female")
    replies = convo.send("female")  # the same message again (a resend, a double tap)
    assert replies[0].startswith("I already have that answer.")
    assert "Question 2 of 2" in replies[0]
    convo.send("white")
    assert _stored(db, "web:dup") == ("female", "white")
    # The same button twice: stored once, the next question asked again.
    convo.send("/selfid change")
    convo.send(_payload("sex male"))
    assert "Question 2 of 2" in convo.send(_payload("sex male"))[0]
    assert _stored(db, "web:dup") == ("male", "white")
    assert _rows(db, SelfIdentification) == 1 and _rows(db, SelfIdKey) == 1


def test_two_threads_answer_at_once(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    convo = _applied(service, chat, "web:race")
    convo.send("/selfid")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def answer() -> None:
        barrier.wait()
        try:
            results.append(chat.pending_input("web:race", "female", MessageNlu()))
        except Exception as exc:  # pragma: no cover - reported below
            results.append(exc)

    threads = [threading.Thread(target=answer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, list) for r in results), results
    texts = sorted(r[0].text for r in results)  # type: ignore[index]
    assert any(t.startswith("Saved: Female.") for t in texts)
    assert all("Question 2 of 2" in t for t in texts)
    assert _stored(db, "web:race") == ("female", None)
    assert (_step(db, "web:race") or "").startswith("race|")
    assert _rows(db, SelfIdentification) == 1 and _rows(db, SelfIdKey) == 1


def test_another_chat_of_the_person_cannot_answer(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    _applied(service, chat, "web:two")
    with db.transaction() as s:
        s.add(ChannelIdentity(candidate_id=_cid(db, "web:two"), sender_id="telegram:2",
                              channel="telegram"))  # fmt: skip
    chat.handle("web:two", PrivacyCommand.SELF_ID, None, "/selfid")
    assert chat.pending_input("telegram:2", "female", MessageNlu()) is None
    assert _stored(db, "web:two") == (None, None)
    out = chat.pending_input("web:two", "female", MessageNlu())
    assert out is not None and out[0].text.startswith("Saved: Female.")


def test_a_stale_question_takes_nothing(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    _applied(service, chat, "web:stale")
    chat.handle("web:stale", PrivacyCommand.SELF_ID, None, "/selfid")
    old = datetime.now(UTC) - self_id.STEP_TTL - timedelta(minutes=5)
    with db.engine.begin() as conn:
        conn.execute(SelfIdentification.__table__.update().values(updated_at=old))
    assert chat.pending_input("web:stale", "female", MessageNlu()) is None
    assert _stored(db, "web:stale") == (None, None) and _step(db, "web:stale") is None


def test_a_later_booking_question_takes_the_message(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    _applied(service, chat, "web:book")
    chat.handle("web:book", PrivacyCommand.SELF_ID, None, "/selfid")
    chat.pending_input("web:book", "female", MessageNlu())  # now "race" waits
    cid = _cid(db, "web:book")
    with db.transaction() as s:
        app_id = s.scalar(select(Application.id).where(Application.candidate_id == cid))
        s.add(
            BookingInvitation(
                candidate_id=cid, application_id=app_id, sender_id="web:book",
                reason="threshold", status="choosing",
                updated_at=datetime.now(UTC) + timedelta(seconds=5),
            )
        )  # fmt: skip
    # "2" is a slot number for the booking, not "White".
    assert chat.pending_input("web:book", "2", MessageNlu()) is None
    assert _stored(db, "web:book") == ("female", None) and _step(db, "web:book") is None


def test_mid_interview_then_the_same_question(
    service: InterviewService, chat: PrivacyChat, db: Database
) -> None:
    first = _applied(service, chat, "web:mid")
    first.send("/selfid")
    assert _step(db, "web:mid") is not None
    # Starting another application replaces the questions (the start action's cancel).
    chat.cancel_pending("web:mid")
    convo = talk(service, chat, "web:mid2")
    begin(convo, answered=0)
    with db.transaction() as s:  # the second sender has an application in progress only
        assert s.scalar(select(func.count()).select_from(Application)) == 2
    replies = convo.send("/selfid")
    assert convo.in_form and "Question 1 of 2" in replies[1]
    replies = convo.send("female")
    assert "Question 2 of 2" in replies[0] and not any("Question 1 of 6" in r for r in replies)
    replies = convo.send("skip")
    assert "sex: Female" in replies[0]
    assert any("back to your interview" in r for r in replies)
    assert any("Question 1 of 6" in r for r in replies)
    convo.send(VALID["motivation"])
    with db.transaction() as s:
        app = s.scalar(select(Application).where(Application.candidate_id == _cid(db, "web:mid2")))
        assert app is not None and app.current_index == 1
    assert _stored(db, "web:mid2") == ("female", None)


def test_an_erased_candidate(service: InterviewService, chat: PrivacyChat, db: Database) -> None:
    convo = _applied(service, chat, "web:erased")
    convo.send("/selfid")
    convo.send("female")
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender("web:erased")
        assert candidate is not None
        candidate.erased_at = datetime.now(UTC)
    assert chat.pending_input("web:erased", "white", MessageNlu()) is None
    replies = chat.handle("web:erased", PrivacyCommand.SELF_ID, None, "/selfid")
    assert "deleted at your request" in replies[0].text
    assert _stored(db, "web:erased") == ("female", None)
