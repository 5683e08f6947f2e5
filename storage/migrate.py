"""Run Alembic migrations programmatically, so every entry point starts on the current schema."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")
# Alembic runs a migration through module-global proxies (`alembic.context`, `alembic.op`)
# that it installs and removes around each command, so two migrations overlapping in one
# process — the action server's warm-up thread and a first request, or two databases in a
# test run — tear down each other's proxies (KeyError: 'config'). One at a time per process.
_ALEMBIC = threading.Lock()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (idempotent)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to `revision` (for tests and emergencies)."""
    _run(url, lambda config: command.downgrade(config, revision))


def _run(url: str, step: Callable[[Config], None]) -> None:
    """Run an Alembic command in one transaction.

    On SQLite, foreign keys are off while migrating (Alembic's advice for batch mode): a table
    rebuild drops the old table, which with enforced foreign keys would cascade-delete its
    children. `PRAGMA foreign_key_check` then proves nothing was left dangling before commit.
    """
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    from storage.db import make_engine

    with _ALEMBIC:
        engine = make_engine(url, foreign_keys=False)
        try:
            with engine.begin() as connection:
                config = alembic_config(url)
                config.attributes["connection"] = connection
                before = MigrationContext.configure(connection).get_current_revision()
                step(config)
                after = MigrationContext.configure(connection).get_current_revision()
                if connection.dialect.name == "sqlite" and before != after:
                    problems = connection.execute(text("PRAGMA foreign_key_check")).fetchall()
                    if problems:
                        raise RuntimeError(f"migration left dangling foreign keys: {problems[:5]}")
        finally:
            engine.dispose()
