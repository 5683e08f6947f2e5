"""The employer audit: every employer command and button press, allowed or denied.

Why separate from the candidate's access log (privacy.access_log): this is the operator's
security record of who tried what — including denied attempts by people who belong to no
organization — while the access log tells a candidate who read their data. Entries hold ids
and short codes only: `detail` is clipped and must never carry names or answer text.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.models import EmployerAudit

ALLOWED = "allowed"
DENIED = "denied"
INVALID = "invalid"
OUTCOMES = (ALLOWED, DENIED, INVALID)

MAX_DETAIL_CHARS = 200
_MAX_ACTOR = 200
_MAX_ACTION = 40
_MAX_JOB = 64


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    clean = " ".join(value.replace("\x00", "").split())
    return clean[:limit] or None


def record(
    s: Session,
    *,
    actor: str,
    organization_id: int | None,
    action: str,
    outcome: str,
    job_slug: str | None = None,
    application_id: str | None = None,
    detail: str | None = None,
) -> EmployerAudit:
    """Add one audit row to `s` (the caller's transaction, so the row commits with the work
    it describes — or, for a denial, on its own). Values are clipped to the column sizes so
    hostile input can never make the audit itself fail."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    row = EmployerAudit(
        actor=_clip(actor, _MAX_ACTOR) or "unknown",
        organization_id=organization_id,
        action=_clip(action, _MAX_ACTION) or "unknown",
        job_slug=_clip(job_slug, _MAX_JOB),
        application_id=application_id,
        outcome=outcome,
        detail=_clip(detail, MAX_DETAIL_CHARS),
    )
    s.add(row)
    s.flush()
    return row
