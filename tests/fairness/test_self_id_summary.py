"""`/mydata` names the voluntary self-identification and the decision-log entries in words
(not as table names), without showing the self-ID values themselves in the summary."""

from __future__ import annotations

from sqlalchemy import select

from fairness import self_id
from privacy.summary import summarize
from storage.db import Database
from storage.models import Application, ChannelIdentity
from tests.fairness.audit_support import Person, seed


def _sender(db: Database, application_id: str) -> str:
    with db.transaction() as s:
        candidate_id = s.get(Application, application_id).candidate_id
        return s.scalars(
            select(ChannelIdentity.sender_id).where(ChannelIdentity.candidate_id == candidate_id)
        ).one()


def test_mydata_describes_self_id_and_the_decision_log(db: Database) -> None:
    (app_id,) = seed(db, [Person("female", "two_or_more", 0.9)])
    from oversight.decision_log import record

    with db.transaction() as s:
        record(
            s,
            application_id=app_id,
            decision="score",
            decided_by="model:test-model",
            automated=True,
            outcome={"overall": 0.9},
            inputs={"application_score": 1},
        )
    text = "\n".join(summarize(db, _sender(db, app_id)))
    assert "Your voluntary self-identification (sex, race/ethnicity)" in text
    assert "1 decision-log entries" in text
    assert "self id keys" not in text and "self identifications:" not in text
    assert "Two or More Races" not in text  # the values are shown by /selfid, not here


def test_mydata_without_self_id_says_nothing_about_it(db: Database) -> None:
    (app_id,) = seed(db, [Person(None, None, 0.9)])
    with db.transaction() as s:
        candidate_id = s.get(Application, app_id).candidate_id
        assert self_id.read(s, candidate_id) == (None, None)
    text = "\n".join(summarize(db, _sender(db, app_id)))
    assert "self-identification" not in text
