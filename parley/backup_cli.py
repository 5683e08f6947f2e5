"""`parley backup …`: backups that never store data keys together with data.

`create` writes a data backup (the database without `candidate_keys`) and a key backup (the
wrapped data keys) into one folder; `prune` deletes key and data backups older than the
purge delay, which is what makes an erased candidate's data unreadable in every backup after
that many days; `restore` puts a data backup and a key backup back together (see storage/backup.py).

Exit codes: 0 done; 1 the operation failed (pg_dump missing or failing, a master key that
does not match); 2 bad input (a missing folder, a file that is not a backup, a wrong target).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from parley.settings import Settings, load_settings

backup_app = typer.Typer(
    help="Backups: data and data keys kept apart, so erasures reach the backups too.",
    no_args_is_help=True,
)


def _fail(message: str, code: int) -> NoReturn:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(code)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _handle(exc: Exception) -> NoReturn:
    """Bad input exits 2; anything else that failed (pg_dump, MasterKeyMismatch) exits 1."""
    from storage.backup import BackupInputError

    _fail(str(exc), 2 if isinstance(exc, BackupInputError) else 1)


def _db(settings: Settings) -> Any:
    """The app database as it is (not migrated: a backup copies what is there)."""
    from storage.db import Database
    from storage.encryption import EncryptionError, Keyring

    try:
        return Database(settings.database_url, Keyring.load(settings))
    except (EncryptionError, ValueError) as exc:
        _fail(str(exc), 1)


@backup_app.command("create")
def create_cmd(
    out: Annotated[Path, typer.Option("--out", help="folder for the backup files")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write a data backup (no data keys) and a key backup (wrapped data keys) into --out."""
    from storage.backup import BackupError, create_backup, default_keep_days
    from storage.encryption import EncryptionError

    settings = load_settings()
    try:
        default_keep_days(settings)  # a malformed PARLEY_KEY_BACKUP_DAYS fails before any work
    except BackupError as exc:
        _handle(exc)
    db = _db(settings)
    try:
        result = create_backup(db, settings, out)
    except (BackupError, EncryptionError) as exc:  # MasterKeyMismatch: a rotation meanwhile
        _handle(exc)
    finally:
        db.dispose()
    if as_json:
        _echo_json(result.to_dict())
        return
    typer.echo(f"Data backup: {result.data_path} ({result.candidates} candidates, no data keys)")
    typer.echo(f"Key backup:  {result.key_path} ({result.keys} data keys, mode 0600)")
    typer.echo(
        "Store key backups apart from data backups, and run `parley backup prune` daily: "
        f"backups older than {default_keep_days(settings)} days must be deleted everywhere."
    )


@backup_app.command("prune")
def prune_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="the backup folder")],
    keep_days: Annotated[
        int | None,
        typer.Option("--keep-days", help="default: PARLEY_KEY_BACKUP_DAYS, else the purge delay"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete key and data backups older than --keep-days (the purge delay by default)."""
    from storage.backup import BackupError, default_keep_days, prune_backups

    try:
        days = default_keep_days(load_settings()) if keep_days is None else keep_days
        removed = prune_backups(directory, days)
    except BackupError as exc:
        _handle(exc)
    if as_json:
        _echo_json({"removed": removed, "keep_days": days, "dir": str(directory)})
        return
    typer.echo(f"Removed {removed} backup files older than {days} days from {directory}.")


@backup_app.command("restore")
def restore_cmd(
    data: Annotated[Path, typer.Option("--data", help="a data backup (parley-*.db / .dump)")],
    keys: Annotated[Path, typer.Option("--keys", help="a key backup (keys-*.json)")],
    to: Annotated[str, typer.Option("--to", help="target database URL")],
    replace: Annotated[
        bool, typer.Option("--replace", help="replace an existing SQLite database (stop Parley)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore a data backup with a key backup into --to (use the newest key backup)."""
    from storage.backup import BackupError, restore_backup
    from storage.encryption import EncryptionError, Keyring

    settings = load_settings()
    try:
        keyring = Keyring.load(settings)
        result = restore_backup(data, keys, to, keyring=keyring, replace=replace)
    except (BackupError, EncryptionError, ValueError) as exc:
        _handle(exc)
    reapplied = _reapply(settings, to, keyring, result.reapply) if result.reapply else 0
    if as_json:
        _echo_json({**result.to_dict(), "reapplied": reapplied})
        return
    typer.echo(
        f"Restored into {result.target}: {result.candidates} candidates, "
        f"{result.keys_restored} data keys."
    )
    if result.erased_removed:
        typer.echo(f"Removed {result.erased_removed} candidates whose erasure had been purged.")
    if result.candidates_without_key:
        typer.secho(
            f"{result.candidates_without_key} candidates have no key in this key backup: "
            "their personal data stays unreadable (use a key backup made with or after the "
            "data backup).",
            fg="yellow",
        )
    if reapplied:
        typer.echo(f"Re-applied {reapplied} erasures that were pending in the replaced database.")
    typer.echo(
        "Now run `parley privacy purge` against the restored database: it finishes the "
        "erasures that are due."
    )


def _reapply(settings: Settings, url: str, keyring: Any, items: list[Any]) -> int:
    """Erasures pending in the replaced database but not in the backup: take the candidates
    out of use again, keeping the original due date when it was earlier."""
    import dataclasses

    from sqlalchemy import select

    from privacy.erasure import erase_candidate
    from storage.db import Database
    from storage.models import Candidate, Erasure

    db = Database(url, keyring)
    try:
        target = dataclasses.replace(settings, database_url=db.url)
        for item in items:
            result = erase_candidate(db, target, item.candidate_id, reason=item.reason)
            if item.due_at < result.due_at:
                with db.transaction() as s:
                    erasure = s.scalar(select(Erasure).where(Erasure.id == result.erasure_id))
                    candidate = s.get(Candidate, item.candidate_id)
                    if erasure is not None:
                        erasure.due_at = item.due_at
                    if candidate is not None:
                        candidate.purge_after = item.due_at
    finally:
        db.dispose()
    return len(items)
