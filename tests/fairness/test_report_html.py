"""The bias audit HTML page: numbers in the tables, a chart per table, metadata, escaping."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from html.parser import HTMLParser

import pytest

from fairness.categories import DECLINED, UNKNOWN
from fairness.impact import AuditRecord, compute
from fairness.report_html import AuditMeta, render, render_summary
from tests.fairness.test_impact import POPULATION, SCORED

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'

META = AuditMeta(
    title="Barista — Downtown",
    jobs=["barista-downtown", "barista-uptown"],
    organization="Acme Coffee",
    since=date(2026, 1, 1),
    until=date(2026, 6, 30),
    generated_at=datetime(2026, 7, 1, 9, 30, 0),
    data_source="Parley database: finished real applications (practice runs excluded)",
    model_versions=["all-MiniLM-L6-v2 1.0"],
    scorer_versions=["scorer 2026-05"],
    selection_rule="Advanced: not knocked out and shortlisted",
)


class _Page(HTMLParser):
    """Collects what the tests look at: sections with their rows and SVGs, metadata, tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.sections: dict[tuple[str, str], dict] = {}
        self.meta: dict[str, str] = {}
        self.title = ""
        self.h1 = ""
        self.text: list[str] = []
        self._section: dict | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._row_class = ""
        self._where: str | None = None
        self._dt = ""
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "section" and "data-dimension" in attributes:
            key = (attributes["data-dimension"], attributes["data-kind"])
            self._section = {"rows": [], "svgs": 0, "bars": 0, "lines": 0, "notes": []}
            self.sections[key] = self._section  # type: ignore[index]
        elif tag == "svg" and self._section is not None:
            self._section["svgs"] += 1
        elif tag == "rect" and self._section is not None:
            self._section["bars"] += 1
        elif tag == "line" and self._section is not None and attributes.get("class") == "line":
            self._section["lines"] += 1
        elif tag == "tr" and self._section is not None:
            self._row, self._row_class = [], attributes.get("class") or ""
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("title", "h1", "dt", "dd") or (tag == "p" and attributes.get("class")):
            self._where, self._buffer = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._section is not None:
            self._section["rows"].append((self._row_class, self._row))
            self._row = None
        elif tag == "section":
            self._section = None
        elif tag == self._where or (tag == "p" and self._where == "p"):
            value = "".join(self._buffer).strip()
            if tag == "title" and not self.title:
                self.title = value
            elif tag == "h1":
                self.h1 = value
            elif tag == "dt":
                self._dt = value
            elif tag == "dd":
                self.meta[self._dt] = value
            elif tag == "p" and self._section is not None:
                self._section["notes"].append(value)
            self._where = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._where is not None:
            self._buffer.append(data)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def _row(parsed: _Page, dimension: str, kind: str, label: str) -> tuple[str, list[str]]:
    rows = parsed.sections[(dimension, kind)]["rows"]
    return next((cls, cells) for cls, cells in rows if cells and cells[0] == label)


def test_every_table_is_rendered_with_its_numbers() -> None:
    parsed = _parse(render(compute(POPULATION), META))
    assert set(parsed.sections) == {
        (d, k) for d in ("sex", "race_ethnicity", "intersection") for k in ("selection", "scoring")
    }
    # Hand-worked in test_impact: black 35 applicants, 14 selected, 35/90 of the known,
    # rate 0.4, ratio 0.72 (below four-fifths of white's 5/9).
    cls, cells = _row(parsed, "race_ethnicity", "selection", "Black or African American")
    assert cells[:6] == ["Black or African American", "35", "14", "38.9 %", "0.400", "0.720"]
    assert "alert" in cls.split() and "below 4/5" in cells[6]
    cls, cells = _row(parsed, "race_ethnicity", "selection", "White")
    assert cells[1:6] == ["54", "30", "60.0 %", "0.556", "1.000"]
    assert "reference" in cls.split() and "reference" in cells[6]
    # the < 2 % category is shown with its rate and ratio, flagged small
    cls, cells = _row(parsed, "race_ethnicity", "selection", "Asian")
    assert cells[1:6] == ["1", "1", "1.1 %", "1.000", "1.800"]
    assert "small" in cls.split() and "under 2 %" in cells[6]
    # an empty category shows no rate
    _, cells = _row(parsed, "race_ethnicity", "selection", "Hispanic or Latino")
    assert cells[1:6] == ["0", "0", "–", "–", "–"]
    # unknown counts per table
    _, cells = _row(parsed, "race_ethnicity", "selection", "Unknown (not in rates)")
    assert cells[1] == "15"
    _, cells = _row(parsed, "intersection", "selection", "Female × Black or African American")
    assert cells[1:6] == ["15", "6", "17.4 %", "0.400", "0.667"]
    _, cells = _row(parsed, "intersection", "selection", "Unknown (not in rates)")
    assert cells[1] == "19"
    # column headers say what the counts are
    header = parsed.sections[("sex", "scoring")]["rows"][0][1]
    assert header[:3] == ["Category", "Scored", "Above median"]


def test_one_chart_per_table_with_bars_and_the_four_fifths_line() -> None:
    parsed = _parse(render(compute(POPULATION + SCORED), META))
    for section in parsed.sections.values():
        assert section["svgs"] == 1
    sex = parsed.sections[("sex", "selection")]
    assert sex["bars"] == 2 and sex["lines"] == 1
    race = parsed.sections[("race_ethnicity", "selection")]
    assert race["bars"] == 3  # white, black, asian have data
    svg_classes = [a.get("class") for t, a in parsed.tags if t == "rect"]
    assert "bar alert" in svg_classes


def test_metadata_is_shown() -> None:
    audit = compute(POPULATION + SCORED)
    parsed = _parse(render(audit, META))
    assert parsed.h1 == "Bias audit"
    assert parsed.title == "Bias audit — Barista — Downtown"
    assert parsed.meta["Organization"] == "Acme Coffee"
    assert parsed.meta["Jobs"] == "barista-downtown, barista-uptown"
    assert parsed.meta["Date range"] == "2026-01-01 to 2026-06-30"
    assert parsed.meta["Generated"] == "2026-07-01T09:30:00"
    assert parsed.meta["Data source"] == META.data_source
    assert parsed.meta["Applications"] == "115"  # 105 + 10
    assert parsed.meta["Selected"] == str(audit.selected_total)
    assert parsed.meta["Scored"] == "9"
    assert parsed.meta["Median score"] == "0.600"
    assert parsed.meta["Unknown sex"] == str(audit.unknown_sex)
    assert parsed.meta["Unknown race/ethnicity"] == str(audit.unknown_race)
    assert parsed.meta["Model versions"] == "all-MiniLM-L6-v2 1.0"
    assert parsed.meta["Scorer versions"] == "scorer 2026-05"
    assert parsed.meta["Selection rule"] == META.selection_rule
    text = " ".join(parsed.text)
    assert "Local Law 144" in text and "not a legal safe harbour" in text


def test_summary_page_has_the_same_tables_and_its_own_title() -> None:
    audit = compute(POPULATION)
    full, summary = _parse(render(audit, META)), _parse(render_summary(audit, META))
    assert summary.h1 == "Bias audit summary"
    assert summary.title.startswith("Bias audit summary")
    assert {k: v["rows"] for k, v in summary.sections.items()} == {
        k: v["rows"] for k, v in full.sections.items()
    }
    assert summary.meta == full.meta


@pytest.mark.parametrize("renderer", [render, render_summary])
def test_hostile_text_comes_out_inert(renderer) -> None:
    meta = replace(
        META,
        title=HOSTILE,
        jobs=[HOSTILE, "a\x00b\x1bc"],
        organization='"><svg onload=alert(1)>',
        data_source=HOSTILE,
        model_versions=[HOSTILE],
        scorer_versions=["</style><script>x</script>"],
        selection_rule="</title><script>1</script>",
    )
    page = renderer(compute(POPULATION), meta)
    parsed = _parse(page)
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and "img" not in tags
    assert all(not name.startswith("on") for _, attrs in parsed.tags for name in attrs)
    assert sum(1 for tag, _ in parsed.tags if tag == "svg") == 6  # only our charts
    assert "<script" not in page.lower()
    assert parsed.meta["Organization"] == '"><svg onload=alert(1)>'  # shown as text
    assert HOSTILE in parsed.title
    assert parsed.meta["Jobs"].startswith(HOSTILE) and "abc" in parsed.meta["Jobs"]
    assert "\x00" not in page and "\x1b" not in page


def test_page_is_self_contained() -> None:
    page = render(compute(POPULATION + SCORED), META)
    parsed = _parse(page)
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert page.startswith("<!DOCTYPE html>")
    urls = re.findall(r"(?:https?:)?//[^\s\"'<>)]+", page)
    assert urls == ["http://www.w3.org/2000/svg"] * 6  # the SVG namespace, not a fetch
    for _, attributes in parsed.tags:
        assert "src" not in attributes and "href" not in attributes


def test_empty_audit_renders_notes_and_zero_counts() -> None:
    meta = replace(META, since=date(2031, 1, 1), until=date(2031, 12, 31), jobs=[])
    parsed = _parse(render(compute([]), meta))
    text = " ".join(parsed.text)
    assert "No finished applications in the range." in text
    assert parsed.meta["Applications"] == "0"
    assert parsed.meta["Median score"] == "–"
    assert parsed.meta["Jobs"] == "all jobs"
    assert parsed.meta["Date range"] == "2031-01-01 to 2031-12-31"
    _, cells = _row(parsed, "sex", "selection", "Female")
    assert cells[1:6] == ["0", "0", "–", "–", "–"]
    assert parsed.sections[("sex", "selection")]["bars"] == 0
    assert parsed.sections[("sex", "selection")]["lines"] == 0


def test_no_self_identification_says_so() -> None:
    records = [AuditRecord(UNKNOWN, DECLINED, True, 0.5)] * 3
    meta = replace(META, since=None, organization=None, model_versions=[], scorer_versions=[])
    parsed = _parse(render(compute(records), meta))
    text = " ".join(parsed.text)
    assert "No candidate self-identified" in text and "3 applications, all unknown" in text
    assert parsed.sections[("sex", "selection")]["notes"] == [
        "No one gave their sex: 3 unknown, no rates by group."
    ]
    assert parsed.meta["Date range"] == "first application to 2026-06-30"
    assert parsed.meta["Organization"] == "–"
    assert parsed.meta["Model versions"] == "none recorded"


def test_single_applicant_page_shows_ratio_one_and_the_note() -> None:
    parsed = _parse(render(compute([AuditRecord("male", "asian", True, 0.9)]), META))
    _, cells = _row(parsed, "sex", "selection", "Male")
    assert cells[1:6] == ["1", "1", "100.0 %", "1.000", "1.000"]
    assert parsed.sections[("sex", "selection")]["notes"] == [
        "Only one group (Male) has data: a comparison needs at least two groups."
    ]


def test_huge_population_renders_the_same_fixed_size_page() -> None:
    big = compute(
        [AuditRecord("female", "white", i % 3 == 0, (i % 100) / 100) for i in range(50_000)]
    )
    small = compute([AuditRecord("female", "white", True, 0.5)])
    big_page, small_page = render(big, META), render(small, META)
    # One row per category whatever the population: the page does not grow with it.
    assert len(big_page) < 2 * len(small_page)
    _, cells = _row(_parse(big_page), "sex", "selection", "Female")
    assert cells[1:3] == ["50000", "16667"]
