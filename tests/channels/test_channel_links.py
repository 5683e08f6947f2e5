"""One candidate, several channels: `/link` codes (screening.channel_links, bot.linking)
against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.linking import MAX_WRONG_PER_HOUR, ChannelLinker
from screening import channel_links
from screening.interview import InterviewService
from screening.spoken import current_question
from storage.db import Database
from storage.models import (
    AccessLogEntry,
    Candidate,
    ChannelIdentity,
    ChannelLinkCode,
    OutboundMessage,
)
from tests.test_interview_service import TODAY, Conversation

WEB = "web:link-web-session-1"
TG = "telegram:4242"
SLACK = "slack:T1:U1"


def _code(reply: str) -> str:
    return reply.split("code is ", 1)[1].split(".", 1)[0]


def _candidate_of(db: Database, sender: str) -> str | None:
    with db.transaction() as s:
        return s.scalar(
            select(ChannelIdentity.candidate_id).where(ChannelIdentity.sender_id == sender)
        )


def _started(db: Database, sender: str = WEB) -> Conversation:
    convo = Conversation(InterviewService(db, today=TODAY), sender)
    convo.begin()  # consent and age: now at question 1
    convo.send("I enjoy logistics work and want to grow with a good team.")
    return convo


def test_a_second_channel_continues_the_same_application(db: Database) -> None:
    _started(db)
    before = current_question(db, WEB)
    assert before is not None and before.question_id == "right_to_work"
    linker = ChannelLinker(db)
    issued = asyncio.run(linker.handle(WEB, "/link"))
    assert issued is not None and not issued.resume
    code = _code(issued.reply)
    assert len(code) == 9 and code[4] == "-"
    # The code is stored only as a keyed hash.
    with db.transaction() as s:
        row = s.scalars(select(ChannelLinkCode)).one()
        assert code.replace("-", "") not in row.code_hash and len(row.code_hash) == 64
    done = asyncio.run(linker.handle(TG, f"/link {code.lower().replace('-', ' ')}"))
    assert done is not None and done.resume and "web chat" in done.reply
    assert _candidate_of(db, TG) == _candidate_of(db, WEB)
    after = current_question(db, TG)
    assert after is not None and after.question_id == before.question_id
    with db.transaction() as s:
        assert s.scalars(select(ChannelLinkCode.used_on)).one() == "telegram"
        log = s.scalars(select(AccessLogEntry.action)).all()
        assert "link_channel" in log
        notices = s.scalars(select(OutboundMessage)).all()
        assert [n.sender_id for n in notices] == [WEB]
        assert "Telegram chat was just linked" in notices[0].text
    # Used once: the same code does nothing on a third channel.
    again = asyncio.run(linker.handle(SLACK, f"/link {code}"))
    assert again is not None and not again.resume and "already used" in again.reply
    assert _candidate_of(db, SLACK) is None


def test_answers_on_the_new_channel_go_to_the_same_application(db: Database) -> None:
    convo = _started(db)
    linker = ChannelLinker(db)
    code = _code(asyncio.run(linker.handle(WEB, "/link")).reply)  # type: ignore[union-attr]
    asyncio.run(linker.handle(TG, f"/link {code}"))
    other = Conversation(convo.service, TG)
    other.consent, other.age = convo.consent, convo.age
    other.send("yes")
    q = current_question(db, WEB)
    assert q is not None and q.question_id == "years"


def test_empty_candidate_on_the_new_channel_is_merged(db: Database) -> None:
    _started(db)
    with db.transaction() as s:  # the Telegram chat said hello and nothing more
        from storage.repositories import CandidateRepository

        CandidateRepository(s).get_or_create(TG)
    code = _code(asyncio.run(ChannelLinker(db).handle(WEB, "/link")).reply)  # type: ignore[union-attr]
    outcome = asyncio.run(ChannelLinker(db).handle(TG, f"/link {code}"))
    assert outcome is not None and outcome.resume
    assert _candidate_of(db, TG) == _candidate_of(db, WEB)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Candidate)) == 1


def test_a_channel_with_its_own_application_is_never_merged(db: Database) -> None:
    _started(db)
    _started(db, TG)
    code = _code(asyncio.run(ChannelLinker(db).handle(WEB, "/link")).reply)  # type: ignore[union-attr]
    outcome = asyncio.run(ChannelLinker(db).handle(TG, f"/link {code}"))
    assert outcome is not None and not outcome.resume
    assert "application of its own" in outcome.reply
    assert _candidate_of(db, TG) != _candidate_of(db, WEB)


def test_linking_without_an_application_and_bad_codes(db: Database) -> None:
    linker = ChannelLinker(db)
    nothing = asyncio.run(linker.handle(TG, "/link"))
    assert nothing is not None and "nothing to link" in nothing.reply
    assert asyncio.run(linker.handle(TG, "hello")) is None
    assert asyncio.run(linker.handle(TG, "/linkage")) is None
    for bad in ("/link 123", "/link ABCD-EFGH", "/link " + "x" * 10_000, "/link '; DROP TABLE"):
        outcome = asyncio.run(linker.handle(TG, bad))
        assert outcome is not None and "isn't right" in outcome.reply and not outcome.resume
    assert _candidate_of(db, TG) is None


def test_expired_and_replaced_codes(db: Database) -> None:
    _started(db)
    old = channel_links.issue_code(db, WEB)
    new = channel_links.issue_code(db, WEB)  # asking again invalidates the first code
    assert channel_links.redeem_code(db, TG, old.code).status == "invalid"
    later = datetime.now(UTC) + timedelta(minutes=11)
    assert channel_links.redeem_code(db, TG, new.code, now=later).status == "expired"
    assert _candidate_of(db, TG) is None


def test_wrong_codes_are_rate_limited_per_chat(db: Database) -> None:
    _started(db)
    linker = ChannelLinker(db)

    async def run() -> list[str]:
        replies = []
        for _ in range(MAX_WRONG_PER_HOUR):
            replies.append((await linker.handle(TG, "/link ABCD-EFGH")).reply)  # type: ignore[union-attr]
        code = channel_links.issue_code(db, WEB).code
        replies.append((await linker.handle(TG, f"/link {code}")).reply)  # type: ignore[union-attr]
        return replies

    replies = asyncio.run(run())
    assert "Too many wrong codes" in replies[-1]
    assert _candidate_of(db, TG) is None


def test_concurrent_redemptions_link_once(db: Database) -> None:
    _started(db)
    code = channel_links.issue_code(db, WEB).code
    results: list[str] = []
    barrier = threading.Barrier(4)

    def redeem(sender: str) -> None:
        barrier.wait()
        try:
            results.append(channel_links.redeem_code(db, sender, code).status)
        except Exception as exc:  # a lost race on SQLite's write lock is also a refusal
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=redeem, args=(f"telegram:{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("linked") == 1
    with db.transaction() as s:
        linked = s.scalars(
            select(ChannelIdentity.sender_id).where(ChannelIdentity.channel == "telegram")
        ).all()
    assert len(linked) == 1


@pytest.mark.parametrize("text", ["/link", "/link ABCD-EFGH"])
def test_prepare_without_a_database_answers_link_clearly(text: str) -> None:
    from bot.inbound import prepare

    assert "isn't available on this channel" in (prepare(text).reply or "")
