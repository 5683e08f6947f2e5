"""`GET /api/outbox`: messages the system sends on its own (codes, links, notices) reach the
open web page exactly once, only for their own session."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import select

from privacy import outbox
from storage.db import Database
from storage.models import OutboundMessage
from tests.privacy.rights_support import person

SESSION = "alice-session-0001"


def enqueue(db: Database, sender: str, *texts: str) -> None:
    with db.transaction() as s:
        from storage.repositories import CandidateRepository

        candidate = CandidateRepository(s).by_sender(sender)
        for text in texts:
            outbox.enqueue(s, candidate.id, sender, "code", text)


def poll(client: httpx.Client, session: str = SESSION) -> httpx.Response:
    return client.get("/api/outbox", params={"session": session})


def test_pending_messages_are_delivered_once_in_order(privacy_gateway) -> None:
    gw, client = privacy_gateway
    person(gw.db, f"web:{SESSION}")
    assert poll(client).json() == {"messages": []}
    enqueue(gw.db, f"web:{SESSION}", "Your code is 123 456.", "Ünïcode — second")
    response = poll(client)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.json() == {
        "messages": [
            {"text": "Your code is 123 456.", "buttons": []},
            {"text": "Ünïcode — second", "buttons": []},
        ]
    }
    assert poll(client).json() == {"messages": []}
    with gw.db.transaction() as s:
        rows = list(s.scalars(select(OutboundMessage)))
        assert all(r.sent_at is not None and r.attempts == 1 for r in rows)


def test_messages_go_only_to_their_own_session(privacy_gateway) -> None:
    gw, client = privacy_gateway
    person(gw.db, f"web:{SESSION}", "telegram:4242")
    person(gw.db, "web:bob-session-00001")
    enqueue(gw.db, "telegram:4242", "for Telegram")
    enqueue(gw.db, "web:bob-session-00001", "for Bob")
    assert poll(client).json() == {"messages": []}
    assert [m["text"] for m in poll(client, "bob-session-00001").json()["messages"]] == ["for Bob"]
    with gw.db.transaction() as s:
        telegram = s.scalar(select(OutboundMessage).where(OutboundMessage.sender_id.like("tel%")))
        assert telegram.sent_at is None  # the Telegram gateway delivers that one


def test_bad_sessions_are_rejected(privacy_gateway) -> None:
    _gw, client = privacy_gateway
    for bad in ["", "short", "x" * 65, "../etc", "a b c d e f g h", "web:abcdefgh"]:
        response = poll(client, bad)
        assert response.status_code == 400, bad
        assert "session" in response.json()["error"]
    assert client.get("/api/outbox").status_code == 400
    assert client.post("/api/outbox", json={}).status_code == 405


def test_concurrent_polls_hand_out_each_message_once(privacy_gateway) -> None:
    gw, _client = privacy_gateway
    person(gw.db, f"web:{SESSION}")
    enqueue(gw.db, f"web:{SESSION}", *[f"message {i}" for i in range(10)])
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=gw.url, timeout=20.0) as c:
            texts = [m["text"] for m in poll(c).json()["messages"]]
        with lock:
            seen.extend(texts)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seen) == sorted(f"message {i}" for i in range(10))


def test_page_polls_the_outbox_and_keeps_the_csp() -> None:
    from bot.web.app import CONTENT_SECURITY_POLICY, STATIC_DIR

    script = (STATIC_DIR / "app.js").read_text()
    assert "/api/outbox?session=" in script and "setInterval(pollOutbox" in script
    assert "innerHTML" not in script
    page = (STATIC_DIR / "index.html").read_text()
    assert "<script>" not in page and "onclick" not in page
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


@pytest.mark.browser
def test_the_open_page_shows_outbox_messages_and_links(driver, privacy_gateway) -> None:
    """In headless Chromium: a message queued for the page's session appears as a bot
    bubble within seconds, a link to this server is clickable, other text stays text."""
    from selenium.webdriver.common.by import By

    from tests.browser import wait

    gw, _client = privacy_gateway
    driver.get(gw.url + "/")
    session = wait(driver).until(
        lambda d: d.execute_script("return localStorage.getItem('parley.session')")
    )
    sender = f"web:{session}"
    person(gw.db, sender)
    link = f"{gw.url}/export/{'A' * 43}"
    enqueue(gw.db, sender, f"Your data export is ready: {link}.", "<b>not html</b>")

    def bot_texts(d):
        return [e.text for e in d.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot")]

    wait(driver).until(lambda d: "<b>not html</b>" in bot_texts(d))
    anchors = driver.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot a.link")
    assert [a.get_attribute("href") for a in anchors] == [link]
    assert driver.find_elements(By.CSS_SELECTOR, "#transcript .msg.bot b") == []
    with gw.db.transaction() as s:
        assert all(r.sent_at for r in s.scalars(select(OutboundMessage)))
    logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    assert not [entry for entry in logs if "Content Security Policy" in entry.get("message", "")]
