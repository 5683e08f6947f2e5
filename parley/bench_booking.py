"""`parley bench booking`: N candidates booking the same interview slot at the same instant.

Why a benchmark for a race: the promise of scheduling/booking.py is that a slot is booked once
however many people click at the same moment, and that everybody who lost is offered other
times at once instead of an error. This runs that moment for real: a throw-away database
(PostgreSQL when a server answers — the one named by `--database-url`, else the local default —
or SQLite in a temporary folder), one interviewer without an external calendar, N candidates
with completed applications, and N threads released together by a barrier, each calling
`BookingService.book` for the same slot through the app's own engine and connection pool.

Reported: how many attempts booked, how many were refused with alternatives (none of which
may be the taken slot), how many failed any other way, the active bookings the database holds
for the slot afterwards (must be 1), and the latency of one attempt (p50 / p95 / max, from the
barrier to the answer, alternatives included). The throw-away database is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
JOB_FILE = Path(__file__).resolve().parents[1] / "jobs" / "backend-engineer.yaml"
BACKENDS = ("auto", "postgresql", "sqlite")


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Options:
    attempts: int = 50
    # A PostgreSQL server (any database on it: the bench creates its own next to it).
    database_url: str | None = None
    backend: str = "auto"  # auto | postgresql | sqlite


def _plain_pg(url: str) -> str:
    """A libpq URL for psycopg (SQLAlchemy's `postgresql+psycopg://` spelled plainly)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise BenchError(f"--database-url must be a PostgreSQL URL, not {parsed.drivername}")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_answers(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@contextlib.contextmanager
def throwaway_database(options: Options) -> Iterator[tuple[str, str]]:
    """Yields (backend, SQLAlchemy URL) of an empty database that is removed afterwards."""
    if options.backend not in BACKENDS:
        raise BenchError(f"unknown backend {options.backend!r} ({', '.join(BACKENDS)})")
    admin = _plain_pg(options.database_url or DEFAULT_PG_URL)
    use_pg = options.backend == "postgresql" or (
        options.backend == "auto" and (options.database_url is not None or _pg_answers(admin))
    )
    if not use_pg:
        with tempfile.TemporaryDirectory(prefix="parley-bench-booking-") as tmp:
            yield "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"parley_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise BenchError(
            f"cannot create a database on {_redact(admin)}: {type(exc).__name__}"
        ) from None
    try:
        yield "postgresql", make_url(admin).set(database=name).render_as_string(
            hide_password=False
        )
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(db: Any, attempts: int) -> tuple[int, list[tuple[str, str]]]:
    """The job, one interviewer (no external calendar) and `attempts` candidates with a
    completed application each. Returns (job id, [(sender id, application id)])."""
    from sqlalchemy import select

    from scheduling.interviewers import Interviewers, InterviewerSpec
    from screening.catalog import import_jobs
    from storage.models import Application, Candidate, ChannelIdentity, Job

    [result] = import_jobs(db, JOB_FILE)
    with db.transaction() as s:
        job = s.scalars(select(Job).where(Job.slug == result.slug, Job.is_current)).one()
        job_id, org = job.id, job.organization.slug
    Interviewers(db).add(
        InterviewerSpec(
            slug="bench-interviewer", organization=org, name="Bench Interviewer",
            timezone="UTC", hours="mon-fri 09:00-17:00", jobs=(result.slug,),
        )
    )  # fmt: skip
    people: list[tuple[str, str]] = []
    now = datetime.now(UTC)
    with db.transaction() as s:
        for i in range(attempts):
            sender = f"web:bench{i:05d}"
            candidate = Candidate()
            candidate.identities.append(ChannelIdentity(sender_id=sender, channel="web"))
            s.add(candidate)
            s.flush()
            app = Application(
                candidate_id=candidate.id, job_id=job_id, status="completed",
                current_index=0, finished_at=now,
            )  # fmt: skip
            s.add(app)
            s.flush()
            people.append((sender, app.id))
    return job_id, people


def _pct(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    if not values:
        return float("nan")
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[rank - 1]


def _race(db: Any, job_id: int, people: list[tuple[str, str]]) -> dict[str, Any]:
    from sqlalchemy import func, select

    from scheduling.booking import BookingService, SlotTaken
    from storage.models import Booking

    service = BookingService(db)
    free = service.free_slots(job_id, limit=1)
    if not free:
        raise BenchError("the bench interviewer has no free slot (this should not happen)")
    slot = free[0]
    barrier = threading.Barrier(len(people))
    outcomes: list[tuple[str, float]] = [("missing", 0.0)] * len(people)

    def attempt(i: int, sender: str, app_id: str) -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            service.book(app_id, slot, sender_id=sender, candidate_tz="UTC")
            outcome = "booked"
        except SlotTaken as exc:
            alts = exc.alternatives
            clean = alts and all(a.end <= slot.start or a.start >= slot.end for a in alts)
            outcome = "alternatives" if clean else "error:SlotTaken without valid alternatives"
        except Exception as exc:  # counted and named in the report
            outcome = f"error:{type(exc).__name__}"
        outcomes[i] = (outcome, (time.perf_counter() - started) * 1000)

    threads = [
        threading.Thread(target=attempt, args=(i, sender, app_id))
        for i, (sender, app_id) in enumerate(people)
    ]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    wall_ms = (time.perf_counter() - wall) * 1000
    if any(t.is_alive() for t in threads):
        raise BenchError("a booking attempt did not finish within 5 minutes")
    with db.transaction() as s:
        active = s.scalar(
            select(func.count())
            .select_from(Booking)
            .where(
                Booking.status == "booked",
                Booking.interviewer_id == slot.interviewer_id,
                Booking.starts_at == slot.start,
            )
        )
    kinds = Counter(kind for kind, _ms in outcomes)
    errors = {k.split(":", 1)[1]: n for k, n in kinds.items() if k.startswith("error:")}
    errors.update({"no answer": kinds["missing"]} if kinds["missing"] else {})
    latencies = sorted(ms for _k, ms in outcomes)
    booked, offered = kinds["booked"], kinds["alternatives"]
    return {
        "booked": booked,
        "alternatives_offered": offered,
        "errors": sum(errors.values()),
        "error_types": errors,
        "active_bookings_for_slot": active,
        "p50_ms": round(_pct(latencies, 50), 1),
        "p95_ms": round(_pct(latencies, 95), 1),
        "max_ms": round(latencies[-1], 1),
        "wall_ms": round(wall_ms, 1),
        "correct": booked == 1 and active == 1 and offered == len(people) - 1 and not errors,
    }


def run_benchmark(options: Options) -> dict[str, Any]:
    """Run the race once on a throw-away database and return the report."""
    if options.attempts < 2:
        raise BenchError("a race needs at least 2 attempts")
    from storage.db import Database
    from storage.encryption import Keyring, MasterKey
    from storage.migrate import upgrade

    with throwaway_database(options) as (backend, url):
        upgrade(url)
        # A throw-away key for a throw-away database: never the installation's master key.
        db = Database(url, Keyring.from_master(MasterKey.generate()))
        try:
            job_id, people = _seed(db, options.attempts)
            result = _race(db, job_id, people)
        finally:
            db.dispose()
    return {
        "benchmark": "booking",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "backend": backend,
        "method": (
            f"{options.attempts} candidates, each with a completed application, book the same "
            "slot of one interviewer (no external calendar) from as many threads released by "
            "one barrier, through BookingService.book and the app's connection pool; latency "
            "per attempt from the barrier to the answer (alternatives included)"
        ),
        "attempts": options.attempts,
        **result,
    }


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def summary(doc: dict[str, Any]) -> str:
    verdict = "OK" if doc["correct"] else "WRONG"
    errors = ", ".join(f"{k}: {n}" for k, n in doc["error_types"].items()) or "none"
    return "\n".join(
        [
            f"Booking race on {doc['backend']} ({doc['date']}): {verdict}",
            f"  {doc['attempts']} attempts on one slot: {doc['booked']} booked, "
            f"{doc['alternatives_offered']} offered other times, {doc['errors']} errors "
            f"({errors}); {doc['active_bookings_for_slot']} active booking(s) for the slot",
            f"  per attempt: p50 {doc['p50_ms']} ms, p95 {doc['p95_ms']} ms, "
            f"max {doc['max_ms']} ms; all done in {doc['wall_ms']} ms",
        ]
    )
