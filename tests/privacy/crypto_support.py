"""Helpers for the encryption tests: raw dumps of a database and direct row inspection that
bypasses the ORM (and so the transparent sealing)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Column, Table, insert, select, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.models import Application, Base, Candidate, ChannelIdentity, Job, new_id


def sqlite_path(db: Database) -> Path | None:
    url = make_url(db.url)
    return Path(url.database) if url.get_backend_name() == "sqlite" else None


def libpq_url(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def checkpoint(db: Database) -> None:
    """Move SQLite's WAL into the main file, so the file alone is the whole database."""
    path = sqlite_path(db)
    if path is not None:
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def raw_dump(db: Database) -> bytes:
    """Everything the database stores, as an attacker with a copy would see it: the SQLite
    file's bytes (after a checkpoint, plus any WAL), or on PostgreSQL every table's rows
    cast to text plus `pg_dump` when it is installed."""
    path = sqlite_path(db)
    if path is not None:
        checkpoint(db)
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        return data + (wal.read_bytes() if wal.exists() else b"")
    parts: list[bytes] = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for (row,) in conn.execute(text(f'SELECT t::text FROM "{table.name}" AS t')):
                parts.append(row.encode())
    if shutil.which("pg_dump"):
        out = subprocess.run(
            ["pg_dump", "--data-only", libpq_url(db)], capture_output=True, check=True
        )
        # pg_dump ≥ 17.6 brackets its output with a random `\restrict` key: not data.
        lines = out.stdout.splitlines(keepends=True)
        parts.append(
            b"".join(x for x in lines if not x.startswith((b"\\restrict", b"\\unrestrict")))
        )
    return b"\n".join(parts)


def raw_column(db: Database, column: Column, where: object) -> object:
    """A stored value as it is in the database (a token for a sealed column)."""
    with db.engine.connect() as conn:
        return conn.execute(select(column).where(where)).scalar_one()


def raw_update(db: Database, table: Table, where: object, **values: object) -> None:
    """Write a value straight into the table (an attacker, or a legacy row)."""
    with db.engine.begin() as conn:
        conn.execute(table.update().where(where).values(**values))


def legacy_candidate(db: Database, sender_id: str, name: str | None = None) -> str:
    """A candidate as written before encryption: no data key row, plaintext name."""
    cid = new_id()
    with db.engine.begin() as conn:
        conn.execute(insert(Candidate.__table__).values(id=cid, name=name))
        conn.execute(
            insert(ChannelIdentity.__table__).values(
                candidate_id=cid, channel="web", sender_id=sender_id
            )
        )
    return cid


def new_application(db: Database, candidate_id: str) -> str:
    """An application of the candidate to the first imported job."""
    with db.transaction() as s:
        job = s.scalars(select(Job).order_by(Job.id)).first()
        assert job is not None
        app = Application(candidate_id=candidate_id, job_id=job.id, status="in_progress")
        s.add(app)
        s.flush()
        return app.id
