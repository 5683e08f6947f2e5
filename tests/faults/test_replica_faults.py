"""Fault tests on the replicated production stack (PostgreSQL + Redis, 2 Rasa replicas,
2 action servers, the web gateway and the worker, all supervised with restarts).

Each test drives whole interviews concurrently, injects one fault part-way through, and then
checks the database as the load benchmark does: every interview completed, every answer
stored exactly once with the text sent (no answer lost, none duplicated). A simulated person
re-sends a message with the same id when the page could not deliver it (as the web page
does); the number of errors a person would have seen is asserted where the design promises
none (a replica or an action server dying: the gateways' routing client absorbs it).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from bot.rasa_client import RasaClient
from tests.faults.fault_support import (
    ReplicatedStack,
    assert_all_stored_once,
    conversations,
    run_interviews,
    via_rasa_client,
    via_web,
)
from tests.support import PG_ADMIN_URL, ROOT


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplicatedStack]:
    from parley.settings import Settings
    from parley.training import train

    train(Settings(root=ROOT), echo=lambda _m: None)
    stack = ReplicatedStack(tmp_path_factory.mktemp("faults"))
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


def _client(stack: ReplicatedStack, timeout_s: float) -> RasaClient:
    return RasaClient(stack.urls, timeout_s=timeout_s, expected_model=stack.model_id)


async def _drive_rasa(  # type: ignore[no-untyped-def]
    stack: ReplicatedStack, convs, *, timeout_s: float = 30.0, **kwargs
):
    """Through the gateways' routing client, with their default 30 s timeout: longer than
    a dead replica's conversation locks live (15 s), so its senders' next turns wait for
    them on the other replica instead of failing."""
    async with _client(stack, timeout_s) as rasa:
        return await run_interviews(convs, via_rasa_client(rasa), **kwargs)


def test_every_replica_serves_the_model_the_supervisor_started(replicated: ReplicatedStack) -> None:
    assert replicated.model_id
    for url in replicated.urls:
        response = httpx.get(url + "/webhooks/rest/model", timeout=10)
        assert response.status_code == 200
        assert response.json()["model_id"] == replicated.model_id
    assert replicated.supervisor.names("rasa") == ["rasa-1", "rasa-2"]
    assert replicated.supervisor.names("actions") == ["actions-1", "actions-2"]


def test_kill_9_a_rasa_replica_mid_interview(replicated: ReplicatedStack) -> None:
    before = replicated.pid("rasa-1")
    convs = conversations(10)
    outcome = asyncio.run(
        _drive_rasa(
            replicated,
            convs,
            concurrency=5,
            fault=lambda: replicated.supervisor.kill("rasa-1"),
            fault_after_turns=20,
        )
    )
    assert outcome.fault_error == ""
    assert outcome.fault_at_turn is not None
    assert outcome.unexpected == []
    assert outcome.shown_errors == 0, outcome.why  # the other replica took the senders over
    assert_all_stored_once(replicated, convs)
    replicated.wait_ready("rasa-1")
    assert replicated.pid("rasa-1") != before
    # Back in the ring: new interviews complete with both replicas serving.
    again = conversations(4)
    assert asyncio.run(_drive_rasa(replicated, again, concurrency=4)).unexpected == []
    assert_all_stored_once(replicated, again)


def test_kill_9_an_action_server_mid_interview(replicated: ReplicatedStack) -> None:
    before = replicated.pid("actions-1")
    convs = conversations(10)
    outcome = asyncio.run(
        _drive_rasa(
            replicated,
            convs,
            concurrency=5,
            fault=lambda: replicated.supervisor.kill("actions-1"),
            fault_after_turns=20,
        )
    )
    assert outcome.fault_error == ""
    assert outcome.unexpected == []
    assert outcome.shown_errors == 0
    assert_all_stored_once(replicated, convs)
    replicated.wait_ready("actions-1")
    assert replicated.pid("actions-1") != before


def test_kill_9_the_web_gateway_mid_interview(replicated: ReplicatedStack) -> None:
    before = replicated.pid("web")
    convs = conversations(8, prefix="web:fault-web")

    async def drive():  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(timeout=30) as http:
            return await run_interviews(
                convs,
                via_web(http, replicated.settings.web_url),
                concurrency=4,
                fault=lambda: replicated.supervisor.kill("web"),
                fault_after_turns=20,
            )

    outcome = asyncio.run(drive())
    assert outcome.fault_error == ""
    assert outcome.unexpected == []
    assert outcome.resends > 0  # the page had to re-send while the gateway came back
    assert_all_stored_once(replicated, convs)
    replicated.wait_ready("web")
    assert replicated.pid("web") != before


def test_kill_9_the_worker_mid_interview(replicated: ReplicatedStack) -> None:
    before = replicated.pid("worker")
    convs = conversations(6)
    outcome = asyncio.run(
        _drive_rasa(
            replicated,
            convs,
            concurrency=3,
            fault=lambda: replicated.supervisor.kill("worker"),
            fault_after_turns=10,
        )
    )
    assert outcome.unexpected == [] and outcome.shown_errors == 0
    assert_all_stored_once(replicated, convs)
    replicated.wait_ready("worker")
    assert replicated.pid("worker") != before
    log = (replicated.settings.var_dir / "log" / "worker.log").read_text()
    assert log.count("worker started") >= 2  # the restarted worker runs its loop again


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                   check=False, capture_output=True)  # fmt: skip
    time.sleep(1.0)
    subprocess.run(["bash", str(ROOT / "scripts" / "ensure-services.sh")], check=True,
                   capture_output=True)  # fmt: skip


def test_redis_restart_mid_interview(replicated: ReplicatedStack) -> None:
    convs = conversations(8)
    outcome = asyncio.run(
        _drive_rasa(replicated, convs, concurrency=4, fault=_restart_redis, fault_after_turns=15)
    )
    assert outcome.fault_error == ""
    assert outcome.unexpected == []
    assert_all_stored_once(replicated, convs)


def _drop_connections(*databases: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for _ in range(3):  # pools reconnect between rounds; drop them a few times
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                (list(databases),),
            )
            time.sleep(0.3)


def test_postgresql_connections_dropped_mid_interview(replicated: ReplicatedStack) -> None:
    convs = conversations(8)
    outcome = asyncio.run(
        _drive_rasa(
            replicated,
            convs,
            concurrency=4,
            fault=lambda: _drop_connections(replicated.app_db, replicated.tracker_db),
            fault_after_turns=15,
        )
    )
    assert outcome.fault_error == ""
    assert outcome.unexpected == []
    assert_all_stored_once(replicated, convs)


def test_stalled_action_server_times_out_and_retries_idempotently(
    replicated: ReplicatedStack,
) -> None:
    """SIGSTOP both action servers for longer than the gateway's timeout (3 s here): the
    gateway's retry and the person's re-sends carry the same message id, so when the action
    servers resume, each message is applied once."""

    def stall() -> None:
        for name in ("actions-1", "actions-2"):
            replicated.supervisor.kill(name, signal.SIGSTOP)
        time.sleep(12)
        for name in ("actions-1", "actions-2"):
            replicated.supervisor.kill(name, signal.SIGCONT)

    convs = conversations(6)
    outcome = asyncio.run(
        _drive_rasa(
            replicated, convs, concurrency=6, fault=stall, fault_after_turns=12, timeout_s=3.0
        )
    )
    assert outcome.fault_error == ""
    assert outcome.resends > 0  # the stall was long enough to be seen
    assert outcome.unexpected == []
    assert_all_stored_once(replicated, convs)


def test_message_storm_from_one_sender(replicated: ReplicatedStack) -> None:
    """300 messages at once from one web session: each is answered or refused with a clear
    429 (never a 5xx), and another candidate's interview meanwhile completes normally."""
    web = replicated.settings.web_url.rstrip("/") + "/api/messages"
    calm = conversations(1, prefix="web:fault-calm")

    async def storm() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            posts = [
                http.post(web, json={"session": "storm-session-1", "text": f"hello {n}"})
                for n in range(300)
            ]
            return await asyncio.gather(*posts)

    async def both():  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(timeout=60) as http:
            return await asyncio.gather(
                storm(),
                run_interviews(
                    calm, via_web(http, replicated.settings.web_url), concurrency=1
                ),
            )

    responses, outcome = asyncio.run(both())
    codes = sorted({r.status_code for r in responses})
    assert set(codes) <= {200, 429}, codes
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "a storm of 300 messages must be slowed down"
    assert "faster than the interviewer can answer" in refused[0].json()["error"]
    assert outcome.unexpected == [] and outcome.shown_errors == 0
    assert_all_stored_once(replicated, calm)


def test_a_replica_serving_another_model_is_not_routed_to(
    replicated: ReplicatedStack, tmp_path: Path
) -> None:
    """A third Rasa replica started with a different model version (another model_id) is
    drained: no sender is routed to it, although some would hash to it."""
    import dataclasses
    import io
    import json
    import sqlite3
    import tarfile

    from bot.replicas import ReplicaSet
    from parley.stack import free_port
    from parley.supervisor import Supervisor, rasa_process
    from parley.training import model_path

    models = tmp_path / "models"
    models.mkdir()
    with (
        tarfile.open(model_path(replicated.settings), "r:gz") as src,
        tarfile.open(models / model_path(replicated.settings).name, "w:gz") as dst,
    ):
        for member in src:
            data = src.extractfile(member) if member.isfile() else None
            if member.name.lstrip("/") == "metadata.json" and data is not None:
                meta = json.load(data)
                meta["model_id"] = "another-model-version"
                raw = json.dumps(meta).encode()
                member.size = len(raw)
                dst.addfile(member, io.BytesIO(raw))
            else:
                dst.addfile(member, data)
    tracker = tmp_path / "odd-tracker.db"
    odd_settings = dataclasses.replace(
        replicated.settings,
        models_dir=models,
        profile="embedded",
        tracker_url=f"sqlite:///{tracker}",
        var_dir=tmp_path,
    )
    port = free_port()
    odd = Supervisor(odd_settings, [rasa_process(odd_settings, name="rasa-odd", port=port)],
                     tmp_path / "log")  # fmt: skip
    odd.start(timeout_s=300, echo=lambda _m: None)
    try:
        odd_url = f"http://127.0.0.1:{port}"
        urls = [*replicated.urls, odd_url]
        assert httpx.get(odd_url + "/webhooks/rest/model").json()["model_id"] == (
            "another-model-version"
        )
        senders = [f"web:fault-odd-{n}" for n in range(30)]
        hashing = ReplicaSet(urls)
        assert any(hashing.order(s)[0] == odd_url for s in senders)

        async def greet() -> list[str]:
            async with RasaClient(urls, expected_model=replicated.model_id) as rasa:
                replies = await asyncio.gather(*(rasa.send(s, "hello") for s in senders))
            return [" ".join(m.text for m in r) for r in replies]

        replies = asyncio.run(greet())
        assert all("Parley" in r for r in replies)
        with sqlite3.connect(tracker) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            rows = (
                conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
                if ("events" in tables)
                else 0
            )
        assert rows == 0  # nothing was routed to the replica with the other model
    finally:
        odd.stop()
