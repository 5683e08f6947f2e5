"""The `erasures` rows: an erasure in progress, then its tombstone.

Shared by erasure (which writes them), holds (which pause them) and purge (which finishes
them), so none of the three has to import another just for the states.
"""

from __future__ import annotations

import json
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.encryption import ERASURE_SENDER_IDS, hmac_hex, is_token, system_seal, system_unseal
from storage.models import Erasure

SUBJECT_PURPOSE = "erasure-subject"


class ErasureStatus(StrEnum):
    PENDING = "pending"  # out of use, waiting for the purge (due_at)
    HELD = "held"  # a legal hold blocks the purge
    PURGED = "purged"  # a tombstone: no candidate id, no sender ids, no personal data


class Reason(StrEnum):
    REQUEST = "request"  # the candidate asked ("delete everything")
    ADMIN = "admin"  # `parley privacy delete`
    UNDER_AGE = "under_age"
    CONSENT_REFUSED = "consent_refused"
    RETENTION = "retention"  # the organization's retention period ran out


OPEN = (ErasureStatus.PENDING, ErasureStatus.HELD)


class NoSuchCandidate(LookupError):
    """No candidate has this id (or it was purged already)."""


def subject_hash(s: Session, subject: str) -> str:
    """A keyed hash (the system HMAC of storage.encryption) of a candidate id, or of a sender
    id when no candidate existed: a tombstone cannot be linked back to a person by anyone
    without the master key (and not at all after a key rotation, which is fine: it only has
    to show that an erasure happened, not to whom)."""
    return hmac_hex(s, SUBJECT_PURPOSE, subject)


def open_erasure(s: Session, candidate_id: str, *, lock: bool = False) -> Erasure | None:
    """The candidate's erasure that is not purged yet (pending or held), if any."""
    stmt = (
        select(Erasure)
        .where(
            Erasure.candidate_id == candidate_id,
            Erasure.status.in_([str(x) for x in OPEN]),
        )
        .order_by(Erasure.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return s.scalars(stmt).first()


def dump_sender_ids(s: Session, sender_ids: list[str]) -> str:
    """The sender ids for `erasures.sender_ids`, sealed under the system key (they belong to
    no candidate key: the row outlives the candidate's data key)."""
    return system_seal(s, json.dumps(sorted(set(sender_ids))), ERASURE_SENDER_IDS)


def load_sender_ids(s: Session, value: str | None) -> list[str]:
    if not value:
        return []
    text = system_unseal(s, value, ERASURE_SENDER_IDS) if is_token(value) else value
    try:
        data = json.loads(text)
    except ValueError:
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


def erasure_for_sender(s: Session, sender_id: str) -> Erasure | None:
    """The unpurged erasure whose candidate used `sender_id`. An erased candidate's channel
    identities are gone (out of use), so "delete my data" again from the same chat must find
    the erasure through its sealed sender ids; there are only as many rows to open as
    erasures pending within the purge delay."""
    for row in s.scalars(select(Erasure).where(Erasure.status.in_([str(x) for x in OPEN]))):
        if row.candidate_id and sender_id in load_sender_ids(s, row.sender_ids):
            return row
    return None
