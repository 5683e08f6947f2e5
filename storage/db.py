"""Engine and session factory for the app database (SQLite embedded, PostgreSQL in production).

SQLite gets WAL, a busy timeout and enforced foreign keys so that the action server's
concurrent turns neither fail with "database is locked" nor leave orphans.

Every `Database` carries a `Keyring` (storage/encryption.py): its sessions seal and unseal
the personal columns transparently. Storage does not import parley/, so the default keyring
is read from the environment (`PARLEY_MASTER_KEY`, else `$PARLEY_VAR_DIR/master.key`, the
same defaults as `parley.settings`); callers with a settings object may pass
`Keyring.load(settings)` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InternalError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.encryption import KEYRING_INFO, Keyring, _SettingsLike, install


def normalise_url(url: str) -> str:
    """Accept `postgresql://` / `postgres://` and use the psycopg 3 driver we install."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, foreign_keys: bool = True) -> Engine:
    """An engine for `url`. `foreign_keys=False` is only for migrations on SQLite: a table
    rebuild (Alembic batch mode) drops the old table, which with enforced foreign keys would
    cascade-delete every child row."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False, "isolation_level": None},
        )

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
            # Take the write lock up front: a deferred transaction that reads, then writes,
            # fails with SQLITE_BUSY under concurrency instead of waiting its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def is_storage_fault(exc: BaseException) -> bool:
    """Whether `exc` says the database could not take the work right now, as opposed to a
    bug in ours: the server refused writes (PostgreSQL read-only: InternalError 25006; disk
    full: OperationalError 53100; a read-only or full SQLite file: OperationalError), or the
    connection went away mid-transaction. Integrity and programming errors are not faults
    of the storage: they stay loud.

    A connection that died while idle in the pool never gets this far: PostgreSQL engines
    ping on checkout (`pool_pre_ping`) and reconnect once, transparently."""
    if isinstance(exc, OperationalError | InternalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class Database:
    """Owns one engine and hands out transactional sessions that seal and unseal the
    personal columns with `keyring`.

    Construction fails fast with `MasterKeyMismatch` when the database's data keys were
    wrapped by another master key (one query), before anything is read or written.
    """

    def __init__(self, url: str, keyring: Keyring | None = None) -> None:
        install()
        self.url = normalise_url(url)
        self.keyring = keyring if keyring is not None else Keyring.from_env()
        self.engine = make_engine(self.url)
        try:
            self.keyring.verify(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={KEYRING_INFO: self.keyring}
        )

    @classmethod
    def from_settings(cls, settings: _SettingsLike) -> Database:
        """A Database for `settings.database_url` keyed by `settings.master_key` or
        `settings.var_dir / "master.key"` — use this whenever settings may differ from the
        environment (isolated stacks, tests), so parent and child processes agree."""
        return cls(settings.database_url, Keyring.load(settings))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
