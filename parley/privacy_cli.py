"""`parley privacy …`: the operator's side of the candidates' privacy rights.

Every command takes `<candidate>` as a candidate id or any sender id the candidate used
(`web:abc`, `telegram:123`). Malformed references (empty, too long, control characters,
quotes, spaces, SQL-ish junk) are refused before anything touches the database (exit 2);
unknown ones exit 1 with "no such candidate". Every admin read is written to the access log
as "admin:<OS user>" with the given purpose.

Exit codes: 0 done; 1 not found, or the operation failed (a purge with failures, a master
key that does not match); 2 bad input.
"""

from __future__ import annotations

import getpass
import json
import re
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from parley.settings import Settings, load_settings

privacy_app = typer.Typer(
    help="Privacy operations: export, delete, legal holds, purge, requests, keys, notices.",
    no_args_is_help=True,
)
notice_app = typer.Typer(help="Privacy notice versions.", no_args_is_help=True)
privacy_app.add_typer(notice_app, name="notice")

MAX_REF = 200
# A candidate id (32 hex) or a sender id: an optional channel prefix and an id of letters,
# digits and . _ @ + = - : (Telegram, Slack, web and REST ids all fit).
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+=:-]*")

CandidateArg = Annotated[
    str, typer.Argument(help="candidate id or sender id (web:…, telegram:…)", show_default=False)
]


# --------------------------------------------------------------------------- helpers
def _fail(message: str, code: int) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code)


def check_ref(ref: str) -> str:
    """The reference as given, or exit 2 with the reason it is malformed."""
    if ref is None or not ref.strip():
        _fail("A candidate id or sender id is required (e.g. web:abc or telegram:123).", 2)
    if len(ref) > MAX_REF:
        _fail(f"Malformed candidate reference: longer than {MAX_REF} characters.", 2)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in ref):
        _fail("Malformed candidate reference: it contains control characters.", 2)
    if not _REF.fullmatch(ref):
        _fail(
            "Malformed candidate reference: use a candidate id or a sender id such as "
            "web:abc or telegram:123 (letters, digits and . _ @ + = - : only).",
            2,
        )
    return ref


def _actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name (containers): still attributable
        user = "unknown"
    return f"admin:{user}"[:200]


def _db(settings: Settings) -> Any:
    from storage.db import Database
    from storage.encryption import EncryptionError, Keyring
    from storage.migrate import upgrade

    try:
        upgrade(settings.database_url)
        return Database(settings.database_url, Keyring.load(settings))
    except EncryptionError as exc:  # MasterKeyMismatch / MasterKeyError: nothing changed
        _fail(str(exc), 1)
    except ValueError as exc:  # a malformed master key
        _fail(str(exc), 1)


def _files(settings: Settings, db: Any) -> Any:
    from storage.files import FileStore

    return FileStore(settings.files_dir, db)


def _resolve(db: Any, ref: str) -> str:
    from privacy.tombstones import erasure_for_sender
    from storage.repositories import CandidateRepository

    check_ref(ref)

    with db.transaction() as s:
        candidate = CandidateRepository(s).by_ref(ref)
        if candidate is None:
            # An erased candidate's sender ids live on only in the pending erasure (sealed):
            # an operator may still name them by the chat they used (`delete web:x --now`).
            erasure = erasure_for_sender(s, ref)
            candidate = CandidateRepository(s).by_ref(erasure.candidate_id) if erasure else None
        if candidate is None:
            _fail(f"no such candidate: {ref}", 1)
        return str(candidate.id)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


# --------------------------------------------------------------------------- commands
@privacy_app.command("export")
def export_cmd(
    candidate: CandidateArg,
    out: Annotated[Path, typer.Option("--out", help="where to write the ZIP archive")],
    reason: Annotated[str, typer.Option(help="why (written to the access log)")] = "admin export",
) -> None:
    """Write everything stored about a candidate to a ZIP archive (JSON + files)."""
    from privacy import access_log
    from privacy.export import write_export

    check_ref(candidate)
    reason = reason.strip()
    if not reason or len(reason) > 300:
        _fail("--reason must be 1–300 characters.", 2)
    settings = load_settings()
    db = _db(settings)
    candidate_id = _resolve(db, candidate)
    path = write_export(db, _files(settings, db), candidate_id, out)
    with db.transaction() as s:
        access_log.record(
            s, candidate_id, actor=_actor(), actor_kind=access_log.ADMIN, action="export",
            resource="export archive (all data)", purpose=reason,
        )  # fmt: skip
    typer.echo(f"Exported candidate {candidate_id} to {path}")


@privacy_app.command("delete")
def delete_cmd(
    candidate: CandidateArg,
    now: Annotated[bool, typer.Option("--now", help="purge at once (unless a legal hold)")] = False,
) -> None:
    """Erase a candidate: out of use at once, purged after the grace period (or --now)."""
    from privacy.erasure import erase_candidate
    from privacy.purge import run_purge
    from privacy.requests import Kind, open_request
    from privacy.tombstones import Reason, open_erasure
    from storage.models import Candidate, Erasure

    check_ref(candidate)
    settings = load_settings()
    db = _db(settings)
    candidate_id = _resolve(db, candidate)
    with db.transaction() as s:
        row = s.get(Candidate, candidate_id)
        request_id = None
        if row is not None and (row.erased_at is None or open_erasure(s, candidate_id) is None):
            request_id = open_request(s, row, Kind.ERASURE, "admin").id
    result = erase_candidate(db, settings, candidate_id, request_id, reason=Reason.ADMIN)
    if result.held:
        typer.secho(
            f"Candidate {candidate_id} is out of use, but a legal hold blocks the purge: "
            f"{result.hold_reason}",
            fg="yellow",
        )
        return
    if result.already_scheduled and not now:
        typer.echo(
            f"Already scheduled: candidate {candidate_id} is out of use; purge due "
            f"{result.due_at:%Y-%m-%d}."
        )
        return
    if not now:
        typer.echo(
            f"Candidate {candidate_id} is out of use; full purge due {result.due_at:%Y-%m-%d} "
            "(run with --now to purge at once)."
        )
        return
    moment = datetime.now(UTC)
    with db.transaction() as s:
        erasure = s.get(Erasure, result.erasure_id)
        if erasure is not None and erasure.purged_at is None:
            erasure.due_at = moment
        target = s.get(Candidate, candidate_id)
        if target is not None:
            target.purge_after = moment
    report = run_purge(db, settings, _files(settings, db), now=moment,
                       erasure_ids=[result.erasure_id], retention=False)  # fmt: skip
    if report.failed:
        _fail("Purge failed: " + "; ".join(report.errors), 1)
    if report.held:
        typer.secho("A legal hold blocks the purge; the candidate stays out of use.", fg="yellow")
        return
    typer.echo(
        f"Purged: {report.tracker_events} tracker events, {report.redis_keys} Redis keys, "
        f"{report.files} files, {report.log_lines} log lines; the tombstone remains."
    )


@privacy_app.command("hold")
def hold_cmd(
    candidate: CandidateArg,
    reason: Annotated[str, typer.Option(help="why the data must be kept (required)")],
) -> None:
    """Place a legal hold: the candidate's data is kept (not purged) until released."""
    from privacy.holds import HoldError, place_hold

    check_ref(candidate)
    settings = load_settings()
    db = _db(settings)
    candidate_id = _resolve(db, candidate)
    try:
        place_hold(db, candidate_id, reason, _actor())
    except HoldError as exc:
        _fail(f"Cannot place the hold: {exc}.", 2)
    typer.echo(f"Legal hold placed on candidate {candidate_id}.")


@privacy_app.command("release")
def release_cmd(
    candidate: CandidateArg,
    reason: Annotated[str, typer.Option(help="why the hold ends (required)")],
) -> None:
    """Release the legal hold(s) on a candidate; a pending erasure then goes ahead."""
    from privacy.holds import HoldError, release_hold

    check_ref(candidate)
    settings = load_settings()
    db = _db(settings)
    candidate_id = _resolve(db, candidate)
    try:
        released = release_hold(db, candidate_id, reason, _actor())
    except HoldError as exc:
        _fail(f"Cannot release: {exc}.", 2 if "reason" in str(exc) or "long" in str(exc) else 1)
    typer.echo(f"Released {len(released)} legal hold(s) on candidate {candidate_id}.")


@privacy_app.command("purge")
def purge_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Run the purge job now: retention rules, then every due erasure without a hold."""
    from privacy.purge import run_purge

    settings = load_settings()
    db = _db(settings)
    report = run_purge(db, settings, _files(settings, db))
    if as_json:
        _echo_json(report.to_dict())
    else:
        r = report.retention
        typer.echo(
            f"Purged {report.purged} erasures ({len(report.held)} held, {len(report.failed)} "
            f"failed). Retention: {r.get('recordings', 0)} recordings, "
            f"{r.get('applications', 0)} applications, {r.get('candidates', 0)} candidates, "
            f"{r.get('exports', 0)} exports, {r.get('decisions', 0)} decision log entries."
        )
        for error in report.errors:
            typer.secho(f"  {error}", fg="red", err=True)
    if report.failed:
        raise typer.Exit(1)


@privacy_app.command("requests")
def requests_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    include_all: Annotated[bool, typer.Option("--all", help="closed requests too")] = False,
) -> None:
    """Rights requests: open ones (overdue first, then by due date)."""
    from privacy.requests import list_requests

    db = _db(load_settings())
    with db.transaction() as s:
        views = list_requests(s, include_closed=include_all)
    if as_json:
        _echo_json([v.__dict__ for v in views])
        return
    if not views:
        typer.echo("No open requests." if not include_all else "No requests.")
    for v in views:
        flag = "OVERDUE " if v.overdue else ""
        typer.echo(f"{flag}{v.id}  {v.kind:18} {v.status:22} {v.law:5} due {v.due_at:%Y-%m-%d}  "
                   f"candidate {v.candidate_id}")  # fmt: skip


@privacy_app.command("reviews")
def reviews_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    show_statements: Annotated[
        bool, typer.Option("--statements", help="show the candidates' statements (logged)")
    ] = False,
    reason: Annotated[str, typer.Option(help="why you look (written to the access log)")] = "",
) -> None:
    """Open human reviews (AI opt-outs, decision reviews, disputed items, knockouts waiting
    for a person), oldest first. While one is open no automated rejection may happen."""
    from sqlalchemy import select

    from privacy.audit import log_admin_read
    from storage.models import HumanReview

    db = _db(load_settings())
    rows: list[dict[str, Any]] = []
    with db.transaction() as s:
        for review in s.scalars(
            select(HumanReview)
            .where(HumanReview.status == "open")
            .order_by(HumanReview.created_at, HumanReview.id)
        ):
            row = {
                "id": review.id,
                "candidate_id": review.candidate_id,
                "application_id": review.application_id,
                "reason": review.reason,
                "opened": review.created_at.isoformat(),
            }
            if show_statements:
                row["statement"] = review.statement
                log_admin_read(
                    s,
                    review.candidate_id,
                    [review.application_id] if review.application_id else [],
                    purpose="privacy reviews --statements",
                    reason=reason or None,
                    actor=_actor(),
                )
            rows.append(row)
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        typer.echo("No open reviews.")
    for row in rows:
        application = row["application_id"] or "-"
        typer.echo(f"{row['id']:>6}  {row['reason']:16} opened {row['opened'][:10]}  "
                   f"candidate {row['candidate_id']}  application {application}")  # fmt: skip
        if show_statements and row.get("statement"):
            typer.echo(f"        “{row['statement']}”")


@privacy_app.command("resolve")
def resolve_cmd(
    review_id: Annotated[str, typer.Argument(help="the review's id (parley privacy reviews)")],
    resolution: Annotated[str, typer.Option(help="what the person decided, and why (required)")],
) -> None:
    """Resolve a human review as the person who looked at it. The candidate's waiting
    request is completed; automated decisions are possible again once none is open."""
    from privacy.reviews import resolve
    from storage.models import HumanReview

    text = resolution.strip()
    if not review_id.isdigit() or len(review_id) > 18:
        _fail(f"Not a review id: {review_id[:40]!r} (a number; see `parley privacy reviews`).", 2)
    if not text or len(text) > 5000:
        _fail("--resolution must say what was decided (1–5,000 characters).", 2)
    db = _db(load_settings())
    with db.transaction() as s:
        review = s.get(HumanReview, int(review_id))
        if review is None:
            _fail(f"No review {review_id}.", 1)
        if review.status != "open":
            typer.echo(f"Review {review_id} was already resolved; nothing changed.")
            return
        resolve(s, review, by=_actor(), resolution=text)
    typer.echo(f"Review {review_id} resolved.")


@privacy_app.command("rotate-key")
def rotate_key_cmd(
    new_key_file: Annotated[
        Path | None, typer.Option(help="file with the new key (base64 of 32 bytes)")
    ] = None,
    generate: Annotated[bool, typer.Option("--generate", help="generate a new key")] = False,
) -> None:
    """Re-wrap every data key under a new master key (no data is re-encrypted)."""
    from privacy.keys import generate_master_key, read_key_file, rotate_key
    from storage.encryption import EncryptionError

    if (new_key_file is None) == (not generate):
        _fail("Give exactly one of --new-key-file FILE or --generate.", 2)
    settings = load_settings()
    if new_key_file is not None:
        try:
            new_key = read_key_file(new_key_file)
        except (OSError, ValueError) as exc:
            _fail(f"Cannot use {new_key_file}: {exc}", 2)
    else:
        new_key = generate_master_key()
    db = _db(settings)
    saved: Path | None = None
    if generate and db.keyring.master.path is None:
        # The key comes from PARLEY_MASTER_KEY: keep the new one safe *before* rotating, so
        # the operator can never end up with data wrapped under a key nobody has.
        saved = settings.var_dir / f"master.key.{new_key.key_id}"
        saved.parent.mkdir(parents=True, exist_ok=True)
        new_key.write(saved, exclusive=True)
    try:
        rotation = rotate_key(db, new_key)
    except EncryptionError as exc:
        _fail(f"Rotation refused, nothing changed: {exc}", 1)
    typer.echo(f"Re-wrapped {rotation.rewrapped} data keys: key id {rotation.old_key_id} → "
               f"{rotation.new_key_id}.")  # fmt: skip
    if rotation.key_file is not None:
        typer.echo(f"The new key is in {rotation.key_file}.")
    else:
        source = saved or new_key_file
        typer.secho(f"Set PARLEY_MASTER_KEY to the key in {source} before the next start, and "
                    "restart every Parley process.", fg="yellow")  # fmt: skip


@privacy_app.command("seal-legacy")
def seal_legacy_cmd() -> None:
    """Encrypt values written before encryption existed (idempotent)."""
    from storage.encryption import seal_legacy

    count = seal_legacy(_db(load_settings()))
    typer.echo(f"Sealed {count} legacy values.")


@notice_app.command("publish")
def notice_publish(
    version: Annotated[str, typer.Argument(help="the new version, e.g. 2027-01-15")],
    effective: Annotated[str, typer.Option(help="YYYY-MM-DD the version takes effect")],
    major: Annotated[bool, typer.Option("--major", help="candidates must re-consent")] = False,
    summary: Annotated[str, typer.Option(help="what changed, told to candidates")] = "",
    short_notice: Annotated[
        bool, typer.Option("--short-notice", help="major change with < 30 days' notice")
    ] = False,
) -> None:
    """Publish a privacy-notice version; active candidates are told on their channel."""
    from privacy.notices import NoticeError, publish

    try:
        effective_at = date.fromisoformat(effective.strip())
    except ValueError:
        _fail(f"--effective must be a date as YYYY-MM-DD, not {effective!r}.", 2)
    db = _db(load_settings())
    try:
        result = publish(db, version, effective_at, major, summary,
                         allow_short_notice=short_notice)  # fmt: skip
    except NoticeError as exc:
        _fail(str(exc), 2)
    kind = "major" if result.major else "minor"
    typer.echo(f"Published {kind} version {result.version}, effective "
               f"{result.effective_at:%Y-%m-%d}; {result.notified} candidates told.")  # fmt: skip
