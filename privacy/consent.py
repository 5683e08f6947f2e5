"""Stopping processing when a candidate withdraws (or refuses to renew) their consent.

Shared by "withdraw consent" (privacy.oversight) and a "no" to re-consent after a major
notice change (the interview service), so both stop exactly the same things. Storage only:
the interview service imports it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from storage.models import Application, Candidate, ConsentRecord
from storage.repositories import ApplicationRepository


def stop_processing(
    s: Session, candidate: Candidate, channel: str, notice_version: str
) -> list[Application]:
    """Record the refusal (a ConsentRecord with granted=False for the notice version in
    force), mark the candidate's consent withdrawn, and withdraw every open application and
    practice run: no more questions, no more scoring. The data stays until the candidate asks
    to delete it — withdrawing consent is not erasure, and erasure is offered separately.

    Returns the applications withdrawn now.
    """
    now = datetime.now(UTC)
    s.add(
        ConsentRecord(
            candidate_id=candidate.id,
            job_id=None,
            notice_version=notice_version,
            granted=False,
            channel=channel,
        )
    )
    candidate.consent_withdrawn_at = now
    stopped = ApplicationRepository(s).withdraw_open(candidate.id, now)
    s.flush()
    return stopped


def processing_allowed(candidate: Candidate | None) -> bool:
    """May the candidate's data still be processed (scored, matched)? Not after consent was
    withdrawn (until they consent again) nor after "delete everything"."""
    return (
        candidate is not None
        and candidate.consent_withdrawn_at is None
        and candidate.erased_at is None
    )
