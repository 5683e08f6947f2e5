"""`parley run`'s chat gateways as real processes: a rejected Telegram token is reported
clearly and leaves Telegram off while the Slack gateway starts and stays up."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.cli import _echo_chat_gateways
from parley.settings import Settings
from parley.slack_standin import SlackStandIn
from parley.stack import isolated_settings
from parley.supervisor import Supervisor, slack_process, telegram_process
from parley.telegram_standin import TelegramStandIn
from storage.migrate import upgrade
from tests.web.fake_rasa import BackgroundLoop


@pytest.fixture
def slack_standin():
    loop = BackgroundLoop()
    standin = loop.call(SlackStandIn().start())
    try:
        yield standin
    finally:
        loop.call(standin.stop())
        loop.close()


def test_wrong_telegram_token_is_reported_and_slack_keeps_running(
    tmp_path: Path, slack_standin: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    telegram = TelegramStandIn().start()
    try:
        settings = isolated_settings(
            Settings(),
            tmp_path / "var",
            telegram_token="123456:AAHwrongTokenWrongTokenWrongToken1",
            telegram_api_url=telegram.url,
            slack_bot_token=slack_standin.bot_token,
            slack_app_token=slack_standin.app_token,
            slack_api_url=slack_standin.api_url,
        )
        upgrade(settings.database_url)
        sup = Supervisor(
            settings, [telegram_process(settings), slack_process(settings)], tmp_path / "log"
        )
        lines: list[str] = []
        try:
            sup.start(timeout_s=120, echo=lines.append)
            tg_proc, slack_proc = sup.get("telegram"), sup.get("slack")
            assert tg_proc is not None and slack_proc is not None
            assert "rejected (401 Unauthorized): check PARLEY_TELEGRAM_TOKEN" in tg_proc.failed
            assert tg_proc.popen is not None and tg_proc.popen.returncode == 3
            assert any(line.startswith("  off      telegram") for line in lines), lines
            assert not slack_proc.failed and sup.exited() == []  # Slack is up
            assert sup.health(slack_proc)["mode"] == "socket"
            assert telegram.unauthorized >= 1
            _echo_chat_gateways(settings, sup)
            out = capsys.readouterr().out
            assert "Telegram       failed to start:" in out
            assert "Slack          direct message" in out and "[socket]" in out
        finally:
            sup.stop()
    finally:
        telegram.stop()
