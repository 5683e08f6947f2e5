"""Routing over several Rasa replicas (bot/replicas.py) and the client's retry policy
(bot/rasa_client.py), against real HTTP servers on free ports that speak Rasa's REST webhook
wire format and the model route of rasa_ext/rest_channel.py: stickiness, spread, how few
senders move when a replica is added or removed, re-routing around a closed port (and back),
replicas serving another model left out, and the one resend — with the same message id — after
a timeout, a replica dying mid-request, an HTTP 5xx or an empty reply.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable
from bot.replicas import ReplicaSet, score
from tests.web.fake_rasa import BackgroundLoop, free_port

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
SENDERS = [f"web:sender-{n:05d}" for n in range(4000)]


class RasaPeer:
    """One Rasa replica as a gateway sees it, in its own thread and loop.

    POST /webhooks/rest/webhook answers `[{"recipient_id": sender, "text": "<name>: <text>"}]`
    and records (sender, text, message id); GET /webhooks/rest/model says `model_id`. `plan`
    scripts the next webhook requests: "stall" (no answer until the peer stops), "empty" (200
    with no message), "500", "400", "drop" (the connection closed without an answer)."""

    def __init__(self, name: str, model_id: str = "model-a") -> None:
        self.name = name
        self.model_id = model_id
        self.model_status = 200
        self.port = free_port()
        self.plan: list[str] = []
        self.requests: list[tuple[str, str, Any]] = []
        self.model_checks = 0
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def senders(self) -> set[str]:
        return {sender for sender, _, _ in self.requests}

    def ids(self) -> list[Any]:
        return [message_id for _, _, message_id in self.requests]

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        metadata = body.get("metadata") or {}
        sender, text = str(body["sender"]), str(body["message"])
        self.requests.append((sender, text, metadata.get("message_id")))
        step = self.plan.pop(0) if self.plan else "answer"
        if step == "stall":
            assert self._release is not None
            await self._release.wait()
            return web.json_response([])
        if step == "empty":
            return web.json_response([])
        if step in ("500", "400"):
            return web.json_response({"error": step}, status=int(step))
        if step == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.json_response([{"recipient_id": sender, "text": f"{self.name}: {text}"}])

    async def _model(self, _request: web.Request) -> web.Response:
        self.model_checks += 1
        if self.model_status != 200:
            return web.json_response({"error": "no model"}, status=self.model_status)
        return web.json_response({"model_id": self.model_id, "model_file": "parley.tar.gz"})

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_get("/webhooks/rest/model", self._model)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _stop(self) -> None:
        if self._release is not None:
            self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def start(self) -> RasaPeer:
        """Listen (again, on the same port)."""
        self._loop = BackgroundLoop()
        self._loop.call(self._start())
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until `start` again."""
        if self._loop is None:
            return
        self._loop.call(self._stop())
        self._loop.close()
        self._loop = None


@pytest.fixture
def peers() -> Iterator[list[RasaPeer]]:
    """Three replicas serving the same model."""
    started = [RasaPeer(name).start() for name in ("rasa-1", "rasa-2", "rasa-3")]
    try:
        yield started
    finally:
        for peer in started:
            peer.stop()


def send_all(
    client: RasaClient, messages: list[tuple[str, str]], message_id: str | None = None
) -> list[list[BotMessage]]:
    """Each (sender, text) through `client`, in order, in one event loop."""

    async def go() -> list[list[BotMessage]]:
        async with client:
            return [await client.send(s, t, message_id=message_id) for s, t in messages]

    return asyncio.run(go())


def first_choice_on(replicas: ReplicaSet, url: str) -> str:
    return next(s for s in SENDERS if replicas.order(s)[0] == url)


# ---- the hashing ------------------------------------------------------------------------------


def test_order_is_the_same_in_every_process_whatever_the_list_order() -> None:
    urls = [f"http://rasa-{n}:5005" for n in range(1, 6)]
    one, other = ReplicaSet(urls), ReplicaSet(list(reversed(urls)))
    for sender in SENDERS[:500]:
        order = one.order(sender)
        assert sorted(order) == sorted(urls)
        assert order == other.order(sender)
        assert order == sorted(urls, key=lambda u: score(sender, u), reverse=True)


def test_senders_spread_over_the_replicas() -> None:
    urls = [f"http://rasa-{n}:5005" for n in range(1, 5)]
    replicas = ReplicaSet(urls)
    firsts = Counter(replicas.order(s)[0] for s in SENDERS)
    assert set(firsts) == set(urls)
    for url in urls:  # 1000 each on average
        assert 0.8 * len(SENDERS) / 4 < firsts[url] < 1.2 * len(SENDERS) / 4, firsts


def test_adding_a_replica_moves_about_one_in_n_senders_all_to_the_new_one() -> None:
    urls = [f"http://rasa-{n}:5005" for n in range(1, 5)]
    before, after = ReplicaSet(urls), ReplicaSet([*urls, "http://rasa-5:5005"])
    moved = [s for s in SENDERS if before.order(s)[0] != after.order(s)[0]]
    assert 0.15 < len(moved) / len(SENDERS) < 0.25  # 1/5 expected
    assert {after.order(s)[0] for s in moved} == {"http://rasa-5:5005"}


def test_removing_a_replica_moves_only_its_own_senders() -> None:
    urls = [f"http://rasa-{n}:5005" for n in range(1, 6)]
    before, after = ReplicaSet(urls), ReplicaSet([u for u in urls if u != urls[2]])
    moved = {s for s in SENDERS if before.order(s)[0] != after.order(s)[0]}
    assert moved == {s for s in SENDERS if before.order(s)[0] == urls[2]}
    assert 0.15 < len(moved) / len(SENDERS) < 0.25
    for sender in moved:  # they go to their second choice
        assert after.order(sender)[0] == before.order(sender)[1]


def test_replicas_marked_down_go_last_and_come_back() -> None:
    now = [100.0]
    urls = ["http://a:1", "http://b:1", "http://c:1"]
    replicas = ReplicaSet(urls, down_for_s=2.0, clock=lambda: now[0])
    sender = SENDERS[0]
    order = replicas.order(sender)
    replicas.mark_down(order[0])
    assert replicas.order(sender) == [order[1], order[2], order[0]]
    replicas.mark_down(order[1])
    assert replicas.order(sender) == [order[2], order[0], order[1]]
    now[0] += 2.5
    assert replicas.order(sender) == order


# ---- routing, end to end ----------------------------------------------------------------------


def test_each_sender_sticks_to_one_replica_and_all_replicas_serve(peers: list[RasaPeer]) -> None:
    client = RasaClient([p.url for p in peers], timeout_s=10.0)
    senders = SENDERS[:60]
    sent = [(s, text) for s in senders for text in ("first", "second")]
    replies = send_all(client, sent)
    for peer in peers:
        assert peer.senders(), f"{peer.name} got no one"
    owners: dict[str, set[str]] = {}
    for peer in peers:
        for sender in peer.senders():
            owners.setdefault(sender, set()).add(peer.name)
    assert set(owners) == set(senders)
    assert all(len(names) == 1 for names in owners.values())  # sticky
    for (sender, text), (reply,) in zip(sent, replies, strict=True):
        assert reply.text == f"{next(iter(owners[sender]))}: {text}"
    expected = ReplicaSet([p.url for p in peers])
    by_url = {p.url: p for p in peers}
    for sender in senders:
        assert sender in by_url[expected.order(sender)[0]].senders()
    assert all(p.model_checks == 1 for p in peers)  # checked once, before first use


def test_a_closed_replica_is_routed_around_and_used_again_when_back(
    peers: list[RasaPeer],
) -> None:
    urls = [p.url for p in peers]
    client = RasaClient(urls, timeout_s=10.0, down_for_s=0.0)
    sender = first_choice_on(ReplicaSet(urls), peers[0].url)
    second = next(p for p in peers if p.url == ReplicaSet(urls).order(sender)[1])

    async def scenario() -> list[str]:
        texts: list[str] = []
        async with client:
            texts.append((await client.send(sender, "one"))[0].text)
            peers[0].stop()
            texts.append((await client.send(sender, "two"))[0].text)
            texts.append((await client.send(sender, "three"))[0].text)
            peers[0].start()
            texts.append((await client.send(sender, "four"))[0].text)
        return texts

    texts = asyncio.run(scenario())
    assert texts == [
        "rasa-1: one",
        f"{second.name}: two",
        f"{second.name}: three",
        "rasa-1: four",
    ]
    assert [t for _, t, _ in peers[0].requests] == ["one", "four"]
    assert peers[0].model_checks == 2  # first use, and again after it was down


def test_a_replica_with_another_model_is_not_used(
    peers: list[RasaPeer], caplog: pytest.LogCaptureFixture
) -> None:
    peers[1].model_id = "model-old"
    client = RasaClient([p.url for p in peers], timeout_s=10.0)
    with caplog.at_level(logging.WARNING, logger="parley.replicas"):
        replies = send_all(client, [(s, "hello") for s in SENDERS[:60]])
    assert len(replies) == 60
    assert peers[1].requests == []
    assert peers[0].requests and peers[2].requests
    drained = [r.getMessage() for r in caplog.records if "drained" in r.getMessage()]
    assert len(drained) == 1  # logged once
    assert peers[1].url in drained[0]
    assert "model-old" in drained[0] and "model-a" in drained[0]
    assert not any("web:sender" in r.getMessage() for r in caplog.records)  # no sender ids


def test_the_expected_model_wins_over_the_majority(peers: list[RasaPeer]) -> None:
    peers[2].model_id = "model-new"
    client = RasaClient([p.url for p in peers], timeout_s=10.0, expected_model="model-new")
    send_all(client, [(s, "hello") for s in SENDERS[:30]])
    assert peers[0].requests == [] and peers[1].requests == []
    assert len(peers[2].requests) == 30


def test_no_replica_with_the_expected_model_is_unavailable(peers: list[RasaPeer]) -> None:
    client = RasaClient([p.url for p in peers], timeout_s=10.0, expected_model="model-x")
    with pytest.raises(RasaUnavailable, match="model-x"):
        send_all(client, [(SENDERS[0], "hello")])
    assert all(p.requests == [] for p in peers)


def test_a_tie_goes_to_the_first_urls_model(peers: list[RasaPeer]) -> None:
    peers[2].stop()
    peers[1].model_id = "model-b"
    client = RasaClient([p.url for p in peers], timeout_s=10.0)
    send_all(client, [(s, "hello") for s in SENDERS[:30]])
    assert len(peers[0].requests) == 30 and peers[1].requests == []


def test_a_replica_without_a_model_loaded_counts_as_down(peers: list[RasaPeer]) -> None:
    peers[0].model_status = 503
    urls = [p.url for p in peers]
    client = RasaClient(urls, timeout_s=10.0)
    sender = first_choice_on(ReplicaSet(urls), peers[0].url)
    (reply,) = send_all(client, [(sender, "hello")])[0]
    assert not reply.text.startswith("rasa-1") and peers[0].requests == []
    assert client.replicas.is_down(peers[0].url)


def test_one_replica_and_no_expected_model_needs_no_model_check(peers: list[RasaPeer]) -> None:
    client = RasaClient(peers[0].url, timeout_s=10.0)
    send_all(client, [(SENDERS[0], "hello")])
    assert peers[0].model_checks == 0 and len(peers[0].requests) == 1


# ---- the retry policy -------------------------------------------------------------------------


def test_a_timeout_is_retried_once_on_the_same_replica_with_the_same_id(
    peers: list[RasaPeer],
) -> None:
    urls = [p.url for p in peers]
    sender = first_choice_on(ReplicaSet(urls), peers[0].url)
    peers[0].plan = ["stall"]
    client = RasaClient(urls, timeout_s=0.5)
    (reply,) = send_all(client, [(sender, "my answer")], message_id="tg:42:7")[0]
    assert reply.text == "rasa-1: my answer"
    assert peers[0].requests == [(sender, "my answer", "tg:42:7")] * 2
    assert peers[1].requests == [] and peers[2].requests == []
    assert not client.replicas.is_down(peers[0].url)


def test_a_second_timeout_is_unavailable(peers: list[RasaPeer]) -> None:
    peers[0].plan = ["stall", "stall"]
    client = RasaClient(peers[0].url, timeout_s=0.3)
    with pytest.raises(RasaUnavailable):
        send_all(client, [(SENDERS[0], "hello")])
    ids = peers[0].ids()
    assert len(ids) == 2 and ids[0] == ids[1] and HEX_ID.match(ids[0])


@pytest.mark.parametrize("failure", ["drop", "500"])
def test_a_replica_failing_mid_request_is_left_for_the_next_with_the_same_id(
    peers: list[RasaPeer], failure: str
) -> None:
    urls = [p.url for p in peers]
    sender = first_choice_on(ReplicaSet(urls), peers[0].url)
    second = next(p for p in peers if p.url == ReplicaSet(urls).order(sender)[1])
    peers[0].plan = [failure]
    client = RasaClient(urls, timeout_s=10.0)
    (reply,) = send_all(client, [(sender, "my answer")])[0]
    assert reply.text == f"{second.name}: my answer"
    (first_id,) = peers[0].ids()
    assert second.ids() == [first_id] and HEX_ID.match(first_id)
    assert client.replicas.is_down(peers[0].url)


def test_an_empty_reply_is_retried_once_with_the_same_id(peers: list[RasaPeer]) -> None:
    peers[0].plan = ["empty"]
    client = RasaClient(peers[0].url, timeout_s=10.0)
    (reply,) = send_all(client, [(SENDERS[0], "hello")], message_id="web-msg-1")[0]
    assert reply.text == "rasa-1: hello"
    assert peers[0].ids() == ["web-msg-1", "web-msg-1"]


def test_two_empty_replies_are_unavailable(peers: list[RasaPeer]) -> None:
    peers[0].plan = ["empty", "empty", "empty"]
    client = RasaClient(peers[0].url, timeout_s=10.0)
    with pytest.raises(RasaUnavailable):
        send_all(client, [(SENDERS[0], "hello")], message_id="web-msg-2")
    assert peers[0].ids() == ["web-msg-2", "web-msg-2"]  # never a third time


def test_a_message_that_may_have_arrived_is_sent_at_most_twice(peers: list[RasaPeer]) -> None:
    peers[0].plan = ["stall", "empty"]
    client = RasaClient(peers[0].url, timeout_s=0.3)
    with pytest.raises(RasaUnavailable):
        send_all(client, [(SENDERS[0], "hello")])
    assert len(peers[0].requests) == 2


def test_a_4xx_is_not_retried(peers: list[RasaPeer]) -> None:
    peers[0].plan = ["400"]
    client = RasaClient(peers[0].url, timeout_s=10.0)
    with pytest.raises(RasaUnavailable, match="400"):
        send_all(client, [(SENDERS[0], "hello")])
    assert len(peers[0].requests) == 1


def test_no_replica_reachable_is_unavailable() -> None:
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(3)]
    client = RasaClient(urls, timeout_s=2.0, connect_retries=1)
    with pytest.raises(RasaUnavailable, match="cannot reach Rasa"):
        send_all(client, [(SENDERS[0], "hello")])
    assert all(client.replicas.is_down(u) for u in urls)


def test_the_sender_goes_elsewhere_while_its_replica_is_down(peers: list[RasaPeer]) -> None:
    """After a connect failure the next messages of that sender, and of others whose first
    choice it was, go to their second choice without trying the closed port first."""
    urls = [p.url for p in peers]
    expected = ReplicaSet(urls)
    on_first = [s for s in SENDERS if expected.order(s)[0] == peers[0].url][:10]
    peers[0].stop()
    client = RasaClient(urls, timeout_s=10.0, down_for_s=3600.0)
    replies = send_all(client, [(s, "hello") for s in on_first])
    names = {p.url: p.name for p in peers}
    for sender, (reply,) in zip(on_first, replies, strict=True):
        assert reply.text == f"{names[expected.order(sender)[1]]}: hello"
