"""Selection rates, scoring rates and impact ratios, following NYC Local Law 144's method.

The rules of 6 RCNY §5-301 define the numbers a bias audit of an automated employment decision
tool reports, and we compute exactly those so that an auditor can check them by hand:

* selection rate of a category = selected ÷ applicants in it; impact ratio = the category's
  rate ÷ the highest category's rate;
* for a tool that scores, the scoring rate = share of a category's scored applicants whose score
  is above the median of the whole sample, with impact ratios computed the same way;
* categories: sex, race/ethnicity and every sex × race/ethnicity intersection;
* applicants whose category is unknown are counted and reported, never put into a rate;
* a category under 2 % of the data is flagged (and still reported). We also keep it from being
  the reference group, because one lucky applicant would otherwise set the bar for everyone.

A ratio under 4/5 is flagged as an internal alert: the four-fifths rule is a rule of thumb to
start an investigation, not a legal safe harbour. Arithmetic on the flags uses exact fractions,
so a ratio of exactly 0.8 is never flagged because of a rounding error.

This module is pure (no database): `fairness.audit_data` turns stored applications into
`AuditRecord`s, and `fairness.report_html` renders the result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from fairness.categories import LABELS, RACE_ETHNICITY, SEX, UNKNOWN

SMALL_SHARE = Fraction(2, 100)
FOUR_FIFTHS = Fraction(4, 5)

DIMENSIONS: tuple[str, ...] = ("sex", "race_ethnicity", "intersection")
KINDS: tuple[str, ...] = ("selection", "scoring")

DIMENSION_LABELS: dict[str, str] = {
    "sex": "Sex",
    "race_ethnicity": "Race/ethnicity",
    "intersection": "Sex × race/ethnicity",
}
KIND_LABELS: dict[str, str] = {"selection": "Selection rate", "scoring": "Scoring rate"}

NO_RECORDS = "No finished applications in the range."


@dataclass(frozen=True)
class AuditRecord:
    """One finished real application, reduced to what the audit may see.

    `sex` and `race` are stored values; DECLINED, UNKNOWN and anything unrecognised all count
    as unknown. `score` is the overall score in 0..1, None when the application wasn't scored.
    """

    sex: str
    race: str
    selected: bool
    score: float | None


@dataclass(frozen=True)
class GroupRate:
    """One category's row in a table.

    For a scoring table, `count` is the category's scored applicants and `selected` those
    scoring above the median. `share` is count ÷ the known count of the table (0.0 when nothing
    is known). `small` is only set for a category with data: an empty one shows "no data".
    """

    category: str
    label: str
    count: int
    selected: int
    rate: float | None
    impact_ratio: float | None
    share: float
    small: bool
    below_four_fifths: bool
    reference: bool


@dataclass(frozen=True)
class Table:
    """The rates of one dimension (sex, race/ethnicity, intersection) for one kind of outcome."""

    dimension: str
    kind: str
    groups: list[GroupRate]
    unknown: int
    reference: str | None
    note: str | None

    @property
    def known(self) -> int:
        """Applicants with a category in this dimension (the denominator of `share`)."""
        return sum(group.count for group in self.groups)

    @property
    def alerts(self) -> list[GroupRate]:
        """The categories under the four-fifths line (an internal alert)."""
        return [group for group in self.groups if group.below_four_fifths]


@dataclass(frozen=True)
class BiasAudit:
    """The whole audit: totals, six tables (3 dimensions × selection/scoring) and notes."""

    total: int
    selected_total: int
    scored_total: int
    median_score: float | None
    tables: list[Table]
    unknown_sex: int
    unknown_race: int
    notes: list[str] = field(default_factory=list)

    def table(self, dimension: str, kind: str) -> Table:
        """The table for a dimension and kind (KeyError if there is none)."""
        for table in self.tables:
            if table.dimension == dimension and table.kind == kind:
                return table
        raise KeyError((dimension, kind))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (plain types only), the same numbers the HTML report shows."""
        return {
            "method": "NYC LL144 (6 RCNY 5-301): impact ratio = category rate / highest rate",
            "total": self.total,
            "selected_total": self.selected_total,
            "scored_total": self.scored_total,
            "median_score": self.median_score,
            "unknown_sex": self.unknown_sex,
            "unknown_race": self.unknown_race,
            "small_share_threshold": float(SMALL_SHARE),
            "four_fifths_threshold": float(FOUR_FIFTHS),
            "notes": list(self.notes),
            "tables": [
                {
                    "dimension": table.dimension,
                    "kind": table.kind,
                    "known": table.known,
                    "unknown": table.unknown,
                    "reference": table.reference,
                    "note": table.note,
                    "groups": [asdict(group) for group in table.groups],
                }
                for table in self.tables
            ],
        }


def _categories(dimension: str) -> list[str]:
    if dimension == "sex":
        return list(SEX)
    if dimension == "race_ethnicity":
        return list(RACE_ETHNICITY)
    return [f"{sex}|{race}" for sex in SEX for race in RACE_ETHNICITY]


def category_label(category: str) -> str:
    """The label of a category key; an intersection "sex|race" reads "Female × White"."""
    if "|" in category:
        sex, race = category.split("|", 1)
        return f"{LABELS[sex]} × {LABELS[race]}"
    return LABELS[category]


def _category_of(record: AuditRecord, dimension: str) -> str:
    """The record's category in a dimension, UNKNOWN when it has none (either part unknown)."""
    sex = record.sex if record.sex in SEX else UNKNOWN
    race = record.race if record.race in RACE_ETHNICITY else UNKNOWN
    if dimension == "sex":
        return sex
    if dimension == "race_ethnicity":
        return race
    if UNKNOWN in (sex, race):
        return UNKNOWN
    return f"{sex}|{race}"


def _score(record: AuditRecord) -> float | None:
    """The usable score: a finite number, else None (a NaN must not poison the median)."""
    score = record.score
    if score is None or isinstance(score, bool):
        return None
    try:
        value = float(score)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _table(
    dimension: str, kind: str, outcomes: Sequence[tuple[str, bool]], nothing_known: str
) -> Table:
    """Count one dimension's (category, positive outcome) pairs into a table of rates.

    `nothing_known` is the note when no one in the table has a known category.
    """
    categories = _categories(dimension)
    counts = dict.fromkeys(categories, 0)
    positives = dict.fromkeys(categories, 0)
    unknown = 0
    for category, positive in outcomes:
        if category not in counts:
            unknown += 1
            continue
        counts[category] += 1
        positives[category] += int(positive)
    known = sum(counts.values())

    rates = {c: Fraction(positives[c], counts[c]) for c in categories if counts[c]}
    small = {c: bool(known) and Fraction(counts[c], known) < SMALL_SHARE for c in rates}
    # The fallback to every category is a safeguard: shares add up to 1, so with at most 14
    # categories at least one of them always holds 2 % or more.
    eligible = [c for c in rates if not small[c]] or list(rates)
    # max() keeps the first of equal rates, so ties go to the category listed first.
    reference = max(eligible, key=lambda c: rates[c]) if eligible else None
    reference_rate = rates[reference] if reference is not None else None

    notes: list[str] = []
    what = "selected" if kind == "selection" else "scored above the median"
    if not known:
        notes.append(nothing_known)
    elif reference_rate == 0:
        notes.append(f"No one in any group was {what}: impact ratios cannot be computed.")
    if len(rates) == 1:
        notes.append(
            f"Only one group ({category_label(next(iter(rates)))}) has data: "
            "a comparison needs at least two groups."
        )

    groups = []
    for category in categories:
        rate = rates.get(category)
        ratio = rate / reference_rate if rate is not None and reference_rate else None
        groups.append(
            GroupRate(
                category=category,
                label=category_label(category),
                count=counts[category],
                selected=positives[category],
                rate=float(rate) if rate is not None else None,
                impact_ratio=float(ratio) if ratio is not None else None,
                share=float(Fraction(counts[category], known)) if known else 0.0,
                small=small.get(category, False),
                below_four_fifths=ratio is not None and ratio < FOUR_FIFTHS,
                reference=category == reference,
            )
        )
    return Table(
        dimension=dimension,
        kind=kind,
        groups=groups,
        unknown=unknown,
        reference=reference,
        note=" ".join(notes) or None,
    )


def compute(records: Sequence[AuditRecord]) -> BiasAudit:
    """Compute every table of the audit from finished applications (any number, even none)."""
    records = list(records)
    scores = [_score(record) for record in records]
    scored = [
        (record, score) for record, score in zip(records, scores, strict=True) if score is not None
    ]
    median = statistics.median(score for _, score in scored) if scored else None
    cut = median if median is not None else math.inf  # unused when nothing is scored

    tables: list[Table] = []
    for dimension in DIMENSIONS:
        tables.append(
            _table(
                dimension,
                "selection",
                [(_category_of(r, dimension), r.selected) for r in records],
                _nothing_known(dimension, "selection", len(records)),
            )
        )
    for dimension in DIMENSIONS:
        tables.append(
            _table(
                dimension,
                "scoring",
                [(_category_of(r, dimension), s > cut) for r, s in scored],
                _nothing_known(dimension, "scoring", len(scored)),
            )
        )

    unknown_sex = sum(_category_of(r, "sex") == UNKNOWN for r in records)
    unknown_race = sum(_category_of(r, "race_ethnicity") == UNKNOWN for r in records)
    notes: list[str] = []
    if not records:
        notes.append(NO_RECORDS)
    else:
        if unknown_sex == len(records) and unknown_race == len(records):
            notes.append(
                "No candidate self-identified: rates by group cannot be computed; "
                f"{len(records)} application{'s' if len(records) != 1 else ''}, all unknown."
            )
        if not scored:
            notes.append("No application was scored: scoring rates cannot be computed.")
        for table in tables:
            if table.alerts and table.reference:
                names = ", ".join(group.label for group in table.alerts)
                reference = category_label(table.reference)
                notes.append(
                    f"Internal alert ({KIND_LABELS[table.kind].lower()}, "
                    f"{DIMENSION_LABELS[table.dimension].lower()}): impact ratio under 4/5 "
                    f"of {reference}'s rate for {names}. Investigate; the four-fifths rule "
                    "is not a legal safe harbour."
                )
    return BiasAudit(
        total=len(records),
        selected_total=sum(bool(r.selected) for r in records),
        scored_total=len(scored),
        median_score=float(median) if median is not None else None,
        tables=tables,
        unknown_sex=unknown_sex,
        unknown_race=unknown_race,
        notes=notes,
    )


def _nothing_known(dimension: str, kind: str, people: int) -> str:
    """The note of a table in which no one has a known category."""
    if not people:
        if kind == "scoring":
            return "No scored applications."
        return "No applications."
    what = {
        "sex": "sex",
        "race_ethnicity": "race/ethnicity",
        "intersection": "both sex and race/ethnicity",
    }[dimension]
    return f"No one gave their {what}: {people} unknown, no rates by group."
