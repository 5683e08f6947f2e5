"""The bias audit's data on both backends: which applications are counted, what "selected"
and the score are, the self-identification read through its own key, and the access log.

The population (15 finished applications of the fixture job, threshold 0.5):

    sex      race   score  outcome          sex      race   score  outcome
    female   white  0.80   selected         male     white  0.90   selected
    female   white  0.60   selected         male     white  0.70   selected
    female   white  0.30   —                male     white  0.55   selected
    female   white  0.20   —                male     white  0.10   —
    female   asian  0.75   selected         male     asian  0.85   selected
    female   asian  0.40   —                male     asian  0.65   selected
    (none)   white  0.95   selected         declined declined 0.45 —
    male     black  0.00   knocked out

Worked out by hand:
* sex: female 3/6 = 0.5, male 5/7 = 0.714285…; female's impact ratio 0.5 / (5/7) = 0.7
  (below 4/5ths); unknown sex 2 (never answered, declined).
* race: white 6/9 = 0.6667, asian 3/4 = 0.75 (highest), black 0/1 = 0; white's ratio
  (6/9)/(3/4) = 0.8889; unknown race 1 (declined).
* intersections: female×white 2/4, male×white 3/4, female×asian 1/2, male×asian 2/2
  (highest), male×black 0/1; unknown 2.
* scores sorted: 0, .1, .2, .3, .4, .45, .55, .6, .65, .7, .75, .8, .85, .9, .95 → the
  median is the 8th, 0.6; strictly above it: .65 .7 .75 .8 .85 .9 .95 (7). Female above:
  .8 .75 → 2/6; male above: .9 .7 .85 .65 → 4/7; female's ratio (1/3)/(4/7) = 0.5833.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from fairness.audit_data import AUDIT_PURPOSE, NoSuchJob, load
from fairness.impact import compute
from storage.db import Database
from storage.models import AccessLogEntry, Application
from tests.employers.employer_support import NOW, make_application
from tests.fairness.audit_support import Person, seed

POPULATION = [
    Person("female", "white", 0.80),
    Person("female", "white", 0.60),
    Person("female", "white", 0.30),
    Person("female", "white", 0.20),
    Person("male", "white", 0.90),
    Person("male", "white", 0.70),
    Person("male", "white", 0.55),
    Person("male", "white", 0.10),
    Person("female", "asian", 0.75),
    Person("female", "asian", 0.40),
    Person("male", "asian", 0.85),
    Person("male", "asian", 0.65),
    Person(None, "white", 0.95),
    Person("declined", "declined", 0.45),
    Person("male", "black", 0.0, knocked_out=True),
]


def group(audit, dimension: str, kind: str, category: str):
    table = next(t for t in audit.tables if t.dimension == dimension and t.kind == kind)
    return next(g for g in table.groups if g.category == category)


def table(audit, dimension: str, kind: str):
    return next(t for t in audit.tables if t.dimension == dimension and t.kind == kind)


def test_the_population_gives_the_hand_computed_rates(db: Database) -> None:
    seed(db, POPULATION)
    data = load(db, job="test-role")
    assert len(data.records) == 15
    assert sum(r.selected for r in data.records) == 9  # 3 female, 5 male, 1 unknown sex
    audit = compute(data.records)
    assert audit.total == 15
    female = group(audit, "sex", "selection", "female")
    male = group(audit, "sex", "selection", "male")
    assert (female.count, female.rate) == (6, pytest.approx(0.5))
    assert (male.count, male.rate) == (7, pytest.approx(5 / 7))
    assert female.impact_ratio == pytest.approx(0.7)
    assert female.below_four_fifths and male.reference
    assert table(audit, "sex", "selection").unknown == 2
    assert group(audit, "race_ethnicity", "selection", "white").impact_ratio == pytest.approx(
        (6 / 9) / 0.75
    )
    assert group(audit, "race_ethnicity", "selection", "asian").reference
    assert group(audit, "race_ethnicity", "selection", "black").rate == 0.0
    assert table(audit, "race_ethnicity", "selection").unknown == 1
    assert group(audit, "intersection", "selection", "female|white").rate == pytest.approx(0.5)
    assert group(audit, "intersection", "selection", "male|asian").rate == pytest.approx(1.0)
    assert table(audit, "intersection", "selection").unknown == 2
    assert audit.median_score == pytest.approx(0.6)
    assert group(audit, "sex", "scoring", "female").rate == pytest.approx(2 / 6)
    assert group(audit, "sex", "scoring", "male").rate == pytest.approx(4 / 7)
    assert group(audit, "sex", "scoring", "female").impact_ratio == pytest.approx((2 / 6) / (4 / 7))
    assert data.model_versions == ["test-model 1"]
    assert data.scorer_versions == ["1"]
    assert data.thresholds == {"test-role": 0.5}


def test_only_finished_real_applications_of_people_the_tool_decided_are_counted(
    db: Database,
) -> None:
    seed(db, [Person("female", "white", 0.9)])
    seed(db, [Person("male", "white", 0.9)], ai_opt_out=True)
    make_application(db, score=0.9, status="in_progress")
    make_application(db, score=0.9, status="withdrawn")
    make_application(db, score=0.9, mode="practice")
    make_application(db, score=0.9, erased=True)
    data = load(db, job="test-role")
    assert [(r.sex, r.race, r.selected) for r in data.records] == [("female", "white", True)]
    assert data.excluded_opted_out == 1
    assert any("opted out of AI scoring" in n for n in data.notes)


def test_records_carry_no_identifier_and_every_counted_candidate_is_in_the_access_log(
    db: Database,
) -> None:
    ids = seed(db, POPULATION[:3])
    data = load(db, job="test-role", actor="cli:auditor")
    for record in data.records:
        assert set(record.__dataclass_fields__) == {"sex", "race", "selected", "score"}
    with db.transaction() as s:
        candidates = {s.get(Application, i).candidate_id for i in ids}
        rows = s.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "bias_audit"))
        logged = {(r.candidate_id, r.actor, r.purpose) for r in rows}
    assert logged == {(c, "cli:auditor", AUDIT_PURPOSE) for c in candidates}


def test_the_date_range_is_whole_days_and_future_dates_are_noted(db: Database) -> None:
    seed(db, [Person("female", "white", 0.9)], finished_at=NOW - timedelta(days=10))
    seed(db, [Person("male", "white", 0.9)], finished_at=NOW)
    day = NOW.date()
    assert len(load(db, job="test-role", since=day).records) == 1
    assert len(load(db, job="test-role", until=day - timedelta(days=10)).records) == 1
    assert len(load(db, job="test-role", since=day - timedelta(days=10), until=day).records) == 2
    future = date.today() + timedelta(days=30)
    data = load(db, job="test-role", since=future)
    assert data.records == []
    assert any("in the future" in n for n in data.notes)
    assert compute(data.records).total == 0


def test_no_self_identification_at_all_is_all_unknown_without_division_by_zero(
    db: Database,
) -> None:
    seed(db, [Person(None, None, 0.9), Person(None, None, 0.2)])
    audit = compute(load(db, job="test-role").records)
    assert audit.total == 2
    assert (audit.unknown_sex, audit.unknown_race) == (2, 2)
    assert all(g.rate is None and g.impact_ratio is None for t in audit.tables for g in t.groups)
    assert audit.notes  # says that nobody self-identified


def test_a_single_applicant_and_one_group(db: Database) -> None:
    seed(db, [Person("female", "asian", 0.7)])
    audit = compute(load(db, job="test-role").records)
    female = group(audit, "sex", "selection", "female")
    assert (female.count, female.rate, female.impact_ratio) == (1, 1.0, 1.0)
    assert group(audit, "sex", "selection", "male").count == 0
    assert group(audit, "sex", "selection", "male").rate is None


def test_an_unknown_job_lists_the_known_ones(db: Database) -> None:
    with pytest.raises(NoSuchJob, match="test-role"):
        load(db, job="no-such-job")


def test_all_jobs_together_and_a_job_without_applications(db: Database) -> None:
    seed(db, POPULATION[:4])
    assert len(load(db, job=None).records) == 4
    empty = load(db, job="test-role", until=NOW.date() - timedelta(days=400))
    assert empty.records == [] and empty.jobs  # the job is still named in the metadata
