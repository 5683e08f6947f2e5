"""Fixtures for the web gateway tests: a local stand-in Rasa and the real gateway in front."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fake_rasa import FakeRasa, Gateway
from privacy_gateway import PrivacyGateway

from storage.db import Database
from storage.files import FileStore


@pytest.fixture
def gateway(rasa: FakeRasa) -> Iterator[Gateway]:
    gw = Gateway(rasa.url, rasa_timeout_s=5.0).start()
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture
def privacy_gateway(
    db: Database, rasa: FakeRasa, tmp_path
) -> Iterator[tuple[PrivacyGateway, httpx.Client]]:
    """The gateway with the app database and file store (export links, the outbox)."""
    gw = PrivacyGateway(rasa.url, db, FileStore(tmp_path / "files", db)).start()
    try:
        with httpx.Client(base_url=gw.url, timeout=20.0) as client:
            yield gw, client
    finally:
        gw.stop()
