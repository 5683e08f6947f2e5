"""`parley audit …`: the decision log and human overrides from the terminal.

- `parley audit decisions [--job SLUG] [--application ID] [--org SLUG] [--since DATE]
  [--until DATE] [--json]`: every decision about applications — knockouts, scores, ranks,
  employers' decisions and overrides — with who or what decided, when, the model and scorer
  versions and the inputs by reference. An auditor's export: the sealed reasons are opened,
  so each candidate whose reason is shown gets an access-log entry (actor `admin:<OS user>`).
- `parley audit override knockout|score|rank APPLICATION_ID --by MEMBER --reason TEXT
  [--score N] [--rank N | --clear] [--org SLUG]`: a person at the employer overrides the
  tool. `--by` names an organization member as `slack:TEAM:USER` (or `TEAM:USER`): the same
  role rules as the Slack buttons apply (recruiters and admins act, viewers do not; another
  organization's application is refused and audited).

Exit codes: 0 done; 1 not found or not allowed; 2 bad input.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer

from parley.cli_support import fail, open_db

audit_app = typer.Typer(
    help="Audits: the decision log, human overrides of the tool, bias audits.",
    no_args_is_help=True,
)

KINDS = ("knockout", "score", "rank")
_APPLICATION = re.compile(r"^[a-f0-9]{32}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_MEMBER = re.compile(r"^(?:slack:)?([TE][A-Z0-9]{1,30}):([UW][A-Z0-9]{1,30})$")


def _shown(value: str) -> str:
    """User input safe to echo back: printable, short."""
    return re.sub(r"[^A-Za-z0-9._:@-]", "?", value)[:64]


def parse_when(value: str, *, end: bool) -> datetime:
    """`YYYY-MM-DD` (a whole day, UTC: `end` gives the start of the next day, so the day is
    included) or an ISO 8601 date and time (naive = UTC). Raises ValueError."""
    text = value.strip()
    if len(text) > 40:
        raise ValueError("too long")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        moment = datetime.combine(day, time.min, tzinfo=UTC)
        return moment + timedelta(days=1) if end else moment
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _organization_id(s: Any, org: str) -> int:
    from sqlalchemy import select

    from storage.models import Organization

    found = s.scalar(select(Organization.id).where(Organization.slug == org))
    if found is None:
        known = ", ".join(s.scalars(select(Organization.slug).order_by(Organization.slug)))
        fail(f"No organization {org}. Organizations: {known or 'none yet'}", 1)
    return int(found)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _text_line(entry: dict[str, Any]) -> str:
    who = entry["decided_by"] + (" (automated)" if entry["automated"] else "")
    app = (entry["application_id"] or "(deleted)")[:8]
    versions = " ".join(
        f"{k}={entry[k]}" for k in ("model_name", "model_version", "scorer_version") if entry[k]
    )
    outcome = json.dumps(entry["outcome"], sort_keys=True, ensure_ascii=False)
    line = f"{entry['at']}  #{entry['id']}  {entry['decision']}  {app}  by {who}  {outcome}"
    if versions:
        line += f"  [{versions}]"
    if entry["reason"]:
        line += f"\n      reason: {entry['reason']}"
    return line


@audit_app.command("decisions")
def decisions_cmd(
    job: Annotated[str | None, typer.Option("--job", help="job id (every version)")] = None,
    application: Annotated[
        str | None, typer.Option("--application", help="one application id")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="organization id")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="from this date (YYYY-MM-DD) or time, UTC")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="up to this date (included) or time, UTC")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Export the decision log: every knockout, score, rank, employer decision and override,
    with who or what decided, when, model and scorer versions and the inputs by reference.
    Reasons are shown opened, and each candidate whose reason is shown gets an access-log
    entry. Exit codes: 0 done, 1 unknown job/organization/application, 2 bad input."""
    from oversight import decision_log
    from privacy.audit import log_admin_read
    from storage.models import Application, Job

    job_slug = job.strip().lower() if job is not None else None
    if job_slug is not None and not _SLUG.fullmatch(job_slug):
        fail(f"{_shown(job)} is not a job id.", 2)
    if org is not None and not _SLUG.fullmatch(org.strip().lower()):
        fail(f"{_shown(org)} is not an organization id.", 2)
    if application is not None and not _APPLICATION.fullmatch(application.strip()):
        fail(f"{_shown(application)} is not an application id (32 hex characters).", 2)
    try:
        start = parse_when(since, end=False) if since else None
        stop = parse_when(until, end=True) if until else None
    except ValueError:
        fail("--since and --until take a date (YYYY-MM-DD) or an ISO 8601 date and time.", 2)
    if start is not None and stop is not None and start >= stop:
        fail("--since must be before --until.", 2)
    now = datetime.now(UTC)
    if start is not None and start > now:
        typer.echo(
            f"Note: --since {start.date().isoformat()} is in the future; "
            "no decisions can match yet.",
            err=True,
        )
    db = open_db()
    try:
        from sqlalchemy import select

        from parley.settings import load_settings

        with db.transaction() as s:
            org_id = _organization_id(s, org.strip().lower()) if org is not None else None
            if job_slug is not None:
                jobs = select(Job.id).where(Job.slug == job_slug)
                if org_id is not None:
                    jobs = jobs.where(Job.organization_id == org_id)
                if s.scalar(jobs.limit(1)) is None:
                    fail(f"No job {job_slug}" + (f" in {org}." if org else "."), 1)
            app_id = application.strip() if application is not None else None
            rows = decision_log.entries(
                s,
                since=start,
                until=stop,
                job_slug=job_slug,
                application_id=app_id,
                organization_id=org_id,
            )
            if app_id is not None and not rows and s.get(Application, app_id) is None:
                fail(
                    f"No application {app_id} (if its candidate's data was deleted, its "
                    "decisions are still in the log without the application id).",
                    1,
                )
            entries = [decision_log.to_json(r) for r in rows]
            for candidate_id, app_ids in decision_log.candidates_of(s, rows).items():
                log_admin_read(s, candidate_id, app_ids, purpose="decision log export")
        days = decision_log.retention_days(
            getattr(load_settings(), "decision_log_days", decision_log.DEFAULT_DAYS)
        )
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "generated_at": iso(now),
                        "retention_days": days,
                        "filters": {
                            "job": job_slug,
                            "application": app_id,
                            "organization": org,
                            "since": iso(start),
                            "until": iso(stop),
                        },
                        "count": len(entries),
                        "entries": entries,
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        elif not entries:
            typer.echo("No decisions match.")
        else:
            for entry in entries:
                typer.echo(_text_line(entry))
            typer.echo(f"{len(entries)} decision(s); the log is kept {days} days.")
    finally:
        db.dispose()


@audit_app.command("override")
def override_cmd(
    kind: Annotated[str, typer.Argument(help="knockout, score or rank")],
    application_id: Annotated[str, typer.Argument(help="the application id")],
    by: Annotated[
        str, typer.Option("--by", help="the member deciding: slack:TEAM:USER (or TEAM:USER)")
    ],
    reason: Annotated[str, typer.Option("--reason", help="why (1-1000 characters)")],
    score: Annotated[
        int | None, typer.Option("--score", help="score: the score a person set (0-100)")
    ] = None,
    rank: Annotated[
        int | None, typer.Option("--rank", help="rank: pin at this position (1 = top)")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="rank: remove the pin")] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="organization id the member must belong to")
    ] = None,
) -> None:
    """Override the tool for one application, with a reason: reinstate a knocked-out
    application (knockout), set its score (score --score N), or pin its shortlist position
    (rank --rank N, or --clear). The member given with --by must be a recruiter or admin of
    the application's organization. Exit codes: 0 done, 1 not found or not allowed, 2 bad
    input."""
    from employers import audit
    from employers.decisions import STALE, clean_text, parse_override
    from employers.orgs import OrgDirectory
    from oversight.overrides import REASON_NEEDED, OverrideService, parse_rank

    kind = kind.strip().lower()
    if kind not in KINDS:
        fail(f"Unknown override {_shown(kind)}: use knockout, score or rank.", 2)
    app_id = application_id.strip()
    if not _APPLICATION.fullmatch(app_id):
        fail(f"{_shown(application_id)} is not an application id (32 hex characters).", 2)
    member = _MEMBER.fullmatch(by.strip())
    if member is None:
        fail(
            "--by must name an organization member as slack:TEAM:USER (e.g. slack:T0123:U0456).", 2
        )
    if clean_text(reason) is None:
        fail(REASON_NEEDED, 2)
    if kind != "score" and score is not None:
        fail("--score is only for a score override.", 2)
    if kind != "rank" and (rank is not None or clear):
        fail("--rank and --clear are only for a rank override.", 2)
    if kind == "score":
        value, problem = parse_override(score)
        if value is None:
            fail(problem or "A score override needs --score (a whole number from 0 to 100).", 2)
    if kind == "rank":
        if clear and rank is not None:
            fail("Give either --rank or --clear, not both.", 2)
        if not clear:
            value, problem = parse_rank(rank)
            if value is None:
                fail((problem or "") + " (or --clear to remove a pin)", 2)
    db = open_db()
    try:
        team, user = member.group(1), member.group(2)
        employer = OrgDirectory(db).resolve(team, user)
        if employer is None or (org is not None and employer.org_slug != org.strip().lower()):
            with db.transaction() as s:
                audit.record(
                    s,
                    actor=f"slack:{team}:{user}",
                    organization_id=None,
                    action=f"override_{kind}",
                    outcome=audit.DENIED,
                    application_id=None,
                    detail="denied: not a member" + (f" of {org}" if org else ""),
                )
            where = f" of {_shown(org)}" if org else " of an organization"
            fail(
                f"slack:{team}:{user} is not a member{where} in Parley: only its recruiters "
                "and admins can override.",
                1,
            )
        service = OverrideService(db)
        if kind == "knockout":
            outcome = service.override_knockout(employer, app_id, reason)
        elif kind == "score":
            outcome = service.override_score(employer, app_id, score, reason)
        else:
            outcome = service.override_rank(employer, app_id, rank, reason, clear=clear)
    finally:
        db.dispose()
    if outcome.ok:
        typer.echo(outcome.message)
        return
    fail(outcome.message, 1 if outcome.denied or outcome.message == STALE else 2)
