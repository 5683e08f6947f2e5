"""`parley audit bias` and `parley audit publish`: the bias audit on demand, and the public
summary an employer publishes.

`bias` reports selection rates, scoring rates and impact ratios by sex, race/ethnicity and
their intersections (NYC Local Law 144's method, fairness/impact.py) for one job or all
jobs: a plain table, `--json` for scripts, `--html FILE` for the report with charts and the
audit's metadata. `publish` writes the same numbers as the public summary page that the web
gateway serves at `/audit-summary` (and the candidate notice points to). Neither shows any
individual: the records carry no candidate or application id.

Exit codes: 0 done; 1 not found; 2 bad input (dates, arguments).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from fairness.publication import summary_file, summary_url
from parley.cli_support import fail, open_db


def parse_day(value: str | None, what: str) -> date | None:
    """A YYYY-MM-DD date, or a clear usage error (exit 2)."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date like 2026-01-31, not {value[:40]!r}.", 2)


def _scope(job: str | None, all_jobs: bool) -> str | None:
    if all_jobs and job:
        fail("Give a job id or --all, not both.", 2)
    if not all_jobs and not job:
        fail("Give a job id (e.g. backend-engineer) or --all.", 2)
    if job is None:
        return None
    slug = job.strip().lower()
    if not slug or len(slug) > 64 or not all(c.isalnum() or c in "-_" for c in slug):
        fail(f"Not a job id: {job[:40]!r}.", 2)
    return slug


def _range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    if start and end and start > end:
        fail(f"--since ({start}) is after --until ({end}).", 2)
    return start, end


def _run_audit(job: str | None, start: date | None, end: date | None) -> tuple[Any, Any, Any]:
    from fairness.audit_data import DATA_SOURCE, NoSuchJob, load, selection_rule
    from fairness.impact import compute
    from fairness.report_html import AuditMeta
    from parley.settings import load_settings
    from parley.shortlist_cli import cli_actor

    settings = load_settings()
    db = open_db(settings)
    try:
        data = load(db, job=job, since=start, until=end, actor=cli_actor())
    except NoSuchJob as exc:
        fail(str(exc), 1)
    finally:
        db.dispose()
    audit = compute(data.records)
    today = datetime.now(UTC).date()
    meta = AuditMeta(
        title=f"Bias audit: {job}" if job else "Bias audit: all jobs",
        jobs=data.jobs,
        organization=", ".join(data.organizations) or None,
        since=start,
        until=min(end, today) if end else today,
        generated_at=datetime.now(UTC),
        data_source=DATA_SOURCE,
        model_versions=data.model_versions,
        scorer_versions=data.scorer_versions,
        selection_rule=selection_rule(data.thresholds),
    )
    return audit, meta, data


def _text(audit: Any, data: Any) -> str:
    """The audit as plain tables for the terminal."""
    from fairness.impact import DIMENSION_LABELS, KIND_LABELS

    lines = [
        f"Applications counted: {audit.total} (selected {audit.selected_total}, scored "
        f"{audit.scored_total}); unknown sex {audit.unknown_sex}, unknown race/ethnicity "
        f"{audit.unknown_race}."
    ]
    if audit.median_score is not None:
        lines.append(f"Median score of the whole sample: {round(audit.median_score * 100)}/100.")
    for table in audit.tables:
        lines.append("")
        lines.append(f"{KIND_LABELS[table.kind]} by {DIMENSION_LABELS[table.dimension].lower()}:")
        for g in table.groups:
            rate = "—" if g.rate is None else f"{g.rate:.3f}"
            ratio = "—" if g.impact_ratio is None else f"{g.impact_ratio:.3f}"
            flags = []
            if g.reference:
                flags.append("highest")
            if g.small:
                flags.append("<2% of data")
            if g.below_four_fifths:
                flags.append("BELOW 4/5ths")
            lines.append(
                (
                    f"  {g.label:<58} n={g.count:<5} rate={rate:<6} ratio={ratio:<6} "
                    + ", ".join(flags)
                ).rstrip()
            )
        lines.append(f"  unknown: {table.unknown}")
        if table.note:
            lines.append(f"  note: {table.note}")
    notes = [*audit.notes, *data.notes]
    if notes:
        lines.append("")
        lines.extend(f"Note: {n}" for n in notes)
    lines.append("")
    lines.append(
        "The 4/5ths flag is an internal alert, not a legal safe harbour; a category under "
        "2 % of the data is flagged and still reported."
    )
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    """Write atomically: a reader (the web gateway) never sees half a page."""
    path = path.expanduser()
    if path.exists() and path.is_dir():
        fail(f"{path} is a directory; give a file name.", 2)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        fail(f"Could not write {path}: {exc.strerror or exc}.", 2)


# The scope options `bias` and `publish` share.
JobArg = Annotated[str | None, typer.Argument(help="job id, e.g. backend-engineer")]
AllJobs = Annotated[bool, typer.Option("--all", help="every job together")]
Since = Annotated[str | None, typer.Option("--since", help="finished on or after (YYYY-MM-DD)")]
Until = Annotated[str | None, typer.Option("--until", help="finished on or before (YYYY-MM-DD)")]


def bias_cmd(
    job: JobArg = None,
    all_jobs: AllJobs = False,
    since: Since = None,
    until: Until = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="write the HTML report with charts here")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Bias audit of a job (or --all): selection and scoring rates and impact ratios by sex,
    race/ethnicity and their intersections (NYC LL144's method)."""
    from fairness.report_html import render

    slug = _scope(job, all_jobs)
    start, end = _range(since, until)
    audit, meta, data = _run_audit(slug, start, end)
    if html is not None:
        _write(html, render(audit, meta))
    if as_json:
        out = audit.to_json()
        out["notes"] = [*out.get("notes", []), *data.notes]
        out["metadata"] = {
            "title": meta.title,
            "jobs": meta.jobs,
            "organization": meta.organization,
            "since": start.isoformat() if start else None,
            "until": meta.until.isoformat(),
            "generated_at": meta.generated_at.isoformat(),
            "data_source": meta.data_source,
            "model_versions": meta.model_versions,
            "scorer_versions": meta.scorer_versions,
            "selection_rule": meta.selection_rule,
            "excluded_opted_out": data.excluded_opted_out,
        }
        typer.echo(json.dumps(out, indent=2))
        return
    typer.echo(meta.title)
    typer.echo(_text(audit, data))
    if html is not None:
        typer.echo(f"\nHTML report written to {html}")


def publish_cmd(
    job: JobArg = None,
    all_jobs: AllJobs = False,
    since: Since = None,
    until: Until = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="where to write the page (default var/public/audit-summary.html)"
        ),
    ] = None,
) -> None:
    """Publish the audit summary as a static HTML page (served at /audit-summary, linked from
    the candidate notice). It holds group totals only, never an individual."""
    from fairness.report_html import render_summary
    from parley.settings import load_settings

    slug = _scope(job, all_jobs)
    start, end = _range(since, until)
    audit, meta, _data = _run_audit(slug, start, end)
    settings = load_settings()
    target = out or summary_file(settings)
    _write(target, render_summary(audit, meta))
    typer.echo(f"Audit summary written to {target} ({audit.total} applications counted).")
    if out is None:
        typer.echo(f"Candidates find it at {summary_url(settings)}")


def register(audit_app: typer.Typer) -> None:
    """Add `bias` and `publish` to the `parley audit` command group."""
    audit_app.command("bias")(bias_cmd)
    audit_app.command("publish")(publish_cmd)
