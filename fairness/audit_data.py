"""What a bias audit counts: one record per finished real application in the range, with the
tool's outcome and the candidate's voluntary self-identification.

Decisions (README, "Fairness and oversight"):

* **Who is counted.** Real applications (never practice runs) that the tool finished —
  completed or knocked out — with `finished_at` in the range. Applications still in
  progress or withdrawn had no outcome from the tool. Candidates who opted out of AI scoring
  are left out and counted apart: a person, not the tool, decided about them. Erased
  candidates are left out (their data is out of use at once).
* **Selected** is the tool's own outcome, before any person's override: completed, not
  knocked out, and an overall score at or above the job's selection threshold
  (`scheduling.invite_min_score`, default 0.5 — the score at which the tool invites a
  candidate to book the next interview). Auditing the tool means auditing what *it* decided;
  overrides are in the decision log.
* **Score** is the latest overall score the model gave (0 for a knockout, as the scorer
  records it); None when nothing was scored.
* **Groups** come only from `fairness.self_id.for_audit`, which opens the sealed values in
  this process, counts them and keeps nothing: the records carry no candidate or
  application id, so nothing here can single out a person. Each counted candidate gets one
  access-log entry (purpose: counted in an anonymous bias audit), so the read is on record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from fairness import self_id
from fairness.categories import UNKNOWN
from fairness.impact import AuditRecord
from privacy import access_log
from screening.interview import Mode, Status, definition_of
from storage.db import Database
from storage.models import Application, ApplicationScore, Candidate, Job, Organization

DEFAULT_THRESHOLD = 0.5
DATA_SOURCE = (
    "Parley database: finished real applications (completed or knocked out), the latest "
    "overall score of each, and candidates' voluntary self-identification"
)
SELECTION_RULE = (
    "Selected = the tool's own outcome: completed, not knocked out, overall score at or above "
    "the job's selection threshold (the score that invites to the next interview; 0.5 unless "
    "the job sets one). People's overrides are not counted; they are in the decision log."
)
AUDIT_PURPOSE = "counted in an anonymous bias audit (no individual result is reported)"


class NoSuchJob(LookupError):
    """The job slug is not known (the message lists the known ones)."""


@dataclass(frozen=True)
class AuditData:
    """The records plus what the report's metadata needs."""

    records: list[AuditRecord]
    jobs: list[str]
    organizations: list[str]
    model_versions: list[str]
    scorer_versions: list[str]
    thresholds: dict[str, float]
    excluded_opted_out: int = 0
    first_finished: datetime | None = None
    last_finished: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # SQLite stores UTC without the zone
    return value


def load(
    db: Database,
    *,
    job: str | None,
    since: date | None = None,
    until: date | None = None,
    actor: str = "system:bias-audit",
) -> AuditData:
    """The audit's records for one job slug (every version) or every job (`job=None`),
    finished between `since` and `until` inclusive (whole UTC days)."""
    notes: list[str] = []
    with db.transaction() as s:
        if job is not None:
            known = s.scalar(select(func.count()).select_from(Job).where(Job.slug == job))
            if not known:
                slugs = sorted(set(s.scalars(select(Job.slug))))
                raise NoSuchJob(f"No job `{job}`. Jobs: {', '.join(slugs) or 'none yet'}")
        latest = (
            select(func.max(ApplicationScore.id))
            .where(ApplicationScore.application_id == Application.id)
            .correlate(Application)
            .scalar_subquery()
        )
        stmt = (
            select(Application, Candidate.ai_opt_out, ApplicationScore)
            .join(Candidate, Candidate.id == Application.candidate_id)
            .join(Job, Job.id == Application.job_id)
            .outerjoin(ApplicationScore, ApplicationScore.id == latest)
            .where(
                Application.mode == str(Mode.APPLICATION),
                Application.status.in_([str(Status.COMPLETED), str(Status.KNOCKED_OUT)]),
                Application.finished_at.is_not(None),
                Candidate.erased_at.is_(None),
            )
            .order_by(Application.finished_at, Application.id)
        )
        if job is not None:
            stmt = stmt.where(Job.slug == job)
        start = _start(since)
        end = _start(until + timedelta(days=1)) if until else None
        if start is not None:
            stmt = stmt.where(Application.finished_at >= start)
        if end is not None:
            stmt = stmt.where(Application.finished_at < end)
        rows = list(s.execute(stmt).unique())

        kept: list[tuple[Application, ApplicationScore | None]] = []
        opted_out = 0
        for app, is_opted_out, score in rows:
            if is_opted_out:
                opted_out += 1
                continue
            kept.append((app, score))
        groups = self_id.for_audit(s, sorted({app.candidate_id for app, _ in kept}))

        thresholds: dict[str, float] = {}
        jobs: dict[str, str] = {}
        orgs: set[str] = set()
        models: set[str] = set()
        scorers: set[str] = set()
        records: list[AuditRecord] = []
        finished: list[datetime] = []
        for app, score in kept:
            definition = definition_of(app.job)
            scheduling = getattr(definition, "scheduling", None)
            threshold = float(
                getattr(scheduling, "invite_min_score", DEFAULT_THRESHOLD)
                if scheduling is not None
                else DEFAULT_THRESHOLD
            )
            thresholds[app.job.slug] = threshold
            jobs[app.job.slug] = app.job.title
            orgs.add(app.job.organization.name)
            overall = score.overall if score is not None else None
            knocked_out = app.status == Status.KNOCKED_OUT or bool(score and score.knocked_out)
            if score is not None and score.model_name:
                models.add(f"{score.model_name} {score.model_version}".strip())
            if score is not None and score.scorer_version:
                scorers.add(score.scorer_version)
            sex, race = groups.get(app.candidate_id, (UNKNOWN, UNKNOWN))
            records.append(
                AuditRecord(
                    sex=sex,
                    race=race,
                    selected=(
                        app.status == Status.COMPLETED
                        and not knocked_out
                        and overall is not None
                        and overall >= threshold
                    ),
                    score=overall,
                )
            )
            if app.finished_at is not None:
                finished.append(_aware(app.finished_at))  # type: ignore[arg-type]
        for candidate_id in sorted({app.candidate_id for app, _ in kept}):
            access_log.record(
                s,
                candidate_id,
                actor=actor,
                actor_kind=access_log.ADMIN if actor.startswith("cli:") else access_log.SYSTEM,
                action="bias_audit",
                resource="self_identifications",
                purpose=AUDIT_PURPOSE,
            )
        org_names = sorted(orgs)
        if not org_names and job is not None:
            name = s.scalar(
                select(Organization.name)
                .join(Job, Job.organization_id == Organization.id)
                .where(Job.slug == job)
                .limit(1)
            )
            org_names = [name] if name else []
            title = s.scalar(select(Job.title).where(Job.slug == job).order_by(Job.id.desc()))
            jobs[job] = title or job
    today = datetime.now(UTC).date()
    if since is not None and since > today:
        notes.append(f"The start date {since.isoformat()} is in the future: nothing can be in it.")
    if until is not None and until > today:
        notes.append(f"The end date {until.isoformat()} is in the future: counted up to today.")
    if opted_out:
        notes.append(
            f"{opted_out} application(s) of candidates who opted out of AI scoring are not "
            "counted: a person decided about them, not the tool."
        )
    return AuditData(
        records=records,
        jobs=[f"{title} ({slug})" for slug, title in sorted(jobs.items())],
        organizations=org_names,
        model_versions=sorted(models),
        scorer_versions=sorted(scorers),
        thresholds=thresholds,
        excluded_opted_out=opted_out,
        first_finished=min(finished) if finished else None,
        last_finished=max(finished) if finished else None,
        notes=notes,
    )


def selection_rule(thresholds: dict[str, float]) -> str:
    """The selection rule with the thresholds actually used."""
    if not thresholds:
        return SELECTION_RULE
    used = ", ".join(f"{slug}: {value:g}" for slug, value in sorted(thresholds.items()))
    return f"{SELECTION_RULE} Thresholds used: {used}."


def describe_jobs(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "no job"
