"""`parley bench shortlist`: how fast `/shortlist` answers for a job with many applications.

Why this shape: Slack shows the person an error when a slash command is not acknowledged
within 3 seconds, and a shortlist that arrives seconds later feels broken. So the benchmark
measures exactly what a recruiter experiences, end to end through the real parts: a
throw-away database (PostgreSQL when a server answers, else SQLite) holding N completed
applications with stored AI scores (sealed under per-candidate keys, as in production), the
real Slack gateway (`SlackService`: slack-bolt, HTTP mode, signature checks) and the local
Slack stand-in (parley/slack_standin.py) in place of slack.com. Each run posts a signed
`/shortlist <job>` and times:

* `ack_ms`: the HTTP answer to the slash command (Slack's 3-second acknowledgement);
* `first_page_ms`: from sending the command until the stand-in received the `chat.postMessage`
  holding the full first page (every row, with buttons) in the recruiter's DM;
* `chart_ms`: until the score-distribution PNG was shared (files_upload_v2's last step).

The first run is reported apart (`cold`: first queries, imports, matplotlib's fonts); the
targets apply to the warm runs' p95. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import math
import platform
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parley.bench_booking import JOB_FILE, BenchError, _cpus, throwaway_database
from parley.bench_booking import Options as DatabaseOptions

TEAM_ID = "T0BENCH01"
RECRUITER = "U0RECRUIT1"
ACK_TARGET_MS = 3000.0
FIRST_PAGE_TARGET_MS = 1000.0


@dataclass(frozen=True)
class Options:
    applications: int = 1000
    runs: int = 6
    database_url: str | None = None
    backend: str = "auto"  # auto | postgresql | sqlite
    seed: int = 8


def _pct(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of `values`."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def _seed(db: Any, options: Options) -> tuple[str, str]:
    """The job, its organization linked to a bench workspace with one recruiter, and N
    completed applications with answer and overall scores. Returns (job slug, id of the
    top-ranked application)."""
    from sqlalchemy import select

    from employers.orgs import OrgDirectory
    from screening.catalog import import_jobs
    from screening.interview import definition_of
    from screening.job_schema import is_scored
    from storage.models import (
        Answer,
        AnswerScore,
        Application,
        ApplicationScore,
        Candidate,
        ChannelIdentity,
        Job,
    )

    [result] = import_jobs(db, JOB_FILE)
    with db.transaction() as s:
        job = s.scalars(select(Job).where(Job.slug == result.slug, Job.is_current)).one()
        job_id, org_slug = job.id, job.organization.slug
        questions = [q for q in definition_of(job).questions if is_scored(q)]
    directory = OrgDirectory(db)
    directory.link_workspace(org_slug, TEAM_ID)
    directory.add_member(TEAM_ID, RECRUITER, "recruiter", by="admin:bench")
    rng = random.Random(options.seed)
    finished = datetime.now(UTC) - timedelta(days=1)
    top_id, top_score = "", -1.0
    batch = 100
    for start in range(0, options.applications, batch):
        with db.transaction() as s:
            for i in range(start, min(start + batch, options.applications)):
                candidate = Candidate(name=f"Bench Candidate {i:04d}")
                candidate.identities.append(
                    ChannelIdentity(sender_id=f"web:benchshortlist{i:05d}", channel="web")
                )
                s.add(candidate)
                s.flush()
                app = Application(
                    candidate_id=candidate.id, job_id=job_id, status="completed",
                    current_index=len(questions), finished_at=finished + timedelta(seconds=i),
                )  # fmt: skip
                s.add(app)
                s.flush()
                results = []
                for q in questions:
                    score = min(1.0, max(0.0, rng.gauss(0.6, 0.18)))
                    answer = Answer(
                        application_id=app.id, question_id=q.id, question_kind="free_text",
                        status="answered", raw_text=f"A benchmark answer to {q.id}.",
                        channel="web",
                    )  # fmt: skip
                    s.add(answer)
                    s.flush()
                    summary = f"Covers {round(score * 4)} of 4 key points."
                    s.add(
                        AnswerScore(
                            answer_id=answer.id, application_id=app.id, question_id=q.id,
                            answer_revision=1, status="scored", score=score,
                            needs_review=False, model_name="bench", model_version="1",
                            scorer_version="bench",
                            explanation={"status": "scored", "score": score,
                                         "summary": summary, "reason": summary,
                                         "key_points_covered": [], "key_points_missing": []},
                        )
                    )  # fmt: skip
                    results.append(
                        {"question_id": q.id, "prompt": q.prompt, "weight": q.weight,
                         "status": "scored", "score": score, "summary": summary,
                         "needs_review": False}
                    )  # fmt: skip
                overall = sum(r["score"] for r in results) / len(results)
                if overall > top_score:
                    top_id, top_score = app.id, overall
                s.add(
                    ApplicationScore(
                        application_id=app.id, overall=overall, knocked_out=False,
                        complete=True, model_name="bench", model_version="1",
                        scorer_version="bench",
                        breakdown={"method": "bench", "questions": results,
                                   "needs_review": [], "knocked_out_by": None},
                    )
                )  # fmt: skip
    return result.slug, top_id


async def _measure(db: Any, job_slug: str, top_id: str, runs: int) -> list[dict[str, float]]:
    import aiohttp

    from bot.rasa_client import RasaClient
    from bot.slack.server import SlackConfig, SlackService
    from parley.slack_standin import SlackStandIn

    standin = await SlackStandIn(team_id=TEAM_ID).start()
    config = SlackConfig(
        bot_token=standin.bot_token,
        signing_secret=standin.signing_secret,
        mode="http",
        api_url=standin.api_url,
        port=0,
        notify_interval_s=3600.0,  # notifications are not what is measured
    )
    samples: list[dict[str, float]] = []
    try:
        async with RasaClient("http://127.0.0.1:9/") as rasa, aiohttp.ClientSession() as http:
            service = SlackService(config, rasa, db=db)
            await service.start()
            try:
                for _ in range(runs):
                    samples.append(await _one_run(standin, service, http, job_slug, top_id))
            finally:
                await service.stop()
    finally:
        await standin.stop()
    return samples


async def _one_run(
    standin: Any, service: Any, http: Any, job: str, top_id: str
) -> dict[str, float]:
    from parley.slack_standin import slash_command

    calls_before, shared_before = len(standin.calls), len(standin.shared)
    fields = slash_command(RECRUITER, "/shortlist", job, team_id=TEAM_ID)
    started = time.monotonic()
    status, _body = await standin.post_form(http, service.url + "/slack/events", fields)
    ack_ms = (time.monotonic() - started) * 1000
    if status != 200:
        raise BenchError(f"the gateway answered the slash command with HTTP {status}")
    first_page_ms = chart_ms = float("nan")
    deadline = started + 30.0
    while time.monotonic() < deadline and (math.isnan(first_page_ms) or math.isnan(chart_ms)):
        for call in standin.calls[calls_before:]:
            if math.isnan(first_page_ms) and call.method == "chat.postMessage":
                blocks = json.dumps(call.args.get("blocks") or "")
                if top_id in blocks:
                    first_page_ms = (call.at - started) * 1000
        if math.isnan(chart_ms) and len(standin.shared) > shared_before:
            chart_ms = (time.monotonic() - started) * 1000
        await asyncio.sleep(0.002)
    if math.isnan(first_page_ms):
        raise BenchError("no shortlist page reached the recruiter's DM within 30 s")
    return {"ack_ms": ack_ms, "first_page_ms": first_page_ms, "chart_ms": chart_ms}


def run_benchmark(options: Options) -> dict[str, Any]:
    """Seed a throw-away database, run `/shortlist` `runs` times, report."""
    if options.applications < 1 or options.runs < 2:
        raise BenchError("need at least 1 application and 2 runs (the first is the cold one)")
    from storage.db import Database
    from storage.encryption import Keyring, MasterKey
    from storage.migrate import upgrade

    db_options = DatabaseOptions(database_url=options.database_url, backend=options.backend)
    with throwaway_database(db_options) as (backend, url):
        upgrade(url)
        db = Database(url, Keyring.from_master(MasterKey.generate()))
        try:
            seeded = time.monotonic()
            job_slug, top_id = _seed(db, options)
            seed_s = time.monotonic() - seeded
            samples = asyncio.run(_measure(db, job_slug, top_id, options.runs))
        finally:
            db.dispose()
    cold, warm = samples[0], samples[1:]

    def stats(key: str) -> dict[str, float]:
        values = [s[key] for s in warm if not math.isnan(s[key])]
        return {
            "p50": round(_pct(values, 50), 1),
            "p95": round(_pct(values, 95), 1),
            "max": round(max(values), 1) if values else float("nan"),
        }

    ack, page, chart = stats("ack_ms"), stats("first_page_ms"), stats("chart_ms")
    return {
        "benchmark": "shortlist",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "backend": backend,
        "method": (
            f"{options.applications} completed applications with stored AI scores; the real "
            "Slack gateway (slack-bolt, HTTP mode, signed requests) against the local Slack "
            f"stand-in; {options.runs} signed `/shortlist <job>` commands one after another, "
            "the first reported as cold; times from sending the command"
        ),
        "applications": options.applications,
        "seed_seconds": round(seed_s, 1),
        "cold_ms": {k: round(v, 1) for k, v in cold.items()},
        "ack_ms": ack,
        "first_page_ms": page,
        "chart_ms": chart,
        "targets": {"ack_ms": ACK_TARGET_MS, "first_page_ms": FIRST_PAGE_TARGET_MS},
        "met": ack["p95"] <= ACK_TARGET_MS and page["p95"] <= FIRST_PAGE_TARGET_MS,
    }


def summary(doc: dict[str, Any]) -> str:
    """Human-readable lines for the terminal (the JSON follows)."""
    verdict = "met" if doc["met"] else "MISSED"
    return "\n".join(
        [
            f"/shortlist with {doc['applications']} applications ({doc['backend']}):",
            f"  acknowledgement p50 {doc['ack_ms']['p50']} ms, p95 {doc['ack_ms']['p95']} ms"
            f" (target ≤ {ACK_TARGET_MS:.0f} ms)",
            f"  first page in the DM p50 {doc['first_page_ms']['p50']} ms, p95 "
            f"{doc['first_page_ms']['p95']} ms (target ≤ {FIRST_PAGE_TARGET_MS:.0f} ms)",
            f"  chart shared p50 {doc['chart_ms']['p50']} ms",
            f"  targets {verdict}",
        ]
    )
