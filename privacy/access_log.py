"""The access log: every read of a candidate's data by an employer, an admin or the system.

Why reads are logged and not only writes: the candidate is entitled to know which employers
looked at their profile, and an operator must be able to show who saw what and why. The log
holds references (which application, which export), never the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AccessLogEntry, Organization

EMPLOYER = "employer"
ADMIN = "admin"
SYSTEM = "system"


def record(
    s: Session,
    candidate_id: str,
    *,
    actor: str,
    actor_kind: str,
    action: str,
    resource: str,
    purpose: str,
    organization_id: int | None = None,
) -> AccessLogEntry:
    row = AccessLogEntry(
        candidate_id=candidate_id,
        actor=actor[:200],
        actor_kind=actor_kind,
        organization_id=organization_id,
        action=action[:40],
        resource=resource[:200],
        purpose=purpose[:300],
    )
    s.add(row)
    return row


@dataclass(frozen=True)
class EmployerView:
    organization: str
    action: str
    resource: str
    purpose: str
    at: datetime


def employer_views(s: Session, candidate_id: str) -> list[EmployerView]:
    """The employer-facing part of the log, newest first, as the candidate may see it:
    which organization looked at what, when and why (not the individual's Slack id)."""
    rows = s.execute(
        select(AccessLogEntry, Organization.name)
        .outerjoin(Organization, Organization.id == AccessLogEntry.organization_id)
        .where(AccessLogEntry.candidate_id == candidate_id, AccessLogEntry.actor_kind == EMPLOYER)
        .order_by(AccessLogEntry.at.desc(), AccessLogEntry.id.desc())
    )
    return [
        EmployerView(
            organization=name or "an employer",
            action=row.action,
            resource=row.resource,
            purpose=row.purpose,
            at=row.at,
        )
        for row, name in rows
    ]
