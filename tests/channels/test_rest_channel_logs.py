"""Rasa's REST channel never writes a person's message into the logs (rasa_ext/rest_channel.py)."""

from __future__ import annotations

import subprocess

from tests.support import ROOT

SNIPPET = """
import rasa_ext.rest_channel  # installs the wrapper
import rasa.core.channels.rest as rest
rest.structlogger.error("rest.message.received.timeout", text="my secret answer 4711")
rest.structlogger.exception("rest.message.received.failure", text="my secret answer 4711")
"""


def test_failed_and_cancelled_turns_are_logged_without_the_text() -> None:
    done = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", SNIPPET],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    output = done.stdout + done.stderr
    assert "rest.message.received.timeout" in output  # the event is still logged
    assert "rest.message.received.failure" in output
    assert "4711" not in output and "secret" not in output
