"""Fixtures for the web gateway tests: a local stand-in Rasa and the real gateway in front."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_rasa import FakeRasa, Gateway


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def gateway(rasa: FakeRasa) -> Iterator[Gateway]:
    gw = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        yield gw
    finally:
        gw.stop()
