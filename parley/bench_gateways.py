"""`parley bench gateways`: what the Telegram and Slack gateways add to each message.

The target (issue 6) is the gateway's own cost: ≤ 10 ms p95 *beyond the Rasa turn*. So the
benchmark runs the real gateways (aiogram with our polling loop or the webhook; slack-bolt in
Socket Mode or over the HTTP Events API) against the local Bot API and Slack Web API stand-ins,
and replaces Rasa by a local REST responder that answers at once with a realistic turn (a
question with two buttons). For each message it measures

    total    = the stand-in handing the update over (getUpdates wakes, the webhook POST or the
               Socket Mode envelope is sent) → the stand-in receiving the last reply
    rasa     = the gateway's own REST call to Rasa, timed around `RasaClient.send`
    overhead = total − rasa

so the overhead includes everything the gateway does: parsing and validating the update, the
per-chat queue, the typing indicator, rendering (keyboard / Block Kit), acknowledging, and the
Bot / Web API calls that deliver the reply. Messages go one at a time, round-robin over a few
chats, after a warm-up; p50 / p95 / max are reported per gateway and mode, as JSON.
"""

from __future__ import annotations

import asyncio
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.rasa_client import BotMessage, RasaClient

TARGET_P95_MS = 10.0
REPLY = [
    {
        "text": "Question 3 of 9:\nDo you have the right to work in the Netherlands?",
        "buttons": [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}],
    }
]


class BenchError(RuntimeError):
    pass


class TimedRasa(RasaClient):
    """The real REST client, timing each call (the part of a message that is Rasa's)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url, timeout_s=10.0, connect_retries=0)
        self.durations: list[float] = []

    async def send(
        self,
        sender: str,
        text: str,
        metadata: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> list[BotMessage]:
        started = time.perf_counter()
        try:
            return await super().send(sender, text, metadata, message_id)
        finally:
            self.durations.append(time.perf_counter() - started)


async def _rasa_responder() -> tuple[web.AppRunner, str]:
    async def webhook(_request: web.Request) -> web.Response:
        return web.json_response(REPLY)

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@dataclass
class Series:
    gateway: str
    mode: str
    totals: list[float] = field(default_factory=list)
    overheads: list[float] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        ms = sorted(x * 1000 for x in self.overheads)
        totals = sorted(x * 1000 for x in self.totals)
        return {
            "gateway": self.gateway,
            "mode": self.mode,
            "messages": len(ms),
            "overhead_ms": {
                "p50": round(_pct(ms, 50), 2),
                "p95": round(_pct(ms, 95), 2),
                "max": round(ms[-1], 2) if ms else None,
                "mean": round(statistics.fmean(ms), 2) if ms else None,
            },
            "total_ms": {"p50": round(_pct(totals, 50), 2), "p95": round(_pct(totals, 95), 2)},
            "target_p95_ms": TARGET_P95_MS,
            "met": bool(ms) and _pct(ms, 95) <= TARGET_P95_MS,
        }


def _pct(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    k = (len(values) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


async def _measure(
    series: Series,
    rasa: TimedRasa,
    messages: int,
    warmup: int,
    send: Callable[[int], Awaitable[float]],
    delivered: Callable[[], list[float]],
) -> None:
    """Send messages one at a time; `send(i)` returns the monotonic time it handed the
    update over, `delivered()` the monotonic times of the replies received so far."""
    for i in range(warmup + messages):
        before = len(delivered())
        calls_before = len(rasa.durations)
        started = await send(i)
        deadline = time.monotonic() + 10
        while len(delivered()) <= before:
            if time.monotonic() > deadline:
                raise BenchError(f"{series.gateway}/{series.mode}: no reply to message {i}")
            await asyncio.sleep(0.0005)
        arrived = delivered()[before]
        if i < warmup:
            continue
        total = arrived - started
        rasa_s = sum(rasa.durations[calls_before:])
        series.totals.append(total)
        series.overheads.append(total - rasa_s)
        await asyncio.sleep(0.005)  # let the gateway finish its bookkeeping


async def _telegram(mode: str, rasa_url: str, messages: int, warmup: int) -> Series:
    from bot.telegram.gateway import TelegramGateway
    from bot.telegram.server import TelegramService, make_bot
    from bot.telegram.webhook import SECRET_HEADER, WEBHOOK_PATH
    from parley.stack import free_port
    from parley.telegram_standin import TelegramStandIn, text_update

    standin = TelegramStandIn().start()
    series = Series("telegram", mode)
    bot = make_bot(standin.token, standin.url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secret = "bench-secret_0123456789"
    import aiohttp

    try:
        async with TimedRasa(rasa_url) as rasa, aiohttp.ClientSession() as http:
            gateway = TelegramGateway(bot, rasa)
            service = TelegramService(
                gateway,
                mode=mode,
                port=port,
                webhook_url=url + WEBHOOK_PATH,
                webhook_secret=secret,
                poll_timeout_s=25,
            )
            await service.start()
            chats = [700_000 + n for n in range(5)]
            next_id = [1_000_000]

            def delivered() -> list[float]:
                return [c.at for c in standin.calls_of("sendMessage")]

            async def send_polling(i: int) -> float:
                started = time.monotonic()
                standin.enqueue(text_update(chats[i % len(chats)], f"answer {i}"))
                return started

            async def send_webhook(i: int) -> float:
                next_id[0] += 1
                update = {"update_id": next_id[0], **text_update(chats[i % len(chats)], f"a {i}")}
                started = time.monotonic()
                async with http.post(
                    url + WEBHOOK_PATH, json=update, headers={SECRET_HEADER: secret}
                ) as response:
                    if response.status != 200:
                        raise BenchError(f"telegram webhook answered {response.status}")
                return started

            try:
                send = send_polling if mode == "polling" else send_webhook
                await _measure(series, rasa, messages, warmup, send, delivered)
            finally:
                await service.stop()
    finally:
        await bot.session.close()
        standin.stop()
    return series


async def _slack(mode: str, rasa_url: str, messages: int, warmup: int) -> Series:
    import aiohttp

    from bot.slack.server import SlackConfig, SlackService
    from parley.slack_standin import SlackStandIn, event_callback, message_event

    standin = await SlackStandIn().start()
    series = Series("slack", mode)
    config = SlackConfig(
        bot_token=standin.bot_token,
        app_token=standin.app_token if mode == "socket" else "",
        signing_secret=standin.signing_secret,
        mode=mode,
        api_url=standin.api_url,
        port=0,
    )
    users = [f"U0BENCH{n:04d}" for n in range(5)]
    try:
        async with TimedRasa(rasa_url) as rasa, aiohttp.ClientSession() as http:
            service = SlackService(config, rasa)
            await service.start()
            if mode == "socket":
                await standin.wait_connected()

            def delivered() -> list[float]:
                return [c.at for c in standin.calls_of("chat.postMessage")]

            async def send(i: int) -> float:
                payload = event_callback(message_event(users[i % len(users)], f"answer {i}"))
                started = time.monotonic()
                if mode == "socket":
                    await standin.push(payload)
                else:
                    status, _ = await standin.post_event(
                        http, service.url + "/slack/events", payload
                    )
                    if status != 200:
                        raise BenchError(f"slack events answered {status}")
                return started

            try:
                await _measure(series, rasa, messages, warmup, send, delivered)
            finally:
                await service.stop()
    finally:
        await standin.stop()
    return series


async def _run(messages: int, warmup: int, progress: Callable[[str], None]) -> list[Series]:
    runner, rasa_url = await _rasa_responder()
    results: list[Series] = []
    try:
        for gateway, mode in (
            ("telegram", "polling"),
            ("telegram", "webhook"),
            ("slack", "socket"),
            ("slack", "http"),
        ):
            progress(f"{gateway} ({mode}): {messages} messages")
            run = _telegram if gateway == "telegram" else _slack
            results.append(await run(mode, rasa_url, messages, warmup))
    finally:
        await runner.cleanup()
    return results


def run_benchmark(
    messages: int = 300, warmup: int = 20, progress: Callable[[str], None] = lambda _m: None
) -> dict[str, Any]:
    if messages < 1:
        raise BenchError("at least one message")
    results = asyncio.run(_run(messages, warmup, progress))
    docs = [r.doc() for r in results]
    return {
        "benchmark": "gateways",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "method": "overhead = (update handed over → last reply at the API stand-in) − the "
        "gateway's REST call to Rasa (a local responder answering at once)",
        "messages_per_series": messages,
        "series": docs,
        "met": all(d["met"] for d in docs),
    }


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def summary(doc: dict[str, Any]) -> str:
    lines = [f"Gateway overhead per message beyond the Rasa turn ({doc['date']}):"]
    for s in doc["series"]:
        o = s["overhead_ms"]
        lines.append(
            f"  {s['gateway']:9} {s['mode']:8} p50 {o['p50']:6.2f} ms  p95 {o['p95']:6.2f} ms  "
            f"max {o['max']:6.2f} ms  ({s['messages']} messages)  "
            f"{'met' if s['met'] else 'MISSED'} (≤ {s['target_p95_ms']:.0f} ms p95)"
        )
    return "\n".join(lines)
