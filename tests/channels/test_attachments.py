"""Files from the action server (a calendar invite) on every channel: the web JSON reply and the
page's download link (headless Chromium), Telegram's sendDocument, Slack's files_upload_v2,
the terminal chat's downloads folder; and the phone, which has nothing to show and must not
break. Malformed attachments are dropped without losing the rest of the reply.

Every gateway here is the real one, against the stand-ins (parley/telegram_standin.py,
parley/slack_standin.py) and the stand-in Rasa (tests/web/fake_rasa.py), which answers with
what Rasa's REST channel returns for `dispatcher.utter_message(json_message=...)`:
`{"recipient_id": ..., "custom": {...}}`.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By

from bot.rasa_client import (
    MAX_ATTACHMENT_BYTES,
    Attachment,
    BotMessage,
    parse_rest_response,
)
from bot.slack import render as slack_render
from bot.telegram.render import CallbackTokens
from bot.telegram.render import render as telegram_render
from bot.terminal import save_attachment
from bot.voice.speech_out import spoken_turn
from parley import telegram_standin as tg
from parley.slack_standin import TEAM_ID, event_callback, message_event
from tests.browser import wait, wait_for_bot
from tests.slack.harness_slack import DM, USER, run, slack_env
from tests.telegram.harness import CHAT, telegram
from tests.voice.conftest import never_transcribe, phone_line, says, verbs
from tests.web.fake_rasa import FakeRasa, Gateway, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parley//Scheduling//EN\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:interview-42@parley\r\nSEQUENCE:0\r\n"
    b"DTSTART:20261124T090000Z\r\nDTEND:20261124T094500Z\r\n"
    b"SUMMARY:Interview \xe2\x80\x93 Backend Engineer\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CAPTION = "Calendar invite"


def attachment(**overrides: Any) -> dict[str, Any]:
    """The custom message the action server utters for an invite (`json_message`)."""
    custom: dict[str, Any] = {
        "parley": "attachment",
        "filename": "interview.ics",
        "mime": "text/calendar",
        "data": base64.b64encode(ICS).decode(),
        "caption": CAPTION,
    }
    custom.update(overrides)
    return custom


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Each is dropped: a broken file must not reach a person, nor break the reply around it.
MALFORMED: dict[str, Any] = {
    "bad base64": attachment(data="not base64!!"),
    "base64 with a newline": attachment(data=b64(ICS)[:20] + "\n" + b64(ICS)[20:]),
    "too big": attachment(data=b64(b"x" * (MAX_ATTACHMENT_BYTES + 1))),
    "empty file": attachment(data=""),
    "path as name": attachment(filename="../../etc/cron.d/x.ics"),
    "hidden name": attachment(filename=".interview.ics"),
    "space in name": attachment(filename="my interview.ics"),
    "name too long": attachment(filename="a" * 97 + ".ics"),
    "executable name": attachment(filename="interview.exe"),
    "wrong mime": attachment(mime="application/x-msdownload"),
    "html mime": attachment(mime="text/html", filename="interview.html"),
    "caption too long": attachment(caption="c" * 201),
    "caption not text": attachment(caption=["a"]),
    "data not text": attachment(data=12345),
    "filename missing": {k: v for k, v in attachment().items() if k != "filename"},
    "other marker": attachment(parley="interview_over"),
}


def reply_with_attachments(*customs: Any) -> list[dict[str, Any]]:
    """A Rasa reply: a text, the custom messages (as Rasa's REST channel returns them), a text."""
    return [
        {"recipient_id": "x", "text": "Booked! Here is your invite."},
        *({"recipient_id": "x", "custom": c} for c in customs),
        {"recipient_id": "x", "text": "See you then."},
    ]


def invite_responder(*customs: Any):  # type: ignore[no-untyped-def]
    def responder(_sender: str, _message: str) -> list[dict[str, Any]]:
        return reply_with_attachments(*customs)

    return responder


# ---- the contract (bot/rasa_client.py) ------------------------------------------------------


def test_a_valid_attachment_is_parsed_and_visible() -> None:
    (text, file, after) = parse_rest_response(reply_with_attachments(attachment()))
    assert file.attachment == Attachment("interview.ics", "text/calendar", ICS, CAPTION)
    assert file.visible and file.text == "" and file.buttons == []
    assert text.attachment is None and after.attachment is None
    # The largest file allowed, a caption at the limit and no caption at all are fine.
    biggest = attachment(data=b64(b"y" * MAX_ATTACHMENT_BYTES), caption="c" * 200)
    got = BotMessage(custom=biggest).attachment
    assert got is not None and len(got.data) == MAX_ATTACHMENT_BYTES and got.caption == "c" * 200
    no_caption = {k: v for k, v in attachment().items() if k != "caption"}
    assert BotMessage(custom=no_caption).attachment == Attachment(
        "interview.ics", "text/calendar", ICS, ""
    )
    # Control characters in a caption never reach a channel.
    assert BotMessage(custom=attachment(caption="Your\ninvite\x07")).attachment.caption == (
        "Your invite"
    )


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_attachments_are_dropped(case: str) -> None:
    message = BotMessage(custom=MALFORMED[case])
    assert message.attachment is None
    assert not message.visible


def test_custom_that_is_not_an_object_is_ignored() -> None:
    reply = [
        {"recipient_id": "x", "custom": "interview.ics"},
        {"recipient_id": "x", "custom": ["parley", "attachment"]},
        {"recipient_id": "x", "text": "still here"},
    ]
    (only,) = parse_rest_response(reply)
    assert only.text == "still here" and only.attachment is None


# ---- web ------------------------------------------------------------------------------------


@pytest.fixture
def web(rasa: FakeRasa) -> Iterator[tuple[Gateway, httpx.Client]]:
    gateway = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        with httpx.Client(base_url=gateway.url, timeout=20.0) as client:
            yield gateway, client
    finally:
        gateway.stop()


def test_web_reply_carries_the_attachment_and_drops_broken_ones(web, rasa: FakeRasa) -> None:
    rasa.responder = invite_responder(attachment(), *MALFORMED.values())
    _gateway, client = web
    response = client.post("/api/messages", json={"session": "attach-session-1", "text": "book"})
    assert response.status_code == 200
    assert response.json() == {
        "messages": [
            {"text": "Booked! Here is your invite.", "buttons": []},
            {
                "text": "",
                "buttons": [],
                "attachment": {
                    "filename": "interview.ics",
                    "mime": "text/calendar",
                    "data": b64(ICS),
                    "caption": CAPTION,
                },
            },
            {"text": "See you then.", "buttons": []},
        ]
    }
    assert base64.b64decode(response.json()["messages"][1]["attachment"]["data"]) == ICS


def test_web_outbox_is_unchanged(web) -> None:
    _gateway, client = web
    response = client.get("/api/outbox", params={"session": "attach-session-1"})
    assert response.status_code == 200
    assert response.json() == {"messages": []}


@pytest.mark.browser
def test_web_page_offers_the_file_as_a_download(driver, rasa: FakeRasa, tmp_path: Path) -> None:
    rasa.responder = invite_responder(attachment(), MALFORMED["bad base64"])
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    gateway = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
        )
        driver.get(gateway.url + "/")
        texts = wait_for_bot(driver, 3)
        assert texts == [
            "Booked! Here is your invite.",
            f"{CAPTION}\nDownload interview.ics",
            "See you then.",
        ]
        (link,) = driver.find_elements(By.CSS_SELECTOR, "#transcript a.attachment-link")
        assert link.get_attribute("download") == "interview.ics"
        assert link.get_attribute("href").startswith("blob:")
        assert link.text == "Download interview.ics"
        link.click()
        target = downloads / "interview.ics"
        wait(driver).until(lambda _d: target.is_file() and target.stat().st_size == len(ICS))
        assert target.read_bytes() == ICS
        # After a reload the transcript (and the file) come back from this tab's storage.
        driver.refresh()
        wait(driver).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#transcript a.attachment-link")) == 1
        )
    finally:
        gateway.stop()


# ---- Telegram -------------------------------------------------------------------------------


@pytest.fixture
def standin() -> Iterator[tg.TelegramStandIn]:
    fake = tg.TelegramStandIn().start()
    try:
        yield fake
    finally:
        fake.stop()


def test_telegram_sends_the_file_with_send_document(standin, rasa: FakeRasa) -> None:
    rasa.responder = invite_responder(attachment(), *MALFORMED.values())

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            h.send(tg.text_update(CHAT, "book me in"))
            (document,) = await standin.wait_documents(1, CHAT)
            texts = await standin.wait_sent(2, CHAT)
            await h.gateway.drain()
            assert texts == ["Booked! Here is your invite.", "See you then."]
            assert document.filename == "interview.ics"
            assert document.data == ICS
            assert document.caption == CAPTION
            assert document.mime_type == "text/calendar"
            (upload,) = standin.calls_of("sendDocument")[0].files.values()
            assert upload.filename == "interview.ics" and upload.data == ICS
            # In order: the text, the file, the text.
            sent = [
                c.name
                for c in standin.calls
                if c.name in ("sendmessage", "senddocument") and c.status == 200
            ]
            assert sent == ["sendmessage", "senddocument", "sendmessage"]
            assert len(standin.calls_of("sendDocument")) == 1  # the broken ones never went out
            assert h.gateway.stats.errors == 0

    run(scenario())


def test_telegram_document_survives_a_flood_limit(standin, rasa: FakeRasa) -> None:
    rasa.responder = lambda _s, _m: [{"recipient_id": "x", "custom": attachment()}]

    async def scenario() -> None:
        async with telegram(standin, rasa) as h:
            standin.flood("sendDocument", retry_after=1)
            h.send(tg.text_update(CHAT, "book me in"))
            (document,) = await standin.wait_documents(1, CHAT)
            assert document.data == ICS
            statuses = [c.status for c in standin.calls_of("sendDocument")]
            assert statuses == [429, 200]  # the same bytes were sent again
            assert standin.sent_texts(CHAT) == []  # a file alone needs no text message
            await h.gateway.drain()

    run(scenario())


def test_telegram_render_puts_the_document_after_the_text() -> None:
    message = BotMessage(custom=attachment(caption=""))
    (out,) = telegram_render([message], CallbackTokens())
    assert out.document is not None and out.document.data == ICS and out.text == ""


# ---- Slack ----------------------------------------------------------------------------------


def test_slack_uploads_the_file_into_the_dm(rasa: FakeRasa) -> None:
    rasa.responder = invite_responder(attachment(), *MALFORMED.values())

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            await env.post(event_callback(message_event(USER, "book me in")))
            (shared,) = await env.standin.wait_shared(1, DM)
            assert await env.standin.wait_posted(2, DM) == [
                "Booked! Here is your invite.",
                "See you then.",
            ]
            await env.settle()
            assert shared.filename == "interview.ics"
            assert shared.title == CAPTION
            assert shared.data == ICS
            assert env.standin.upload_statuses == [200]
            (asked,) = env.standin.calls_of("files.getUploadURLExternal")
            assert asked.args["filename"] == "interview.ics"
            assert int(asked.args["length"]) == len(ICS)
            # In order: the text, the upload, the text.
            steps = [
                c.method
                for c in env.standin.calls
                if c.method in ("chat.postMessage", "files.completeUploadExternal")
            ]
            assert steps == ["chat.postMessage", "files.completeUploadExternal", "chat.postMessage"]
            assert env.stats.uploads == 1 and env.stats.api_errors == {}
            assert rasa.requests[0].sender == f"slack:{TEAM_ID}:{USER}"

    run(scenario())


def test_slack_upload_refused_does_not_stop_the_reply(rasa: FakeRasa) -> None:
    rasa.responder = invite_responder(attachment())

    async def scenario() -> None:
        async with slack_env(rasa) as env:
            env.standin.fail("files.completeUploadExternal", "not_in_channel")
            await env.post(event_callback(message_event(USER, "book me in")))
            assert await env.standin.wait_posted(2, DM) == [
                "Booked! Here is your invite.",
                "See you then.",
            ]
            await env.settle()
            assert env.standin.shared_files() == []
            assert env.stats.api_errors == {"not_in_channel": 1}
            assert env.stats.uploads == 0 and env.stats.errors == 0

    run(scenario())


def test_slack_render_titles_the_file_with_its_caption() -> None:
    values = slack_render.ButtonValues()
    (out,) = slack_render.render(BotMessage(custom=attachment()), values)
    assert out.file is not None and out.text == CAPTION and out.blocks == []
    (out,) = slack_render.render(BotMessage(custom=attachment(caption="")), values)
    assert out.text == "interview.ics"


# ---- terminal (`parley chat`) ---------------------------------------------------------------


def test_terminal_chat_saves_the_file_and_never_overwrites(rasa: FakeRasa, tmp_path: Path) -> None:
    rasa.responder = invite_responder(attachment(), MALFORMED["too big"])
    var = tmp_path / "var"
    env = {
        **os.environ,
        "PARLEY_VAR_DIR": str(var),
        "PARLEY_RASA_HOST": "127.0.0.1",
        "PARLEY_RASA_PORT": str(rasa.port),
        "PARLEY_WEB_PORT": str(free_port()),  # no web gateway: the outbox check finds none
    }
    downloads = var / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "interview-1.ics").write_bytes(b"someone else's file")
    result = subprocess.run(
        [str(REPO_ROOT / ".venv/bin/parley"), "chat", "--sender", "web:cli-attach-01"],
        input="book me in\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    shown = [line.removeprefix("you> ") for line in result.stdout.splitlines()]  # the prompt
    lines = [line for line in shown if line.startswith("bot> ")]
    first, second = downloads / "interview.ics", downloads / "interview-2.ics"
    assert lines == [
        "bot> Booked! Here is your invite.",
        f"bot> Saved {CAPTION} to {first}",
        "bot> See you then.",
        "bot> Booked! Here is your invite.",
        f"bot> Saved {CAPTION} to {second}",
        "bot> See you then.",
    ]
    assert first.read_bytes() == ICS and second.read_bytes() == ICS
    assert (downloads / "interview-1.ics").read_bytes() == b"someone else's file"
    assert sorted(p.name for p in downloads.iterdir()) == [
        "interview-1.ics",
        "interview-2.ics",
        "interview.ics",
    ]
    assert first.stat().st_mode & 0o077 == 0  # an invite is personal: the owner's only
    assert rasa.messages() == ["/start", "book me in"]


def test_save_attachment_creates_the_folder(tmp_path: Path) -> None:
    file = Attachment("interview.ics", "text/calendar", ICS, CAPTION)
    target = tmp_path / "new" / "downloads"
    assert save_attachment(file, target) == target / "interview.ics"
    assert save_attachment(file, target) == target / "interview-1.ics"
    assert (target / "interview.ics").read_bytes() == ICS


# ---- phone ----------------------------------------------------------------------------------


def test_phone_speaks_the_texts_and_skips_the_file() -> None:
    messages = parse_rest_response(reply_with_attachments(attachment()))
    turn = spoken_turn([m for m in messages if m.text or m.buttons])
    assert turn.lines == ["Booked! Here is your invite.", "See you then."]


def test_phone_call_goes_on_when_the_reply_has_a_file(rasa: FakeRasa) -> None:
    """The real phone gateway between the Twilio stand-in and a Rasa that sends a file."""
    rasa.responder = invite_responder(attachment())

    async def scenario() -> None:
        async with phone_line(rasa, never_transcribe) as line:
            body, _ = await line.incoming()
            spoken = " ".join(says(body))
            assert "Booked! Here is your invite." in spoken and "See you then." in spoken
            assert "interview.ics" not in spoken and CAPTION not in spoken
            assert verbs(body)[-1] != "Hangup"
            assert rasa.messages() == ["/start"]

    run(scenario())
