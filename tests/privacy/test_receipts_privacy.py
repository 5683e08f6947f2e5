"""Message receipts (idempotency keys) under the privacy rules: exported, summarised, erased
with the person, and dropped after 30 days by the purge job — unless a legal hold keeps them.

The receipts are made the real way: a person interviews through the interview service with
message ids, as the action server does.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from privacy.erasure import erase_candidate
from privacy.export import build_archive
from privacy.holds import place_hold
from privacy.purge import run_purge
from privacy.retention import RECEIPT_RETENTION_DAYS
from privacy.summary import summarize
from storage.db import Database
from storage.files import FileStore
from storage.models import Application, ChannelIdentity, MessageReceipt
from tests.erasure_support import make_settings
from tests.test_message_receipts import MOTIVATION, Form, service_for

ALICE = "telegram:5550001"
BOB = "web:bob-receipts-0001"


def _interview(db: Database, sender: str, prefix: str) -> str:
    """Consent, age and one answer, each message with its id; returns the candidate id."""
    form = Form(service_for(db), sender)
    form.begin(prefix)
    form.send(MOTIVATION, f"{prefix}-answer-1")
    with db.transaction() as s:
        identity = s.scalars(select(ChannelIdentity).where(ChannelIdentity.sender_id == sender))
        return identity.one().candidate_id


def _receipts(db: Database, candidate_id: str | None = None) -> int:
    with db.transaction() as s:
        stmt = select(func.count()).select_from(MessageReceipt)
        if candidate_id is not None:
            stmt = stmt.join(Application, Application.id == MessageReceipt.application_id).where(
                Application.candidate_id == candidate_id
            )
        return s.scalar(stmt) or 0


def _age_receipts(db: Database, candidate_id: str, days: float) -> None:
    apps = select(Application.id).where(Application.candidate_id == candidate_id)
    with db.transaction() as s:
        s.execute(
            update(MessageReceipt)
            .where(MessageReceipt.application_id.in_(apps))
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


def test_export_and_summary_show_the_persons_receipts_only(db: Database, tmp_path: Path) -> None:
    alice = _interview(db, ALICE, "tg:5550001")
    _interview(db, BOB, "bob")
    archive = build_archive(db, FileStore(tmp_path / "files", db), alice)
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        data = json.loads(zf.read("data.json"))
    rows = data["tables"]["message_receipts"]
    assert sorted(r["message_id"] for r in rows) == [
        "tg:5550001-age", "tg:5550001-answer-1", "tg:5550001-consent",
    ]  # fmt: skip
    assert all(r["created_at"] for r in rows)
    assert "bob" not in json.dumps(rows)
    text = "\n".join(summarize(db, ALICE))
    assert "Receipts for 3 of your interview messages" in text
    assert f"kept {RECEIPT_RETENTION_DAYS} days" in text


def test_erasure_removes_the_receipts(db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    alice = _interview(db, ALICE, "a")
    bob = _interview(db, BOB, "b")
    assert _receipts(db, alice) == 3
    erase_candidate(db, settings, alice)
    # Past the erasure's due date; retention left out (it would drop every receipt by then).
    later = datetime.now(UTC) + timedelta(days=31)
    report = run_purge(db, settings, files, now=later, retention=False)
    assert report.ok, report.errors
    assert _receipts(db, alice) == 0 and _receipts(db) == 3 == _receipts(db, bob)
    with db.transaction() as s:  # nothing left that names Alice's messages either
        ids = s.scalars(select(MessageReceipt.message_id)).all()
    assert not [i for i in ids if i.startswith("a-")]


def test_the_purge_job_drops_receipts_after_30_days_unless_held(
    db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, db)
    files = FileStore(settings.files_dir, db)
    old = _interview(db, "web:old-receipts-0001", "old")
    recent = _interview(db, "web:new-receipts-0001", "new")
    held = _interview(db, "web:held-receipts-001", "held")
    _age_receipts(db, old, RECEIPT_RETENTION_DAYS + 1)
    _age_receipts(db, recent, RECEIPT_RETENTION_DAYS - 1)
    _age_receipts(db, held, RECEIPT_RETENTION_DAYS + 5)
    place_hold(db, held, "litigation", "ops@example.org")
    report = run_purge(db, settings, files)
    assert report.ok, report.errors
    assert report.retention["receipts"] == 3
    assert _receipts(db, old) == 0
    assert _receipts(db, recent) == 3 and _receipts(db, held) == 3
    # The interview itself is untouched: only the keys of long-handled messages went.
    with db.transaction() as s:
        app = s.scalars(select(Application).where(Application.candidate_id == old)).one()
        assert app.current_index == 1
