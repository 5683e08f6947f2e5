"""End-to-end fixtures: the real Rasa server and the real action server on free ports.

A Rasa server needs 30–50 s to start here, so each stack is started once per test session
and every test uses fresh sender ids. Two stacks: the embedded default (SQLite app database,
SQLite tracker store, in-memory lock store, plus the web chat) and the production settings
(PostgreSQL app database and tracker store, Redis lock store).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from parley.settings import Settings
from parley.stack import build_supervisor, isolated_settings
from parley.supervisor import Supervisor
from parley.training import train
from screening.catalog import import_jobs
from storage.db import Database
from storage.migrate import upgrade
from tests.support import FIXTURE_JOBS, ROOT, create_pg_database, drop_pg_database, pg_url


class Stack:
    """A running Parley stack and helpers to talk to it and inspect its database."""

    def __init__(self, settings: Settings, web: bool) -> None:
        self.settings = settings
        self.web = web
        self.supervisor: Supervisor | None = None
        upgrade(settings.database_url)
        self.db = Database(settings.database_url)
        import_jobs(self.db, FIXTURE_JOBS)
        import_jobs(self.db, ROOT / "jobs")
        self.http = httpx.Client(timeout=60)

    def start(self) -> None:
        self.supervisor = build_supervisor(self.settings, web=self.web)
        try:
            self.supervisor.start(timeout_s=300, echo=lambda _m: None)
        except Exception:
            self.supervisor.stop()
            raise

    def stop(self) -> None:
        if self.supervisor:
            self.supervisor.stop()

    def restart_servers(self) -> None:
        """kill -9 the Rasa server and the action server, then start everything again."""
        assert self.supervisor is not None
        self.supervisor.kill("rasa")
        self.supervisor.kill("actions")
        self.supervisor.stop()
        self.start()

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        url = self.settings.rasa_url + "/webhooks/rest/webhook"
        response = self.http.post(url, json={"sender": sender, "message": text})
        assert response.status_code == 200, response.text
        # Machine markers for gateways ({"custom": {"parley": "interview_over"}}) are not
        # messages a person sees.
        return [m for m in response.json() if "text" in m or "buttons" in m]

    def texts(self, sender: str, text: str) -> list[str]:
        return [m.get("text") or "" for m in self.say(sender, text)]

    def close(self) -> None:
        self.stop()
        self.http.close()
        self.db.dispose()


def new_sender(prefix: str = "web") -> str:
    return f"{prefix}:e2e-{secrets.token_hex(6)}"


@pytest.fixture(scope="session")
def rasa_model() -> None:
    train(Settings(root=ROOT), echo=lambda _m: None)


@pytest.fixture(scope="session")
def stack(rasa_model: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The embedded default stack, with the web chat gateway."""
    var = tmp_path_factory.mktemp("stack-embedded")
    s = Stack(isolated_settings(Settings(root=ROOT), var), web=True)
    s.start()
    yield s
    s.close()


@pytest.fixture(scope="session")
def prod_stack(rasa_model: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The production settings: PostgreSQL app DB and tracker store, Redis lock store."""
    app_db = create_pg_database("parley_e2e_app")
    tracker_db = create_pg_database("parley_e2e_tracker")
    prefix = f"parley-e2e-{secrets.token_hex(4)}:"
    var = tmp_path_factory.mktemp("stack-prod")
    settings = isolated_settings(
        Settings(root=ROOT),
        var,
        profile="prod",
        database_url=pg_url(app_db),
        tracker_url=pg_url(tracker_db),
        lock_prefix=prefix,
    )
    s = Stack(settings, web=False)
    try:
        s.start()
        yield s
    finally:
        s.close()
        client = redis.Redis(host=settings.redis_host, port=settings.redis_port)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        drop_pg_database(app_db)
        drop_pg_database(tracker_db)


@pytest.fixture
def sender() -> str:
    return new_sender()


def var_path(stack: Stack) -> Path:
    return stack.settings.var_dir
