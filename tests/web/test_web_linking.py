"""`/link` in the web chat: the code request and the code itself are answered by the gateway
(never sent to Rasa); a linked web session resumes the application with `/start`."""

from __future__ import annotations

from sqlalchemy import select

from screening import channel_links
from storage.models import ChannelIdentity
from tests.privacy.rights_support import person

SESSION = "web-link-session-01"


def _say(client, text: str) -> list[str]:
    response = client.post("/api/messages", json={"session": SESSION, "text": text})
    assert response.status_code == 200
    return [m["text"] for m in response.json()["messages"]]


def test_web_session_links_to_a_telegram_application(privacy_gateway, rasa) -> None:
    gw, client = privacy_gateway
    person(gw.db, "telegram:99887766")
    code = channel_links.issue_code(gw.db, "telegram:99887766").code
    assert "nothing to link yet" in _say(client, "/link")[0]
    assert "isn't right" in _say(client, "/link AAAA-BBBB")[0]
    replies = _say(client, f"/link {code}")
    assert "now linked" in replies[0] and "Telegram chat" in replies[0]
    assert replies[1] == "Question 1?"  # Rasa's answer to the resume
    assert rasa.messages() == ["/start"]  # the codes never reached Rasa
    with gw.db.transaction() as s:
        owners = s.scalars(
            select(ChannelIdentity.candidate_id).where(
                ChannelIdentity.sender_id.in_(["telegram:99887766", f"web:{SESSION}"])
            )
        ).all()
    assert len(owners) == 2 and len(set(owners)) == 1
    # The web session can now ask for a code itself.
    assert "one-time code is" in _say(client, "/link")[0]
