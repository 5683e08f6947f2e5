"""Encryption at rest: AES-256-GCM under per-candidate data keys wrapped by one master key.

Why this shape:
- Every personal value (answer text, explanations, names, contacts, …) is sealed with the
  *candidate's own* data key. Deleting that one `candidate_keys` row (crypto-shredding) makes
  every copy of the candidate's data unreadable at once: the live database, its backups, its
  replicas and exported files.
- Data keys are wrapped by the master key (`PARLEY_MASTER_KEY`, or `var/master.key` for the
  embedded default). Rotating the master key re-wraps the small data keys only; no sealed
  value is re-encrypted.
- Sealing is transparent: SQLAlchemy session events seal the sealed columns (`SEALED`) when
  they are flushed and unseal them when rows are loaded, so the rest of the code reads and
  writes plain Python values through the ORM. Core `insert()`/`update()` of these columns
  and column-only selects (`select(Answer.raw_text)`) bypass the events: select entities.
- A token in a column is `pk1:` + urlsafe base64(96-bit nonce + ciphertext + tag). Its
  associated data binds it to its candidate and column (`<candidate id>|<table>.<column>`),
  so a token copied to another candidate's row or to another column does not decrypt.

Unreadable values: when a candidate's key row is gone (shredded) or a token fails to
authenticate, loading does not fail the whole query: the attribute is set to None (and the
row id logged, never the value). Explicit reads of opaque data — `FileStore.read`,
`candidate_cipher(..., required=True)` — raise `KeyShredded` instead. A key row wrapped by
another master key is a configuration error, never silently tolerated: `MasterKeyMismatch`.

Values that are not tokens (rows written before encryption existed) are read as they are and
sealed at their object's next flush, or all at once by `seal_legacy(db)`.

This module lives in storage/ and must not import parley/: `Keyring.from_env()` reads
`PARLEY_MASTER_KEY` / `PARLEY_VAR_DIR` from the environment with the same defaults as
`parley.settings` (whose `load_settings()` also copies a `.env` file into the environment);
callers holding a settings object use `Keyring.load(settings)` / `MasterKey.load(settings)`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key

from storage.models import (
    Answer,
    AnswerScore,
    Application,
    ApplicationScore,
    Candidate,
    CandidateKey,
    Contact,
    Correction,
    DecisionLogEntry,
    EmployerDecision,
    HumanReview,
    OutboundMessage,
    PrivacyRequest,
    new_id,
)

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

TOKEN_PREFIX = "pk1:"
KEY_FILE = "master.key"
PENDING_KEY_FILE = "master.key.new"  # written first during a rotation (see privacy/keys.py)
ENV_KEY = "PARLEY_MASTER_KEY"
ENV_VAR_DIR = "PARLEY_VAR_DIR"
# The system_seal context of `erasures.sender_ids` (privacy/keys.py re-seals it on rotation).
ERASURE_SENDER_IDS = "erasures.sender_ids"
# The system_seal context of an interviewer's CalDAV password (scheduling/calendar_store.py).
INTERVIEWER_CALENDAR_SECRET = "interviewers.calendar_secret"
KEYRING_INFO = "parley.keyring"  # Session.info key carrying the Keyring
_CTX_INFO = "parley.crypto"  # Session.info key of the per-session caches
NONCE_BYTES = 12
KEY_BYTES = 32

# model → (attribute, is_json): the sealed columns. JSON columns are json.dumps'ed, then
# sealed; the column then holds the token as a JSON string.
SEALED: dict[type, tuple[tuple[str, bool], ...]] = {
    Answer: (("raw_text", False), ("normalized", True)),
    AnswerScore: (("explanation", True),),
    ApplicationScore: (("breakdown", True),),
    Candidate: (("name", False),),
    Contact: (("value", False),),
    PrivacyRequest: (("detail", True),),
    HumanReview: (("statement", False), ("resolution", False)),
    Correction: (("old_value", False), ("new_value", False)),
    OutboundMessage: (("text", False),),
    EmployerDecision: (("reason", False),),
    # A person's note on a decision (oversight/decision_log.py). Its application link is
    # SET NULL when the candidate's data is deleted: such a row names no candidate, so
    # `_candidate_of` finds none and the value loads as None (the key is gone anyway).
    DecisionLogEntry: (("reason", False),),
}


# --------------------------------------------------------------------------- errors


class EncryptionError(Exception):
    """Base class of this module's errors."""


class MasterKeyError(EncryptionError, ValueError):
    """The configured master key is malformed (never shows the key itself)."""


class MasterKeyMismatch(EncryptionError):
    """The configured master key is not the one the data keys were wrapped with."""

    def __init__(self, configured: str, found: str, detail: str = "") -> None:
        self.configured_key_id, self.found_key_id = configured, found
        super().__init__(
            f"The configured master key (key id {configured}) is not the one this database's "
            f"data was encrypted with (key id {found}){detail}. Set PARLEY_MASTER_KEY to the "
            f"master key with id {found} (for the embedded default: restore the matching "
            "var/master.key) and start again. Nothing was changed."
        )


class KeyShredded(EncryptionError):
    """The candidate's data key is gone (crypto-shredded): the data cannot be decrypted."""


class TokenError(EncryptionError):
    """A token failed to authenticate (wrong key, wrong candidate/column, or tampered)."""


# --------------------------------------------------------------------------- primitives


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))


def _aead(key: bytes | AESGCM) -> AESGCM:
    return key if isinstance(key, AESGCM) else AESGCM(key)


def seal_bytes(key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """nonce (96 bits, random) + ciphertext + tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, plaintext, aad)


def unseal_bytes(key: bytes | AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE_BYTES + 16:
        raise TokenError("sealed value too short")
    try:
        return _aead(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise TokenError("sealed value did not authenticate") from None


def seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> str:
    """A text token: `pk1:` + urlsafe base64(nonce + ciphertext + tag)."""
    return TOKEN_PREFIX + _b64e(seal_bytes(key, plaintext, aad))


def unseal(key: bytes | AESGCM, token: str, aad: bytes) -> bytes:
    return unseal_bytes(key, _token_blob(token), aad)


def _token_blob(token: str) -> bytes:
    if not is_token(token):
        raise TokenError("not a sealed token")
    try:
        return _b64d(token[len(TOKEN_PREFIX) :])
    except (binascii.Error, ValueError):
        raise TokenError("malformed token") from None


def is_token(value: object) -> bool:
    """Does `value` look like a sealed token? (Legacy plaintext does not.)"""
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX) and len(value) >= 40


def column_aad(candidate_id: str, table: str, column: str) -> bytes:
    """Associated data of a sealed column value: binds it to its candidate and column."""
    return f"{candidate_id}|{table}.{column}".encode()


def file_aad(candidate_id: str, ref: str) -> bytes:
    return f"{candidate_id}|file|{ref}".encode()


# --------------------------------------------------------------------------- master key


class _SettingsLike(Protocol):
    """What MasterKey.load / Database.from_settings need of `parley.settings.Settings`."""

    @property
    def master_key(self) -> str: ...
    @property
    def var_dir(self) -> Path: ...
    @property
    def database_url(self) -> str: ...


def _parse_key(text: str, source: str) -> bytes:
    value = text.strip()
    if not value:
        raise MasterKeyError(
            f"{source} is empty. Set it to the base64 of 32 random bytes (generate one with "
            "`parley privacy rotate-key --generate`, or "
            '`python -c "import base64,os; print(base64.b64encode(os.urandom(32)).decode())"`).'
        )
    try:
        std = value.replace("-", "+").replace("_", "/")
        raw = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MasterKeyError(
            f"{source} is not valid base64. It must be the base64 of 32 random bytes "
            "(44 characters ending in '=')."
        ) from None
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(
            f"{source} decodes to {len(raw)} bytes; a master key is exactly {KEY_BYTES} bytes "
            "(the base64 of 32 random bytes, 44 characters)."
        )
    return raw


class MasterKey:
    """The 32-byte master key. Never printed: `repr` and errors show only `key_id`."""

    __slots__ = ("_aead", "_hmac_key", "_key", "_system", "key_id", "path")

    def __init__(self, key: bytes, *, path: Path | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError(f"a master key is exactly {KEY_BYTES} bytes")
        self._key = bytes(key)
        self.key_id = hashlib.sha256(b"parley/master-key-id\0" + self._key).hexdigest()[:16]
        self.path = path  # the file it came from (embedded default), else None
        self._aead = AESGCM(self._key)
        system = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"parley/system")
        derived = system.derive(self._key)
        self._system = AESGCM(derived[:32])
        self._hmac_key = derived[32:]

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"

    def derive_key(self, purpose: str) -> bytes:
        """A 32-byte subkey for one purpose (HKDF-SHA256, info "parley/<purpose>"): a process
        that needs only one kind of key (the Rasa server's tracker store) gets only that."""
        if purpose in ("system", "master-key-id") or not purpose.isidentifier():
            raise ValueError(f"not a subkey purpose: {purpose!r}")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                    info=b"parley/" + purpose.encode())  # fmt: skip
        return hkdf.derive(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MasterKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self.key_id)

    # ---- construction
    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_base64(cls, text: str, source: str = ENV_KEY) -> MasterKey:
        return cls(_parse_key(text, source))

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        return cls(_parse_key(path.read_text(encoding="ascii", errors="replace"), str(path)),
                   path=path)  # fmt: skip

    @classmethod
    def load(cls, settings: _SettingsLike) -> MasterKey:
        """From `settings.master_key` when set, else `settings.var_dir / "master.key"`
        (generated on first use, mode 0600, with a warning)."""
        value = settings.master_key
        if value or os.environ.get(ENV_KEY) == "":  # set, even if blank: it must be valid
            return cls.from_base64(value or "", ENV_KEY)
        return cls.from_key_file(Path(settings.var_dir) / KEY_FILE)

    @classmethod
    def from_env(cls) -> MasterKey:
        """Like `load(load_settings())`, read straight from the environment (storage does not
        import parley/)."""
        value = os.environ.get(ENV_KEY)
        if value is not None:
            return cls.from_base64(value, ENV_KEY)
        return cls.from_key_file(Path(os.environ.get(ENV_VAR_DIR) or "var") / KEY_FILE)

    @classmethod
    def from_key_file(cls, path: Path) -> MasterKey:
        """The embedded default: read `path`, or create it (exclusively) on first use."""
        if path.is_file():
            return cls.from_file(path)
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            key.write(path, exclusive=True)
        except FileExistsError:  # another process generated it first: use theirs
            return cls.from_file(path)
        log.warning(
            "PARLEY_MASTER_KEY is not set: generated a master key into %s (mode 0600, key id "
            "%s). Production must set PARLEY_MASTER_KEY (and keep a safe copy: without the "
            "master key no encrypted data can be read).",
            path,
            key.key_id,
        )
        key.path = path
        return key

    def encoded(self) -> str:
        """Base64 (standard) of the key: the value PARLEY_MASTER_KEY takes."""
        return base64.b64encode(self._key).decode("ascii")

    def write(self, path: Path, *, exclusive: bool = False) -> None:
        """Write the key to `path` (mode 0600) atomically: a temporary file, fsync'ed, then
        renamed (or hard-linked when `exclusive`, which fails if `path` exists)."""
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(self.encoded() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            if exclusive:
                os.link(tmp, path)
            else:
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    # ---- data keys
    def wrap(self, data_key: bytes, candidate_id: str) -> str:
        return _b64e(seal_bytes(self._aead, data_key, _wrap_aad(candidate_id)))

    def unwrap(self, wrapped: str, candidate_id: str) -> bytes:
        """Raises TokenError when this key did not wrap it (or it was tampered with)."""
        try:
            blob = _b64d(wrapped)
        except (binascii.Error, ValueError):
            raise TokenError("malformed wrapped key") from None
        return unseal_bytes(self._aead, blob, _wrap_aad(candidate_id))

    # ---- system key: values of no candidate, and keyed hashes
    def system_seal(self, plaintext: str, context: str) -> str:
        return seal(self._system, plaintext.encode(), f"system|{context}".encode())

    def system_unseal(self, token: str, context: str) -> str:
        return unseal(self._system, token, f"system|{context}".encode()).decode()

    def hmac_hex(self, purpose: str, value: str) -> str:
        """HMAC-SHA256 (64 hex chars) of `value` for `purpose` ("export-token", "code", …)."""
        msg = purpose.encode() + b"\0" + value.encode()
        return hmac.new(self._hmac_key, msg, hashlib.sha256).hexdigest()


def _wrap_aad(candidate_id: str) -> bytes:
    return f"parley/data-key|{candidate_id}".encode()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- keyring


class Keyring:
    """The master key plus a per-process cache of unwrapped data keys.

    The cache is keyed by (candidate id, wrapped key): a session only asks for a data key
    after reading its `candidate_keys` row, so a deleted row (crypto-shredding) or a re-wrapped
    one is never served from the cache.
    """

    CACHE_SIZE = 20_000

    def __init__(self, master: MasterKey, pending: MasterKey | None = None) -> None:
        self.master = master
        # master.key.new: a rotation that committed but crashed before renaming the file.
        self.pending = pending
        self._cache: OrderedDict[tuple[str, str], AESGCM] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Keyring(master={self.master!r})"

    @classmethod
    def from_master(cls, master: MasterKey) -> Keyring:
        pending = None
        if master.path is not None:
            candidate = master.path.with_name(PENDING_KEY_FILE)
            if candidate.is_file():
                try:
                    pending = MasterKey.from_file(candidate)
                except MasterKeyError:
                    log.warning("ignoring malformed %s", candidate)
        return cls(master, pending)

    @classmethod
    def from_env(cls) -> Keyring:
        return cls.from_master(MasterKey.from_env())

    @classmethod
    def load(cls, settings: _SettingsLike) -> Keyring:
        return cls.from_master(MasterKey.load(settings))

    # ---- master key switching
    def use(self, master: MasterKey) -> None:
        """Switch to `master` (after a rotation). Cached data keys stay valid: they are keyed
        by their wrapped form, which changed."""
        with self._lock:
            self.master, self.pending = master, None
            self._cache.clear()

    def _reload_from_file(self, wanted: str) -> bool:
        """Another process rotated the embedded key file: pick up the new key if it is the
        one wanted (a long-running server keeps working after `rotate-key`)."""
        path = self.master.path
        if path is None:
            return False
        for candidate in (path, path.with_name(PENDING_KEY_FILE)):
            try:
                key = MasterKey.from_file(candidate)
            except (OSError, MasterKeyError):
                continue
            if key.key_id == wanted:
                key.path = path
                with self._lock:
                    self.master = key
                return True
        return False

    def verify(self, engine: Engine) -> None:
        """Fail fast at start when the data keys were wrapped by another master key.

        One query: any `candidate_keys` row with another `master_key_id`. A crash mid-rotation
        (the re-wrap committed, master.key.new not yet renamed) is completed here."""
        with engine.connect() as conn:
            if not inspect(conn).has_table(CandidateKey.__tablename__):
                return  # not migrated yet
            other = _other_key_id(conn, self.master.key_id)
            if other is None:
                return
            pending = self.pending
            if (
                pending is not None
                and other == pending.key_id
                and _other_key_id(conn, pending.key_id) is None
            ):
                conn.rollback()
                self._adopt_pending()
                return
        if not self._reload_from_file(other):
            raise MasterKeyMismatch(self.master.key_id, other)

    def _adopt_pending(self) -> None:
        pending, path = self.pending, self.master.path
        assert pending is not None and path is not None
        try:
            os.replace(path.with_name(PENDING_KEY_FILE), path)
            _fsync_dir(path.parent)
        except FileNotFoundError:
            pass  # the rotating process renamed it meanwhile
        log.warning("completed an interrupted master key rotation: now using key id %s",
                    pending.key_id)  # fmt: skip
        pending.path = path
        self.use(pending)

    # ---- data keys
    def new_data_key(self, candidate_id: str) -> tuple[AESGCM, str]:
        """A fresh random data key: (cipher, wrapped form for `candidate_keys`)."""
        raw = secrets.token_bytes(KEY_BYTES)
        wrapped = self.master.wrap(raw, candidate_id)
        cipher = AESGCM(raw)
        self._remember((candidate_id, wrapped), cipher)
        return cipher, wrapped

    def data_key(self, candidate_id: str, wrapped: str, master_key_id: str) -> AESGCM:
        """The unwrapped data key of a `candidate_keys` row (cached per process)."""
        if master_key_id != self.master.key_id and not self._reload_from_file(master_key_id):
            raise MasterKeyMismatch(self.master.key_id, master_key_id)
        cache_key = (candidate_id, wrapped)
        with self._lock:
            cipher = self._cache.get(cache_key)
            if cipher is not None:
                self._cache.move_to_end(cache_key)
                return cipher
        try:
            raw = self.master.unwrap(wrapped, candidate_id)
        except TokenError:
            raise MasterKeyMismatch(
                self.master.key_id,
                master_key_id,
                " (the data key of one candidate could not be unwrapped)",
            ) from None
        cipher = AESGCM(raw)
        self._remember(cache_key, cipher)
        return cipher

    def forget(self, candidate_id: str) -> None:
        """Drop a shredded candidate's unwrapped key from this process's memory too (it is
        never served once the row is gone, but need not linger until evicted)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == candidate_id]:
                del self._cache[key]

    def _remember(self, cache_key: tuple[str, str], cipher: AESGCM) -> None:
        with self._lock:
            self._cache[cache_key] = cipher
            if len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)

    # ---- system key
    def system_seal(self, plaintext: str, context: str) -> str:
        return self.master.system_seal(plaintext, context)

    def system_unseal(self, token: str, context: str) -> str:
        return self.master.system_unseal(token, context)

    def hmac_hex(self, purpose: str, value: str) -> str:
        return self.master.hmac_hex(purpose, value)


def _other_key_id(conn: Any, key_id: str) -> str | None:
    return conn.execute(
        select(CandidateKey.master_key_id).where(CandidateKey.master_key_id != key_id).limit(1)
    ).scalar()


def keyring_of(source: Database | Session | Keyring) -> Keyring:
    """The keyring of a Database, a Session opened by one, or a Keyring itself."""
    if isinstance(source, Keyring):
        return source
    if isinstance(source, Session):
        keyring = source.info.get(KEYRING_INFO)
        if keyring is None:
            raise EncryptionError("this session was not opened by storage.db.Database")
        return keyring
    return source.keyring


def system_seal(source: Database | Session | Keyring, plaintext: str, context: str) -> str:
    """Seal a value that belongs to no candidate (e.g. `erasures.sender_ids` with context
    "erasures.sender_ids") under the system key derived from the master key."""
    return keyring_of(source).system_seal(plaintext, context)


def system_unseal(source: Database | Session | Keyring, token: str, context: str) -> str:
    return keyring_of(source).system_unseal(token, context)


def hmac_hex(source: Database | Session | Keyring, purpose: str, value: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) for lookups of secrets stored only hashed: export
    tokens, one-time codes. Changes when the master key is rotated."""
    return keyring_of(source).hmac_hex(purpose, value)


# --------------------------------------------------------------------------- session events


@dataclass
class _Ctx:
    """Per-session caches (cleared when a transaction or savepoint ends)."""

    keys: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # cid → row
    apps: dict[str, str] = field(default_factory=dict)  # application id → candidate id
    new_keys: dict[str, str] = field(default_factory=dict)  # cid → wrapped, insert after flush
    restore: list[tuple[Any, str, Any]] = field(default_factory=list)
    legacy: set[tuple[Any, str]] = field(default_factory=set)  # (identity key, attr)

    def reset(self) -> None:
        self.keys.clear()
        self.apps.clear()


def _ctx(session: Session) -> _Ctx:
    ctx = session.info.get(_CTX_INFO)
    if ctx is None:
        ctx = session.info[_CTX_INFO] = _Ctx()
    return ctx


def _key_row(session: Session, ctx: _Ctx, candidate_id: str) -> tuple[str, str] | None:
    if candidate_id in ctx.keys:
        return ctx.keys[candidate_id]
    row = (
        session.connection()
        .execute(
            select(CandidateKey.wrapped_key, CandidateKey.master_key_id).where(
                CandidateKey.candidate_id == candidate_id
            )
        )
        .first()
    )
    ctx.keys[candidate_id] = (row[0], row[1]) if row else None
    return ctx.keys[candidate_id]


def _app_candidate(session: Session, ctx: _Ctx, application_id: str) -> str | None:
    """Candidate of an application, with the candidate's key row in the same query."""
    if application_id in ctx.apps:
        return ctx.apps[application_id]
    app = session.identity_map.get(identity_key(Application, application_id))
    if app is not None and app.__dict__.get("candidate_id"):
        ctx.apps[application_id] = app.candidate_id
        return app.candidate_id
    row = (
        session.connection()
        .execute(
            select(Application.candidate_id, CandidateKey.wrapped_key, CandidateKey.master_key_id)
            .select_from(Application)
            .outerjoin(CandidateKey, CandidateKey.candidate_id == Application.candidate_id)
            .where(Application.id == application_id)
        )
        .first()
    )
    if row is None:
        return None
    ctx.apps[application_id] = row[0]
    if row[0] not in ctx.keys:
        ctx.keys[row[0]] = (row[1], row[2]) if row[1] is not None else None
    return row[0]


def _candidate_of(session: Session, ctx: _Ctx, obj: Any) -> str | None:
    if isinstance(obj, Candidate):
        if obj.id is None:
            obj.id = new_id()
        return obj.id
    state = obj.__dict__
    cid = state.get("candidate_id")
    if cid:
        return cid
    candidate = state.get("candidate")
    if isinstance(candidate, Candidate):
        return _candidate_of(session, ctx, candidate)
    app = state.get("application")
    if isinstance(app, Application):
        if app.__dict__.get("candidate_id"):
            return app.candidate_id
        if isinstance(app.__dict__.get("candidate"), Candidate):
            return _candidate_of(session, ctx, app.candidate)
    application_id = state.get("application_id")
    if application_id:
        return _app_candidate(session, ctx, application_id)
    if "candidate_id" not in state and hasattr(type(obj), "candidate_id"):
        return getattr(obj, "candidate_id", None)  # expired: loads it
    return None


def candidate_cipher(
    session: Session, candidate_id: str, *, create: bool = False, required: bool = False
) -> AESGCM | None:
    """The candidate's data key as a cipher; None when the candidate has none (shredded or
    legacy) unless `create` (makes one, race-safe) or `required` (raises KeyShredded)."""
    keyring = keyring_of(session)
    ctx = _ctx(session)
    row = _key_row(session, ctx, candidate_id)
    if row is not None:
        return keyring.data_key(candidate_id, *row)
    if create:
        return _create_key(session, ctx, keyring, candidate_id)
    if required:
        raise KeyShredded(
            f"candidate {candidate_id} has no data key (erased): the data cannot be decrypted"
        )
    return None


def ensure_data_key(session: Session, candidate_id: str) -> None:
    """Make sure the (flushed) candidate has a data key row."""
    ctx = _ctx(session)
    if candidate_id in ctx.new_keys:
        return
    candidate_cipher(session, candidate_id, create=True)


def _create_key(session: Session, ctx: _Ctx, keyring: Keyring, candidate_id: str) -> AESGCM:
    """Insert-if-absent a data key for an existing candidate, then use whichever key won."""
    cipher, wrapped = keyring.new_data_key(candidate_id)
    values = {
        "candidate_id": candidate_id,
        "master_key_id": keyring.master.key_id,
        "wrapped_key": wrapped,
        "created_at": datetime.now(UTC),
    }
    conn = session.connection()
    dialect = conn.dialect.name
    table = CandidateKey.__table__
    if dialect == "postgresql":
        stmt = pg_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported backends
        raise EncryptionError(f"unsupported database {dialect}")
    conn.execute(stmt)
    ctx.keys.pop(candidate_id, None)
    row = _key_row(session, ctx, candidate_id)
    if row is None:
        raise EncryptionError(f"could not create a data key for candidate {candidate_id}")
    if row[0] == wrapped:
        log.info("created the data key of candidate %s", candidate_id)
        return cipher
    return keyring.data_key(candidate_id, *row)


def _encode(value: Any, is_json: bool) -> bytes:
    if is_json:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return str(value).encode()


def _decode(data: bytes, is_json: bool) -> Any:
    return json.loads(data) if is_json else data.decode()


def _needs_seal(obj: Any, attr: str, is_new: bool, ctx: _Ctx) -> bool:
    value = obj.__dict__.get(attr)
    if value is None:
        return False
    if is_new:
        return True
    history = attributes.get_history(obj, attr, passive=attributes.PASSIVE_NO_INITIALIZE)
    if history.added:
        return True
    return (inspect(obj).key, attr) in ctx.legacy


def _before_flush(session: Session, _flush_context: Any, _instances: Any) -> None:
    keyring = session.info.get(KEYRING_INFO)
    ctx = _ctx(session)
    new = list(session.new)
    if keyring is not None:
        for obj in new:
            if isinstance(obj, Candidate):
                cid = _candidate_of(session, ctx, obj)
                if cid not in ctx.new_keys:
                    _cipher, ctx.new_keys[cid] = keyring.new_data_key(cid)
    work: list[tuple[Any, list[tuple[str, bool]]]] = []
    for obj, is_new in [(o, True) for o in new] + [(o, False) for o in session.dirty]:
        spec = SEALED.get(type(obj))
        if spec is None:
            continue
        todo = [(a, j) for a, j in spec if _needs_seal(obj, a, is_new, ctx)]
        if todo:
            work.append((obj, todo))
    if not work:
        return
    if keyring is None:
        raise EncryptionError(
            "sealed columns must be written through a session of storage.db.Database"
        )
    for obj, todo in work:
        cid = _candidate_of(session, ctx, obj)
        if not cid:
            raise EncryptionError(
                f"cannot tell which candidate a {type(obj).__tablename__} row belongs to"
            )
        if cid in ctx.new_keys:
            cipher = keyring.data_key(cid, ctx.new_keys[cid], keyring.master.key_id)
        else:
            cipher = candidate_cipher(session, cid, create=True)
            assert cipher is not None
        table = type(obj).__tablename__
        for attr, is_json in todo:
            value = obj.__dict__[attr]
            token = seal(cipher, _encode(value, is_json), column_aad(cid, table, attr))
            setattr(obj, attr, token)
            ctx.restore.append((obj, attr, value))
            key = inspect(obj).key
            if key is not None:
                ctx.legacy.discard((key, attr))


def _after_flush(session: Session, _flush_context: Any) -> None:
    ctx = session.info.get(_CTX_INFO)
    if ctx is None or not ctx.new_keys:
        return
    keyring = keyring_of(session)
    deleted = {o.id for o in session.deleted if isinstance(o, Candidate)}
    rows = [
        {
            "candidate_id": cid,
            "master_key_id": keyring.master.key_id,
            "wrapped_key": wrapped,
            "created_at": datetime.now(UTC),
        }
        for cid, wrapped in ctx.new_keys.items()
        if cid not in deleted
    ]
    if rows:
        session.connection().execute(CandidateKey.__table__.insert(), rows)
    for row in rows:
        ctx.keys[row["candidate_id"]] = (row["wrapped_key"], row["master_key_id"])
    ctx.new_keys.clear()


def _after_flush_postexec(session: Session, _flush_context: Any) -> None:
    """The flushed objects hold plaintext again, with no pending change."""
    ctx = session.info.get(_CTX_INFO)
    if ctx is None:
        return
    restore, ctx.restore = ctx.restore, []
    for obj, attr, value in restore:
        attributes.set_committed_value(obj, attr, value)
    if any(isinstance(o, CandidateKey | Candidate) for o in session.deleted):
        ctx.reset()


def _after_transaction_end(session: Session, transaction: Any) -> None:
    """Drop cached key rows when a transaction or savepoint ends: a rolled-back savepoint
    may have taken a freshly created key row with it."""
    if transaction.parent is not None and not transaction.nested:
        return  # the flush's internal subtransaction
    ctx = session.info.get(_CTX_INFO)
    if ctx is None:
        return
    ctx.reset()
    if ctx.restore or ctx.new_keys:  # a failed flush: put the plaintext back on the objects
        for obj, attr, value in ctx.restore:
            if obj.__dict__.get(attr) is not None and is_token(obj.__dict__.get(attr)):
                obj.__dict__[attr] = value
        ctx.restore.clear()
        ctx.new_keys.clear()


def _after_bulk_delete(delete_context: Any) -> None:
    """A bulk delete may have removed key rows (crypto-shredding): forget cached rows."""
    ctx = delete_context.session.info.get(_CTX_INFO)
    if ctx is not None:
        ctx.reset()


def _unseal_instance(session: Session | None, obj: Any, attrs: Iterable[str] | None) -> None:
    if session is None:
        return
    keyring = session.info.get(KEYRING_INFO)
    spec = SEALED[type(obj)]
    wanted = set(attrs) if attrs is not None else None
    ctx = _ctx(session)
    tokens: list[tuple[str, bool, str]] = []
    for attr, is_json in spec:
        if wanted is not None and attr not in wanted:
            continue
        value = obj.__dict__.get(attr)
        if is_token(value):
            tokens.append((attr, is_json, value))
        elif value is not None:
            ctx.legacy.add((inspect(obj).key, attr))  # plaintext from before encryption
    if not tokens or keyring is None:
        return
    cid = _candidate_of(session, ctx, obj)
    row = _key_row(session, ctx, cid) if cid else None
    cipher = keyring.data_key(cid, *row) if cid and row else None
    table = type(obj).__tablename__
    for attr, is_json, token in tokens:
        value = None
        if cipher is not None:
            try:
                value = _decode(unseal(cipher, token, column_aad(cid, table, attr)), is_json)
            except (TokenError, ValueError):
                log.warning("unreadable sealed value: %s.%s of row %s", table, attr,
                            inspect(obj).identity)  # fmt: skip
        attributes.set_committed_value(obj, attr, value)


def _on_load(target: Any, context: Any) -> None:
    _unseal_instance(context.session, target, None)


def _on_refresh(target: Any, context: Any, attrs: Iterable[str] | None) -> None:
    _unseal_instance(context.session, target, attrs)


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Install the sealing events (once per process; `Database` calls it)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_flush_postexec", _after_flush_postexec)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        event.listen(Session, "after_bulk_delete", _after_bulk_delete)
        for model in SEALED:
            event.listen(model, "load", _on_load, restore_load_context=True)
            event.listen(model, "refresh", _on_refresh, restore_load_context=True)
        _installed = True


# --------------------------------------------------------------------------- Core rows

SEALED_COLUMNS: dict[str, dict[str, bool]] = {
    model.__tablename__: dict(spec) for model, spec in SEALED.items()
}


def unseal_row(session: Session, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A Core row (`select(table)` → `row._mapping`) with its sealed columns opened, for
    code that walks `Base.metadata` generically (export, scans). Unreadable values → None."""
    out = dict(row)
    spec = SEALED_COLUMNS.get(table)
    if not spec or not any(is_token(out.get(c)) for c in spec):
        return out
    ctx = _ctx(session)
    cid = out.get("id") if table == Candidate.__tablename__ else out.get("candidate_id")
    if not cid and out.get("application_id"):
        cid = _app_candidate(session, ctx, out["application_id"])
    cipher = candidate_cipher(session, cid) if cid else None
    for column, is_json in spec.items():
        value = out.get(column)
        if not is_token(value):
            continue
        out[column] = None
        if cipher is not None:
            with contextlib.suppress(TokenError, ValueError):
                aad = column_aad(cid, table, column)
                out[column] = _decode(unseal(cipher, value, aad), is_json)
    return out


# --------------------------------------------------------------------------- legacy rows


def seal_legacy(db: Database, batch: int = 500) -> int:
    """Seal every legacy plaintext value (rows written before encryption). Returns the
    number of values sealed. Idempotent; runs in batches of `batch` rows per transaction."""
    sealed = 0
    for model, spec in SEALED.items():
        pk = inspect(model).primary_key[0]
        last: Any = None
        while True:
            with db.transaction() as s:
                stmt = select(model).order_by(pk).limit(batch)
                if last is not None:
                    stmt = stmt.where(pk > last)
                rows = list(s.scalars(stmt))
                if not rows:
                    break
                ctx = _ctx(s)
                for obj in rows:
                    key = inspect(obj).key
                    for attr, _is_json in spec:
                        if (key, attr) in ctx.legacy:
                            attributes.flag_modified(obj, attr)
                            sealed += 1
                last = getattr(rows[-1], pk.key)
    if sealed:
        log.info("sealed %d legacy plaintext values", sealed)
    return sealed
