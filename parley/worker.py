"""The background worker (`parley worker`, started by `parley run`): the purge job, and the
scheduling pass (interview reminders, calendar write retries, re-opened interview times).

Why a separate process instead of a thread in the action server: the purge deletes across
the app database, Rasa's tracker store, Redis, files and logs, and must keep running whether
or not anyone is chatting; a crash in it must not take a conversation down, and the
supervisor restarts nothing silently — `parley run` reports it like any other process.

It logs counts only (never ids of people, never texts). The purge runs every
`PARLEY_PURGE_INTERVAL_S` seconds (default 300), the scheduling pass every
`PARLEY_REMINDER_INTERVAL_S` (default 30); both run right at start-up. Several workers may run
at once (scheduling/reminders.py explains why each reminder is still sent once).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

from parley.settings import Settings

log = logging.getLogger("parley.worker")

DEFAULT_INTERVAL_S = 300.0


def interval_from_env() -> float:
    raw = os.environ.get("PARLEY_PURGE_INTERVAL_S", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_INTERVAL_S
    except ValueError:
        log.warning("PARLEY_PURGE_INTERVAL_S=%r is not a number; using %s", raw,
                    DEFAULT_INTERVAL_S)  # fmt: skip
        return DEFAULT_INTERVAL_S
    return max(1.0, value)


def purge_once(db: Any, settings: Settings, files: Any) -> dict[str, Any]:
    """One purge run; returns the report's counts (what the log line shows)."""
    from privacy.purge import run_purge

    report = run_purge(db, settings, files)
    counts = {
        "purged": report.purged,
        "held": len(report.held),
        "failed": len(report.failed),
        "skipped": report.skipped,
        **{f"retention_{k}": v for k, v in report.retention.items()},
    }
    level = logging.ERROR if report.failed else logging.INFO
    log.log(level, "purge run: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def scheduling_once(service: Any) -> dict[str, Any]:
    """One scheduling pass; logs its counts when anything happened."""
    from scheduling.upkeep import scheduling_pass

    counts = scheduling_pass(service)
    if any(counts.values()):
        log.info("scheduling pass: %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def run_worker(
    settings: Settings, interval_s: float, stop: threading.Event, *, once: bool = False
) -> None:
    import time

    from scheduling.booking import BookingService
    from scheduling.interviewers import Interviewers
    from storage.db import Database
    from storage.files import FileStore
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    files = FileStore(settings.files_dir, db)
    booking = BookingService(
        db, Interviewers(db), reminder_offsets_min=settings.reminder_offsets_min
    )
    tick = max(0.2, min(interval_s, settings.reminder_interval_s))
    log.info("worker started: purge every %.0f s, reminders every %.0f s", interval_s, tick)
    next_purge = 0.0
    try:
        while not stop.is_set():
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + interval_s
                try:
                    purge_once(db, settings, files)
                except Exception as exc:  # keep running; the next run retries
                    log.error("purge run failed: %s", type(exc).__name__)
            try:
                scheduling_once(booking)
            except Exception as exc:  # keep running; the next pass retries
                log.error("scheduling pass failed: %s", type(exc).__name__)
            if once:
                break
            stop.wait(tick)
    finally:
        db.dispose()
    log.info("worker stopped")


def main(settings: Settings, *, once: bool = False) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    run_worker(settings, interval_from_env(), stop, once=once)
