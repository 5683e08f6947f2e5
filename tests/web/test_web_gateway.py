"""The web gateway's HTTP API and page serving, against a local stand-in for Rasa."""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fake_rasa import Gateway, free_port

from bot.web.app import LOCKS_KEY, UNAVAILABLE_MESSAGE

SESSION = "test-session_0001"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=20.0) as c:
        yield c


def post(client: httpx.Client, text: object, session: object = SESSION) -> httpx.Response:
    return client.post("/api/messages", json={"session": session, "text": text})


# ---- happy path ---------------------------------------------------------------------------


def test_happy_path_returns_bot_messages_and_forwards_sender(client, rasa):
    response = post(client, "/start")
    assert response.status_code == 200
    assert response.json() == {
        "messages": [
            {
                "text": "Question 1?",
                "buttons": [
                    {"title": "Yes", "payload": "yes"},
                    {"title": "No", "payload": "no"},
                ],
            }
        ]
    }
    response = post(client, "Five years of Python")
    assert response.status_code == 200
    assert response.json() == {
        "messages": [{"text": "Next question after: Five years of Python", "buttons": []}]
    }
    assert rasa.senders() == [f"web:{SESSION}", f"web:{SESSION}"]
    assert rasa.messages() == ["/start", "Five years of Python"]
    assert response.headers["Cache-Control"] == "no-store"


def test_start_with_job_is_forwarded_as_payload(client, rasa):
    assert post(client, "/start job=backend-engineer").status_code == 200
    assert rasa.messages() == ['/start{"job_id":"backend-engineer"}']


def test_empty_text_gets_prepared_reply_without_calling_rasa(client, rasa):
    for text in ("", "   ", "\n\t"):
        response = post(client, text)
        assert response.status_code == 200
        (message,) = response.json()["messages"]
        assert message["text"].startswith("I didn't receive any text")
        assert message["buttons"] == []
    assert rasa.requests == []


def test_unknown_command_gets_help_reply_without_calling_rasa(client, rasa):
    response = post(client, "/foo")
    assert response.status_code == 200
    (message,) = response.json()["messages"]
    assert "I don't know the command /foo" in message["text"]
    assert "/help" in message["text"]
    assert rasa.requests == []


def test_long_text_is_forwarded_intact(client, rasa):
    text = ("I have worked with distributed systems for years. " * 200)[:10_000].strip() + "x"
    assert len(text) == 10_000
    response = post(client, text)
    assert response.status_code == 200
    assert rasa.messages() == [text]


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "Robert'); DROP TABLE candidates;--",
        '" OR 1=1 --',
        "{{7*7}} ${7*7} <img src=x onerror=alert(1)>",
    ],
)
def test_hostile_text_is_forwarded_verbatim(client, rasa, text):
    response = post(client, text)
    assert response.status_code == 200
    assert rasa.messages() == [text]
    assert response.json()["messages"][0]["text"] == f"Next question after: {text}"
    assert response.headers["Content-Type"].startswith("application/json")


# ---- bad requests -------------------------------------------------------------------------


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"], str) and len(body["error"]) > 10
    return body["error"]


def test_malformed_json_is_400(client, rasa):
    response = client.post(
        "/api/messages", content=b'{"session": "abc', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "JSON" in error_of(response)
    response = client.post("/api/messages", content=b"\xff\xfe not utf-8")
    assert response.status_code == 400
    assert rasa.requests == []


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"text": "hello"}, "session"),
        ({"session": SESSION}, "text"),
        ({"session": 12345678, "text": "hi"}, "session"),
        ({"session": SESSION, "text": 42}, "text"),
        ({"session": SESSION, "text": ["a"]}, "text"),
        ({"session": SESSION, "text": None}, "text"),
        ({"session": "short", "text": "hi"}, "session"),
        ({"session": "bad session!", "text": "hi"}, "session"),
        ({"session": "../../etc/passwd", "text": "hi"}, "session"),
        ({"session": "a" * 65, "text": "hi"}, "session"),
        ({"session": "héllo-wörld-1", "text": "hi"}, "session"),
        (["not", "an", "object"], "JSON object"),
        ("just a string", "JSON object"),
    ],
)
def test_invalid_fields_are_400(client, rasa, body, mentions):
    response = client.post("/api/messages", json=body)
    assert response.status_code == 400
    assert mentions in error_of(response)
    assert rasa.requests == []


def test_session_id_limits_are_inclusive(client, rasa):
    assert post(client, "hi", session="a" * 8).status_code == 200
    assert post(client, "hi", session="Z_-9" * 16).status_code == 200
    assert rasa.senders() == ["web:" + "a" * 8, "web:" + "Z_-9" * 16]


def test_oversized_body_is_413(client, rasa):
    response = post(client, "x" * (100 * 1024))
    assert response.status_code == 413
    assert "too large" in error_of(response)
    assert rasa.requests == []


def test_oversized_chunked_body_is_413(client, rasa):
    def chunks() -> Iterator[bytes]:
        yield b'{"session": "%s", "text": "' % SESSION.encode()
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    response = client.post(
        "/api/messages", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert rasa.requests == []


def test_non_json_content_type_is_rejected(client, rasa):
    # A cross-site <form> can only send form or text/plain bodies; refuse them.
    body = json.dumps({"session": SESSION, "text": "hi"})
    response = client.post("/api/messages", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "JSON" in error_of(response)
    assert rasa.requests == []


def test_wrong_method_on_api_is_json_405(client):
    response = client.get("/api/messages")
    assert response.status_code == 405
    assert "method" in error_of(response)
    assert "POST" in response.headers["Allow"]


# ---- Rasa trouble -------------------------------------------------------------------------


def test_rasa_error_is_503_with_message(client, rasa):
    rasa.fail = True
    response = post(client, "hello")
    assert response.status_code == 503
    assert response.json() == {"error": UNAVAILABLE_MESSAGE}
    assert rasa.messages() == ["hello", "hello"]  # a 5xx is retried once (same message id)


def test_rasa_timeout_is_503(rasa):
    rasa.delay = 2.0
    gw = Gateway(rasa.url, rasa_timeout_s=0.5).start()
    try:
        with httpx.Client(base_url=gw.url, timeout=20.0) as c:
            response = post(c, "hello")
        assert response.status_code == 503
        assert response.json() == {"error": UNAVAILABLE_MESSAGE}
        assert len(gw.app[LOCKS_KEY]) == 0  # the session's lock was released
    finally:
        gw.stop()


def test_rasa_down_is_503():
    gw = Gateway(f"http://127.0.0.1:{free_port()}").start()
    try:
        with httpx.Client(base_url=gw.url, timeout=20.0) as c:
            response = post(c, "hello")
        assert response.status_code == 503
        assert response.json() == {"error": UNAVAILABLE_MESSAGE}
    finally:
        gw.stop()


# ---- ordering -----------------------------------------------------------------------------


def test_messages_of_one_session_reach_rasa_in_order_without_overlap(gateway, rasa):
    rasa.delay = 0.4
    texts = ["first answer", "second answer", "third answer"]
    results: dict[str, httpx.Response] = {}

    def send(text: str) -> None:
        with httpx.Client(base_url=gateway.url, timeout=20.0) as c:
            results[text] = post(c, text)

    threads = []
    for text in texts:
        thread = threading.Thread(target=send, args=(text,))
        thread.start()
        threads.append(thread)
        time.sleep(0.1)  # arrival order: first, second, third
    for thread in threads:
        thread.join(timeout=20)

    assert rasa.overlaps == []
    assert rasa.messages() == texts
    spans = [(r.started, r.finished) for r in rasa.requests]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end
    for text in texts:
        assert results[text].status_code == 200
        assert results[text].json()["messages"][0]["text"] == f"Next question after: {text}"
    assert len(gateway.app[LOCKS_KEY]) == 0  # idle sessions leave no lock behind


def test_different_sessions_are_not_serialised(gateway, rasa):
    rasa.delay = 0.6
    sessions = [f"parallel-session-{i}" for i in range(3)]

    def send(session: str) -> None:
        with httpx.Client(base_url=gateway.url, timeout=20.0) as c:
            assert post(c, "hello", session=session).status_code == 200

    started = time.monotonic()
    threads = [threading.Thread(target=send, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert time.monotonic() - started < 1.5  # not 3 x 0.6 s
    assert sorted(rasa.senders()) == sorted(f"web:{s}" for s in sessions)
    assert rasa.overlaps == []


# ---- page, static files, headers ----------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in response.headers


def test_index_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert_security_headers(response)
    page = response.text
    assert "<title>Parley</title>" in page
    assert '<script src="/static/app.js"' in page
    assert '<link rel="stylesheet" href="/static/app.css">' in page
    assert "<script>" not in page and "style=" not in page and "onclick" not in page
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    for element_id in ('id="transcript"', 'id="input"', 'id="send"'):
        assert element_id in page
    assert "You are talking to an automated interviewer. Type /help for commands." in page


def test_title_is_escaped(rasa):
    gw = Gateway(rasa.url, title="Acme <Jobs> & Co").start()
    try:
        page = httpx.get(gw.url + "/", timeout=20.0).text
        assert "<title>Acme &lt;Jobs&gt; &amp; Co</title>" in page
        assert "<Jobs>" not in page
    finally:
        gw.stop()


@pytest.mark.parametrize(
    ("name", "content_type"), [("app.js", "text/javascript"), ("app.css", "text/css")]
)
def test_static_files(client, name, content_type):
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(content_type)
    assert_security_headers(response)
    assert "http://" not in response.text and "https://" not in response.text


def test_static_assets_use_text_content_only():
    js = (REPO_ROOT / "bot/web/static/app.js").read_text()
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
    assert "eval(" not in js and "document.write" not in js
    assert "white-space: pre-wrap" in (REPO_ROOT / "bot/web/static/app.css").read_text()


def raw_get(port: int, path: str) -> int:
    """GET with the path sent exactly as given (httpx would normalise the dots away)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2fapp.py",
        "/static/%2e%2e/%2e%2e/rasa_client.py",
        "/static/..%5capp.py",
        "/static/.hidden",
        "/static/",
        "/static/index.html",
        "/static/nope.js",
        "/static/app.js%00.css",
        "/../../etc/passwd",
    ],
)
def test_path_traversal_and_unknown_files_are_404(gateway, path):
    assert raw_get(gateway.port, path) == 404


def test_not_found_has_security_headers(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert_security_headers(response)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert_security_headers(response)


# ---- privacy ------------------------------------------------------------------------------


def test_message_text_is_never_logged(client, rasa, caplog):
    secret = "my-secret-answer-4242"
    with caplog.at_level(logging.DEBUG):
        assert post(client, secret).status_code == 200
        rasa.fail = True
        assert post(client, secret + " again").status_code == 503
        assert client.get("/?job=" + secret).status_code == 200
    # Everything but the test's own HTTP client (httpx/httpcore) is server side.
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_side, "expected access log records"
    logged = "\n".join(r.getMessage() for r in server_side)
    assert secret not in logged
    assert SESSION not in logged
    assert "POST /api/messages 200" in logged
    assert "POST /api/messages 503" in logged


# ---- process lifecycle --------------------------------------------------------------------


def test_run_web_gateway_stops_cleanly_on_sigterm(rasa, tmp_path):
    port = free_port()
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from bot.web.app import run_web_gateway\n"
        f"run_web_gateway({rasa.url!r}, '127.0.0.1', {port})\n"
        "print('stopped cleanly')\n"
    )
    # Its own var dir and database: never the developer's var/ (whose data a test master
    # key could not open).
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PARLEY_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'parley.db'}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.1)
        response = httpx.post(
            f"http://127.0.0.1:{port}/api/messages",
            json={"session": SESSION, "text": "hello"},
            timeout=10,
        )
        assert response.status_code == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "stopped cleanly" in output
    assert "hello" not in output.replace("stopped cleanly", "")
