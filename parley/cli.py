"""The `parley` command line: run everything, chat, train, manage jobs, inspect interviews."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parley.audit_bias_cli import register as register_bias_audit
from parley.audit_cli import audit_app
from parley.backup_cli import backup_app
from parley.orgs_cli import orgs_app
from parley.privacy_cli import privacy_app
from parley.scheduling_cli import bookings_app, calendars_app
from parley.settings import Settings, load_settings
from parley.shortlist_cli import shortlist_cmd

if TYPE_CHECKING:
    from parley.supervisor import Supervisor

app = typer.Typer(help="Parley — an open-source conversational screening interviewer.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
jobs_app = typer.Typer(help="Import and list job definitions.", no_args_is_help=True)
interviews_app = typer.Typer(help="Inspect interviews as stored.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (JSON output).", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(interviews_app, name="interviews")
app.add_typer(bench_app, name="bench")
app.add_typer(privacy_app, name="privacy")
app.add_typer(backup_app, name="backup")
app.add_typer(calendars_app, name="calendars")
app.add_typer(bookings_app, name="bookings")
app.add_typer(orgs_app, name="orgs")
register_bias_audit(audit_app)
app.add_typer(audit_app, name="audit")
app.command("shortlist")(shortlist_cmd)


def _db(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import Database
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    return Database.from_settings(settings)


def _import_jobs(settings: Settings, path: Path) -> None:
    from screening.catalog import import_jobs
    from screening.job_schema import JobFileError

    try:
        results = import_jobs(_db(settings), path)
    except JobFileError as exc:
        typer.secho(f"Invalid job file — nothing was imported.\n{exc}", fg="red", err=True)
        for extra in getattr(exc, "errors", [])[1:]:
            typer.secho(f"  also: {extra}", fg="red", err=True)
        raise typer.Exit(2) from None
    for r in results:
        typer.echo(f"  {r.slug:28} v{r.version:<3} {r.status:12} {r.path}")


@app.command()
def run(
    profile: Annotated[str, typer.Option(help="embedded (SQLite) or prod (PostgreSQL+Redis)")] = "",
    train_model: Annotated[bool, typer.Option("--train/--no-train")] = True,
    replicas: Annotated[
        int,
        typer.Option(help="Rasa servers and action servers to run (needs --profile prod)"),
    ] = 0,
) -> None:
    """Start the action server, the Rasa server and the web chat; Ctrl-C stops everything.

    A process that dies is started again (a crash loop — 5 deaths within a minute — stops
    Parley with its log's last lines)."""
    import os

    from parley.stack import build_supervisor, check_replicas
    from parley.supervisor import StartupError
    from parley.training import train

    if profile:
        os.environ["PARLEY_PROFILE"] = profile
    if replicas:
        os.environ["PARLEY_REPLICAS"] = str(replicas)
    settings = load_settings()
    try:
        check_replicas(settings)
    except ValueError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    typer.echo(f"Parley — profile '{settings.profile}', database {_redact(settings.database_url)}")
    typer.echo("Importing jobs from " + str(settings.jobs_dir))
    _import_jobs(settings, settings.jobs_dir)
    if train_model:
        train(settings)
    sup = build_supervisor(settings, restart=True, echo=typer.echo)
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    typer.echo("Starting (Rasa takes 30–60 s to load)…")
    try:
        sup.start(echo=typer.echo)
    except StartupError as exc:
        typer.secho(str(exc), fg="red", err=True)
        sup.stop()
        raise typer.Exit(1) from None
    typer.echo("")
    many = f" ({settings.replicas} replicas)" if settings.replicas > 1 else ""
    typer.echo(f"  Action server  http://{settings.actions_host}:{settings.actions_port}{many}")
    for url in sup.settings.rasa_urls:
        typer.echo(f"  Rasa (REST)    {url}/webhooks/rest/webhook")
    typer.secho(f"  Web chat       {settings.web_url}", fg="green", bold=True)
    if settings.voice_enabled:
        typer.echo(f"  Phone          {settings.voice_public_base}/voice/incoming "
                   f"(Twilio voice webhook; local {settings.voice_url})")  # fmt: skip
    else:
        typer.echo("  Phone          off (set PARLEY_TWILIO_ACCOUNT_SID and "
                   "PARLEY_TWILIO_AUTH_TOKEN to turn it on)")  # fmt: skip
    _echo_chat_gateways(settings, sup)
    typer.echo("Parley is ready. Open the web chat in a browser, or run `parley chat`. "
               "Ctrl-C stops everything.")  # fmt: skip
    while not stopping:
        dead = sup.exited()
        for proc in [p for p in dead if p.optional]:  # a chat gateway: the rest stays up
            proc.failed = sup.reason(proc)
            typer.secho(f"{proc.name} stopped: {proc.failed}", fg="red", err=True)
        dead = [p for p in dead if not p.optional]
        if dead:
            for proc in dead:
                typer.secho(f"{proc.name} keeps stopping:\n{sup.tail(proc)}", fg="red")
            sup.stop()
            raise typer.Exit(1)
        time.sleep(0.5)
    typer.echo("Stopping…")
    sup.stop()
    typer.echo("Stopped.")


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@app.command("serve-web", hidden=True)
def serve_web() -> None:
    """Run only the web chat gateway (started by `parley run`)."""
    from bot.web.app import run_web_gateway

    settings = load_settings()
    run_web_gateway(None, settings.web_host, settings.web_port)  # every PARLEY_RASA_URLS replica


def _echo_chat_gateways(settings: Settings, sup: Supervisor) -> None:
    """One line per chat gateway: on and how candidates reach it, off and why."""
    for name, label, enabled, hint in (
        ("telegram", "Telegram", settings.telegram_enabled, "set PARLEY_TELEGRAM_TOKEN"),
        ("slack", "Slack", settings.slack_enabled, "set PARLEY_SLACK_BOT_TOKEN and "
         "PARLEY_SLACK_APP_TOKEN (Socket Mode) or PARLEY_SLACK_SIGNING_SECRET (HTTP)"),
    ):  # fmt: skip
        proc = sup.get(name)
        if not enabled or proc is None:
            typer.echo(f"  {label:14} off ({hint} to turn it on)")
            continue
        if proc.failed:
            typer.secho(f"  {label:14} failed to start: {proc.failed}", fg="red")
            continue
        info = sup.health(proc)
        bot, mode = str(info.get("bot") or ""), str(info.get("mode") or "?")
        if name == "telegram":
            reach = f"https://t.me/{bot.lstrip('@')}" if bot else "on"
            if mode == "webhook":
                reach += f" (webhook {settings.telegram_webhook_url})"
        else:
            reach = f"direct message {bot or 'the app'} in workspace {info.get('team') or '?'}"
            if mode == "http":
                reach += f" (Events API at {settings.slack_url}slack/events)"
        typer.echo(f"  {label:14} {reach} [{mode}]")


@app.command("serve-telegram", hidden=True)
def serve_telegram() -> None:
    """Run only the Telegram gateway (started by `parley run` when its token is set)."""
    import logging

    from bot.telegram.server import run_telegram_gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    raise typer.Exit(run_telegram_gateway(load_settings()) or 0)


@app.command("serve-slack", hidden=True)
def serve_slack() -> None:
    """Run only the Slack gateway (started by `parley run` when its bot token is set)."""
    import logging

    from bot.slack.server import run_slack_gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    raise typer.Exit(run_slack_gateway(load_settings()) or 0)


@app.command("serve-voice", hidden=True)
def serve_voice() -> None:
    """Run only the phone gateway (started by `parley run` when Twilio is configured)."""
    import logging

    from bot.voice.server import run_voice_gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_voice_gateway(load_settings())


@app.command("serve-actions", hidden=True)
def serve_actions_cmd() -> None:
    """Run one action server on the shared actions port (started by `parley run`, once per
    replica; several may run at once — see parley/serve_actions.py)."""
    from parley.serve_actions import serve

    settings = load_settings()
    serve(settings.actions_host, settings.actions_port)


@app.command("call")
def call_cmd(
    candidate: Annotated[str, typer.Argument(help="phone number (+15551234567) or candidate id")],
    job: Annotated[str, typer.Option("--job", help="the job to screen for")],
) -> None:
    """Phone a candidate for a screening interview (Twilio); it runs when they answer."""
    from bot.voice.outbound import CallError, place_call

    settings = load_settings()
    try:
        placed = place_call(settings, _db(settings), candidate, job)
    except CallError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Calling (call {placed.sid}) for job {placed.job}.")


@app.command("worker", hidden=True)
def worker_cmd(
    once: Annotated[
        bool, typer.Option("--once", help="one purge run and one scheduling pass, then exit")
    ] = False,
) -> None:
    """Run the background worker (the purge job and the scheduling pass: reminders, calendar
    retries, re-opened interview times; started by `parley run`)."""
    from parley.worker import main as run_worker

    run_worker(load_settings(), once=once)


@app.command()
def chat(
    job: Annotated[str | None, typer.Option(help="start this job right away")] = None,
    sender: Annotated[str | None, typer.Option(help="continue as this sender id")] = None,
) -> None:
    """Take an interview in the terminal (needs `parley run` in another terminal)."""
    from bot.terminal import chat as run_chat

    settings = load_settings()
    try:
        asyncio.run(
            run_chat(list(settings.rasa_urls), sender=sender, job=job, web_url=settings.web_url)
        )
    except KeyboardInterrupt:
        typer.echo("")


@app.command("train")
def train_cmd(
    force: Annotated[bool, typer.Option(help="train even if nothing changed")] = False,
) -> None:
    """Train the Rasa model if data, config or domain changed."""
    from parley.training import train

    try:
        train(load_settings(), force=force, echo=typer.echo)
    except RuntimeError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None


@jobs_app.command("load")
def jobs_load(path: Path) -> None:
    """Validate and import a job file or a directory of them (idempotent, versioned)."""
    if not path.exists():
        typer.secho(f"{path}: no such file or directory", fg="red", err=True)
        raise typer.Exit(2)
    _import_jobs(load_settings(), path)


@jobs_app.command("list")
def jobs_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the current version of every job."""
    from screening.catalog import list_jobs

    rows = list_jobs(_db(load_settings()))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No jobs. Import some with `parley jobs load jobs/`.")
    for r in rows:
        typer.echo(f"{r['id']:28} v{r['version']:<3} {r['title']} — {r['organization']}, "
                   f"{r['location']} ({r['questions']} questions)")  # fmt: skip


@interviews_app.command("show")
def interviews_show(
    ref: Annotated[str, typer.Argument(help="candidate id, sender id (web:…) or application id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    include_practice: Annotated[
        bool,
        typer.Option(
            "--include-practice",
            help="also show the candidate's practice runs (private to the candidate: only for "
            "the candidate or a data-protection request, never for employers)",
        ),
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="why you look (written to the access log)")
    ] = None,
) -> None:
    """Show a candidate's or an application's interview answers as stored (practice runs are
    left out unless --include-practice). Each read is written to the access log."""
    from screening.reports import NotFound, interview_report

    try:
        report = interview_report(
            _db(load_settings()), ref, include_practice=include_practice, reason=reason
        )
    except NotFound as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for app_ in report:
        kind = "practice run" if app_["mode"] == "practice" else "application"
        typer.secho(
            f"{app_['job']['title']} (v{app_['job']['version']}) — {app_['status']} — "
            f"{kind} {app_['application_id']}",
            bold=True,
        )
        if app_["ai_scoring_note"]:
            typer.echo(f"  {app_['ai_scoring_note']}")
        for review in app_["human_reviews"]:
            typer.echo(f"  Waiting for a person: {review['reason'].replace('_', ' ')}")
        for a in app_["answers"]:
            shown = a["display"] or a["raw_text"] or "(skipped)"
            flag = "  [knockout]" if a["knockout"] else ""
            typer.echo(f"  {a['question_id']:24} {shown}{flag}")


@bench_app.command("turns")
def bench_turns(
    concurrency: Annotated[int, typer.Option(min=1, help="conversations in flight at once")] = 20,
    candidates: Annotated[int, typer.Option(min=1, help="simulated candidates")] = 40,
    job: Annotated[str | None, typer.Option(help="only this job (default: all jobs)")] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="also run Rasa's starter bot")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    profile: Annotated[str, typer.Option(help="embedded (SQLite) or prod (PostgreSQL+Redis)")] = (
        "embedded"
    ),
    warmup: Annotated[int, typer.Option(min=0, help="warm-up interviews, not counted")] = 1,
    jobs_dir: Annotated[Path | None, typer.Option(help="job files (default: settings)")] = None,
    timeout: Annotated[float, typer.Option(help="seconds before a turn counts as an error")] = 60.0,
    keep_logs: Annotated[bool, typer.Option(help="keep the temp dir with the logs")] = False,
    replicas: Annotated[
        int, typer.Option(min=1, max=16, help="Rasa + action-server replicas (prod profile)")
    ] = 1,
) -> None:
    """Drive simulated candidates through whole interviews; report turns/s and latency."""
    from parley.bench_turns import BenchError, Options, run_benchmark, summary

    options = Options(concurrency=concurrency, candidates=candidates, job=job, baseline=baseline,
                      profile=profile, warmup=warmup, jobs_dir=jobs_dir, timeout_s=timeout,
                      keep_logs=keep_logs, replicas=replicas)  # fmt: skip
    try:
        doc = run_benchmark(load_settings(), options)
    except BenchError as exc:
        typer.secho(f"bench turns: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if not as_json:
        typer.echo(summary(doc))
    typer.echo(json.dumps(doc, indent=2))


@app.command()
def rescore(
    ref: Annotated[str, typer.Argument(help="job id (every application) or application id")],
) -> None:
    """Score every free-text answer again with the current model; old scores are kept."""
    from screening.assessment import AssessmentService

    service = AssessmentService(_db(load_settings()))
    applications = service.applications_for(ref)
    if not applications:
        typer.secho(f"no job or application matches {ref!r}", fg="red", err=True)
        raise typer.Exit(1)
    total = 0
    for i, application_id in enumerate(applications, 1):
        total += service.rescore(application_id)
        typer.echo(f"\r  {i}/{len(applications)} applications", nl=False, err=True)
    typer.echo("", err=True)
    typer.echo(f"Rescored {total} answers in {len(applications)} applications.")


@app.command("transcribe")
def transcribe_cmd(
    audio: Annotated[Path, typer.Argument(help="WAV, µ-law WAV, OGG/Opus or MP3")],
    language: Annotated[
        str | None, typer.Option(help="lock the language (e.g. en); detected otherwise")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Transcribe an audio file with Parley's own speech recognition (faster-whisper)."""
    from nlu.speech.model import SpeechModelError, model_dir
    from nlu.speech.transcribe import TranscriptionError, get_transcriber

    settings = load_settings()
    if language is not None and not (2 <= len(language) <= 3 and language.isalpha()):
        typer.secho(f"Not a language code: {language[:20]!r} (e.g. en, de, fr).", err=True)
        raise typer.Exit(2)

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        typer.echo(f"\rAssembling the speech model (once): {100 * done // total:3d} %{end}",
                   err=True, nl=False)  # fmt: skip

    try:
        path = model_dir(settings.models_dir, progress)
        result = get_transcriber(path).transcribe(audio, language=language)
    except (SpeechModelError, TranscriptionError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2 if isinstance(exc, TranscriptionError) else 1) from None
    if not as_json:
        typer.echo(result.text)
        return
    data = result.to_json()
    fields = ("text", "language", "duration_s", "confidence", "seconds")
    typer.echo(json.dumps({k: data[k] for k in fields}, ensure_ascii=False))


@app.command("score")
def score_cmd(
    input_path: Annotated[Path, typer.Option("--input", "-i", help="CSV to score")],
    output_path: Annotated[Path, typer.Option("--output", "-o", help="where to write it")],
    batch_size: Annotated[int, typer.Option(min=1, help="answers per scoring batch")] = 128,
) -> None:
    """Score free-text answers in a CSV (question, reference_answer, student_answer[, key_points]).

    Every row is written back with `score` (0-1; empty when not scored), `score_status` and
    `explanation` (JSON); other columns are carried through. Malformed rows are reported on
    stderr by row number and the rest are still scored.
    """
    from nlu.scoring.csv_io import CsvInputError, score_csv
    from nlu.scoring.scorer import get_scorer

    def loading_scorer():  # type: ignore[no-untyped-def]
        typer.echo("Loading the scoring model…", err=True)
        return get_scorer()

    try:
        report = score_csv(input_path, output_path, loading_scorer, batch_size=batch_size,
                           progress=lambda msg: typer.echo(msg, err=True))  # fmt: skip
    except CsvInputError as exc:
        typer.secho(f"parley score: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None
    for old, new in report.renamed.items():
        typer.secho(f"input column '{old}' kept as '{new}'", fg="yellow", err=True)
    for problem in report.problems:
        typer.secho(problem, fg="yellow", err=True)
    typer.echo(f"{report.rows} rows: {report.scored} scored, {report.insufficient} not scored "
               f"(insufficient data, for review), {report.errors} malformed -> {output_path}",
               err=True)  # fmt: skip


@bench_app.command("scoring")
def bench_scoring(
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="folder with saf_train.csv and saf_dev_unseen_answers.csv")
    ] = None,
) -> None:
    """Answer scorer: validity on SAF (grouped CV and dev) beside TF-IDF cosine, and speed."""
    from parley.bench_scoring import BenchError, run_benchmark
    from parley.bench_scoring import summary as scoring_summary

    try:
        doc = run_benchmark(data_dir)
    except BenchError as exc:
        typer.secho(f"bench scoring: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if not as_json:
        typer.echo(scoring_summary(doc))
    typer.echo(json.dumps(doc, indent=2))


@bench_app.command("voice")
def bench_voice(
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    split: Annotated[
        str, typer.Option(help="test (never tuned on; the reported number) or dev (tuning)")
    ] = "test",
    limit: Annotated[int | None, typer.Option(min=1, help="only the first N answers")] = None,
    hints: Annotated[
        bool, typer.Option("--hints/--no-hints", help="prompt and hotwords from the question")
    ] = True,
    cache_dir: Annotated[
        Path | None, typer.Option(help="synthesised audio (default: var/voice-corpus)")
    ] = None,
    latency_answers: Annotated[
        int,
        typer.Option(min=0, help="15-s answers for the phone latency run (real time; 0 skips it)"),
    ] = 12,
) -> None:
    """Speech recognition: WER at 16 kHz and 8 kHz µ-law on synthesised answers, and speed."""
    from parley.bench_voice import BenchError, Options, run_benchmark
    from parley.bench_voice import summary as voice_summary

    if split not in ("dev", "test"):
        typer.secho(f"bench voice: unknown split {split!r} (dev or test).", fg="red", err=True)
        raise typer.Exit(2)
    options = Options(
        split=split,
        limit=limit,
        cache_dir=cache_dir,
        hints=hints,
        latency_answers=latency_answers,
    )
    settings = load_settings()
    try:
        doc = run_benchmark(
            settings.models_dir,
            options,
            progress=lambda msg: typer.echo(f"\r  {msg}", nl=False, err=True),
            settings=settings,
        )
    except BenchError as exc:
        typer.secho(f"\nbench voice: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo("", err=True)
    if not as_json:
        typer.echo(voice_summary(doc))
        return
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@bench_app.command("gateways")
def bench_gateways(
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    messages: Annotated[int, typer.Option(min=1, help="messages per gateway and mode")] = 300,
) -> None:
    """Telegram and Slack gateways: overhead per message beyond the Rasa turn (p50/p95)."""
    from parley.bench_gateways import BenchError, run_benchmark
    from parley.bench_gateways import summary as gateways_summary

    try:
        doc = run_benchmark(messages, progress=lambda msg: typer.echo(f"  {msg}", err=True))
    except BenchError as exc:
        typer.secho(f"bench gateways: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if not as_json:
        typer.echo(gateways_summary(doc))
        return
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


@bench_app.command("booking")
def bench_booking(
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    attempts: Annotated[int, typer.Option(min=2, help="candidates racing for one slot")] = 50,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server to create the throw-away database on"),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="auto (PostgreSQL when one answers), postgresql or sqlite")
    ] = "auto",
) -> None:
    """Booking race: N candidates book one slot at once; exactly one may get it (exit 1 if not)."""
    from parley.bench_booking import BenchError, Options, run_benchmark
    from parley.bench_booking import summary as booking_summary

    options = Options(attempts=attempts, database_url=database_url, backend=backend)
    try:
        doc = run_benchmark(options)
    except BenchError as exc:
        typer.secho(f"bench booking: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if not as_json:
        typer.echo(booking_summary(doc))
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if not doc["correct"]:
        raise typer.Exit(1)


@bench_app.command("shortlist")
def bench_shortlist(
    as_json: Annotated[bool, typer.Option("--json", help="print only the JSON on stdout")] = False,
    applications: Annotated[int, typer.Option(min=1, help="completed applications")] = 1000,
    runs: Annotated[int, typer.Option(min=2, help="commands sent (the first is cold)")] = 6,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server to create the throw-away database on"),
    ] = None,
    backend: Annotated[
        str, typer.Option(help="auto (PostgreSQL when one answers), postgresql or sqlite")
    ] = "auto",
) -> None:
    """/shortlist through the real Slack gateway: acknowledgement and first page (exit 1 if a
    target is missed)."""
    from parley.bench_shortlist import BenchError, Options, run_benchmark
    from parley.bench_shortlist import summary as shortlist_summary

    options = Options(
        applications=applications, runs=runs, database_url=database_url, backend=backend
    )
    try:
        doc = run_benchmark(options)
    except BenchError as exc:
        typer.secho(f"bench shortlist: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    if not as_json:
        typer.echo(shortlist_summary(doc))
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if not doc["met"]:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
