"""Keep a spoken answer's audio, encrypted, only where the candidate's settings allow it.

The phone gateway hears every answer; whether the audio is *kept* is decided here, once:
a candidate who exists (consent given), is not being erased, has not withdrawn consent and
whose recording retention is above zero gets the audio stored in the encrypted file store
(`recordings/<random>.wav`); everyone else's audio is dropped as soon as it is transcribed.
The deployment can turn keeping off altogether (`PARLEY_KEEP_RECORDINGS=false`). The answer
row adopts the file in the same turn (`Answer.audio_ref`); an unadopted file (the message was
a command, not an answer) is deleted by the turn that did not use it.
"""

from __future__ import annotations

import secrets

from privacy.access_log import SYSTEM
from privacy.access_log import record as log_access
from storage.db import Database
from storage.files import FileStore
from storage.repositories import CandidateRepository


def keep_answer_audio(
    db: Database, files: FileStore, sender_id: str, wav: bytes, *, enabled: bool = True
) -> str | None:
    """Store `wav` for the sender's candidate when allowed; returns the file ref or None."""
    if not enabled or not wav:
        return None
    with db.transaction() as s:
        candidate = CandidateRepository(s).by_sender(sender_id)
        if (
            candidate is None
            or candidate.erased_at is not None
            or candidate.consent_withdrawn_at is not None
            or candidate.recording_retention_months <= 0
        ):
            return None
        candidate_id = candidate.id
    ref = files.write(candidate_id, f"recordings/{secrets.token_hex(12)}.wav", wav)
    with db.transaction() as s:
        log_access(
            s,
            candidate_id,
            actor="phone gateway",
            actor_kind=SYSTEM,
            action="write",
            resource=ref,
            purpose="keep the recording of a spoken answer (retention settings)",
        )
    return ref
