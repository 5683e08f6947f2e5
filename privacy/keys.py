"""Master key rotation: re-wrap every candidate's data key under a new master key.

Why only the data keys: every sealed value and file is encrypted under its candidate's data
key, and only those (small) data keys are wrapped by the master key. Re-wrapping them in one
transaction rotates the master key without touching any sealed value, so a rotation is quick
and cannot damage data: each data key is unwrapped (verified) first, and any failure aborts
the transaction with nothing changed.

Self-identification keys (`self_id_keys`, fairness/self_id.py) are wrapped by the master key
too, under their own context: they are re-wrapped in the same transaction.

Values under the *system* key (derived from the master key) move too: pending erasures'
sender ids are re-sealed in the same transaction. Keyed hashes (export link tokens, one-time
codes) are not reversible, so links and codes issued before a rotation stop working; the
candidate asks again.

For the embedded default (var/master.key) `rotate_key_file` switches the file safely: the new
key is written to master.key.new first, the re-wrap is committed, then master.key.new is
renamed over master.key. A crash in between is recovered at the next start
(`Keyring.verify`: the rows match master.key.new, so it is adopted).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from storage.db import Database
from storage.encryption import (
    ERASURE_SENDER_IDS,
    INTERVIEWER_CALENDAR_SECRET,
    PENDING_KEY_FILE,
    MasterKey,
    MasterKeyMismatch,
    TokenError,
    is_token,
)
from storage.models import CandidateKey, Erasure, Interviewer, SelfIdKey

log = logging.getLogger(__name__)


def generate_master_key() -> MasterKey:
    """A new random master key (32 bytes)."""
    return MasterKey.generate()


def read_key_file(path: Path) -> MasterKey:
    """A master key from a file holding its base64 (what `MasterKey.encoded()` writes);
    MasterKeyError (a ValueError) with a clear message when malformed."""
    return MasterKey.from_file(Path(path))


def rotate_master_key(db: Database, new_key: MasterKey) -> int:
    """Re-wrap every data key and self-ID key under `new_key` in one transaction; returns
    how many keys were re-wrapped.

    Every data key is unwrapped with the current master key first: a key wrapped by another
    master key (or damaged) raises MasterKeyMismatch and nothing is changed. On success this
    process's keyring switches to `new_key`; other running processes must be restarted with
    the new key (the embedded key file is picked up by them automatically)."""
    keyring = db.keyring
    old = keyring.master
    now = datetime.now(UTC)
    with db.transaction() as s:
        if s.get_bind().dialect.name == "postgresql":
            # No data key may be created under the old master key while we re-wrap.
            s.execute(text("LOCK TABLE candidate_keys IN EXCLUSIVE MODE"))
            s.execute(text("LOCK TABLE self_id_keys IN EXCLUSIVE MODE"))
        rows = list(s.scalars(select(CandidateKey).order_by(CandidateKey.candidate_id)))
        self_rows = list(s.scalars(select(SelfIdKey).order_by(SelfIdKey.candidate_id)))
        # Unwrap (verify) every key before changing any: a failure changes nothing.
        raw_keys = [_unwrap(old, r.wrapped_key, r.master_key_id, r.candidate_id) for r in rows]
        raw_self = [
            _unwrap(old, r.wrapped_key, r.master_key_id, _self_id_context(r.candidate_id))
            for r in self_rows
        ]
        for row, raw in zip(rows, raw_keys, strict=True):
            row.wrapped_key = new_key.wrap(raw, row.candidate_id)
            row.master_key_id = new_key.key_id
            row.rotated_at = now
        for key_row, raw in zip(self_rows, raw_self, strict=True):
            key_row.wrapped_key = new_key.wrap(raw, _self_id_context(key_row.candidate_id))
            key_row.master_key_id = new_key.key_id
            key_row.rotated_at = now
        for erasure in s.scalars(select(Erasure).where(Erasure.sender_ids.is_not(None))):
            if is_token(erasure.sender_ids):
                plain = old.system_unseal(erasure.sender_ids, ERASURE_SENDER_IDS)
                erasure.sender_ids = new_key.system_seal(plain, ERASURE_SENDER_IDS)
        secrets_ = select(Interviewer).where(Interviewer.calendar_secret.is_not(None))
        for person in s.scalars(secrets_):
            if is_token(person.calendar_secret):
                plain = old.system_unseal(person.calendar_secret, INTERVIEWER_CALENDAR_SECRET)
                person.calendar_secret = new_key.system_seal(plain, INTERVIEWER_CALENDAR_SECRET)
    if old.path is not None and new_key.path is None:
        new_key.path = old.path
    keyring.use(new_key)
    log.warning("master key rotated: %d data keys and %d self-ID keys re-wrapped (key id %s → "
                "%s)", len(rows), len(self_rows), old.key_id, new_key.key_id)  # fmt: skip
    return len(rows) + len(self_rows)


def _self_id_context(candidate_id: str) -> str:
    from fairness.self_id import key_context  # at use time: fairness is a capability

    return key_context(candidate_id)


def _unwrap(old: MasterKey, wrapped: str, key_id: str, context: str) -> bytes:
    """A wrapped key opened with the current master key; MasterKeyMismatch when it was
    wrapped by another one (or damaged)."""
    if key_id != old.key_id:
        raise MasterKeyMismatch(old.key_id, key_id)
    try:
        return old.unwrap(wrapped, context)
    except TokenError:
        raise MasterKeyMismatch(
            old.key_id, key_id, " (the data key of one candidate could not be unwrapped)"
        ) from None


def rotate_key_file(db: Database, new_key: MasterKey, key_file: Path | None = None) -> int:
    """Rotate the embedded default key file (var/master.key) safely: write master.key.new,
    commit the re-wrap, then rename it over master.key. Returns the number of data keys."""
    path = Path(key_file) if key_file is not None else db.keyring.master.path
    if path is None:
        raise ValueError(
            "the master key comes from PARLEY_MASTER_KEY, not from a file: use "
            "rotate_master_key and then set PARLEY_MASTER_KEY to the new key"
        )
    pending = path.with_name(PENDING_KEY_FILE)
    new_key.write(pending)
    count = rotate_master_key(db, new_key)
    try:
        os.replace(pending, path)
    except FileNotFoundError:  # another process completed the switch (Keyring.verify)
        if read_key_file(path) != new_key:
            raise
    new_key.path = path
    return count


@dataclass(frozen=True)
class Rotation:
    rewrapped: int
    old_key_id: str
    new_key_id: str
    key_file: Path | None  # the file now holding the new key; None: update PARLEY_MASTER_KEY


def rotate_key(db: Database, new_key: MasterKey) -> Rotation:
    """What `parley privacy rotate-key` does: the key file is switched when the master key
    comes from one (embedded default); otherwise the data keys are re-wrapped and the
    operator must set PARLEY_MASTER_KEY to the new key (`new_key.encoded()`) before the
    next start."""
    old = db.keyring.master
    if old.path is not None:
        count = rotate_key_file(db, new_key, old.path)
        return Rotation(count, old.key_id, new_key.key_id, old.path)
    count = rotate_master_key(db, new_key)
    return Rotation(count, old.key_id, new_key.key_id, None)
