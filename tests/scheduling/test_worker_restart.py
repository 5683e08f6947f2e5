"""`parley worker` killed with SIGKILL mid-run, and two workers at once: still exactly once.

Why real processes: the promise of scheduling/reminders.py is about crashes and replicas —
a reminder and its outbox message commit in one transaction, and PostgreSQL's
`FOR UPDATE SKIP LOCKED` keeps two workers off the same rows. Only a real `parley worker`
killed by the kernel in the middle of its work, then restarted, and two of them running side
by side on one database, show that no reminder is lost and none is sent twice. The worker
runs on the real clock, so the seeded interviews start within the hour and every reminder is
already due.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from screening.catalog import import_jobs
from storage.db import Database
from storage.migrate import upgrade
from storage.models import (
    Application,
    Booking,
    BookingReminder,
    Candidate,
    ChannelIdentity,
    Job,
    OutboundMessage,
    new_id,
)
from tests.scheduling.booking_support import JOB, add_interviewer
from tests.support import FIXTURE_JOBS, ROOT, create_pg_database, drop_pg_database, pg_url

BOOKINGS = 300
DEADLINE_S = 60.0


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A fresh, migrated PostgreSQL database of its own (the workers run against it)."""
    name = create_pg_database("parley_worker")
    url = pg_url(name)
    upgrade(url)
    database = Database(url)
    import_jobs(database, FIXTURE_JOBS)
    try:
        yield database
    finally:
        database.dispose()
        drop_pg_database(name)


def _seed_due_reminders(db: Database, count: int) -> None:
    """`count` bookings starting in about 50 minutes, each with a 24 h and a 1 h reminder,
    both due: the 1 h one is sent, the 24 h one is superseded. Direct rows."""
    interviewer = add_interviewer(db, "worker-anna")
    now = datetime.now(UTC)
    with db.transaction() as s:
        job_id = s.scalar(select(Job.id).where(Job.slug == JOB, Job.is_current))
    people: list[object] = []
    apps: list[object] = []
    bookings: list[object] = []
    reminders: list[object] = []
    for i in range(count):
        candidate_id, app_id, booking_id = new_id(), new_id(), new_id()
        sender = f"web:worker{i:04d}"
        start = now + timedelta(minutes=50, seconds=i)
        people.append(Candidate(id=candidate_id))
        people.append(ChannelIdentity(candidate_id=candidate_id, sender_id=sender,
                                      channel="web"))  # fmt: skip
        apps.append(
            Application(
                id=app_id, candidate_id=candidate_id, job_id=job_id, status="completed",
                current_index=0, finished_at=now,
            )
        )  # fmt: skip
        bookings.append(
            Booking(
                id=booking_id, candidate_id=candidate_id, application_id=app_id,
                interviewer_id=interviewer, starts_at=start,
                ends_at=start + timedelta(minutes=45), status="booked",
                candidate_timezone="Europe/Berlin", sender_id=sender, sequence=0,
                calendar_state="none", calendar_attempts=0,
            )
        )  # fmt: skip
        reminders.extend(
            BookingReminder(
                booking_id=booking_id, candidate_id=candidate_id, sequence=0,
                offset_minutes=offset, due_at=start - timedelta(minutes=offset),
                status="pending",
            )
            for offset in (1440, 60)
        )  # fmt: skip
    # Parents committed before children (no ORM relationships tie these rows together).
    for rows in (people, apps, bookings, reminders):
        with db.transaction() as s:
            s.add_all(rows)


def _start_worker(db: Database, var_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,  # PARLEY_MASTER_KEY: the tests' key (tests/conftest.py)
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "PARLEY_VAR_DIR": str(var_dir),
        "PARLEY_REMINDER_INTERVAL_S": "0.2",
        "PARLEY_PURGE_INTERVAL_S": "3600",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "parley", "worker"],
            cwd=var_dir, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _count(db: Database, status: str) -> int:
    with db.transaction() as s:
        return s.scalar(
            select(func.count())
            .select_from(BookingReminder)
            .where(BookingReminder.status == status)
        ) or 0


def _wait_until_nothing_pending(db: Database, workers: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while _count(db, "pending"):
        assert all(w.poll() is None for w in workers), "a worker exited"
        assert time.monotonic() < deadline, f"{_count(db, 'pending')} reminders still pending"
        time.sleep(0.05)


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            assert w.wait(timeout=20) == 0
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()


def _assert_exactly_once(db: Database, count: int) -> None:
    """Every booking's candidate got exactly one reminder message, each linked from the
    reminder row that sent it; every 24 h reminder was superseded, none is left pending."""
    with db.transaction() as s:
        per_candidate = s.execute(
            select(OutboundMessage.candidate_id, func.count())
            .where(OutboundMessage.kind == "interview_reminder")
            .group_by(OutboundMessage.candidate_id)
        ).all()
        statuses = dict(
            s.execute(
                select(BookingReminder.status, func.count()).group_by(BookingReminder.status)
            ).all()
        )
        linked = s.execute(
            select(BookingReminder.offset_minutes, OutboundMessage.sender_id)
            .join(OutboundMessage, OutboundMessage.id == BookingReminder.message_id)
            .where(BookingReminder.status == "sent")
        ).all()
        bookings = s.scalar(select(func.count()).select_from(Booking))
    assert bookings == count
    assert len(per_candidate) == count
    assert {n for _c, n in per_candidate} == {1}
    assert statuses == {"sent": count, "skipped": count}
    assert len(linked) == count and {offset for offset, _s in linked} == {60}
    assert len({sender for _o, sender in linked}) == count


def test_worker_killed_mid_run_and_restarted_sends_each_reminder_once(
    pg_db: Database, tmp_path: Path
) -> None:
    _seed_due_reminders(pg_db, BOOKINGS)
    log = tmp_path / "worker.log"
    first = _start_worker(pg_db, tmp_path / "var", log)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while _count(pg_db, "sent") == 0:  # poll until the first batch of messages commits
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the worker sent nothing"
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    sent_at_kill = _count(pg_db, "sent")
    with pg_db.transaction() as s:
        messages_at_kill = s.scalar(select(func.count()).select_from(OutboundMessage))
    print(f"\nkilled with {sent_at_kill}/{BOOKINGS} reminders sent")
    assert 0 < sent_at_kill < BOOKINGS, "the kill did not land in the middle of the run"
    assert messages_at_kill == sent_at_kill  # message and status committed together

    second = _start_worker(pg_db, tmp_path / "var", log)
    try:
        _wait_until_nothing_pending(pg_db, [second])
    finally:
        _stop([second])
    _assert_exactly_once(pg_db, BOOKINGS)
    logged = sum(int(n) for n in re.findall(r"reminders_sent=(\d+)", log.read_text()))
    # The restarted worker sent exactly the rest (the killed one never got to log its pass).
    assert logged == BOOKINGS - sent_at_kill


def test_two_workers_at_once_send_each_reminder_once(pg_db: Database, tmp_path: Path) -> None:
    _seed_due_reminders(pg_db, BOOKINGS)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_start_worker(pg_db, tmp_path / f"var{i}", logs[i]) for i in range(2)]
    try:
        _wait_until_nothing_pending(pg_db, workers)
    finally:
        _stop(workers)
    _assert_exactly_once(pg_db, BOOKINGS)
    per_worker = [
        sum(int(n) for n in re.findall(r"reminders_sent=(\d+)", path.read_text())) for path in logs
    ]
    print(f"\nreminders sent per worker: {per_worker}")
    assert sum(per_worker) == BOOKINGS
