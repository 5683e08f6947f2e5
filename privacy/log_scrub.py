"""Scrub an erased person from the log files under `settings.log_dir`.

Our own code never logs personal data, but Rasa's and the web server's logs can carry sender
ids and, at debug level, message text. The purge replaces every line that mentions one of the
person's identifiers or texts with a redaction marker.

Why in place and length-preserving rather than write-a-copy-and-rename: the running processes
(Rasa, the action server, the gateways) hold their log files open in append mode. Renaming a
scrubbed copy over the file would leave them writing into the unlinked old file, so every
later log line would be lost. Overwriting each offending line with a marker of exactly the
same byte length keeps the file, its size and every other byte as they are, so concurrent
appends are unaffected, and each line is replaced whole or not at all (a crash midway leaves
a partly scrubbed file that the next run finishes). Compressed rotated logs (`*.gz`) are not
written by anyone, so they are rewritten to a temporary file and renamed atomically.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

MARKER = b"[redacted: personal data erased]"
SHORT_MARKER = b"[redacted]"


def needle_variants(values: Iterable[str], min_length: int) -> set[str]:
    """Lower-cased search strings for these values, also as JSON-escaped (logs often hold
    JSON, where "é" is written "\\u00e9" and quotes are escaped). Lines of multi-line values
    count separately; values shorter than `min_length` would match too much and are dropped."""
    out: set[str] = set()
    for value in values:
        for line in str(value or "").splitlines():
            text = line.strip()
            if len(text) < min_length:
                continue
            out.add(text.lower())
            escaped = json.dumps(text)[1:-1]
            if escaped != text:
                out.add(escaped.lower())
    return out


def redacted(line: bytes) -> bytes:
    """A marker as long as `line` (newline excluded), so the file keeps its byte length."""
    for marker in (MARKER, SHORT_MARKER):
        if len(line) >= len(marker):
            return marker + b"." * (len(line) - len(marker))
    return b"#" * len(line)


def _mentions(line: bytes, needles: set[str]) -> bool:
    if line.startswith(SHORT_MARKER[:-1]) or (line and line.strip(b"#") == b""):
        return False  # already redacted
    text = line.decode("utf-8", "replace").lower()
    return any(n in text for n in needles)


def scrub_file(path: Path, needles: set[str]) -> int:
    """Redact the lines of one plain log file that mention a needle; returns their number."""
    edits: list[tuple[int, bytes]] = []
    with open(path, "rb") as src:
        size = os.fstat(src.fileno()).st_size  # lines appended meanwhile are newer
        offset = 0
        for line in src:
            if offset >= size:
                break
            body = line[:-1] if line.endswith(b"\n") else line
            if body.endswith(b"\r"):
                body = body[:-1]
            if _mentions(body, needles):
                edits.append((offset, redacted(body)))
            offset += len(line)
    if edits:
        fd = os.open(path, os.O_WRONLY)
        try:
            for at, data in edits:
                os.pwrite(fd, data, at)
            os.fsync(fd)
        finally:
            os.close(fd)
    return len(edits)


def scrub_gzip(path: Path, needles: set[str]) -> int:
    count = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".scrub-", suffix=".gz")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.open(raw, "wb") as out, gzip.open(path, "rb") as src:
            for line in src:
                body = line.rstrip(b"\r\n")
                if _mentions(body, needles):
                    out.write(redacted(body) + line[len(body) :])
                    count += 1
                else:
                    out.write(line)
        if count:
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return count


def scrub_logs(log_dir: Path, needles: set[str]) -> int:
    """Scrub every regular file under `log_dir`; returns the number of lines redacted."""
    if not needles or not log_dir.is_dir():
        return 0
    total = 0
    for path in sorted(log_dir.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.name.startswith(".scrub-"):
            continue
        if path.suffix == ".gz":
            total += scrub_gzip(path, needles)
        else:
            total += scrub_file(path, needles)
    return total
