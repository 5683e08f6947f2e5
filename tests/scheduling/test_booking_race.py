"""Booking races: many people wanting one interview slot at the same instant.

Why real threads against a real database: the guarantee lives in the database (the
interviewer row lock on PostgreSQL, SQLite's write lock, and the two partial unique indexes),
so only real concurrent transactions show that exactly one booking wins and every loser is
offered other times instead of an error. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from scheduling.booking import AlreadyBooked, BookingService, Slot, SlotTaken
from storage.db import Database
from storage.models import Booking, BookingReminder, Job
from tests.scheduling.booking_support import JOB, Clock, add_interviewer, seed_application

# Wednesday 25 Nov 2026 09:00 in Berlin: two days after NOW, so both reminders are planned.
WED_0900_BERLIN = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def _job_id(db: Database) -> int:
    with db.transaction() as s:
        job_id = s.scalar(select(Job.id).where(Job.slug == JOB, Job.is_current))
    assert job_id is not None
    return job_id


def _race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run every call in its own thread, all released at once by a barrier. Returns, in call
    order, ("ok", value) or ("raised", exception)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", calls[i]())
        except Exception as exc:  # the outcome under test, whatever it is
            results[i] = ("raised", exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a booking thread hung"
    return results


def _active(db: Database) -> list[Booking]:
    with db.transaction() as s:
        rows = list(s.scalars(select(Booking).where(Booking.status == "booked")))
        for row in rows:
            s.expunge(row)
    return rows


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_fifty_candidates_race_for_one_slot(db: Database) -> None:
    """50 candidates (50 applications, 50 threads) book the same slot at once: exactly one
    booking, 49 `SlotTaken` each offering other times (never the taken one), nothing else."""
    interviewer = add_interviewer(db)
    service = BookingService(db, clock=Clock())
    slot = next(s for s in service.free_slots(_job_id(db)) if s.start == WED_0900_BERLIN)
    assert slot.interviewer_id == interviewer
    people = [seed_application(db) for _ in range(50)]


    def attempt(sender: str, app: str) -> Callable[[], Any]:
        return lambda: service.book(app, slot, sender_id=sender, candidate_tz="Europe/Berlin")

    results = _race([attempt(sender, app) for sender, _cand, app in people])

    booked = [value for kind, value in results if kind == "ok"]
    taken = [value for kind, value in results if isinstance(value, SlotTaken)]
    other = [value for kind, value in results if kind == "raised" and value not in taken]
    assert (len(booked), len(taken), len(other)) == (1, 49, 0), other[:3]
    winner = booked[0]
    for exc in taken:
        assert exc.alternatives, "a loser was offered no other time"
        assert all(isinstance(alt, Slot) for alt in exc.alternatives)
        assert slot.start not in {alt.start for alt in exc.alternatives}
        # Nor anything that would overlap the winner's interview.
        assert all(alt.end <= slot.start or alt.start >= slot.end for alt in exc.alternatives)
        # The next grid slot, one buffer away, stays on offer (09:00 is the day's first).
        assert slot.start + timedelta(hours=1) in {alt.start for alt in exc.alternatives}

    rows = _active(db)
    assert [(r.id, _aware(r.starts_at), r.interviewer_id) for r in rows] == [
        (winner.id, slot.start, interviewer)
    ]
    winner_app = next(app for sender, _c, app in people if sender == winner.sender_id)
    assert rows[0].application_id == winner_app
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 1
        reminders = s.execute(
            select(BookingReminder.offset_minutes, BookingReminder.status).where(
                BookingReminder.booking_id == winner.id
            )
        ).all()
        assert s.scalar(select(func.count()).select_from(BookingReminder)) == 2
    assert sorted(reminders) == [(60, "pending"), (1440, "pending")]


def test_double_click_books_once(db: Database) -> None:
    """The same application booking twice at once (a double click, two open chats): one
    booking; the other attempts get `AlreadyBooked` naming it. Same slot or different slots."""
    add_interviewer(db)
    service = BookingService(db, clock=Clock())
    slots = service.free_slots(_job_id(db))
    sender, _cand, app = seed_application(db)

    def book(slot: Slot) -> Callable[[], Any]:
        return lambda: service.book(app, slot, sender_id=sender, candidate_tz="Europe/Berlin")

    results = _race([book(slots[0]) for _ in range(8)])
    booked = [v for k, v in results if k == "ok"]
    already = [v for k, v in results if isinstance(v, AlreadyBooked)]
    assert (len(booked), len(already)) == (1, 7), results
    assert {exc.booking.id for exc in already} == {booked[0].id}

    # The second application of another candidate, clicking two different times at once.
    sender2, _c2, app2 = seed_application(db)
    results = _race(
        [
            lambda: service.book(app2, slots[2], sender_id=sender2, candidate_tz="UTC"),
            lambda: service.book(app2, slots[3], sender_id=sender2, candidate_tz="UTC"),
        ]
    )
    booked2 = [v for k, v in results if k == "ok"]
    already2 = [v for k, v in results if isinstance(v, AlreadyBooked)]
    assert (len(booked2), len(already2)) == (1, 1), results
    assert already2[0].booking.id == booked2[0].id

    rows = _active(db)
    assert sorted((r.application_id, r.id) for r in rows) == sorted(
        [(app, booked[0].id), (app2, booked2[0].id)]
    )


def test_reschedule_races_a_new_booking_for_the_same_slot(db: Database) -> None:
    """A candidate moving their interview to slot T while another candidate books T: one of
    them gets T; the other is told it was taken (with alternatives) and keeps what they had."""
    add_interviewer(db)
    service = BookingService(db, clock=Clock())
    slots = [s for s in service.free_slots(_job_id(db)) if s.start >= WED_0900_BERLIN]
    outcomes: list[str] = []
    for round_ in range(6):
        here, target = slots[2 * round_], slots[2 * round_ + 1]
        mover_sender, _mc, mover_app = seed_application(db)
        other_sender, _oc, other_app = seed_application(db)
        original = service.book(mover_app, here, sender_id=mover_sender, candidate_tz="UTC")
        calls: list[Callable[[], Any]] = [
            lambda o=original, t=target, s=mover_sender, a=mover_app: service.book(
                a, t, sender_id=s, candidate_tz="UTC", reschedule=o.id
            ),
            lambda t=target, s=other_sender, a=other_app: service.book(
                a, t, sender_id=s, candidate_tz="UTC"
            ),
        ]
        if round_ % 2:
            calls.reverse()  # vary who starts first
        results = _race(calls)
        if round_ % 2:
            results.reverse()
        (mover_kind, mover_value), (other_kind, other_value) = results
        assert [mover_kind, other_kind].count("ok") == 1, results
        loser = other_value if mover_kind == "ok" else mover_value
        assert isinstance(loser, SlotTaken), results
        assert loser.alternatives
        assert target.start not in {alt.start for alt in loser.alternatives}

        moved = service.get(original.id)
        assert moved is not None and moved.status == "booked"
        on_target = [r for r in _active(db) if _aware(r.starts_at) == target.start]
        assert len(on_target) == 1
        with db.transaction() as s:
            reminders = s.execute(
                select(
                    BookingReminder.sequence,
                    BookingReminder.offset_minutes,
                    BookingReminder.status,
                ).where(BookingReminder.booking_id == original.id)
            ).all()
        if mover_kind == "ok":
            outcomes.append("moved")
            assert on_target[0].id == original.id
            assert (_aware(moved.starts_at), moved.sequence) == (target.start, 1)
            assert other_value is loser and service.active_booking(other_app) is None
            # The slot the mover left is offered again to the one who lost.
            assert here.start in {alt.start for alt in loser.alternatives}
            assert sorted(reminders) == [
                (0, 60, "cancelled"),
                (0, 1440, "cancelled"),
                (1, 60, "pending"),
                (1, 1440, "pending"),
            ]
        else:
            outcomes.append("new")
            assert on_target[0].application_id == other_app
            assert (_aware(moved.starts_at), moved.sequence) == (here.start, 0)
            assert sorted(reminders) == [(0, 60, "pending"), (0, 1440, "pending")]
    assert len(outcomes) == 6
    # Nobody holds two bookings, no slot is held twice.
    rows = _active(db)
    assert len({r.application_id for r in rows}) == len(rows) == 6 + outcomes.count("new")
    assert len({(r.interviewer_id, _aware(r.starts_at)) for r in rows}) == len(rows)


def test_booking_after_the_notice_window_is_taken_not_booked(db: Database) -> None:
    """A slot that slipped inside the minimum notice while the candidate was deciding is
    refused as taken, with fresh alternatives that all respect the notice."""
    add_interviewer(db)
    clock = Clock()
    service = BookingService(db, clock=clock)
    slot = service.free_slots(_job_id(db))[0]
    sender, _cand, app = seed_application(db)
    clock.now = slot.start - timedelta(hours=11)  # notice is 12 h
    with pytest.raises(SlotTaken) as caught:
        service.book(app, slot, sender_id=sender, candidate_tz="Europe/Berlin")
    assert caught.value.alternatives
    assert all(alt.start >= clock.now + timedelta(hours=12) for alt in caught.value.alternatives)
    assert _active(db) == []
