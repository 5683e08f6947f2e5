"""Seeding for the bias-audit tests: finished applications of the fixture job with a
chosen outcome and a chosen voluntary self-identification.

Outcomes go through the employer tests' seeding (real ORM rows shaped like production); the
self-identification through `fairness.self_id.save`, the same code the chat uses, so the
audit reads it exactly as it would in production (sealed under the self-ID key).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from fairness import self_id
from storage.db import Database
from storage.models import Application
from tests.employers.employer_support import JOB, make_application


class Person(NamedTuple):
    """One applicant: self-ID (None: never answered; "declined": prefer not to say) and the
    outcome. `score` ≥ 0.5 with `knocked_out` False is "selected" for the fixture job."""

    sex: str | None
    race: str | None
    score: float | None
    knocked_out: bool = False


def seed(
    db: Database,
    people: Iterable[Person],
    *,
    job: str = JOB,
    finished_at: datetime | None = None,
    ai_opt_out: bool = False,
) -> list[str]:
    """One finished application per person; returns the application ids."""
    ids: list[str] = []
    for person in people:
        app_id = make_application(
            db,
            job,
            score=person.score,
            knocked_out=person.knocked_out,
            finished_at=finished_at,
            ai_opt_out=ai_opt_out,
        )
        if person.sex is not None or person.race is not None:
            with db.transaction() as s:
                candidate_id = s.get(Application, app_id).candidate_id
                self_id.save(s, candidate_id, sex=person.sex, race=person.race)
        ids.append(app_id)
    return ids
