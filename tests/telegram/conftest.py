"""Fixtures for the Telegram gateway tests (the harness itself is in harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parley.telegram_standin import TelegramStandIn
from tests.telegram.harness import RecordingRasa


@pytest.fixture
def rasa() -> Iterator[RecordingRasa]:
    """Overrides the shared fake Rasa with one that records metadata too."""
    fake = RecordingRasa().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def standin() -> Iterator[TelegramStandIn]:
    """The Bot API stand-in, in its own thread."""
    fake = TelegramStandIn().start()
    try:
        yield fake
    finally:
        fake.stop()
