"""`parley shortlist JOB`: the ranked shortlist of a job in the terminal.

The same data as the Slack shortlist (employers/shortlist.py builds both), for the operator
or an organization without Slack: ranked rows with scores 0–100, per-question scores and
summaries, flags (knocked out, insufficient data, review open, AI scoring off), the
employer's stage and any booking; `--json` for scripts, `--chart FILE` for the score
histogram as a PNG. Every row shown is a read of a candidate's data, so each writes an
access-log entry (actor `cli:<OS user>`), exactly like the Slack view.

Exit codes: 0 done; 1 not found; 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from parley.cli_support import fail, open_db


def cli_actor() -> str:
    """`cli:<OS user>`: whoever ran the command, as the access log names them."""
    from privacy.audit import admin_actor

    return "cli:" + admin_actor().split(":", 1)[1]


def _organization(db: Any, job: str, org: str | None) -> int:
    """The organization to read: `--org`, or the only one that has a job with this id."""
    from sqlalchemy import select

    from storage.models import Job, Organization

    with db.transaction() as s:
        if org is not None:
            found = s.scalar(select(Organization.id).where(Organization.slug == org))
            if found is None:
                known = ", ".join(s.scalars(select(Organization.slug).order_by(Organization.slug)))
                fail(f"No organization `{org}`. Organizations: {known or 'none yet'}", 1)
            return int(found)
        orgs = list(
            s.execute(
                select(Organization.id, Organization.slug)
                .join(Job, Job.organization_id == Organization.id)
                .where(Job.slug == job)
                .distinct()
                .order_by(Organization.slug)
            )
        )
        if not orgs:
            jobs = ", ".join(s.scalars(select(Job.slug).where(Job.is_current).order_by(Job.slug)))
            fail(f"No job `{job}`. Jobs: {jobs or 'none yet'}", 1)
        if len(orgs) > 1:
            names = ", ".join(slug for _, slug in orgs)
            fail(f"Job `{job}` exists in several organizations ({names}): give --org.", 2)
        return int(orgs[0][0])


def _score(value: int | None) -> str:
    return "  –" if value is None else f"{value:3d}"


def _flags(row: Any) -> str:
    flags = []
    if row.knocked_out:
        flags.append(f"knocked out ({row.knocked_out_by})" if row.knocked_out_by else "knocked out")
    if row.ai_opt_out:
        flags.append("AI scoring off: a person scores it")
    if row.insufficient_data:
        flags.append("insufficient data")
    if row.needs_review:
        flags.append("flagged for review")
    if row.open_reviews:
        flags.append("review open: " + ", ".join(row.open_reviews))
    if row.overridden:
        flags.append(f"score set by {row.override_by} (AI: {_score(row.ai_score).strip()})")
    if getattr(row, "knockout_overridden", False):
        flags.append(f"knockout overridden by {row.knockout_override_by}")
    if getattr(row, "pinned_rank", None):
        flags.append(f"pinned at {row.pinned_rank} by {row.pinned_by}")
    return "; ".join(flags)


def render_text(shortlist: Any) -> str:
    """The shortlist as plain text, one block per application."""
    q = shortlist.query
    head = [
        f"{shortlist.job_title} ({shortlist.job_slug}) — {shortlist.org_name}",
        " · ".join(
            part
            for part in (
                f"status {q.status}",
                f"top {q.top}" if q.top else "",
                f"min {q.min_score}" if q.min_score is not None else "",
                f"{shortlist.total} matching",
                f"cut-off {shortlist.cutoff}" if shortlist.cutoff is not None else "",
                f"page {shortlist.page}/{shortlist.pages}",
            )
            if part
        ),
    ]
    if not shortlist.rows:
        return "\n".join([*head, "", "No applications match."])
    lines = [*head, ""]
    for row in shortlist.rows:
        who = row.name or "(no name given)"
        lines.append(
            f"{row.rank:>3}. {row.ref}  score {_score(row.score)}  {who}  "
            f"[{row.interview_status}, {row.stage}]"
        )
        flags = _flags(row)
        if flags:
            lines.append(f"      {flags}")
        for question in row.questions:
            summary = f" — {question['summary']}" if question["summary"] else ""
            mark = " (flagged)" if question["needs_review"] else ""
            lines.append(
                f"      {question['question_id']}: {_score(question['score']).strip()} "
                f"[{question['status']}]{mark}{summary}"
            )
        if row.booking:
            b = row.booking
            lines.append(f"      interview {b['status']}: {b['starts_at']} with {b['interviewer']}")
        if row.finished_at:
            lines.append(f"      finished {row.finished_at}")
        if row.job_match is not None:
            lines.append(f"      job match {row.job_match}%: " + "; ".join(row.job_match_reasons))
    return "\n".join(lines)


def shortlist_cmd(
    job: Annotated[str, typer.Argument(help="job id, e.g. barista")],
    org: Annotated[
        str | None,
        typer.Option("--org", help="organization id (needed only if the job id is not unique)"),
    ] = None,
    top: Annotated[int | None, typer.Option("--top", help="only the N best-ranked")] = None,
    min_score: Annotated[
        int | None, typer.Option("--min-score", help="only scores of at least this (0-100)")
    ] = None,
    status: Annotated[
        str,
        typer.Option(
            "--status",
            help="completed, advanced, rejected, review, knocked-out, in-progress or all",
        ),
    ] = "completed",
    page: Annotated[int, typer.Option("--page", help="page number")] = 1,
    page_size: Annotated[int, typer.Option("--page-size", help="rows per page (1-100)")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="write the score histogram (PNG) here")
    ] = None,
) -> None:
    """The ranked shortlist of a job: scores, flags and stage per application (each row
    shown is logged in the candidate's access log)."""
    from employers.shortlist import ShortlistQuery, ShortlistService, UnknownJob, UsageError

    try:
        query = ShortlistQuery(
            job=job.strip().lower(),
            top=top,
            min_score=min_score,
            status=status,
            page=page,
            page_size=page_size,
        )
    except UsageError as exc:
        fail(exc.problem or str(exc), 2)
    db = open_db()
    try:
        organization_id = _organization(db, query.job, org)
        try:
            result = ShortlistService(db).build(organization_id, query, actor=cli_actor())
        except UnknownJob as exc:
            fail(str(exc).replace("`", ""), 1)
        if chart is not None:
            from employers.chart import distribution_png

            try:
                chart.write_bytes(
                    distribution_png(result.scores, result.cutoff, f"{result.job_title} — scores")
                )
            except OSError as exc:
                fail(f"Could not write the chart to {chart}: {exc.strerror or exc}", 1)
        if as_json:
            typer.echo(json.dumps(result.to_json(), indent=2))
        else:
            typer.echo(render_text(result))
            if chart is not None:
                typer.echo(f"\nChart written to {chart}")
    finally:
        db.dispose()
