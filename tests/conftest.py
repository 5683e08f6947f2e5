"""Shared fixtures: real databases (SQLite file and a fresh PostgreSQL database per session).

PostgreSQL runs on 127.0.0.1:5432 here (`scripts/ensure-services.sh` starts it when down);
each test session creates its own database and drops it afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from screening.catalog import import_jobs
from storage.db import Database
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_JOBS = ROOT / "tests" / "fixtures" / "jobs"
PG_ADMIN_URL = os.environ.get(
    "PARLEY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _pg_url(name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def create_pg_database(prefix: str) -> str:
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session."""
    name = create_pg_database("parley_test")
    try:
        yield _pg_url(name)
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
        url = _pg_url(name)
    upgrade(url)
    database = Database(url)
    import_jobs(database, FIXTURE_JOBS)
    yield database
    database.dispose()
