"""A replicated production stack and a candidate simulator for the fault tests.

The stack is what `parley run --profile prod --replicas 2` starts: two Rasa servers on one
PostgreSQL tracker store and the Redis lock store, two action servers sharing a port, the
web gateway and the worker, supervised with restarts. The simulator drives whole interviews
the way people reach Parley (through the gateways' routing client, or through the web
gateway's HTTP API as the page does) while a fault is injected part-way through; the
database check afterwards is the benchmark's: every answer present exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from bot.rasa_client import RasaClient, RasaUnavailable
from parley.bench_turns import Conversation, _load_jobs, check_database, interview_conversation
from parley.settings import Settings
from parley.stack import build_supervisor, isolated_settings
from parley.supervisor import Supervisor
from screening.catalog import import_jobs
from screening.interview import STORAGE_FAULT_AFTER_SAVE_TEXT, STORAGE_FAULT_TEXT
from storage.db import Database
from storage.migrate import upgrade
from tests.support import ROOT, create_pg_database, drop_pg_database, pg_url

JOBS = ROOT / "jobs"
# How long a simulated person keeps re-sending one message while Parley recovers (a Rasa
# replica restarting takes 20–40 s here; the others take over at once).
RESEND_FOR_S = 120.0


class ReplicatedStack:
    def __init__(self, var: Path, replicas: int = 2, **overrides: object) -> None:
        self.app_db = create_pg_database("parley_fault_app")
        self.tracker_db = create_pg_database("parley_fault_tracker")
        self.prefix = f"parley-fault-{secrets.token_hex(4)}:"
        self.settings = isolated_settings(
            Settings(root=ROOT),
            var,
            profile="prod",
            replicas=replicas,
            database_url=pg_url(self.app_db),
            tracker_url=pg_url(self.tracker_db),
            lock_prefix=self.prefix,
            **overrides,
        )
        upgrade(self.settings.database_url)
        self.db = Database(self.settings.database_url)
        import_jobs(self.db, JOBS)
        self.events: list[str] = []
        self.supervisor: Supervisor = build_supervisor(
            self.settings, web=True, restart=True, echo=self.events.append
        )

    @property
    def urls(self) -> tuple[str, ...]:
        return self.supervisor.settings.rasa_urls

    @property
    def model_id(self) -> str:
        return self.supervisor.settings.rasa_model_id

    def start(self) -> None:
        self.supervisor.start(timeout_s=300, echo=self.events.append)

    def wait_ready(self, name: str, timeout_s: float = 180.0) -> None:
        proc = self.supervisor.get(name)
        assert proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.supervisor.ready(proc):
                return
            time.sleep(0.5)
        raise AssertionError(f"{name} did not come back: {self.supervisor.tail(proc)}")

    def pid(self, name: str) -> int:
        proc = self.supervisor.get(name)
        assert proc is not None and proc.popen is not None
        return proc.popen.pid

    def close(self) -> None:
        self.supervisor.stop()
        self.db.dispose()
        client = redis.Redis(host=self.settings.redis_host, port=self.settings.redis_port)
        try:
            for key in client.scan_iter(match=f"{self.prefix}*"):
                client.delete(key)
        except redis.RedisError:
            pass
        drop_pg_database(self.app_db)
        drop_pg_database(self.tracker_db)


def conversations(
    count: int, tag: str | None = None, prefix: str = "web:fault"
) -> list[Conversation]:
    """`count` whole interviews over the shipped jobs, each with valid answers."""
    tag = tag or secrets.token_hex(3)
    jobs = _load_jobs(JOBS, None)
    today = dt.datetime.now(dt.UTC).date()
    return [
        interview_conversation(f"{prefix}-{tag}-{n}", jobs[n % len(jobs)], today=today, variant=n)
        for n in range(count)
    ]


@dataclass
class Outcome:
    turns: int = 0
    shown_errors: int = 0  # what a person would have seen: "temporarily unavailable", 5xx
    why: list[str] = field(default_factory=list)  # the first few errors' causes
    resends: int = 0
    unexpected: list[str] = field(default_factory=list)
    fault_at_turn: int | None = None
    fault_error: str = ""


async def run_interviews(
    convs: Sequence[Conversation],
    send_turn: Callable[[Conversation, str, str], object],
    *,
    concurrency: int,
    fault: Callable[[], None] | None = None,
    fault_after_turns: int = 0,
) -> Outcome:
    """Drive every conversation to its end. `send_turn(conv, text, message_id)` returns the
    reply text, or raises `Retry` (shown error / not reached: re-send the same message with
    the same id, as the web page does). The fault runs in a thread once `fault_after_turns`
    turns have been answered, while the conversations go on."""
    outcome = Outcome()
    gate = asyncio.Semaphore(concurrency)
    fault_thread: threading.Thread | None = None

    def _fault() -> None:
        try:
            assert fault is not None
            fault()
        except BaseException as exc:  # reported by the test
            outcome.fault_error = f"{type(exc).__name__}: {exc}"

    async def one(conv: Conversation) -> None:
        nonlocal fault_thread
        async with gate:
            for number, turn in enumerate(conv.turns, start=1):
                message_id = uuid.uuid4().hex
                deadline = time.monotonic() + RESEND_FOR_S
                text = turn.text
                while True:
                    try:
                        reply = await send_turn(conv, text, message_id)  # type: ignore[misc]
                        break
                    except Retry as exc:
                        if exc.shown:
                            outcome.shown_errors += 1
                        if len(outcome.why) < 10:
                            outcome.why.append(f"turn {number}: {exc}")
                        outcome.resends += 1
                        if exc.new_id:
                            message_id = uuid.uuid4().hex
                        text = exc.text or text
                        if time.monotonic() > deadline:
                            outcome.unexpected.append(f"{conv.sender} turn {number}: gave up")
                            return
                        await asyncio.sleep(1.0)
                outcome.turns += 1
                if turn.expect and turn.expect.lower() not in str(reply).lower():
                    outcome.unexpected.append(
                        f"{conv.sender} turn {number} sent {turn.text[:30]!r}, expected "
                        f"{turn.expect!r}, got {str(reply)[:160]!r}"
                    )
                if (
                    fault is not None
                    and fault_thread is None
                    and outcome.turns >= fault_after_turns
                ):
                    outcome.fault_at_turn = outcome.turns
                    fault_thread = threading.Thread(target=_fault, daemon=True)
                    fault_thread.start()

    await asyncio.gather(*(one(c) for c in convs))
    if fault_thread is not None:
        await asyncio.to_thread(fault_thread.join, 300)
    return outcome


class Retry(Exception):
    """The message did not get through: send it again — with the same id (the page's own
    resend) or, when the person is asked to send it again, as a new message."""

    def __init__(self, why: str, *, shown: bool, new_id: bool = False, text: str = "") -> None:
        super().__init__(why)
        self.shown = shown
        self.new_id = new_id
        self.text = text  # what the person sends instead ("repeat"), "" for the same text


def via_rasa_client(rasa: RasaClient) -> Callable[[Conversation, str, str], object]:
    """Send as the gateways do (bot/rasa_client.py: sticky replica, retries, message id)."""

    async def send(conv: Conversation, text: str, message_id: str) -> str:
        try:
            messages = await rasa.send(conv.sender, text, message_id=message_id)
        except RasaUnavailable as exc:
            raise Retry(str(exc), shown=True) from None
        reply = " ".join(m.text for m in messages)
        if STORAGE_FAULT_TEXT in reply:  # "nothing was lost, send it again": the person does
            raise Retry("storage fault", shown=True, new_id=True)
        if STORAGE_FAULT_AFTER_SAVE_TEXT in reply:  # stored; "say 'repeat'": the person does
            raise Retry("storage fault after the save", shown=True, new_id=True, text="repeat")
        return reply

    return send


def via_web(http: httpx.AsyncClient, base: str) -> Callable[[Conversation, str, str], object]:
    """Send as the web page does: POST /api/messages with the message's id; the page re-sends
    the same id when the gateway cannot be reached or answers 5xx."""

    async def send(conv: Conversation, text: str, message_id: str) -> str:
        session = conv.sender.split(":", 1)[1]
        body = {"session": session, "text": text, "id": message_id}
        try:
            response = await http.post(base.rstrip("/") + "/api/messages", json=body)
        except httpx.TransportError as exc:  # the gateway is away: the page says "reconnecting"
            raise Retry(type(exc).__name__, shown=False) from None
        if response.status_code >= 500:
            raise Retry(f"HTTP {response.status_code}", shown=True)
        assert response.status_code == 200, response.text
        data = response.json()
        return " ".join(m.get("text") or "" for m in data.get("messages", []))

    return send


def assert_all_stored_once(stack: ReplicatedStack, convs: Sequence[Conversation]) -> None:
    check = check_database(stack.db, convs)
    assert check.problems == [], check.problems[:5]
    assert check.lost == 0 and check.duplicated == 0 and check.incomplete == []
