"""`parley serve-slack` as a real process against the Slack stand-in: a wrong token exits 3
with one clear line; a right one serves /healthz and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from parley.slack_standin import SlackStandIn
from storage.migrate import upgrade
from tests.support import ROOT
from tests.web.fake_rasa import BackgroundLoop, free_port


def _env(tmp_path: Path, standin: SlackStandIn, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_SLACK")}
    env.update(
        PARLEY_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'parley.db'}",
        PARLEY_SLACK_API_URL=standin.api_url,
        PARLEY_SLACK_APP_TOKEN=standin.app_token,
        PARLEY_SLACK_PORT=str(free_port()),
        PARLEY_RASA_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def _standin() -> tuple[BackgroundLoop, SlackStandIn]:
    loop = BackgroundLoop()
    return loop, loop.call(SlackStandIn().start())


def test_wrong_token_process_exits_3(tmp_path: Path) -> None:
    loop, standin = _standin()
    try:
        env = _env(tmp_path, standin, PARLEY_SLACK_BOT_TOKEN="xoxb-wrong")
        done = subprocess.run(
            [sys.executable, "-m", "parley", "serve-slack"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert (
            "Slack bot token was rejected (invalid_auth): check PARLEY_SLACK_BOT_TOKEN"
            in done.stderr
        )
        assert "Traceback" not in done.stderr
    finally:
        loop.call(standin.stop())
        loop.close()


def test_process_serves_health_and_stops_cleanly(tmp_path: Path) -> None:
    loop, standin = _standin()
    upgrade(f"sqlite:///{tmp_path / 'parley.db'}")
    env = _env(
        tmp_path,
        standin,
        PARLEY_SLACK_BOT_TOKEN=standin.bot_token,
        PARLEY_SLACK_SIGNING_SECRET=standin.signing_secret,
        PARLEY_SLACK_MODE="http",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", "serve-slack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{env['PARLEY_SLACK_PORT']}/healthz"
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(url, timeout=1)
                if response.status_code == 200:
                    body = response.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        assert body == {
            "status": "ok",
            "team": "Parley Test",
            "team_id": standin.team_id,
            "bot": "@parley",
            "mode": "http",
        }
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        loop.call(standin.stop())
        loop.close()
