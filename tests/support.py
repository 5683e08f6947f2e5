"""Helpers for tests: repository paths and throw-away PostgreSQL databases."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_JOBS = ROOT / "tests" / "fixtures" / "jobs"
PG_ADMIN_URL = os.environ.get(
    "PARLEY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pg_url(name: str) -> str:
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
