"""Rasa's tracker store is encrypted at rest on both stacks (rasa_ext/encrypted_tracker_store.py).

Rasa silently falls back to an in-memory tracker store when a custom store cannot be imported,
so these tests read the tracker database itself: the events are there (persisted), every
payload is sealed, and the candidate's answer text appears nowhere in the raw database."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from storage.db import normalise_url
from tests.e2e.conftest import Stack
from tests.e2e.test_interview_rest import VALID, answers_of, begin

pytestmark = pytest.mark.e2e

SECRET_ANSWER = "My tracker canary: I tuned the Zanzibar-7 query planner for weeks."


def _interview(stack: Stack, sender: str) -> None:
    assert "Question 1 of 6" in begin(stack, sender)[-1]
    assert "Question 2 of 6" in stack.texts(sender, SECRET_ANSWER)[-1]
    assert answers_of(stack, sender)["motivation"].raw_text == SECRET_ANSWER


def _events(stack: Stack, sender: str) -> list[tuple[str, str]]:
    engine = create_engine(normalise_url(stack.settings.tracker_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            ).all()
        return [(r[0], r[1]) for r in rows]
    finally:
        engine.dispose()


def _assert_sealed(stack: Stack, sender: str) -> None:
    events = _events(stack, sender)
    assert any(kind == "user" for kind, _ in events), "no persisted events: in-memory fallback?"
    assert all(data.startswith("pt1:") for _, data in events)
    assert not any("Zanzibar" in data for _, data in events)


def test_embedded_tracker_store_is_encrypted(stack: Stack, sender: str) -> None:
    _interview(stack, sender)
    _assert_sealed(stack, sender)
    raw = b"".join(
        p.read_bytes() for p in stack.settings.var_dir.glob("rasa-tracker.db*") if p.is_file()
    )
    assert raw and b"Zanzibar" not in raw
    # The conversation still works from the sealed events: the next answer is taken.
    assert "Question 3 of 6" in stack.texts(sender, VALID[1][1])[-1]


def test_prod_tracker_store_is_encrypted(prod_stack: Stack, sender: str) -> None:
    _interview(prod_stack, sender)
    _assert_sealed(prod_stack, sender)
