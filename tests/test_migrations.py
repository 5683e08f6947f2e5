"""Migration 0003 (practice mode) on SQLite and PostgreSQL, with data already in place.

On SQLite, dropping the old (candidate_id, job_id) unique constraint rebuilds the applications
table; with foreign keys enforced that would cascade-delete every answer. These tests prove
the rows survive, existing applications become mode "application", and the uniqueness rule
still holds for real applications while practice runs may repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from tests.support import create_pg_database, drop_pg_database, pg_url

NOW = "2026-11-22 10:00:00+00:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = create_pg_database("parley_migrate")
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


def _seed(engine: Engine) -> None:
    """One candidate with a completed application, an answer, its score and a session."""
    statements = [
        f"INSERT INTO candidates (id, created_at) VALUES ('c1', '{NOW}')",
        f"INSERT INTO organizations (id, slug, name, created_at) VALUES (1, 'org', 'Org', '{NOW}')",
        "INSERT INTO jobs (id, organization_id, slug, version, is_current, content_hash, title, "
        f"location, definition, created_at) VALUES (1, 1, 'job', 1, true, 'h', 'Job', 'Here', "
        f"'{{}}', '{NOW}')",
        "INSERT INTO applications (id, candidate_id, job_id, status, current_index, created_at, "
        f"updated_at) VALUES ('a1', 'c1', 1, 'completed', 0, '{NOW}', '{NOW}')",
        "INSERT INTO answers (id, application_id, question_id, question_kind, status, knockout, "
        f"channel, revision, answered_at) VALUES (1, 'a1', 'q', 'free_text', 'answered', false, "
        f"'web', 1, '{NOW}')",
        "INSERT INTO answer_scores (answer_id, application_id, question_id, answer_revision, "
        "status, needs_review, explanation, model_name, model_version, scorer_version, "
        f"created_at) VALUES (1, 'a1', 'q', 1, 'scored', false, '{{}}', 'm', 'v', 's', '{NOW}')",
        "INSERT INTO interview_sessions (application_id, channel, status, started_at) "
        f"VALUES ('a1', 'web', 'completed', '{NOW}')",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def _insert_application(engine: Engine, app_id: str, mode: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO applications (id, candidate_id, job_id, status, current_index, "
                "created_at, updated_at, mode) VALUES (:id, 'c1', 1, 'completed', 0, :now, :now, "
                ":mode)"
            ),
            {"id": app_id, "now": NOW, "mode": mode},
        )


def _count(engine: Engine, table: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def test_0003_keeps_data_and_allows_repeated_practice_runs(url: str) -> None:
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        _seed(engine)
        upgrade(url)
        for table in ("applications", "answers", "answer_scores", "interview_sessions"):
            assert _count(engine, table) == 1, table
        with engine.begin() as conn:
            row = conn.execute(text("SELECT mode, practice_feedback FROM applications")).one()
        assert tuple(row) == ("application", None)
        _insert_application(engine, "p1", "practice")
        _insert_application(engine, "p2", "practice")  # same candidate and job version
        with pytest.raises(IntegrityError):
            _insert_application(engine, "a2", "application")
        # Back to 0002: practice runs go (they cannot be represented), the rest stays.
        downgrade(url, "0002")
        assert _count(engine, "applications") == 1 and _count(engine, "answers") == 1
        upgrade(url)
        assert _count(engine, "answer_scores") == 1
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(url: str) -> None:
    upgrade(url)
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0009"
    finally:
        engine.dispose()


def test_migrations_in_several_threads_of_one_process_do_not_collide(tmp_path: Path) -> None:
    """Alembic's module-global proxies are installed and removed around each command: two
    migrations overlapping in one process (the action server's warm-up thread and a first
    request, or a test and that thread) used to tear each other's down (KeyError 'config').
    storage.migrate runs them one at a time; every database ends at the head revision."""
    import threading

    urls = [f"sqlite:///{tmp_path / f'thread-{i}.db'}" for i in range(6)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(urls))

    def migrate(url: str) -> None:
        try:
            start.wait()
            upgrade(url)
        except BaseException as exc:  # collected: asserted below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for url in urls:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        finally:
            engine.dispose()
        assert version == "0009"
