"""Bias audit arithmetic on synthetic populations whose rates and ratios are worked out by hand."""

from __future__ import annotations

import json
import math
import threading

import pytest

from fairness.categories import DECLINED, RACE_ETHNICITY, SEX, UNKNOWN
from fairness.impact import NO_RECORDS, AuditRecord, BiasAudit, GroupRate, compute


def _people(sex: str, race: str, count: int, selected: int, score: float | None = None) -> list:
    """`count` applications of one category, the first `selected` of them selected."""
    return [AuditRecord(sex, race, i < selected, score) for i in range(count)]


def _group(audit: BiasAudit, dimension: str, kind: str, category: str) -> GroupRate:
    return next(g for g in audit.table(dimension, kind).groups if g.category == category)


# Population used by several tests (105 applications):
#   female × white   20, 10 selected      male × white   30, 18 selected
#   female × black   15,  6 selected      male × black   20,  8 selected
#   female × unknown 10,  5 selected      male × asian    1,  1 selected  (a < 2 % category)
#   declined × white  4,  2 selected      unknown × unknown 5, 0 selected
POPULATION = (
    _people("female", "white", 20, 10)
    + _people("female", "black", 15, 6)
    + _people("female", UNKNOWN, 10, 5)
    + _people("male", "white", 30, 18)
    + _people("male", "black", 20, 8)
    + _people("male", "asian", 1, 1)
    + _people(DECLINED, "white", 4, 2)
    + _people(UNKNOWN, DECLINED, 5, 0)
)


def test_totals_and_unknown_counts() -> None:
    audit = compute(POPULATION)
    assert audit.total == 105
    assert audit.selected_total == 10 + 6 + 5 + 18 + 8 + 1 + 2 + 0  # 50
    assert audit.unknown_sex == 4 + 5  # declined counts as unknown
    assert audit.unknown_race == 10 + 5
    assert audit.scored_total == 0
    assert audit.median_score is None
    assert [(t.dimension, t.kind) for t in audit.tables] == [
        ("sex", "selection"),
        ("race_ethnicity", "selection"),
        ("intersection", "selection"),
        ("sex", "scoring"),
        ("race_ethnicity", "scoring"),
        ("intersection", "scoring"),
    ]


def test_selection_by_sex() -> None:
    audit = compute(POPULATION)
    table = audit.table("sex", "selection")
    female = _group(audit, "sex", "selection", "female")
    male = _group(audit, "sex", "selection", "male")
    # female: 20 + 15 + 10 = 45 applicants, 10 + 6 + 5 = 21 selected -> 21/45
    # male:   30 + 20 + 1  = 51 applicants, 18 + 8 + 1 = 27 selected -> 27/51 (the highest)
    assert (female.count, female.selected) == (45, 21)
    assert (male.count, male.selected) == (51, 27)
    assert female.rate == pytest.approx(21 / 45)
    assert male.rate == pytest.approx(27 / 51)
    # female ratio = (21/45) / (27/51) = 1071 / 1215 = 0.8815 -> above four-fifths
    assert female.impact_ratio == pytest.approx(1071 / 1215)
    assert male.impact_ratio == 1.0
    assert not female.below_four_fifths and not male.below_four_fifths
    assert table.reference == "male" and male.reference and not female.reference
    # shares of the 96 with a known sex
    assert female.share == pytest.approx(45 / 96)
    assert male.share == pytest.approx(51 / 96)
    assert table.unknown == 9
    assert table.known == 96
    assert female.label == "Female"


def test_selection_by_race_skips_a_small_category_as_reference() -> None:
    audit = compute(POPULATION)
    table = audit.table("race_ethnicity", "selection")
    white = _group(audit, "race_ethnicity", "selection", "white")
    black = _group(audit, "race_ethnicity", "selection", "black")
    asian = _group(audit, "race_ethnicity", "selection", "asian")
    # white: 20 + 30 + 4 = 54, 10 + 18 + 2 = 30 selected -> 5/9
    # black: 15 + 20 = 35, 6 + 8 = 14 selected -> 0.4
    # asian: 1 of 1 -> 1.0, but 1/90 = 1.1 % of the known -> small, not the reference
    assert (white.count, white.selected, black.count, black.selected) == (54, 30, 35, 14)
    assert table.known == 90 and table.unknown == 15
    assert asian.small and asian.share == pytest.approx(1 / 90)
    assert not white.small and not black.small
    assert table.reference == "white"
    assert white.impact_ratio == 1.0
    assert black.impact_ratio == pytest.approx(0.4 / (5 / 9))  # 0.72
    assert black.below_four_fifths
    # the small category is still reported with its rate and ratio (1 / (5/9) = 1.8)
    assert asian.rate == 1.0
    assert asian.impact_ratio == pytest.approx(1.8)
    assert not asian.below_four_fifths


def test_empty_categories_are_listed_with_no_rate() -> None:
    audit = compute(POPULATION)
    table = audit.table("race_ethnicity", "selection")
    assert [g.category for g in table.groups] == list(RACE_ETHNICITY)
    hispanic = _group(audit, "race_ethnicity", "selection", "hispanic_latino")
    assert (hispanic.count, hispanic.rate, hispanic.impact_ratio) == (0, None, None)
    assert (hispanic.share, hispanic.small, hispanic.below_four_fifths) == (0.0, False, False)


def test_selection_by_intersection() -> None:
    audit = compute(POPULATION)
    table = audit.table("intersection", "selection")
    assert len(table.groups) == len(SEX) * len(RACE_ETHNICITY) == 14
    # known in both = 20 + 15 + 30 + 20 + 1 = 86; unknown = 10 + 4 + 5 = 19
    assert table.known == 86 and table.unknown == 19
    rates = {g.category: (g.rate, g.impact_ratio, g.below_four_fifths) for g in table.groups}
    # reference: male × white 18/30 = 0.6 (male × asian 1/1 is 1/86 = 1.2 %: small)
    assert table.reference == "male|white"
    assert rates["male|white"] == (pytest.approx(0.6), 1.0, False)
    assert rates["female|white"] == (pytest.approx(0.5), pytest.approx(0.5 / 0.6), False)
    assert rates["female|black"] == (pytest.approx(0.4), pytest.approx(0.4 / 0.6), True)
    assert rates["male|black"] == (pytest.approx(0.4), pytest.approx(0.4 / 0.6), True)
    assert rates["male|asian"] == (1.0, pytest.approx(1 / 0.6), False)
    assert rates["female|asian"] == (None, None, False)
    male_asian = _group(audit, "intersection", "selection", "male|asian")
    assert male_asian.small and male_asian.label == "Male × Asian"
    assert _group(audit, "intersection", "selection", "female|hispanic_latino").label == (
        "Female × Hispanic or Latino"
    )


def test_alerts_are_noted_as_internal_not_a_safe_harbour() -> None:
    audit = compute(POPULATION)
    alerts = [n for n in audit.notes if n.startswith("Internal alert")]
    # race (black) and intersection (female × black, male × black); sex has none
    assert len(alerts) == 2
    assert "Black or African American" in alerts[0]
    assert "Female × Black or African American" in alerts[1]
    assert all("not a legal safe harbour" in n for n in alerts)


def test_exactly_four_fifths_is_not_flagged_and_just_below_is() -> None:
    # female 4/10 = 0.4, male 5/10 = 0.5 -> ratio exactly 0.8: not below
    audit = compute(_people("female", "white", 10, 4) + _people("male", "white", 10, 5))
    female = _group(audit, "sex", "selection", "female")
    assert female.impact_ratio == pytest.approx(0.8)
    assert not female.below_four_fifths
    # female 79/100 = 0.79, male 10/10 = 1.0 -> ratio 0.79: below
    audit = compute(_people("female", "white", 100, 79) + _people("male", "white", 10, 10))
    female = _group(audit, "sex", "selection", "female")
    assert female.impact_ratio == pytest.approx(0.79)
    assert female.below_four_fifths


def test_equal_rates_reference_goes_to_the_first_category() -> None:
    audit = compute(_people("female", "asian", 10, 5) + _people("male", "asian", 20, 10))
    table = audit.table("sex", "selection")
    assert table.reference == "female"
    assert [g.impact_ratio for g in table.groups] == [1.0, 1.0]


def test_exactly_two_percent_is_not_small() -> None:
    # 1 of 50 = 2 % exactly: not under 2 %, so it can be the reference
    audit = compute(_people("female", "white", 1, 1) + _people("male", "white", 49, 10))
    female = _group(audit, "sex", "selection", "female")
    assert female.share == pytest.approx(0.02)
    assert not female.small and female.reference
    # 1 of 51 = 1.96 %: small, the reference is male
    audit = compute(_people("female", "white", 1, 1) + _people("male", "white", 50, 10))
    female = _group(audit, "sex", "selection", "female")
    assert female.small and not female.reference
    assert audit.table("sex", "selection").reference == "male"


# Scoring: 10 applications, 9 scored.
#   female white: 0.9, 0.8, 0.3, 0.2      male black: 0.7, 0.6, 0.5, 0.1
#   declined × asian: 0.95                unknown × asian: not scored (None)
# sorted scores: 0.1 0.2 0.3 0.5 0.6 0.7 0.8 0.9 0.95 -> median 0.6 (the 5th of 9)
SCORED = [
    AuditRecord("female", "white", True, 0.9),
    AuditRecord("female", "white", True, 0.8),
    AuditRecord("female", "white", False, 0.3),
    AuditRecord("female", "white", False, 0.2),
    AuditRecord("male", "black", True, 0.7),
    AuditRecord("male", "black", False, 0.6),
    AuditRecord("male", "black", False, 0.5),
    AuditRecord("male", "black", False, 0.1),
    AuditRecord(DECLINED, "asian", True, 0.95),
    AuditRecord(UNKNOWN, "asian", False, None),
]


def test_scoring_rate_is_share_strictly_above_the_whole_sample_median() -> None:
    audit = compute(SCORED)
    assert audit.scored_total == 9
    assert audit.median_score == pytest.approx(0.6)
    female = _group(audit, "sex", "scoring", "female")
    male = _group(audit, "sex", "scoring", "male")
    # female above 0.6: 0.9, 0.8 -> 2/4; male: 0.7 only (0.6 equals the median) -> 1/4
    assert (female.count, female.selected, female.rate) == (4, 2, 0.5)
    assert (male.count, male.selected, male.rate) == (4, 1, 0.25)
    assert male.impact_ratio == 0.5 and male.below_four_fifths
    table = audit.table("sex", "scoring")
    assert table.unknown == 1  # the declined one is scored; the unscored one isn't counted
    assert table.reference == "female"
    race = audit.table("race_ethnicity", "scoring")
    # white 2/4 = 0.5, black 1/4, asian 1/1 (the declined-sex one) but 1/9 = 11 %: not small
    asian = _group(audit, "race_ethnicity", "scoring", "asian")
    assert (asian.count, asian.rate, asian.small) == (1, 1.0, False)
    assert race.reference == "asian"
    assert _group(audit, "race_ethnicity", "scoring", "white").impact_ratio == 0.5
    assert _group(audit, "race_ethnicity", "scoring", "black").impact_ratio == 0.25
    inter = audit.table("intersection", "scoring")
    assert inter.known == 8 and inter.unknown == 1
    assert inter.reference == "female|white"


def test_even_number_of_scores_uses_the_midpoint_median() -> None:
    # median of 0.2 0.4 0.6 0.8 = 0.5; female (0.2, 0.8) 1/2, male (0.4, 0.6) 1/2
    records = [
        AuditRecord("female", "white", False, 0.2),
        AuditRecord("male", "white", False, 0.4),
        AuditRecord("male", "white", False, 0.6),
        AuditRecord("female", "white", False, 0.8),
    ]
    audit = compute(records)
    assert audit.median_score == pytest.approx(0.5)
    assert _group(audit, "sex", "scoring", "female").rate == 0.5
    assert _group(audit, "sex", "scoring", "male").rate == 0.5


def test_all_scores_tied_no_one_above_the_median() -> None:
    audit = compute(_people("female", "white", 5, 2, 0.5) + _people("male", "black", 5, 3, 0.5))
    table = audit.table("sex", "scoring")
    assert audit.median_score == 0.5
    assert [g.rate for g in table.groups] == [0.0, 0.0]
    assert [g.impact_ratio for g in table.groups] == [None, None]
    assert not any(g.below_four_fifths for g in table.groups)
    assert table.note is not None and "No one in any group was scored above the median" in (
        table.note
    )
    # selection is unaffected: 2/5 and 3/5
    assert _group(audit, "sex", "selection", "female").impact_ratio == pytest.approx(2 / 3)


def test_scores_all_none() -> None:
    audit = compute(_people("female", "white", 3, 1) + _people("male", "white", 3, 2))
    assert audit.scored_total == 0 and audit.median_score is None
    assert "No application was scored: scoring rates cannot be computed." in audit.notes
    for dimension in ("sex", "race_ethnicity", "intersection"):
        table = audit.table(dimension, "scoring")
        assert table.known == 0 and table.unknown == 0 and table.reference is None
        assert all(g.rate is None and g.impact_ratio is None for g in table.groups)
        assert table.note == "No scored applications."


def test_non_finite_scores_count_as_not_scored() -> None:
    records = [
        AuditRecord("female", "white", True, math.nan),
        AuditRecord("male", "white", True, math.inf),
        AuditRecord("male", "white", False, 0.4),
    ]
    audit = compute(records)
    assert audit.scored_total == 1 and audit.median_score == 0.4


def test_no_selection_at_all_gives_no_ratios_and_a_note() -> None:
    audit = compute(_people("female", "white", 10, 0) + _people("male", "black", 10, 0))
    table = audit.table("sex", "selection")
    assert [g.rate for g in table.groups] == [0.0, 0.0]
    assert [g.impact_ratio for g in table.groups] == [None, None]
    assert table.note == "No one in any group was selected: impact ratios cannot be computed."


def test_empty_input() -> None:
    audit = compute([])
    assert audit.notes == [NO_RECORDS]
    assert (audit.total, audit.selected_total, audit.scored_total) == (0, 0, 0)
    assert audit.median_score is None
    assert len(audit.tables) == 6
    for table in audit.tables:
        assert table.known == 0 and table.unknown == 0 and table.reference is None
        assert all(g.count == 0 and g.rate is None and g.share == 0.0 for g in table.groups)
    assert audit.table("sex", "selection").note == "No applications."
    json.dumps(audit.to_json())  # plain types only
    assert audit.to_json()["notes"] == [NO_RECORDS]


def test_single_applicant() -> None:
    audit = compute([AuditRecord("female", "hispanic_latino", True, 0.7)])
    table = audit.table("sex", "selection")
    female = _group(audit, "sex", "selection", "female")
    assert (female.count, female.rate, female.impact_ratio, female.share) == (1, 1.0, 1.0, 1.0)
    assert female.reference and not female.small
    assert _group(audit, "sex", "selection", "male").rate is None
    assert table.note == "Only one group (Female) has data: a comparison needs at least two groups."
    inter = audit.table("intersection", "selection")
    assert inter.reference == "female|hispanic_latino"
    # scoring: the median is its own score, not above it -> rate 0, no ratio
    scoring = audit.table("sex", "scoring")
    assert audit.median_score == 0.7
    assert _group(audit, "sex", "scoring", "female").rate == 0.0
    assert _group(audit, "sex", "scoring", "female").impact_ratio is None
    assert "No one in any group was scored above the median" in (scoring.note or "")
    assert "a comparison needs at least two groups" in (scoring.note or "")


def test_single_applicant_not_selected() -> None:
    audit = compute([AuditRecord("male", "white", False, None)])
    male = _group(audit, "sex", "selection", "male")
    assert (male.rate, male.impact_ratio) == (0.0, None)


def test_all_in_one_group() -> None:
    audit = compute(_people("male", "white", 10, 3))
    for dimension, category in (
        ("sex", "male"),
        ("race_ethnicity", "white"),
        ("intersection", "male|white"),
    ):
        group = _group(audit, dimension, "selection", category)
        assert (group.rate, group.impact_ratio, group.reference) == (0.3, 1.0, True)
        assert "a comparison needs at least two groups" in (
            audit.table(dimension, "selection").note or ""
        )
    assert not any(n.startswith("Internal alert") for n in audit.notes)


def test_no_self_identification_at_all() -> None:
    records = (
        _people(UNKNOWN, UNKNOWN, 3, 1, 0.4)
        + _people(DECLINED, DECLINED, 2, 1, 0.6)
        + _people(DECLINED, UNKNOWN, 1, 0)
    )
    audit = compute(records)
    assert (
        "No candidate self-identified: rates by group cannot be computed; "
        "6 applications, all unknown." in audit.notes
    )
    assert audit.unknown_sex == audit.unknown_race == 6
    for table in audit.tables:
        assert table.known == 0 and table.reference is None
        assert all(g.rate is None for g in table.groups)
    assert audit.table("sex", "selection").unknown == 6
    assert audit.table("sex", "scoring").unknown == 5
    assert audit.table("sex", "selection").note == (
        "No one gave their sex: 6 unknown, no rates by group."
    )


def test_one_dimension_known_the_other_not() -> None:
    # Everyone gave a sex, no one a race: sex rates exist, race and intersections are unknown.
    audit = compute(_people("female", DECLINED, 4, 2) + _people("male", UNKNOWN, 4, 1))
    assert _group(audit, "sex", "selection", "female").rate == 0.5
    assert _group(audit, "sex", "selection", "male").impact_ratio == 0.5
    assert audit.table("race_ethnicity", "selection").unknown == 8
    assert audit.table("intersection", "selection").unknown == 8
    assert not any(n.startswith("No candidate self-identified") for n in audit.notes)


def test_malformed_category_values_count_as_unknown() -> None:
    records = [
        AuditRecord("Female", "white", True, None),  # wrong case: not a stored value
        AuditRecord("", "", True, None),
        AuditRecord("<script>", "asian; DROP TABLE x", True, None),
        AuditRecord("female", "white", False, None),
    ]
    audit = compute(records)
    assert audit.unknown_sex == 3 and audit.unknown_race == 2
    assert _group(audit, "sex", "selection", "female").count == 1
    assert all("script" not in g.category for t in audit.tables for g in t.groups)


def test_duplicated_records_each_count_as_one_application() -> None:
    record = AuditRecord("female", "white", True, 0.5)
    audit = compute([record, record, AuditRecord("male", "white", False, 0.5)])
    assert _group(audit, "sex", "selection", "female").count == 2


def test_huge_population() -> None:
    # 60 000 applications: female 30 000 with 12 000 selected (0.4), male 30 000 with 15 000
    # (0.5) -> female ratio 0.8 exactly, not flagged
    records = _people("female", "black", 30_000, 12_000) + _people("male", "asian", 30_000, 15_000)
    audit = compute(records)
    female = _group(audit, "sex", "selection", "female")
    assert female.count == 30_000 and female.impact_ratio == pytest.approx(0.8)
    assert not female.below_four_fifths
    assert audit.table("intersection", "selection").known == 60_000


def test_to_json_carries_every_number() -> None:
    data = compute(POPULATION).to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["total"] == 105 and data["unknown_sex"] == 9
    assert data["four_fifths_threshold"] == 0.8 and data["small_share_threshold"] == 0.02
    race = next(
        t for t in data["tables"] if (t["dimension"], t["kind"]) == ("race_ethnicity", "selection")
    )
    assert race["reference"] == "white" and race["known"] == 90 and race["unknown"] == 15
    black = next(g for g in race["groups"] if g["category"] == "black")
    assert black == {
        "category": "black",
        "label": "Black or African American",
        "count": 35,
        "selected": 14,
        "rate": pytest.approx(0.4),
        "impact_ratio": pytest.approx(0.72),
        "share": pytest.approx(35 / 90),
        "small": False,
        "below_four_fifths": True,
        "reference": False,
    }


def test_compute_is_safe_to_run_from_many_threads() -> None:
    expected = compute(POPULATION).to_json()
    results: list[dict] = []
    lock = threading.Lock()

    def worker() -> None:
        result = compute(POPULATION).to_json()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8
