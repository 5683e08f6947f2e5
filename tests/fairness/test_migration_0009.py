"""Migration 0009 on both backends: the self-identification tables with their cascades, the
decision log whose application link is SET NULL (the log outlives an erased candidate), the
override columns; and a clean downgrade to 0008 and back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from tests.support import create_pg_database, drop_pg_database, pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fairness.db'}"
        return
    name = create_pg_database("parley_m0009")
    try:
        yield pg_url(name)
    finally:
        drop_pg_database(name)


def _fk(inspector, table: str, column: str) -> dict:
    return next(
        f for f in inspector.get_foreign_keys(table) if f["constrained_columns"] == [column]
    )


def test_0009_adds_and_removes_the_fairness_and_oversight_schema(empty_url: str) -> None:
    upgrade(empty_url, "0008")
    engine = make_engine(empty_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert not {"self_identifications", "self_id_keys", "decision_log"} & names
        upgrade(empty_url)
        inspector = inspect(engine)
        assert {c["name"] for c in inspector.get_columns("self_identifications")} == {
            "candidate_id", "sex", "race_ethnicity", "step", "created_at", "updated_at",
        }  # fmt: skip
        assert _fk(inspector, "self_identifications", "candidate_id")["options"]["ondelete"] == (
            "CASCADE"
        )
        assert _fk(inspector, "self_id_keys", "candidate_id")["options"]["ondelete"] == "CASCADE"
        assert _fk(inspector, "decision_log", "application_id")["options"]["ondelete"] == (
            "SET NULL"
        )
        review = {c["name"] for c in inspector.get_columns("application_reviews")}
        assert {"knockout_overridden_at", "knockout_override_by", "pinned_rank"} <= review
        downgrade(empty_url, "0008")
        inspector = inspect(engine)
        assert "decision_log" not in inspector.get_table_names()
        assert "pinned_rank" not in {
            c["name"] for c in inspector.get_columns("application_reviews")
        }
        upgrade(empty_url)
        with engine.begin() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0009"
    finally:
        engine.dispose()
