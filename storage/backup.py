"""Backups that keep crypto-shredding working: data and data keys are never stored together.

Deleting a candidate's `candidate_keys` row (crypto-shredding, privacy/purge.py) makes every
copy of their sealed data unreadable — but only if no copy of that row survives. A plain copy
of the database holds `candidate_keys` too, so restoring an old copy would revive the key of
a person who was erased. Hence two kinds of backup, written side by side by `create_backup`:

- the *data backup* (`parley-<UTC stamp>.db` for SQLite, `parley-<UTC stamp>.dump` — a
  `pg_dump --format=custom` archive — for PostgreSQL): the whole app database *without any
  row of `candidate_keys`*. On its own it opens nothing: every personal value in it is sealed
  under a data key it does not contain.
- the *key backup* (`keys-<UTC stamp>.json`, mode 0600): the wrapped data keys (candidate id,
  master key id, wrapped key — still encrypted by the master key, never unwrapped here) and
  the erasure tombstones (keyed subject hash and dates, nothing personal).

The rule this enforces: **a data backup is readable only together with a key backup that
still holds the key.** Key backups live at most `keep_days` (`prune_backups`, default
the purge delay: `PARLEY_KEY_BACKUP_DAYS`, else `PARLEY_PURGE_AFTER_DAYS`, else 30), and a key
backup made after a purge no longer holds the shredded key; so `keep_days` after a purge no
copy of the candidate's data can be read anywhere — the live database, any data backup, any
key backup. Copies kept elsewhere (off-site storage) must follow the same rule: key backups
expire within `keep_days` there too (an object lifecycle rule), data backups may be kept as
long as the organization needs them. Run backups more often than every `keep_days`, or a
prune can leave no key backup to restore with: that is the guarantee, not a bug.

Restoring (`restore_backup`) puts a data backup and a key backup back together: only keys of
candidates present in the data backup are inserted, and never the key of a candidate whose
erasure is known to be purged — the tombstones of the data backup, of the key backup and,
when a database is replaced, of the database being replaced are matched by their keyed
subject hash (`privacy.tombstones.subject_hash`); such a candidate's rows are deleted from the
restored database and the tombstone is kept. What a restore cannot know: an erasure that was
purged after the newest of those three sources (restore with the newest key backup, which
bounds this to one backup interval), and, when the master key was rotated in between, the
tombstones' hashes no longer match (they are keyed by the master key). After a restore, run
`parley privacy purge`: it re-applies every erasure pending in the restored data (their due
dates are kept), and erasures pending in a replaced database but missing from the backup are
listed in `RestoreResult.reapply` for the caller to re-apply (`parley backup restore` does).

Atomicity: every file is written to a temporary name in the same folder (mode 0600),
fsync'ed, then linked to its final name (never over an existing file). The SQLite data backup
is assembled in memory (online backup API, key rows deleted, then `VACUUM INTO` the file), so
no key row ever reaches the backup folder, not even in a temporary file; this needs memory
for one copy of the database, which is fine for the embedded profile (production runs on
PostgreSQL, whose dump streams from the server).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database, make_engine, normalise_url
from storage.encryption import (
    Keyring,
    MasterKeyMismatch,
    TokenError,
    _fsync_dir,
)
from storage.models import Candidate, CandidateKey, Erasure

log = logging.getLogger(__name__)

KEY_BACKUP_FORMAT = "parley-key-backup"
KEY_BACKUP_VERSION = 1
DATA_PREFIX = "parley-"
KEY_PREFIX = "keys-"
ENV_KEEP_DAYS = "PARLEY_KEY_BACKUP_DAYS"
ENV_PURGE_DAYS = "PARLEY_PURGE_AFTER_DAYS"
DEFAULT_KEEP_DAYS = 30
# The keyed-hash purpose of erasure tombstones (privacy.tombstones.SUBJECT_PURPOSE; storage
# does not import privacy/, a test keeps the two equal).
SUBJECT_PURPOSE = "erasure-subject"
PURGED = "purged"
OPEN_STATUSES = ("pending", "held")
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
_TMP_PREFIX = ".parley-backup-"
_STAMP = "%Y%m%dT%H%M%S.%fZ"
_TOMBSTONE_FIELDS = ("subject_hash", "request_id", "reason", "requested_at", "removed_at",
                     "due_at", "purged_at")  # fmt: skip
REQUIRED_TABLES = ("candidates", "candidate_keys", "erasures")


class BackupError(Exception):
    """A backup or restore could not be done; nothing was changed (message says why)."""


class BackupInputError(BackupError, ValueError):
    """Bad input: a missing or unusable folder, a file that is not a backup, a wrong target."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BackupResult:
    data_path: Path
    key_path: Path
    backend: str  # sqlite | postgresql
    created_at: datetime
    master_key_id: str
    candidates: int  # candidates in the data backup
    keys: int  # data keys in the key backup
    tombstones: int  # purged erasures recorded in the key backup

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(data_path=str(self.data_path), key_path=str(self.key_path),
                   created_at=self.created_at.isoformat())  # fmt: skip
        return out


@dataclass(frozen=True)
class Reapply:
    """An erasure pending in a replaced database but absent from the restored backup."""

    candidate_id: str
    reason: str
    due_at: datetime


@dataclass
class RestoreResult:
    target: str  # the target URL, password hidden
    master_key_id: str
    candidates: int = 0  # candidates in the restored database
    keys_restored: int = 0
    keys_without_candidate: int = 0  # candidates created after the data backup: skipped
    erased_removed: int = 0  # candidates with a purged erasure: rows deleted, key not restored
    candidates_without_key: int = 0  # no key in the key backup: their data stays unreadable
    tombstones_added: int = 0
    reapply: list[Reapply] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reapply"] = [
            {"candidate_id": r.candidate_id, "reason": r.reason, "due_at": r.due_at.isoformat()}
            for r in self.reapply
        ]
        return out


# --------------------------------------------------------------------------- helpers


def default_keep_days(settings: Any = None) -> int:
    """How long key backups are kept: `PARLEY_KEY_BACKUP_DAYS`, else the purge delay
    (`settings.purge_after_days`, `PARLEY_PURGE_AFTER_DAYS`), else 30 days."""
    value = os.environ.get(ENV_KEEP_DAYS, "").strip()
    source = ENV_KEEP_DAYS
    if not value:
        purge_days = getattr(settings, "purge_after_days", None)
        if purge_days is not None:
            return _check_days(int(purge_days), "purge_after_days")
        value, source = os.environ.get(ENV_PURGE_DAYS, "").strip(), ENV_PURGE_DAYS
    if not value:
        return DEFAULT_KEEP_DAYS
    try:
        days = int(value)
    except ValueError:
        raise BackupInputError(f"{source} must be a whole number of days, not {value!r}") from None
    return _check_days(days, source)


def _check_days(days: int, source: str) -> int:
    if days < 0:
        raise BackupInputError(f"{source} must be 0 or more days, not {days}")
    return days


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return _utc(value).isoformat() if value is not None else None


def _parse_time(value: Any, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date")
    return _utc(datetime.fromisoformat(value))


def redact(url: str) -> str:
    """A database URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: show nothing of it that could be a secret
        return "<unparseable URL>"


def _check_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise BackupInputError(f"{what} does not exist: {path} (create it first)")
    if not path.is_dir():
        raise BackupInputError(f"{what} is not a folder: {path}")
    return path


def _new_tmp(folder: Path, suffix: str) -> Path:
    """An empty temporary file (mode 0600) in `folder`; BackupInputError when not writable."""
    tmp = folder / f"{_TMP_PREFIX}{secrets.token_hex(6)}{suffix}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BackupInputError(
            f"cannot write to the backup folder {folder}: {exc.strerror or exc}"
        ) from None
    os.close(fd)
    return tmp


def _publish(tmp: Path, final: Path) -> None:
    """fsync `tmp`, then give it its final name (never replacing an existing file)."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise BackupError(f"{final} exists already: not overwritten") from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(final.parent)


def _sweep_stale_tmp(folder: Path, older_than: timedelta = timedelta(hours=6)) -> None:
    """Temporary files of a backup that crashed (they hold no key rows, but are junk)."""
    cutoff = datetime.now(UTC).timestamp() - older_than.total_seconds()
    for path in folder.glob(f"{_TMP_PREFIX}*.tmp"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def _backend(url: str) -> str:
    return make_url(normalise_url(url)).get_backend_name()


def _sqlite_file(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:":
        raise BackupInputError(f"not an SQLite database file: {redact(url)}")
    return Path(database)


def _pg_args(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without its password (which goes to PGPASSWORD, not the process list)."""
    parsed: URL = make_url(normalise_url(url))
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BackupError(
            f"{tool} is not on PATH: PostgreSQL backups need the PostgreSQL client tools "
            "(the same major version as the server, or newer; e.g. `apt-get install "
            "postgresql-client`)."
        )
    return path


# --------------------------------------------------------------------------- create


def create_backup(db: Database, settings: Any, out_dir: Path) -> BackupResult:
    """Write a data backup (no `candidate_keys` rows) and a key backup into `out_dir`.

    `settings` (anything with `purge_after_days`, or None) only sets the `keep_until` date
    recorded in the key backup (`default_keep_days`). The data backup is taken first, then
    the keys: a candidate created in between has a key but no data (skipped at restore), a
    candidate purged in between has data but no key (unreadable, as it must be).

    A data backup is readable only with a key backup that still holds the key; key backups
    are pruned after `keep_days` (`prune_backups`), so `keep_days` after a purge no copy
    of the erased candidate's data can be read anywhere."""
    out_dir = _check_dir(Path(out_dir), "The backup folder")
    keep_days = default_keep_days(settings)
    backend = _backend(db.url)
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database for backups: {backend}")
    if backend == "postgresql":
        _require("pg_dump")
    _sweep_stale_tmp(out_dir)
    now = datetime.now(UTC)
    stamp = now.strftime(_STAMP)
    key_path = out_dir / f"{KEY_PREFIX}{stamp}.json"
    if backend == "sqlite":
        data_path = out_dir / f"{DATA_PREFIX}{stamp}.db"
        candidates = _sqlite_data_backup(_sqlite_file(db.url), out_dir, data_path)
    else:
        data_path = out_dir / f"{DATA_PREFIX}{stamp}.dump"
        _pg_data_backup(db.url, out_dir, data_path)
        with db.engine.connect() as conn:
            candidates = int(conn.scalar(select(func.count()).select_from(Candidate)) or 0)
    try:
        keys, tombstones = _read_keys_and_tombstones(db.engine)
        master_key_id = db.keyring.master.key_id
        others = {k["master_key_id"] for k in keys} - {master_key_id}
        if others:  # Database() verified this at start; a rotation since would show here
            raise MasterKeyMismatch(master_key_id, sorted(others)[0])
        document = {
            "format": KEY_BACKUP_FORMAT,
            "version": KEY_BACKUP_VERSION,
            "created_at": now.isoformat(),
            "keep_until": (now + timedelta(days=keep_days)).isoformat(),
            "data_backup": data_path.name,
            "backend": backend,
            "master_key_id": master_key_id,
            "keys": keys,
            "tombstones": tombstones,
        }
        tmp = _new_tmp(out_dir, ".json")
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(document, fh, indent=1, sort_keys=True)
                fh.write("\n")
            _publish(tmp, key_path)
        finally:
            tmp.unlink(missing_ok=True)
    except BaseException:
        data_path.unlink(missing_ok=True)  # a data backup without its key backup is useless
        raise
    log.info("backup: %s (%d candidates), %s (%d keys)", data_path.name, candidates,
             key_path.name, len(keys))  # fmt: skip
    return BackupResult(data_path, key_path, backend, now, master_key_id, candidates,
                        len(keys), len(tombstones))  # fmt: skip


def _sqlite_data_backup(source: Path, out_dir: Path, final: Path) -> int:
    """The online backup API into memory, key rows deleted there, `VACUUM INTO` a fresh file:
    the file never holds a key row, not even in a free page. Returns the candidate count."""
    if not source.is_file():
        raise BackupInputError(f"the database file does not exist: {source}")
    src = sqlite3.connect(source, timeout=30)
    mem = sqlite3.connect(":memory:", isolation_level=None)
    try:
        src.backup(mem)
        tables = {r[0] for r in mem.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise BackupError(
                f"{source} is not a migrated Parley database (no table {', '.join(missing)}): "
                "run `parley migrate` first"
            )
        mem.execute("DELETE FROM candidate_keys")
        candidates = int(mem.execute("SELECT count(*) FROM candidates").fetchone()[0])
        tmp = _new_tmp(out_dir, ".db")
        try:
            mem.execute("VACUUM INTO ?", (str(tmp),))
            _publish(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite backup of {source} failed: {exc}") from None
    finally:
        mem.close()
        src.close()
    return candidates


def _pg_data_backup(url: str, out_dir: Path, final: Path) -> None:
    libpq, env = _pg_args(url)
    tmp = _new_tmp(out_dir, ".dump")
    try:
        done = subprocess.run(
            [_require("pg_dump"), "--format=custom", "--exclude-table-data=candidate_keys",
             f"--file={tmp}", f"--dbname={libpq}"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()}")
        _publish(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def _read_keys_and_tombstones(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The wrapped data keys (as stored: never unwrapped) and the purged erasures' tombstones."""
    keys: list[dict[str, Any]] = []
    with engine.connect() as conn:
        t = CandidateKey.__table__
        for row in conn.execute(select(t).order_by(t.c.candidate_id)).mappings():
            keys.append(
                {
                    "candidate_id": row["candidate_id"],
                    "master_key_id": row["master_key_id"],
                    "wrapped_key": row["wrapped_key"],
                    "created_at": _iso(row["created_at"]),
                    "rotated_at": _iso(row["rotated_at"]),
                }
            )
        tombstones = _tombstones(conn)
    return keys, tombstones


def _tombstones(conn: Any) -> list[dict[str, Any]]:
    e = Erasure.__table__
    rows = conn.execute(
        select(*[e.c[f] for f in _TOMBSTONE_FIELDS]).where(e.c.status == PURGED).order_by(e.c.id)
    ).mappings()
    return [
        {f: (_iso(r[f]) if isinstance(r[f], datetime) else r[f]) for f in _TOMBSTONE_FIELDS}
        for r in rows
    ]


# --------------------------------------------------------------------------- prune


def data_backup_time(path: Path) -> datetime | None:
    """When a data backup was made: the UTC stamp in its name."""
    stem = Path(path).name.removeprefix(DATA_PREFIX)
    stem = stem.removesuffix(".db").removesuffix(".dump")
    try:
        return datetime.strptime(stem, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def key_backup_time(path: Path) -> datetime | None:
    """When a key backup was made: its `created_at`, else the stamp in its name."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        created = _parse_time(data.get("created_at"), "created_at")
        if created is not None:
            return created
    except (OSError, ValueError, AttributeError):
        pass
    stem = Path(path).name.removeprefix(KEY_PREFIX).removesuffix(".json")
    try:
        return datetime.strptime(stem, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def prune_backups(
    out_dir: Path, keep_days: int | None = None, now: datetime | None = None
) -> int:
    """Delete the key backups (`keys-*.json`) and data backups made more than `keep_days`
    ago; returns how many. Default `keep_days`: `default_keep_days()` (the purge delay, 30 days).

    This is what makes crypto-shredding reach the backups: a data backup is readable only
    with a key backup that still holds the key; key backups live at most `keep_days`, and
    key backups made after a purge no longer hold the shredded key, so `keep_days` after a
    purge no copy anywhere can be read.

    Data backups older than `keep_days` go too: by then no key backup that could open them
    is left, so they are useless for a restore — but they still hold the few identifiers
    stored unencrypted (channel sender ids), which must not outlive the purge delay either.
    A backup whose date cannot be read is kept and logged, never guessed."""
    out_dir = _check_dir(Path(out_dir), "The backup folder")
    days = default_keep_days() if keep_days is None else _check_days(int(keep_days), "keep_days")
    cutoff = _utc(now or datetime.now(UTC)) - timedelta(days=days)
    removed = 0
    candidates = [(p, key_backup_time(p)) for p in sorted(out_dir.glob(f"{KEY_PREFIX}*.json"))]
    candidates += [
        (p, data_backup_time(p))
        for pattern in (f"{DATA_PREFIX}*.db", f"{DATA_PREFIX}*.dump")
        for p in sorted(out_dir.glob(pattern))
    ]
    for path, created in candidates:
        if created is None:
            log.warning("prune: cannot tell when %s was made; kept", path.name)
            continue
        if created < cutoff:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise BackupError(f"cannot delete {path}: {exc.strerror or exc}") from None
            removed += 1
            log.info("prune: removed backup %s", path.name)
    if removed:
        _fsync_dir(out_dir)
    return removed


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True)
class KeyBackup:
    created_at: datetime
    master_key_id: str
    keys: list[dict[str, Any]]
    tombstones: list[dict[str, Any]]


def load_key_backup(path: Path) -> KeyBackup:
    """Read and check a key backup; BackupInputError when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BackupInputError(f"the key backup does not exist: {path}")
    bad = f"{path} is not a Parley key backup (a keys-*.json written by `parley backup create`)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise BackupInputError(bad) from None
    if not isinstance(data, dict) or data.get("format") != KEY_BACKUP_FORMAT:
        raise BackupInputError(bad)
    if data.get("version") != KEY_BACKUP_VERSION:
        raise BackupInputError(f"{path}: unsupported key backup version {data.get('version')!r}")
    try:
        created = _parse_time(data["created_at"], "created_at")
        master_key_id = data["master_key_id"]
        keys, tombstones = data["keys"], data.get("tombstones", [])
        if not isinstance(master_key_id, str) or created is None:
            raise ValueError("header")
        if not isinstance(keys, list) or not isinstance(tombstones, list):
            raise ValueError("lists")
        for k in keys:
            if not all(isinstance(k.get(f), str) and k.get(f) for f in
                       ("candidate_id", "master_key_id", "wrapped_key")):  # fmt: skip
                raise ValueError("key")
        for t in tombstones:
            if not isinstance(t.get("subject_hash"), str):
                raise ValueError("tombstone")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BackupInputError(f"{path} is a damaged Parley key backup") from None
    return KeyBackup(created, master_key_id, keys, tombstones)


def data_backup_kind(path: Path) -> str:
    """ "sqlite" or "postgresql" from the file's first bytes; BackupInputError otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BackupInputError(f"the data backup does not exist: {path}")
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupInputError(
        f"{path} is not a Parley data backup (a parley-*.db or parley-*.dump written by "
        "`parley backup create`)"
    )


def _check_master(keyring: Keyring, backup: KeyBackup) -> None:
    """Every key of the backup must be wrapped by the configured master key (unwrapped in
    memory to prove it, and forgotten): MasterKeyMismatch before anything is written."""
    configured = keyring.master.key_id
    detail = " (the key backup's data keys are wrapped by another master key)"
    if backup.master_key_id != configured:
        raise MasterKeyMismatch(configured, backup.master_key_id, detail)
    for k in backup.keys:
        if k["master_key_id"] != configured:
            raise MasterKeyMismatch(configured, k["master_key_id"], detail)
        try:
            keyring.master.unwrap(k["wrapped_key"], k["candidate_id"])
        except TokenError:
            raise MasterKeyMismatch(
                configured, k["master_key_id"],
                " (a data key in the key backup could not be unwrapped)",
            ) from None  # fmt: skip


def restore_backup(
    data_backup: Path,
    key_backup: Path,
    target_url: str,
    *,
    keyring: Keyring | None = None,
    replace: bool = False,
) -> RestoreResult:
    """Put a data backup and a key backup back together into `target_url`.

    SQLite: the data backup is copied next to the target, the keys are inserted there, the
    result is checked (`Database()` with `keyring`) and renamed over the target. An existing
    target is replaced only with `replace=True`; its tombstones and pending erasures are read
    first (see the module docstring). PostgreSQL: `pg_restore` into `target_url`, which must
    be an empty database; a failure leaves it to be dropped and created again.

    Keys are inserted only for candidates present in the data backup, and never for a
    candidate whose erasure was purged (tombstones of the data backup, the key backup and a
    replaced database, matched by keyed subject hash): that candidate's rows are deleted. The
    master key (`keyring`, default: from the environment) must be the one that wrapped the
    keys, else MasterKeyMismatch and nothing is changed. Afterwards run `parley privacy
    purge` (erasures pending in the restored data) and re-apply `RestoreResult.reapply`."""
    keyring = keyring if keyring is not None else Keyring.from_env()
    keys = load_key_backup(Path(key_backup))
    kind = data_backup_kind(Path(data_backup))
    try:
        backend = _backend(target_url)
    except Exception:
        raise BackupInputError("the restore target is not a database URL") from None
    if backend != kind:
        raise BackupInputError(
            f"the data backup is a {kind} backup but the target is a {backend} database"
        )
    _check_master(keyring, keys)
    result = RestoreResult(target=redact(target_url), master_key_id=keyring.master.key_id)
    if kind == "sqlite":
        _restore_sqlite(Path(data_backup), keys, target_url, keyring, replace, result)
    else:
        _restore_pg(Path(data_backup), keys, target_url, keyring, result)
    log.info("restore into %s: %d keys restored, %d erased candidates removed", result.target,
             result.keys_restored, result.erased_removed)  # fmt: skip
    return result


def _restore_sqlite(
    data_backup: Path,
    keys: KeyBackup,
    target_url: str,
    keyring: Keyring,
    replace: bool,
    result: RestoreResult,
) -> None:
    target = _sqlite_file(target_url)
    if not target.parent.is_dir():
        raise BackupInputError(f"the target's folder does not exist: {target.parent}")
    old_tombstones: list[dict[str, Any]] = []
    old_open: list[dict[str, Any]] = []
    if target.exists():
        if not replace:
            raise BackupInputError(
                f"the target database exists: {target} (stop Parley and pass --replace to "
                "replace it)"
            )
        old_tombstones, old_open = _read_replaced(target)
    tmp = _new_tmp(target.parent, ".db")
    tmp_url = f"sqlite:///{tmp}"
    try:
        shutil.copyfile(data_backup, tmp)
        _check_data_tables(tmp)
        engine = make_engine(tmp_url)
        try:
            _install_keys(engine, keys, old_tombstones, old_open, keyring, result)
        finally:
            engine.dispose()
        Database(tmp_url, keyring).dispose()  # the master key check of a normal start
        with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        for suffix in ("-wal", "-shm", "-journal"):  # never pair the new file with old logs
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def _check_data_tables(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            tables = {r[0] for r in rows}
            if any(t not in tables for t in REQUIRED_TABLES):
                raise BackupInputError(f"{path.name}: not a Parley data backup (no Parley tables)")
            if conn.execute("SELECT count(*) FROM candidate_keys").fetchone()[0]:
                raise BackupInputError(
                    "the data backup contains data keys: it is a plain database copy, not a "
                    "data backup of `parley backup create` (restoring it would revive "
                    "shredded keys)"
                )
    except sqlite3.DatabaseError as exc:
        raise BackupInputError(
            f"the data backup is not a readable SQLite database: {exc}"
        ) from None


def _read_replaced(target: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tombstones and open erasures of the database about to be replaced."""
    engine = make_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(Erasure.__tablename__):
                raise BackupInputError(
                    f"the target {target} is not a Parley database: refusing to replace it"
                )
            e = Erasure.__table__
            opened = [
                dict(r)
                for r in conn.execute(
                    select(e.c.candidate_id, e.c.reason, e.c.due_at).where(
                        e.c.status.in_(OPEN_STATUSES), e.c.candidate_id.is_not(None)
                    )
                ).mappings()
            ]
            return _tombstones(conn), opened
    except (sqlite3.DatabaseError, SQLAlchemyError) as exc:
        raise BackupInputError(
            f"the target {target} is not a readable database: {type(exc).__name__}"
        ) from None
    finally:
        engine.dispose()


def _restore_pg(
    data_backup: Path, keys: KeyBackup, target_url: str, keyring: Keyring, result: RestoreResult
) -> None:
    pg_restore = _require("pg_restore")
    engine = make_engine(target_url)
    try:
        with engine.connect() as conn:
            if inspect(conn).has_table(Candidate.__tablename__):
                raise BackupInputError(
                    f"the target {result.target} is not empty: restore into a new, empty "
                    "PostgreSQL database"
                )
        libpq, env = _pg_args(target_url)
        done = subprocess.run(
            [pg_restore, "--no-owner", "--exit-on-error", "--single-transaction",
             f"--dbname={libpq}", str(data_backup)],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(f"pg_restore failed (exit {done.returncode}): {done.stderr.strip()}")
        _install_keys(engine, keys, [], [], keyring, result)
    finally:
        engine.dispose()
    Database(target_url, keyring).dispose()


def _install_keys(
    engine: Engine,
    keys: KeyBackup,
    old_tombstones: list[dict[str, Any]],
    old_open: list[dict[str, Any]],
    keyring: Keyring,
    result: RestoreResult,
) -> None:
    """In one transaction: remove erased candidates, add missing tombstones, insert keys."""
    e, c, k = Erasure.__table__, Candidate.__table__, CandidateKey.__table__
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(k)):
            raise BackupInputError("the restored data already holds data keys: not a data backup")
        candidates = set(conn.scalars(select(c.c.id)))
        present = _tombstones(conn)
        purged = {t["subject_hash"] for t in [*present, *keys.tombstones, *old_tombstones]}
        erased = {cid for cid in candidates if keyring.hmac_hex(SUBJECT_PURPOSE, cid) in purged}
        for cid in sorted(erased):
            # ON DELETE CASCADE removes every row of the candidate (as the purge did); an
            # erasure row naming them is a pending one from before the purge: now purged.
            conn.execute(delete(c).where(c.c.id == cid))
            conn.execute(delete(e).where(e.c.candidate_id == cid))
        seen = {(t["subject_hash"], t["purged_at"]) for t in present}
        for t in [*keys.tombstones, *old_tombstones]:
            if (t["subject_hash"], t["purged_at"]) in seen:
                continue
            seen.add((t["subject_hash"], t["purged_at"]))
            values: dict[str, Any] = {
                f: (_parse_time(t.get(f), f) if f.endswith("_at") else t.get(f))
                for f in _TOMBSTONE_FIELDS
            }
            values["reason"] = values["reason"] or "request"
            values["requested_at"] = values["requested_at"] or values["purged_at"]
            values["due_at"] = values["due_at"] or values["purged_at"]
            conn.execute(e.insert().values(status=PURGED, candidate_id=None, sender_ids=None,
                                           **values))  # fmt: skip
            result.tombstones_added += 1
        rows = []
        for key in keys.keys:
            cid = key["candidate_id"]
            if cid not in candidates:
                result.keys_without_candidate += 1
            elif cid not in erased:
                rows.append(
                    {
                        "candidate_id": cid,
                        "master_key_id": key["master_key_id"],
                        "wrapped_key": key["wrapped_key"],
                        "created_at": _parse_time(key.get("created_at"), "created_at")
                        or keys.created_at,
                        "rotated_at": _parse_time(key.get("rotated_at"), "rotated_at"),
                    }
                )
        if rows:
            conn.execute(k.insert(), rows)
        remaining = candidates - erased
        restored = {r["candidate_id"] for r in rows}
        result.candidates = len(remaining)
        result.keys_restored = len(rows)
        result.erased_removed = len(erased)
        result.candidates_without_key = len(remaining - restored)
        open_here = set(
            conn.scalars(
                select(e.c.candidate_id).where(
                    e.c.status.in_(OPEN_STATUSES), e.c.candidate_id.is_not(None)
                )
            )
        )
        for row in old_open:
            cid = row["candidate_id"]
            if cid in remaining and cid not in open_here:
                result.reapply.append(Reapply(cid, row["reason"], _utc(row["due_at"])))
