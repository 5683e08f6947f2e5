"""Shared fixtures: real databases (SQLite file and a fresh PostgreSQL database per session).

PostgreSQL runs on 127.0.0.1:5432 here (`scripts/ensure-services.sh` starts it when down);
each test session creates its own database and drops it afterwards.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from screening.catalog import import_jobs
from storage.db import Database
from storage.migrate import upgrade
from tests.browser import chromium
from tests.support import FIXTURE_JOBS, create_pg_database, drop_pg_database, pg_url
from tests.web.fake_rasa import FakeRasa

# One random master key for the whole test session, set at import time so that every
# Database (and every subprocess stack in tests/e2e, which inherits the environment) uses
# the same key and none generates var/master.key. An explicitly set key wins.
os.environ.setdefault("PARLEY_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    name = create_pg_database("parley_test")
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty app database on each backend, with the test jobs imported."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'parley.db'}"
    else:
        name = create_pg_database("parley_unit")
        request.addfinalizer(lambda: drop_pg_database(name))
        url = pg_url(name)
    upgrade(url)
    database = Database(url)
    import_jobs(database, FIXTURE_JOBS)
    yield database
    database.dispose()


@pytest.fixture
def driver() -> Iterator[object]:
    """A headless Chromium (selenium) with a throw-away profile."""
    yield from chromium()


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    """A stand-in for Rasa's REST channel (tests/web/fake_rasa.py) for the gateways' own
    tests; the real Rasa is exercised by tests/e2e."""
    fake = FakeRasa().start()
    try:
        yield fake
    finally:
        fake.stop()
