"""Who is reading: the access-log entries that admin and employer views write.

Why a helper on top of privacy.access_log: every view must log in the same words, so the
candidate's "which employers viewed my profile" reads consistently and an operator can search
the log. Reads are logged in the same transaction as the read itself, so a read that
happened is a read that was logged. Entries hold references (application ids), never data.
"""

from __future__ import annotations

import getpass

from sqlalchemy.orm import Session

from privacy import access_log
from storage.models import AccessLogEntry, Application

MAX_REASON_CHARS = 200


def admin_actor() -> str:
    """`admin:<OS user>` — the operator running the CLI (a container without a user name
    still gets an entry)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME variable
        user = "unknown"
    return f"admin:{user or 'unknown'}"


def _purpose(purpose: str, reason: str | None) -> str:
    clean = " ".join((reason or "").replace("\x00", "").split())[:MAX_REASON_CHARS]
    return f"{purpose}: {clean}" if clean else purpose


def _resource(application_ids: list[str]) -> str:
    if not application_ids:
        return "candidate"
    resource = "applications:" + ",".join(application_ids)
    return resource if len(resource) <= 200 else f"applications:{len(application_ids)}"


def log_admin_read(
    s: Session,
    candidate_id: str,
    application_ids: list[str],
    *,
    purpose: str,
    reason: str | None = None,
    actor: str | None = None,
) -> AccessLogEntry:
    """One entry per candidate an admin view showed."""
    return access_log.record(
        s,
        candidate_id,
        actor=actor or admin_actor(),
        actor_kind=access_log.ADMIN,
        action="view",
        resource=_resource(application_ids),
        purpose=_purpose(purpose, reason),
    )


def log_employer_read(
    s: Session,
    application: Application,
    *,
    actor: str,
    purpose: str,
    action: str = "viewed your application",
) -> AccessLogEntry:
    """One entry per application an employer (a person at the job's organization) saw —
    what the candidate sees in "which employers viewed my profile": the organization, what it
    did (`action`, in words), when and why. `actor` is the employer user (e.g. `slack:U123`);
    it is kept for the operator, the candidate sees only the organization."""
    return access_log.record(
        s,
        application.candidate_id,
        actor=actor,
        actor_kind=access_log.EMPLOYER,
        action=action,
        resource=f"application:{application.id}",
        purpose=purpose,
        organization_id=application.job.organization_id,
    )
