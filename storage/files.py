"""The encrypted file store: recordings, transcripts and export archives, per candidate.

Files live under `root/<candidate id>/<name>` and are sealed (AES-256-GCM) with the
candidate's data key, the associated data naming the file's ref, so a file moved to another
name or candidate does not decrypt. Deleting the candidate's key row (crypto-shredding)
makes every file unreadable, copies and backups included: `read` then raises `KeyShredded`.

Writes are atomic (a temporary file in the same folder, fsync'ed, renamed over the target):
a crash never leaves a half-written file under a real name.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from pathlib import Path

from storage.db import Database
from storage.encryption import (
    KeyShredded,
    TokenError,
    candidate_cipher,
    file_aad,
    seal_bytes,
    unseal_bytes,
)
from storage.models import Candidate

MAGIC = b"PKF1"  # file format version
_CANDIDATE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TMP_PREFIX = ".tmp-"


def _check_candidate(candidate_id: str) -> str:
    if not isinstance(candidate_id, str) or not _CANDIDATE.fullmatch(candidate_id):
        raise ValueError("invalid candidate id for the file store")
    return candidate_id


def _check_name(name: str) -> str:
    """One file name, optionally under one sub-folder ("recordings/12.wav"): safe characters
    only, no "..", no absolute path, no hidden files."""
    if not isinstance(name, str) or not name or len(name) > 260:
        raise ValueError("invalid file name")
    parts = name.split("/")
    if len(parts) > 2 or any(not _SEGMENT.fullmatch(p) or ".." in p for p in parts):
        raise ValueError(f"invalid file name: {name!r}")
    return name


class FileStore:
    """Per-candidate encrypted files under `root`."""

    def __init__(self, root: Path, db: Database) -> None:
        self.root = Path(root)
        self.db = db

    # ---- refs
    def _parse(self, ref: str) -> tuple[str, str, Path]:
        if not isinstance(ref, str) or "/" not in ref:
            raise ValueError("invalid file ref")
        candidate_id, name = ref.split("/", 1)
        _check_candidate(candidate_id)
        _check_name(name)
        return candidate_id, name, self.root / candidate_id / name

    # ---- operations
    def write(self, candidate_id: str, name: str, data: bytes) -> str:
        """Store `data` encrypted; returns the ref "<candidate_id>/<name>" (replaces a file
        of the same name)."""
        _check_candidate(candidate_id)
        _check_name(name)
        ref = f"{candidate_id}/{name}"
        with self.db.transaction() as s:
            if s.get(Candidate, candidate_id) is None:
                raise ValueError("unknown candidate")
            cipher = candidate_cipher(s, candidate_id, create=True)
        assert cipher is not None
        blob = MAGIC + seal_bytes(cipher, bytes(data), file_aad(candidate_id, ref))
        path = self.root / candidate_id / name
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP_PREFIX}{path.name}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return ref

    def read(self, ref: str) -> bytes:
        """The decrypted content. FileNotFoundError if the file is gone, KeyShredded if the
        candidate's data key was deleted (or the file was sealed under a deleted key)."""
        candidate_id, _name, path = self._parse(ref)
        if not path.is_file():
            raise FileNotFoundError(ref)
        blob = path.read_bytes()
        with self.db.transaction() as s:
            cipher = candidate_cipher(s, candidate_id)
        if cipher is None:
            raise KeyShredded(f"the data key of candidate {candidate_id} is gone: {ref}")
        if not blob.startswith(MAGIC):
            raise ValueError(f"not a file of this store: {ref}")
        try:
            return unseal_bytes(cipher, blob[len(MAGIC) :], file_aad(candidate_id, ref))
        except TokenError:
            raise KeyShredded(
                f"{ref} does not decrypt with the candidate's current data key "
                "(sealed under a deleted key, or tampered with)"
            ) from None

    def delete(self, ref: str) -> bool:
        """Remove one file; False if it was not there."""
        _candidate_id, _name, path = self._parse(ref)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        parent = path.parent
        if parent != self.root / _candidate_id:
            with contextlib.suppress(OSError):
                parent.rmdir()  # an emptied sub-folder
        return True

    def refs_for(self, candidate_id: str) -> list[str]:
        """Every file ref of the candidate, sorted."""
        base = self.root / _check_candidate(candidate_id)
        if not base.is_dir():
            return []
        return sorted(
            f"{candidate_id}/{p.relative_to(base).as_posix()}"
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(_TMP_PREFIX)
        )

    def delete_candidate(self, candidate_id: str) -> int:
        """Remove every file of the candidate (and leftover temporary files); returns the
        number of files removed."""
        base = self.root / _check_candidate(candidate_id)
        if not base.is_dir():
            return 0
        count = len(self.refs_for(candidate_id))
        shutil.rmtree(base)
        return count
