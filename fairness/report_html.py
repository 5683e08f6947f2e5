"""The bias audit as a self-contained HTML page: internal report and public summary.

One file that anyone can open, archive or publish: inline CSS and inline SVG bar charts, no
script and no external URL, so the page shows the same thing offline in ten years and cannot
leak who opened it. Every piece of text (job titles, organization names, versions) is escaped,
because job titles are typed by employers and must come out inert.

The public summary (`render_summary`) shows the same tables and charts: a `BiasAudit` holds only
counts per category, never anything about one application, so there is nothing to strip.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from fairness.impact import (
    DIMENSION_LABELS,
    FOUR_FIFTHS,
    KIND_LABELS,
    SMALL_SHARE,
    BiasAudit,
    GroupRate,
    Table,
    category_label,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Chart geometry (px): label column, bar area, value column, one row per category.
_LABEL_W = 360
_BAR_W = 320
_VALUE_W = 120
_ROW_H = 22
_TOP = 26

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem}
.sub{color:#556;margin-top:0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.6rem 0 .3rem}
th,td{border-bottom:1px solid #d9dde5;padding:.3rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f1f3f7}
tr.alert td{background:#fde8e6}tr.small td{color:#6b7180;font-style:italic}
tr.reference td:first-child{font-weight:600}
tr.unknown td{color:#556}
.flag{display:inline-block;border-radius:.25rem;padding:0 .35rem;font-size:.8rem;margin-left:.2rem}
.flag.alert{background:#c0392b;color:#fff}.flag.small{background:#e6e8ee;color:#333}
.flag.ref{background:#2c5d9f;color:#fff}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.4rem .7rem}
.notes li{margin:.2rem 0}
svg{max-width:100%;height:auto;display:block;margin:.4rem 0}
svg text{font-size:12px;fill:#1d2330}svg .bar{fill:#4a78b5}svg .bar.alert{fill:#c0392b}
svg .bar.small{fill:#9aa7bd}svg .line{stroke:#c0392b;stroke-dasharray:4 3;stroke-width:1.5}
svg .axis{stroke:#8a93a5;stroke-width:1}svg .muted{fill:#6b7180;font-style:italic}
footer{margin-top:3rem;color:#556;font-size:.9rem}
"""


@dataclass(frozen=True)
class AuditMeta:
    """What the audit covers and how it was produced (shown on the page, never computed here).

    `since` None means "from the first application"; `selection_rule` says in words what
    counts as "selected" (e.g. "advanced by the tool: not knocked out and ranked in the top N").
    """

    title: str
    jobs: list[str]
    organization: str | None
    since: date | None
    until: date
    generated_at: datetime
    data_source: str
    model_versions: list[str] = field(default_factory=list)
    scorer_versions: list[str] = field(default_factory=list)
    selection_rule: str = ""


def _e(value: object) -> str:
    """Escaped text with control characters removed (quotes escaped too: safe in attributes)."""
    return html.escape(_CONTROL.sub("", str(value)), quote=True)


def _decimal(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f} %"


def _date_range(meta: AuditMeta) -> str:
    start = meta.since.isoformat() if meta.since else "first application"
    return f"{start} to {meta.until.isoformat()}"


def _list(values: Sequence[str], empty: str = "none recorded") -> str:
    return ", ".join(_e(v) for v in values) if values else _e(empty)


def _title(table: Table) -> str:
    return f"{KIND_LABELS[table.kind]} by {DIMENSION_LABELS[table.dimension].lower()}"


def _chart(table: Table) -> str:
    """A horizontal bar chart of the table's rates with the four-fifths line of the reference."""
    groups = table.groups
    height = _TOP + _ROW_H * len(groups) + 24
    width = _LABEL_W + _BAR_W + _VALUE_W
    reference = next((g for g in groups if g.reference), None)
    caption = f"{_title(table)}; dashed line: 4/5 of the reference group's rate"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{_e(caption)}">',
        f"<title>{_e(caption)}</title>",
        f'<line class="axis" x1="{_LABEL_W}" y1="{_TOP - 6}" x2="{_LABEL_W}" '
        f'y2="{_TOP + _ROW_H * len(groups)}"/>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = _LABEL_W + tick * _BAR_W
        parts.append(f'<text x="{x:.1f}" y="{_TOP - 10}" text-anchor="middle">{tick:g}</text>')
    for index, group in enumerate(groups):
        y = _TOP + index * _ROW_H
        parts.append(
            f'<text x="{_LABEL_W - 8}" y="{y + 15}" text-anchor="end">{_e(group.label)}</text>'
        )
        if group.rate is None:
            parts.append(f'<text class="muted" x="{_LABEL_W + 6}" y="{y + 15}">no data</text>')
            continue
        classes = "bar" + (" alert" if group.below_four_fifths else "")
        classes += " small" if group.small and not group.below_four_fifths else ""
        bar = max(group.rate * _BAR_W, 1.0)
        tip = f"{group.label}: rate {_decimal(group.rate)}, ratio {_decimal(group.impact_ratio)}"
        parts.append(
            f'<rect class="{classes}" x="{_LABEL_W}" y="{y + 4}" width="{bar:.1f}" '
            f'height="{_ROW_H - 8}"><title>{_e(tip)}</title></rect>'
        )
        value = _decimal(group.rate)
        if group.impact_ratio is not None:
            value += f" (IR {_decimal(group.impact_ratio)})"
        parts.append(f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 15}">{_e(value)}</text>')
    if reference is not None and reference.rate:
        x = _LABEL_W + float(FOUR_FIFTHS) * reference.rate * _BAR_W
        bottom = _TOP + _ROW_H * len(groups)
        parts.append(
            f'<line class="line" x1="{x:.1f}" y1="{_TOP - 4}" x2="{x:.1f}" y2="{bottom}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"4/5 of {_e(category_label(reference.category))}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _flags(group: GroupRate) -> str:
    flags = []
    if group.reference:
        flags.append('<span class="flag ref">reference</span>')
    if group.below_four_fifths:
        flags.append('<span class="flag alert">below 4/5</span>')
    if group.small:
        flags.append('<span class="flag small">under 2 %</span>')
    return "".join(flags)


def _rows(table: Table) -> str:
    rows = []
    for group in table.groups:
        classes = [
            name
            for name, on in (
                ("alert", group.below_four_fifths),
                ("small", group.small),
                ("reference", group.reference),
            )
            if on
        ]
        attribute = f' class="{" ".join(classes)}"' if classes else ""
        rows.append(
            f'<tr{attribute} data-category="{_e(group.category)}">'
            f"<td>{_e(group.label)}</td><td>{group.count}</td><td>{group.selected}</td>"
            f"<td>{_percent(group.share) if group.count else '–'}</td>"
            f"<td>{_decimal(group.rate)}</td><td>{_decimal(group.impact_ratio)}</td>"
            f"<td>{_flags(group)}</td></tr>"
        )
    rows.append(
        f'<tr class="unknown" data-category="unknown"><td>Unknown (not in rates)</td>'
        f"<td>{table.unknown}</td><td>–</td><td>–</td><td>–</td><td>–</td><td></td></tr>"
    )
    return "\n".join(rows)


def _section(table: Table) -> str:
    counted, positive = (
        ("Applicants", "Selected") if table.kind == "selection" else ("Scored", "Above median")
    )
    note = f'<p class="note">{_e(table.note)}</p>' if table.note else ""
    return (
        f'<section class="audit-table" data-dimension="{_e(table.dimension)}" '
        f'data-kind="{_e(table.kind)}">\n<h2>{_e(_title(table))}</h2>\n{note}\n'
        f"{_chart(table)}\n<table>\n<thead><tr><th>Category</th><th>{counted}</th>"
        f"<th>{positive}</th><th>Share of known</th><th>Rate</th><th>Impact ratio</th>"
        f"<th>Flags</th></tr></thead>\n<tbody>\n{_rows(table)}\n</tbody>\n</table>\n</section>"
    )


def _meta(audit: BiasAudit, meta: AuditMeta) -> str:
    median = _decimal(audit.median_score) if audit.median_score is not None else "–"
    items = [
        ("Organization", _e(meta.organization) if meta.organization else "–"),
        ("Jobs", _list(meta.jobs, "all jobs")),
        ("Date range", _e(_date_range(meta))),
        ("Generated", _e(meta.generated_at.isoformat(timespec="seconds"))),
        ("Data source", _e(meta.data_source)),
        ("Applications", str(audit.total)),
        ("Selected", str(audit.selected_total)),
        ("Scored", str(audit.scored_total)),
        ("Median score", median),
        ("Unknown sex", str(audit.unknown_sex)),
        ("Unknown race/ethnicity", str(audit.unknown_race)),
        ("Model versions", _list(meta.model_versions)),
        ("Scorer versions", _list(meta.scorer_versions)),
        ("Selection rule", _e(meta.selection_rule) if meta.selection_rule else "–"),
    ]
    body = "\n".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in items)
    return f'<dl class="meta">\n{body}\n</dl>'


def _method() -> str:
    return (
        "<p>Method, following NYC Local Law 144 (6 RCNY §5-301): the <strong>selection "
        "rate</strong> of a category is the share of its applicants the tool selected; the "
        "<strong>scoring rate</strong> is the share of its scored applicants whose score is "
        "above the median of the whole sample. The <strong>impact ratio</strong> is a "
        "category's rate divided by the highest category's rate (the reference). Categories "
        "are sex, race/ethnicity (EEO-1) and every intersection of the two. Applicants who did "
        "not self-identify, or preferred not to say, are counted as unknown and left out of "
        f"rates. A category under {float(SMALL_SHARE) * 100:g} % of the known data is flagged; "
        "its rate and ratio are still shown, but it is not used as the reference. Ratios under "
        f"{float(FOUR_FIFTHS):g} (the four-fifths rule) are highlighted as an internal alert to "
        "investigate; the rule is not a legal safe harbour.</p>"
    )


def _page(audit: BiasAudit, meta: AuditMeta, heading: str, intro: str) -> str:
    notes = "".join(f"<li>{_e(note)}</li>" for note in audit.notes)
    notes_html = f'<h2>Notes</h2>\n<ul class="notes">{notes}</ul>' if notes else ""
    sections = "\n".join(_section(table) for table in audit.tables)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{_e(heading)} — {_e(meta.title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<header>\n<h1>{_e(heading)}</h1>\n"
        f'<p class="sub">{_e(meta.title)}</p>\n<p>{_e(intro)}</p>\n</header>\n'
        f"<section>\n<h2>About this audit</h2>\n{_meta(audit, meta)}\n{_method()}\n</section>\n"
        f"{notes_html}\n{sections}\n"
        f"<footer>Generated {_e(meta.generated_at.isoformat(timespec='seconds'))} by Parley. "
        "Counts per category only; no data about any single application.</footer>\n"
        "</body>\n</html>\n"
    )


def render(audit: BiasAudit, meta: AuditMeta) -> str:
    """The internal bias audit report as one self-contained HTML page."""
    return _page(
        audit,
        meta,
        "Bias audit",
        "Selection and scoring rates by sex, race/ethnicity and their intersections, with "
        "impact ratios. Rows highlighted in red are under four-fifths of the reference rate.",
    )


def render_summary(audit: BiasAudit, meta: AuditMeta) -> str:
    """The public summary page: the same charts and tables, titled "Bias audit summary"."""
    return _page(
        audit,
        meta,
        "Bias audit summary",
        "Summary of the most recent bias audit of our automated screening tool: selection and "
        "scoring rates and impact ratios by sex, race/ethnicity and their intersections.",
    )
