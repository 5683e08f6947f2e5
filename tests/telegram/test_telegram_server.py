"""The gateway process: a wrong or malformed token is a clear start-up error (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.telegram.gateway import TelegramGateway
from bot.telegram.server import (
    TOKEN_MALFORMED,
    TOKEN_REJECTED,
    ConfigError,
    TelegramService,
    make_bot,
)
from tests.support import ROOT

RUN = (
    "from parley.settings import load_settings;"
    "from bot.telegram.server import run_telegram_gateway;"
    "run_telegram_gateway(load_settings())"
)


def _gateway(standin, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PARLEY_TELEGRAM_TOKEN": token or standin.token,
        "PARLEY_TELEGRAM_API_URL": standin.url,
    }
    return subprocess.run(
        [sys.executable, "-c", RUN], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_wrong_token_exits_3_with_one_clear_line(standin):
    done = _gateway(standin, "987654321:AAwrong-token_abcdefghijklmnopqrstuvw")
    assert done.returncode == 3, done.stderr
    assert TOKEN_REJECTED in done.stderr
    assert "Traceback" not in done.stderr
    assert standin.unauthorized == 1
    assert standin.calls == []  # nothing else was attempted


def test_malformed_token_exits_3(standin):
    done = _gateway(standin, "not a token")
    assert done.returncode == 3, done.stderr
    assert TOKEN_MALFORMED in done.stderr
    assert standin.unauthorized == 0


def test_webhook_mode_needs_a_url_and_a_valid_secret(standin, rasa):
    bot = make_bot(standin.token, standin.url)
    gateway = TelegramGateway(bot, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        TelegramService(gateway, mode="webhook")
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
        TelegramService(
            gateway, mode="webhook", webhook_url="https://x.example/", webhook_secret="a b"
        )
    with pytest.raises(ConfigError, match="polling or webhook"):
        TelegramService(gateway, mode="carrier-pigeon")
    service = TelegramService(gateway, mode="webhook", webhook_url="https://x.example")
    assert len(service.webhook_secret) >= 32  # generated when not configured


def test_the_gateway_process_serves_health_answers_and_stops_cleanly(standin, rasa, tmp_path):
    """`run_telegram_gateway` as `parley serve-telegram` runs it: getMe, /healthz, polling,
    a message answered, SIGTERM → exit 0."""
    import signal
    import time

    import httpx

    from parley.telegram_standin import text_update
    from storage.migrate import upgrade
    from tests.web.fake_rasa import free_port

    url = f"sqlite:///{tmp_path / 'parley.db'}"
    upgrade(url)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PARLEY_TELEGRAM_TOKEN": standin.token,
        "PARLEY_TELEGRAM_API_URL": standin.url,
        "PARLEY_TELEGRAM_PORT": str(port),
        "PARLEY_RASA_PORT": str(rasa.port),
        "PARLEY_VAR_DIR": str(tmp_path),
        "DATABASE_URL": url,
    }
    process = subprocess.Popen(
        [sys.executable, "-c", RUN], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert health is not None, process.stderr.read() if process.stderr else ""
        assert health.json() == {"status": "ok", "bot": "@parley_test_bot", "mode": "polling"}
        standin.enqueue(text_update(4242, "hello from a process"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not standin.sent_texts(4242):
            time.sleep(0.05)
        assert standin.sent_texts(4242) == ["Next question after: hello from a process"]
        assert rasa.senders() == ["telegram:4242"]
        assert standin.calls_of("deleteWebhook")  # polling starts from a clean slate
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
