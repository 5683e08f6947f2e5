"""`parley run` and `parley chat` as a person uses them: real processes, real Rasa."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from parley.stack import free_port
from tests.e2e.conftest import Stack
from tests.support import FIXTURE_JOBS, ROOT

pytestmark = pytest.mark.e2e
PARLEY = str(Path(sys.executable).with_name("parley"))


def test_parley_chat_in_the_terminal(stack: Stack) -> None:
    env = {**os.environ, "PARLEY_RASA_PORT": str(stack.settings.rasa_port)}
    lines = "1\n1\nI enjoy solving problems with a friendly team.\n/repeat\n"
    result = subprocess.run(
        [PARLEY, "chat", "--job", "test-role", "--sender", "web:cli-e2e-1"],
        input=lines,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] I agree" in out and "Are you 16" in out
    assert out.count("Question 2 of 6") == 2  # asked, then repeated on /repeat
    answers = stack.texts("web:cli-e2e-1", "/repeat_question")
    assert "Question 2 of 6" in answers[-1]


def test_parley_run_starts_everything_and_stops_on_sigterm(tmp_path: Path) -> None:
    ports = {
        "PARLEY_RASA_PORT": free_port(),
        "PARLEY_ACTIONS_PORT": free_port(),
        "PARLEY_WEB_PORT": free_port(),
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "PARLEY_VAR_DIR": str(tmp_path / "var"),
        "PARLEY_JOBS_DIR": str(FIXTURE_JOBS),
    }
    env.pop("DATABASE_URL", None)
    env.pop("PARLEY_TRACKER_URL", None)
    proc = subprocess.Popen(
        [PARLEY, "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output: list[str] = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            output.append(line)
            if "Parley is ready" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert "Parley is ready" in text, text
        web = f"http://127.0.0.1:{ports['PARLEY_WEB_PORT']}/"
        assert web in text and "test-role" in text
        assert httpx.get(web + "healthz").status_code == 200
        reply = httpx.post(
            web + "api/messages",
            json={"session": "run-test-session-0001", "text": "/start job=test-role"},
            timeout=60,
        )
        assert "Test Role" in reply.text
        assert (tmp_path / "var" / "parley.db").exists()
        assert (tmp_path / "var" / "rasa-tracker.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    for port in ports.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_parley_chat_shows_outbox_messages(stack: Stack) -> None:
    """A message the system sends on its own (here a notice) reaches the terminal chat
    through the web gateway's outbox, after the next reply, exactly once."""
    from privacy import outbox
    from storage.repositories import CandidateRepository

    env = {
        **os.environ,
        "PARLEY_RASA_PORT": str(stack.settings.rasa_port),
        "PARLEY_WEB_PORT": str(stack.settings.web_port),
    }
    sender = "web:cli-e2e-outbox"

    def chat(lines: str) -> str:
        result = subprocess.run(
            [PARLEY, "chat", "--job", "test-role", "--sender", sender],
            input=lines, capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "Are you 16" in chat("1\n")
    with stack.db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender)
        assert candidate is not None
        outbox.enqueue(s, candidate.id, sender, "notice", "Our privacy notice changes on 1 May.")
    out = chat("1\n/repeat\n")
    assert out.count("bot> Our privacy notice changes on 1 May.") == 1
    assert "privacy notice changes" not in chat("/repeat\n")
