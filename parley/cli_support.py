"""What every `parley …` sub-command module needs: the migrated app database and a clean
failure (the message on stderr, an exit code). One place, so the CLI modules do not each
carry their own copy."""

from __future__ import annotations

from typing import Any, NoReturn

import typer

from parley.settings import Settings, load_settings


def open_db(settings: Settings | None = None) -> Any:
    """The app database, migrated to the newest schema first (storage.db.Database)."""
    from storage.db import Database
    from storage.migrate import upgrade

    settings = settings or load_settings()
    upgrade(settings.database_url)
    return Database.from_settings(settings)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)
