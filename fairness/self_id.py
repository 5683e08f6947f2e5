"""Voluntary self-identification: storing, reading and deleting it under its own key.

Why a key of its own: sex and race/ethnicity may only ever be counted in aggregate (the bias
audit). They are sealed under a per-candidate *self-ID key*, not under the data key that seals
answers and scores, so nothing that opens a candidate's application data — scoring, the
employer views, the transparent ORM sealing — can open these values by accident. The key is
wrapped by the master key under its own context ("self-id:<candidate id>"), so a wrapped data
key can never be unwrapped as a self-ID key or the other way round; the master key rotation
re-wraps both kinds (privacy/keys.py). Deleting the `self_id_keys` row shreds every copy of
the values (backups included); the candidate's erasure removes both rows by ON DELETE CASCADE.

Only this module opens the values, and only the privacy dialogue (the candidate's own view),
the export and the audit's counting call it. Scoring, ranking and the employer screens never
import it (tests/fairness/test_self_id_isolation.py checks that).

Nothing here logs a value: candidate ids at most.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import EllipsisType

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from fairness.categories import DECLINED, LABELS, RACE_ETHNICITY, SEX, UNKNOWN
from storage.encryption import (
    EncryptionError,
    TokenError,
    column_aad,
    is_token,
    keyring_of,
    seal,
    unseal,
)
from storage.models import SelfIdentification, SelfIdKey

log = logging.getLogger(__name__)

TABLE = SelfIdentification.__tablename__
SEX_COLUMN = "sex"
RACE_COLUMN = "race_ethnicity"
SEX_VALUES = frozenset((*SEX, DECLINED))
RACE_VALUES = frozenset((*RACE_ETHNICITY, DECLINED))
# A question left unanswered this long no longer takes the candidate's next message: a "yes"
# typed days later belongs to whatever they are doing then.
STEP_TTL = timedelta(hours=1)
_BATCH = 500


class InvalidValue(ValueError):
    """A value outside the self-identification categories (never stored)."""


def key_context(candidate_id: str) -> str:
    """The wrapping context of a self-ID key: no candidate id has this form, so a data key
    (wrapped for the plain candidate id) never unwraps as one."""
    return "self-id:" + candidate_id


# --------------------------------------------------------------------------- keys
def _cipher(s: Session, candidate_id: str, *, create: bool = False) -> AESGCM | None:
    """The candidate's self-ID key; None when there is none (never answered, or shredded)
    unless `create` (made race-safe: concurrent creators end up with the same key)."""
    keyring = keyring_of(s)
    context = key_context(candidate_id)
    row = _key_row(s, candidate_id)
    if row is None and create:
        _cipher_new, wrapped = keyring.new_data_key(context)
        values = {
            "candidate_id": candidate_id,
            "master_key_id": keyring.master.key_id,
            "wrapped_key": wrapped,
            "created_at": datetime.now(UTC),
        }
        _insert_ignore(s, SelfIdKey, values)
        row = _key_row(s, candidate_id)
        if row is None:
            raise EncryptionError(f"could not create the self-ID key of candidate {candidate_id}")
    if row is None:
        return None
    return keyring.data_key(context, row[0], row[1])


def _key_row(s: Session, candidate_id: str) -> tuple[str, str] | None:
    found = (
        s.connection()
        .execute(
            select(SelfIdKey.wrapped_key, SelfIdKey.master_key_id).where(
                SelfIdKey.candidate_id == candidate_id
            )
        )
        .first()
    )
    return (found[0], found[1]) if found else None


def _insert_ignore(s: Session, model: type, values: dict[str, object]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: two concurrent first answers create one row."""
    conn = s.connection()
    table = model.__table__  # type: ignore[attr-defined]
    if conn.dialect.name == "postgresql":
        stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
    else:
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    conn.execute(stmt)


# --------------------------------------------------------------------------- sealing
def _seal(cipher: AESGCM, candidate_id: str, column: str, value: str | None) -> str | None:
    if value is None:
        return None
    return seal(cipher, value.encode(), column_aad(candidate_id, TABLE, column))


def _open(cipher: AESGCM | None, candidate_id: str, column: str, token: str | None) -> str | None:
    """An opened value; None when absent or unreadable (shredded key, tampered token)."""
    if token is None or cipher is None or not is_token(token):
        return None
    try:
        return unseal(cipher, token, column_aad(candidate_id, TABLE, column)).decode()
    except (TokenError, UnicodeDecodeError):
        log.warning("unreadable self-identification value: %s of candidate %s", column,
                    candidate_id)  # fmt: skip
        return None


def _locked_row(s: Session, candidate_id: str, *, create: bool) -> SelfIdentification | None:
    """The candidate's row, locked for this transaction (created first when `create`)."""
    if create:
        now = datetime.now(UTC)
        _insert_ignore(
            s,
            SelfIdentification,
            {"candidate_id": candidate_id, "created_at": now, "updated_at": now},
        )
    return s.scalar(
        select(SelfIdentification)
        .where(SelfIdentification.candidate_id == candidate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _check(value: str | None, allowed: frozenset[str], what: str) -> None:
    if value is not None and value not in allowed:
        raise InvalidValue(f"not a {what} category")  # the value itself is never echoed


# --------------------------------------------------------------------------- the API
def save(
    s: Session,
    candidate_id: str,
    *,
    sex: str | EllipsisType | None = ...,
    race: str | EllipsisType | None = ...,
) -> None:
    """Store the candidate's answers, sealed under their self-ID key (created on first use).

    `...` (the default) leaves a value as it is; None clears it; anything else must be one of
    the categories or DECLINED ("prefer not to say"), else InvalidValue and nothing changes."""
    if sex is not ...:
        _check(sex, SEX_VALUES, "sex")
    if race is not ...:
        _check(race, RACE_VALUES, "race/ethnicity")
    row = _locked_row(s, candidate_id, create=True)
    assert row is not None
    cipher = _cipher(s, candidate_id, create=True)
    assert cipher is not None
    if sex is not ...:
        row.sex = _seal(cipher, candidate_id, SEX_COLUMN, sex)
    if race is not ...:
        row.race_ethnicity = _seal(cipher, candidate_id, RACE_COLUMN, race)
    row.updated_at = datetime.now(UTC)
    s.flush()
    log.info("self-identification of candidate %s saved", candidate_id)


def read(s: Session, candidate_id: str) -> tuple[str | None, str | None]:
    """(sex, race/ethnicity) as stored values; None for a question not answered, and for
    both once the key is gone."""
    row = s.get(SelfIdentification, candidate_id)
    if row is None or (row.sex is None and row.race_ethnicity is None):
        return None, None
    cipher = _cipher(s, candidate_id)
    sex = _open(cipher, candidate_id, SEX_COLUMN, row.sex)
    race = _open(cipher, candidate_id, RACE_COLUMN, row.race_ethnicity)
    return (
        sex if sex in SEX_VALUES else None,
        race if race in RACE_VALUES else None,
    )


def delete(s: Session, candidate_id: str) -> bool:
    """Delete the row and the key (crypto-shredding any copy); True when there was either."""
    rows = s.execute(
        sql_delete(SelfIdentification)
        .where(SelfIdentification.candidate_id == candidate_id)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    keys = s.execute(
        sql_delete(SelfIdKey)
        .where(SelfIdKey.candidate_id == candidate_id)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    with contextlib.suppress(EncryptionError):
        keyring_of(s).forget(key_context(candidate_id))
    if rows or keys:
        log.info("self-identification of candidate %s deleted", candidate_id)
    return bool(rows or keys)


def for_audit(s: Session, candidate_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Candidate id → (sex, race) for counting: every id given is in the result, with UNKNOWN
    for no answer, "prefer not to say", a shredded key or an unreadable value. The caller
    keeps only counts."""
    ids = sorted(set(candidate_ids))
    out = {cid: (UNKNOWN, UNKNOWN) for cid in ids}
    keyring = keyring_of(s)
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        stmt = (
            select(
                SelfIdentification.candidate_id,
                SelfIdentification.sex,
                SelfIdentification.race_ethnicity,
                SelfIdKey.wrapped_key,
                SelfIdKey.master_key_id,
            )
            .outerjoin(SelfIdKey, SelfIdKey.candidate_id == SelfIdentification.candidate_id)
            .where(SelfIdentification.candidate_id.in_(chunk))
        )
        for cid, sex_token, race_token, wrapped, key_id in s.execute(stmt):
            cipher = keyring.data_key(key_context(cid), wrapped, key_id) if wrapped else None
            sex = _open(cipher, cid, SEX_COLUMN, sex_token)
            race = _open(cipher, cid, RACE_COLUMN, race_token)
            out[cid] = (
                sex if sex in SEX else UNKNOWN,
                race if race in RACE_ETHNICITY else UNKNOWN,
            )
    return out


def for_export(s: Session, candidate_id: str) -> dict[str, str | None]:
    """The candidate's own answers in plain words, for their data export. A key that does
    not open (wrapped by another master key, damaged) leaves them out rather than failing
    the whole export: the rest of the candidate's data is still theirs to have."""
    try:
        sex, race = read(s, candidate_id)
    except EncryptionError:
        log.warning("export: the self-ID key of candidate %s does not open", candidate_id)
        sex, race = None, None
    return {
        SEX_COLUMN: LABELS.get(sex) if sex else None,
        RACE_COLUMN: LABELS.get(race) if race else None,
    }


# --------------------------------------------------------------------------- chat steps
def pending_step(
    s: Session, candidate_id: str, *, lock: bool = False, now: datetime | None = None
) -> str | None:
    """The question waiting for the candidate's next message (see privacy/chat.py), or None;
    a step older than STEP_TTL is cleared and None returned. `lock`: the row stays locked
    for the caller's transaction (two copies of one answer are handled one after the other)."""
    if lock:
        row = _locked_row(s, candidate_id, create=False)
    else:
        row = s.get(SelfIdentification, candidate_id)
    if row is None or not row.step:
        return None
    now = now or datetime.now(UTC)
    updated = row.updated_at
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    if now - updated > STEP_TTL:
        set_step(s, candidate_id, None)
        return None
    return row.step


def set_step(s: Session, candidate_id: str, step: str | None) -> None:
    """Record which question waits (None: none). Creates the row (without answers) if needed."""
    if step is not None and len(step) > 20:
        raise ValueError("a step fits in 20 characters")
    row = _locked_row(s, candidate_id, create=step is not None)
    if row is None:
        return
    row.step = step
    row.updated_at = datetime.now(UTC)
    s.flush()
