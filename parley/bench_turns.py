"""`parley bench turns`: throughput and latency of whole interviews over Rasa's REST channel.

A private stack (action server + Rasa, no web chat) is started in a temporary directory, the
jobs are imported into its own database, and N simulated candidates are driven through complete
interviews with at most C conversations in flight. A *turn* is one POST to Rasa's REST webhook
and its reply. Afterwards the stack's database is checked: every candidate must have a completed
application with exactly one first-revision answer per question, holding what was sent.

With `--baseline`, Rasa's own starter bot (`rasa init`) is trained and driven the same way, so
the figures can be read against what plain Rasa does on the same machine.

Everything that does not start a process (answer generation, percentiles, the database check)
is a plain function, tested in tests/test_bench_turns.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import math
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.inbound import start_payload
from bot.rasa_client import REST_PATH, parse_rest_response
from parley.settings import Settings
from screening.commands import Command, MessageNlu, recognise_command
from screening.job_schema import (
    ChoiceQuestion,
    DateQuestion,
    FreeTextQuestion,
    JobDefinition,
    NumberQuestion,
    Question,
    YesNoQuestion,
)
from screening.questions import format_date, parse_answer
from storage.db import Database

Echo = Callable[[str], None]

#: Where `--profile prod` creates (and drops) its databases unless DATABASE_URL and
#: PARLEY_TRACKER_URL name PostgreSQL databases; PARLEY_BENCH_PG_ADMIN_URL overrides it.
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_TURN_TIMEOUT_S = 60.0
STARTUP_TIMEOUT_S = 240.0


class BenchError(RuntimeError):
    """The benchmark could not run (stack failed to start, bad options, no database...)."""


def stderr_echo(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ============================================================================================
# Pure parts: statistics
# ============================================================================================


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks.

    Same definition as numpy's default ("linear"); None for no values.
    """
    if not values:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be between 0 and 100, got {p}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99/max of turn latencies given in seconds, reported in milliseconds."""

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "p50": ms(percentile(latencies_s, 50)),
        "p95": ms(percentile(latencies_s, 95)),
        "p99": ms(percentile(latencies_s, 99)),
        "max": ms(max(latencies_s) if latencies_s else None),
    }


# ============================================================================================
# Pure parts: answers that are valid and never knock out
# ============================================================================================


def _is_command_like(text: str) -> bool:
    """Whether the action server could take `text` for a command if the NLU agreed."""
    return any(
        recognise_command(text, MessageNlu(intent=str(cmd), confidence=1.0)) is not None
        for cmd in Command
    )


def _base_form(verb: str) -> str | None:
    """'measures' -> 'measure', 'verifies' -> 'verify'; None when not a third-person verb."""
    low = verb.lower()
    if low == "does":
        return "do"
    if low.endswith("ies") and len(low) > 4:
        return low[:-3] + "y"
    if low.endswith(("sses", "shes", "ches", "xes", "zes")):
        return low[:-2]
    if low.endswith("s") and not low.endswith(("ss", "us", "is")) and len(low) > 3:
        return low[:-1]
    return None


_OBJECT_WORDS = frozenset({"the", "a", "an", "it", "its", "them", "their", "this", "that"})


def _first_person(point: str) -> str:
    """'Measures first (...)' -> 'I would measure first (...)'; key points are third person.

    Coordinated verbs are converted too ("rolls back or disables the flag" -> "... or disable
    the flag"): a word ending in s after and/or followed by an article, or right after ";".
    """
    text = point.strip().rstrip(".;")
    words = text.split()
    base = _base_form(words[0])
    if base is None:  # not a third-person verb ("testing", "Clear communication")
        return f"I would focus on {text[0].lower()}{text[1:]}"
    out = ["I would"]
    if base == "do" and len(words) > 1 and words[1].lower() == "not":
        words = words[1:]
    else:
        out.append(base)
        words = words[1:]
    for i, word in enumerate(words):
        previous = words[i - 1] if i else ""
        following = words[i + 1].lower() if i + 1 < len(words) else ""
        coordinated = previous.lower() in ("and", "or") and following in _OBJECT_WORDS
        after_semicolon = previous.endswith(";")
        converted = _base_form(word) if coordinated or after_semicolon else None
        out.append(converted or word)
    return " ".join(out)


def _free_text_answer(question: FreeTextQuestion, variant: int) -> list[str]:
    points = list(question.key_points)
    if points:
        shift = variant % len(points)
        points = points[shift:] + points[:shift]
    sentences = [_first_person(p) for p in points]
    sentences = [s for s in sentences if not _is_command_like(s)]
    candidates: list[str] = []
    if len(sentences) >= 2:
        second = sentences[1]
        second = "Then " + second
        candidates.append(f"{sentences[0]}. {second}.")
    candidates += [s + "." for s in sentences]
    reference = question.reference_answer.strip()
    if reference:
        first = re.split(r"(?<=[.!?])\s+", reference)[0]
        candidates.append(first if first.endswith((".", "!", "?")) else first + ".")
    candidates.append(
        "I have dealt with similar situations in my previous jobs. I would stay calm, think it "
        "through step by step and keep the people involved informed."
    )
    result: list[str] = []
    for text in candidates:
        if len(text) < question.min_chars:
            text = " ".join([text] * (question.min_chars // max(1, len(text)) + 1))
        if len(text) > question.max_chars:
            text = text[: question.max_chars].rstrip()
        result.append(text)
    return result


def _nice_number(value: float, span: float) -> float:
    if span >= 100:
        step = 10 ** (len(str(int(span))) - 2)
        return round(value / step) * step
    return float(round(value))


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(round(value, 6))


def _number_answers(question: NumberQuestion, variant: int) -> list[str]:
    low, high = question.min, question.max
    if question.knockout_below is not None:
        low = max(low, question.knockout_below)
    if question.knockout_above is not None:
        high = min(high, question.knockout_above)
    span = high - low
    values = []
    for fraction in (0.2 + 0.1 * (variant % 4), 0.5):
        raw = low + span * fraction
        nice = _nice_number(raw, span)
        values += [nice, raw]
    values.append((low + high) / 2)
    return [_format_number(v) for v in values if low <= v <= high]


def _date_answers(question: DateQuestion, today: dt.date) -> list[str]:
    answers = ["next Monday", format_date(today + dt.timedelta(days=14))]
    if question.max_days_ahead is not None:
        answers.append(format_date(today + dt.timedelta(days=min(1, question.max_days_ahead))))
    answers.append("today")
    return answers


def answer_candidates(question: Question, *, today: dt.date, variant: int = 0) -> list[str]:
    """Plausible replies to `question`, best first (not yet checked against the parser)."""
    if isinstance(question, FreeTextQuestion):
        return _free_text_answer(question, variant)
    if isinstance(question, YesNoQuestion):
        return ["no" if question.knockout_answer is True else "yes"]
    if isinstance(question, NumberQuestion):
        return _number_answers(question, variant)
    if isinstance(question, ChoiceQuestion):
        knocked = {" ".join(o.casefold().split()) for o in question.knockout_options}
        return [o for o in question.options if " ".join(o.casefold().split()) not in knocked]
    if isinstance(question, DateQuestion):
        return _date_answers(question, today)
    raise TypeError(f"unsupported question type: {type(question).__name__}")


def generate_answer(question: Question, *, today: dt.date, variant: int = 0) -> str:
    """A reply that Parley accepts for `question` and that does not knock the candidate out.

    free_text: one or two sentences from the key points; yes_no: the opposite of the knockout
    answer; number: inside [min, max] and the knockout thresholds; choice: the first option
    that does not knock out; date: "next Monday" (or a date 14 days ahead). Every candidate is
    checked with the real parser, so a reply that would be re-asked is never used.
    """
    for text in answer_candidates(question, today=today, variant=variant):
        text = text.strip()
        if not text or text.startswith("/") or _is_command_like(text):
            continue
        parsed = parse_answer(question, text, today=today)
        if parsed.ok and not parsed.knockout:
            return text
    raise ValueError(f"cannot generate a valid, non-knockout answer for question {question.id!r}")


# ============================================================================================
# Conversations
# ============================================================================================


@dataclass(frozen=True)
class Turn:
    text: str
    #: A substring (case-insensitive) the reply should contain; None: any non-empty reply.
    expect: str | None = None


@dataclass
class Conversation:
    sender: str
    turns: list[Turn]
    job_slug: str | None = None
    #: question id -> the exact text sent as the answer (Parley conversations only).
    answers: dict[str, str] = field(default_factory=dict)


def utc_today() -> dt.date:
    """The action server dates answers in UTC, so relative dates are checked the same way."""
    return dt.datetime.now(dt.UTC).date()


def interview_conversation(
    sender: str, job: JobDefinition, *, today: dt.date, variant: int = 0
) -> Conversation:
    """One whole interview: start, consent, age, then every question in order."""
    total = len(job.questions)
    turns = [
        Turn(start_payload(job.id), expect="Do you agree"),
        Turn("yes", expect="years old or older"),
        Turn("yes", expect=f"Question 1 of {total}"),
    ]
    answers: dict[str, str] = {}
    for index, question in enumerate(job.questions):
        text = generate_answer(question, today=today, variant=variant)
        answers[question.id] = text
        last = index == total - 1
        expect = "is complete" if last else f"Question {index + 2} of {total}"
        turns.append(Turn(text, expect=expect))
    return Conversation(sender, turns, job.id, answers)


_STARTER_SCRIPT = ("hi", "I am sad", "yes", "hello", "I am great", "are you a bot?")


def starter_conversation(sender: str, turns: int) -> Conversation:
    """A conversation with Rasa's starter bot of `turns` turns: greet/mood turns, then bye."""
    count = max(1, turns)
    texts = [_STARTER_SCRIPT[i % len(_STARTER_SCRIPT)] for i in range(count - 1)] + ["bye"]
    return Conversation(sender, [Turn(t) for t in texts])


def new_sender(n: int, tag: str) -> str:
    return f"web:bench-{n}-{tag}"


# ============================================================================================
# Driving conversations
# ============================================================================================


@dataclass
class RunStats:
    latencies_s: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    errors: int = 0
    unexpected_replies: int = 0
    aborted: set[str] = field(default_factory=set)
    by_position: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    samples: list[str] = field(default_factory=list)  # first few problems, for stderr

    def note(self, message: str) -> None:
        if len(self.samples) < 10:
            self.samples.append(message)

    def block(self, *, lost: int | None, duplicated: int | None, incomplete: int) -> dict[str, Any]:
        turns = len(self.latencies_s)
        return {
            "turns": turns,
            "duration_s": round(self.duration_s, 3),
            "turns_per_s": round(turns / self.duration_s, 2) if self.duration_s > 0 else None,
            "latency_ms": latency_summary(self.latencies_s),
            "lost_answers": lost,
            "duplicated_answers": duplicated,
            "errors": self.errors,
            "incomplete_interviews": incomplete,
            "unexpected_replies": self.unexpected_replies,
        }


async def drive(
    base_url: str | Sequence[str],
    conversations: Sequence[Conversation],
    concurrency: int,
    *,
    timeout_s: float = DEFAULT_TURN_TIMEOUT_S,
    echo: Echo = stderr_echo,
    label: str = "",
    via_gateway: bool = False,
    expected_model: str = "",
) -> RunStats:
    """Run every conversation to its end, at most `concurrency` at a time, timing each turn.

    `via_gateway`: send each message the way the gateways do (bot/rasa_client.py: the sender's
    replica by consistent hashing, a message id, the gateways' resends), so an error counted
    here is one a candidate would have been shown. Otherwise plain POSTs to `base_url` (the
    starter bot, which has no gateway).

    A conversation stops at its first error or timeout (its later turns would be
    meaningless); such conversations are listed in `aborted`.
    """
    from bot.rasa_client import BotMessage, RasaClient, RasaUnavailable

    stats = RunStats()
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0
    urls = [base_url] if isinstance(base_url, str) else list(base_url)

    async with contextlib.AsyncExitStack() as resources:
        if via_gateway:
            rasa = await resources.enter_async_context(
                RasaClient(urls, timeout_s=timeout_s, expected_model=expected_model)
            )

            async def send(conv: Conversation, text: str) -> list[BotMessage]:
                return await rasa.send(conv.sender, text)

        else:
            pool = concurrency + 4
            client = await resources.enter_async_context(
                httpx.AsyncClient(
                    base_url=urls[0],
                    timeout=httpx.Timeout(timeout_s, connect=10.0),
                    limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                )
            )

            async def send(conv: Conversation, text: str) -> list[BotMessage]:
                response = await client.post(
                    REST_PATH, json={"sender": conv.sender, "message": text}
                )
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"HTTP {response.status_code}", request=response.request, response=response
                    )
                return parse_rest_response(response.json())

        async def one(conv: Conversation) -> None:
            nonlocal done
            async with gate:
                for number, turn in enumerate(conv.turns, start=1):
                    started = time.perf_counter()
                    try:
                        messages = await send(conv, turn.text)
                    except (RasaUnavailable, httpx.HTTPError, ValueError) as exc:
                        stats.errors += 1
                        stats.aborted.add(conv.sender)
                        stats.note(f"{conv.sender} turn {number}: {type(exc).__name__}: {exc}")
                        break
                    elapsed = time.perf_counter() - started
                    stats.latencies_s.append(elapsed)
                    stats.by_position[number].append(elapsed)
                    reply = " ".join(m.text for m in messages)
                    if not messages or (turn.expect and turn.expect.lower() not in reply.lower()):
                        stats.unexpected_replies += 1
                        stats.note(
                            f"{conv.sender} turn {number} sent {turn.text[:40]!r}, expected "
                            f"{turn.expect!r}, got {reply[:160]!r}"
                        )
                done += 1

        async def progress() -> None:
            while True:
                await asyncio.sleep(5)
                echo(
                    f"  {label}{done}/{len(conversations)} conversations done, "
                    f"{len(stats.latencies_s)} turns, {stats.errors} errors"
                )

        reporter = asyncio.create_task(progress())
        started = time.perf_counter()
        try:
            await asyncio.gather(*(one(c) for c in conversations))
        finally:
            stats.duration_s = time.perf_counter() - started
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
    return stats


# ============================================================================================
# Checking the database
# ============================================================================================


@dataclass
class DbCheck:
    expected: int = 0
    found: int = 0
    duplicated: int = 0
    incomplete: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - self.found


def check_database(db: Database, conversations: Sequence[Conversation]) -> DbCheck:
    """Compare what was sent with what the stack stored.

    For each conversation: its application for the job exists and is `completed`; each question
    has exactly one Answer row, with `revision == 1` and `raw_text` equal to the text sent.
    `found` counts questions with a row holding the text sent; `duplicated` counts rows beyond
    one per question (or for questions never asked) plus every extra revision.
    """
    from sqlalchemy import select

    from storage.models import Answer, Application, ChannelIdentity, Job

    result = DbCheck()
    with db.transaction() as s:
        for conv in conversations:
            result.expected += len(conv.answers)
            apps = list(
                s.scalars(
                    select(Application)
                    .join(Job, Application.job_id == Job.id)
                    .join(ChannelIdentity, ChannelIdentity.candidate_id == Application.candidate_id)
                    .where(ChannelIdentity.sender_id == conv.sender, Job.slug == conv.job_slug)
                )
            )
            if not any(a.status == "completed" for a in apps):
                result.incomplete.append(conv.sender)
                states = ", ".join(a.status for a in apps) or "no application"
                _note(result, f"{conv.sender}: {states}")
            rows: dict[str, list[Answer]] = defaultdict(list)
            if apps:
                stmt = select(Answer).where(Answer.application_id.in_([a.id for a in apps]))
                for row in s.scalars(stmt):
                    rows[row.question_id].append(row)
            for question_id, text in conv.answers.items():
                mine = rows.pop(question_id, [])
                if any(r.status == "answered" and r.raw_text == text for r in mine):
                    result.found += 1
                else:
                    got = [r.raw_text for r in mine]
                    _note(result, f"{conv.sender}/{question_id}: sent {text[:40]!r}, stored {got}")
                extra = max(0, len(mine) - 1) + sum(max(0, r.revision - 1) for r in mine)
                if extra:
                    _note(
                        result,
                        f"{conv.sender}/{question_id}: {len(mine)} rows, revisions "
                        f"{[r.revision for r in mine]}",
                    )
                result.duplicated += extra
            for question_id, stray in rows.items():
                _note(result, f"{conv.sender}/{question_id}: {len(stray)} unexpected rows")
                result.duplicated += len(stray)
    return result


def _note(check: DbCheck, message: str) -> None:
    if len(check.problems) < 10:
        check.problems.append(message)


# ============================================================================================
# Processes and databases
# ============================================================================================


@dataclass
class Options:
    concurrency: int = 20
    candidates: int = 40
    job: str | None = None
    baseline: bool = False
    profile: str = "embedded"
    warmup: int = 1
    jobs_dir: Path | None = None
    timeout_s: float = DEFAULT_TURN_TIMEOUT_S
    keep_logs: bool = False
    replicas: int = 1


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """Make SIGTERM unwind through `finally` blocks, so child processes are always stopped."""

    def _raise(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _prod_backends(settings: Settings, tag: str, echo: Echo) -> Iterator[dict[str, Any]]:
    """PostgreSQL app DB + tracker DB (created and dropped unless given) and a Redis prefix."""
    import psycopg
    import redis

    admin_url = _pg_admin_url()

    overrides: dict[str, Any] = {"profile": "prod", "lock_prefix": f"parley-bench-{tag}"}
    try:
        redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=3).ping()
    except redis.RedisError as exc:
        raise BenchError(
            f"prod profile needs Redis at {settings.redis_host}:{settings.redis_port}: {exc}"
        ) from None
    created: list[str] = []
    given = {
        "database_url": os.environ.get("DATABASE_URL", ""),
        "tracker_url": os.environ.get("PARLEY_TRACKER_URL", ""),
    }
    for key, url in given.items():
        if url.startswith(("postgresql://", "postgres://", "postgresql+")):
            overrides[key] = url
            echo(f"  using {key} from the environment (bench data stays there)")
    try:
        missing = [k for k in given if k not in overrides]
        if missing:
            try:
                admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
            except psycopg.Error as exc:
                raise BenchError(f"prod profile: cannot connect to {admin_url}: {exc}") from None
            with admin:
                for key in missing:
                    name = f"parley_bench_{tag}_{'app' if key == 'database_url' else 'tracker'}"
                    admin.execute(f'CREATE DATABASE "{name}"')
                    created.append(name)
                    overrides[key] = admin_url.rsplit("/", 1)[0] + "/" + name
                    echo(f"  created PostgreSQL database {name}")
        yield overrides
    finally:
        _drop_databases(created, echo)
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis(
                host=settings.redis_host,
                port=settings.redis_port,
                db=settings.redis_db,
                socket_timeout=3,
            )
            keys = list(client.scan_iter(match=f"{overrides['lock_prefix']}*", count=500))
            if keys:
                client.delete(*keys)


def _pg_admin_url() -> str:
    return os.environ.get("PARLEY_BENCH_PG_ADMIN_URL") or PG_ADMIN_URL


def _drop_databases(names: list[str], echo: Echo) -> None:
    if not names:
        return
    import psycopg

    try:
        with psycopg.connect(_pg_admin_url(), autocommit=True, connect_timeout=5) as admin:
            for name in names:
                try:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.errors.SyntaxError:  # PostgreSQL < 13
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                echo(f"  dropped PostgreSQL database {name}")
    except psycopg.Error as exc:
        echo(f"  could not drop {', '.join(names)}: {exc}")


def _load_jobs(jobs_path: Path, only: str | None) -> list[JobDefinition]:
    from screening.job_schema import JobFileError, load_job_path

    try:
        jobs = [job for _, job in load_job_path(jobs_path)]
    except JobFileError as exc:
        raise BenchError(f"invalid job files in {jobs_path}: {exc}") from None
    if only is not None:
        jobs = [j for j in jobs if j.id == only]
        if not jobs:
            raise BenchError(f"no job with id {only!r} in {jobs_path}")
    return jobs


def _import_jobs(database_url: str, jobs_path: Path, echo: Echo) -> None:
    from screening.catalog import import_jobs
    from storage.migrate import upgrade

    upgrade(database_url)
    db = Database(database_url)
    try:
        for r in import_jobs(db, jobs_path):
            echo(f"  imported {r.slug} v{r.version} ({r.status})")
    finally:
        db.dispose()


def _warm_then_measure(
    url: str | Sequence[str],
    measured: list[Conversation],
    warm: list[Conversation],
    options: Options,
    echo: Echo,
    label: str,
    *,
    via_gateway: bool = False,
    expected_model: str = "",
) -> RunStats:
    route = {"via_gateway": via_gateway, "expected_model": expected_model}
    if warm:
        echo(f"{label}: warm-up ({len(warm)} conversation(s), not counted)…")
        warm_stats = asyncio.run(
            drive(url, warm, 1, timeout_s=options.timeout_s, echo=echo, label="warm-up: ", **route)
        )
        for line in warm_stats.samples:
            echo(f"  warm-up problem: {line}")
    echo(f"{label}: {len(measured)} conversations, concurrency {options.concurrency}…")
    stats = asyncio.run(
        drive(
            url,
            measured,
            options.concurrency,
            timeout_s=options.timeout_s,
            echo=echo,
            label=f"{label}: ",
            **route,
        )
    )
    for line in stats.samples:
        echo(f"  problem: {line}")
    medians = " ".join(
        f"{n}:{1000 * (percentile(v, 50) or 0):.0f}" for n, v in sorted(stats.by_position.items())
    )
    echo(f"{label}: median latency (ms) by turn number: {medians}")
    echo(
        f"{label}: {len(stats.latencies_s)} turns in {stats.duration_s:.1f}s, "
        f"{stats.errors} errors, {stats.unexpected_replies} unexpected replies"
    )
    return stats


def run_parley(base: Settings, options: Options, workdir: Path, echo: Echo) -> dict[str, Any]:
    """Start Parley's stack privately, drive the interviews, check the database, stop."""
    from parley.stack import build_supervisor, isolated_settings
    from parley.supervisor import StartupError
    from parley.training import model_path, needs_training

    jobs_path = options.jobs_dir or base.jobs_dir
    if not jobs_path.is_absolute():
        jobs_path = base.root / jobs_path
    jobs = _load_jobs(jobs_path, options.job)
    if not model_path(base).is_file():
        raise BenchError(f"no trained model at {model_path(base)}; run `parley train` first")
    if needs_training(base):
        echo("  warning: the Rasa model is older than its training data; run `parley train`")

    tag = secrets.token_hex(4)
    today = utc_today()
    measured = [
        interview_conversation(new_sender(n, tag), jobs[n % len(jobs)], today=today, variant=n)
        for n in range(options.candidates)
    ]
    warm = [
        interview_conversation(new_sender(n, tag + "w"), jobs[n % len(jobs)], today=today)
        for n in range(options.warmup)
    ]

    with contextlib.ExitStack() as stack:
        overrides: dict[str, Any] = {"jobs_dir": jobs_path, "replicas": options.replicas}
        if options.profile == "prod":
            overrides.update(stack.enter_context(_prod_backends(base, tag, echo)))
        settings = isolated_settings(base, workdir / "parley", **overrides)
        echo(f"Parley ({options.profile}): importing jobs from {jobs_path}")
        try:
            _import_jobs(settings.database_url, jobs_path, echo)
        except Exception as exc:  # any database failure means the benchmark cannot run
            raise BenchError(f"cannot prepare the app database: {exc}") from exc
        try:
            supervisor = build_supervisor(settings, web=False)
        except ValueError as exc:  # replicas without the prod profile
            raise BenchError(str(exc)) from None
        echo(
            f"Parley: starting {options.replicas} action server(s) and {options.replicas} "
            "Rasa server(s) (30–60 s)…"
        )
        try:
            try:
                supervisor.start(STARTUP_TIMEOUT_S, echo=echo)
            except (StartupError, OSError) as exc:
                raise BenchError(f"Parley's stack failed to start: {exc}") from None
            stats = _warm_then_measure(
                supervisor.settings.rasa_urls,
                measured,
                warm,
                options,
                echo,
                "Parley",
                via_gateway=True,
                expected_model=supervisor.settings.rasa_model_id,
            )
        finally:
            echo("Parley: stopping the stack…")
            supervisor.stop()
        db = Database.from_settings(settings)
        try:
            check = check_database(db, measured)
        finally:
            db.dispose()
        for line in check.problems:
            echo(f"  database: {line}")
        incomplete = set(check.incomplete) | stats.aborted
        echo(
            f"Parley: database check: {check.found}/{check.expected} answers found, "
            f"{check.duplicated} duplicated, {len(incomplete)} incomplete interviews"
        )
    return stats.block(lost=check.lost, duplicated=check.duplicated, incomplete=len(incomplete))


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _stream_training(proc: subprocess.Popen[bytes], echo: Echo) -> list[str]:
    """Show `rasa init`/`rasa train` progress (components, epochs) on stderr; keep a tail."""
    assert proc.stdout is not None
    tail: list[str] = []
    buffer = b""
    last_shown = 0.0
    component = ""
    while True:
        chunk = proc.stdout.read1(4096) if hasattr(proc.stdout, "read1") else proc.stdout.read(4096)
        if not chunk:
            break
        buffer += chunk
        parts = re.split(rb"[\r\n]", buffer)
        buffer = parts.pop()
        for raw in parts:
            line = _ANSI.sub("", raw.decode("utf-8", "replace")).strip()
            if not line:
                continue
            tail = [*tail[-40:], line]
            if "Starting to train component" in line:
                component = line.split("component", 1)[-1].strip(" '.")
                echo(f"  training {component}…")
            elif "Epochs:" in line and time.monotonic() - last_shown > 10:
                last_shown = time.monotonic()
                match = re.search(r"(\d+)/(\d+)", line)
                if match:
                    echo(f"    {component} epoch {match.group(1)}/{match.group(2)}")
            elif "Your Rasa model is trained" in line or "Created project directory" in line:
                echo("  " + line)
    return tail


def _run_rasa_tool(argv: list[str], cwd: Path, echo: Echo, what: str) -> None:
    from parley.training import rasa_env

    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=rasa_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        tail = _stream_training(proc, echo)
        code = proc.wait()
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    if code != 0:
        raise BenchError(f"{what} failed (exit {code}):\n" + "\n".join(tail[-20:]))


def run_baseline(
    base: Settings, options: Options, workdir: Path, turns_per_conversation: list[int], echo: Echo
) -> dict[str, Any]:
    """Rasa's starter bot (`rasa init`), trained and driven like Parley."""
    from parley.stack import free_port
    from parley.supervisor import Process, StartupError, Supervisor
    from parley.training import rasa_bin, rasa_env

    project = workdir / "rasa-starter"
    project.mkdir(parents=True, exist_ok=True)
    rasa = str(rasa_bin(base))
    echo(f"Baseline: creating and training Rasa's starter bot in {project} (a few minutes)…")
    started = time.monotonic()
    # `rasa init --no-prompt` also trains the starter model (DIET + TED, 100 epochs each).
    _run_rasa_tool(
        [rasa, "init", "--no-prompt", "--init-dir", str(project)], project, echo, "rasa init"
    )
    if not any((project / "models").glob("*.tar.gz")):
        _run_rasa_tool([rasa, "train"], project, echo, "rasa train")
    echo(f"Baseline: trained in {time.monotonic() - started:.0f}s")
    endpoints = (project / "endpoints.yml").read_text()
    if re.search(r"^action_endpoint:", endpoints, re.MULTILINE):
        echo("  note: the starter's endpoints.yml names an action server; none is started")

    port = free_port()
    settings = dataclasses.replace(
        base, root=project, var_dir=workdir / "rasa-starter-var", rasa_port=port
    )
    argv = [rasa, "run", "--port", str(port), "--interface", "127.0.0.1"]
    proc = Process("baseline", argv, f"http://127.0.0.1:{port}/", rasa_env())
    supervisor = Supervisor(settings, [proc], workdir / "rasa-starter-var" / "log")
    tag = secrets.token_hex(4)
    measured = [
        starter_conversation(new_sender(n, tag), t) for n, t in enumerate(turns_per_conversation)
    ]
    warm = [
        starter_conversation(new_sender(n, tag + "w"), turns_per_conversation[0])
        for n in range(options.warmup)
    ]
    echo("Baseline: starting `rasa run`…")
    try:
        try:
            supervisor.start(STARTUP_TIMEOUT_S, echo=echo)
        except (StartupError, OSError) as exc:
            raise BenchError(f"the baseline Rasa server failed to start: {exc}") from None
        url = f"http://127.0.0.1:{port}"
        stats = _warm_then_measure(url, measured, warm, options, echo, "Baseline")
    finally:
        echo("Baseline: stopping Rasa…")
        supervisor.stop()
    return stats.block(lost=None, duplicated=None, incomplete=len(stats.aborted))


def run_benchmark(base: Settings, options: Options, echo: Echo = stderr_echo) -> dict[str, Any]:
    """The whole benchmark; returns the JSON document. Raises BenchError when it cannot run."""
    if options.profile not in ("embedded", "prod"):
        raise BenchError(f"unknown profile {options.profile!r} (use embedded or prod)")
    if options.replicas > 1 and options.profile != "prod":
        raise BenchError("--replicas needs --profile prod (PostgreSQL + Redis)")
    if options.concurrency < 1 or options.candidates < 1 or options.warmup < 0:
        raise BenchError("--concurrency and --candidates must be at least 1, --warmup at least 0")
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-"))
    try:
        with _sigterm_as_exit():
            parley = run_parley(base, options, workdir, echo)
            baseline = None
            if options.baseline:
                jobs_path = options.jobs_dir or base.jobs_dir
                if not jobs_path.is_absolute():
                    jobs_path = base.root / jobs_path
                jobs = _load_jobs(jobs_path, options.job)
                turns = [3 + len(jobs[n % len(jobs)].questions) for n in range(options.candidates)]
                baseline = run_baseline(base, options, workdir, turns, echo)
    finally:
        if options.keep_logs:
            echo(f"Logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    ratio = None
    if baseline and parley["turns_per_s"] and baseline["turns_per_s"]:
        ratio = round(parley["turns_per_s"] / baseline["turns_per_s"], 3)
    return {
        "benchmark": "turns",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "profile": options.profile,
        "replicas": options.replicas,
        "concurrency": options.concurrency,
        "candidates": options.candidates,
        "warmup": options.warmup,
        "parley": parley,
        "baseline": baseline,
        "ratio_turns_per_s": ratio,
    }


def summary(doc: dict[str, Any]) -> str:
    """A few human-readable lines for the non-JSON output."""
    lines = [
        f"Turns benchmark — profile {doc['profile']}, {doc.get('replicas', 1)} replica(s), "
        f"{doc['candidates']} candidates, "
        f"concurrency {doc['concurrency']}"
    ]
    for name in ("parley", "baseline"):
        block = doc.get(name)
        if not block:
            continue
        lat = block["latency_ms"]
        lines.append(
            f"  {name:9} {block['turns']} turns in {block['duration_s']}s = "
            f"{block['turns_per_s']} turns/s; latency p50 {lat['p50']} ms, p95 {lat['p95']} ms, "
            f"p99 {lat['p99']} ms, max {lat['max']} ms; errors {block['errors']}, "
            f"incomplete {block['incomplete_interviews']}, lost {block['lost_answers']}, "
            f"duplicated {block['duplicated_answers']}"
        )
    if doc.get("ratio_turns_per_s") is not None:
        lines.append(f"  Parley / baseline throughput: {doc['ratio_turns_per_s']}")
    return "\n".join(lines)
