"""Download-link tokens: random, long, stored only as a hash.

Why only a hash: the database (and its backups) must not hold anything that opens a
candidate's archive. The token is 32 random bytes (`secrets.token_urlsafe(32)`, 256 bits), so
an unsalted SHA-256 is enough — there is nothing to brute-force — and it lets the download look
the archive up by an indexed equality on the hash, which takes the same time whatever the
token is (no byte-by-byte comparison of secrets anywhere).
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, no padding.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkInvalid(LookupError):
    """No archive for this token (unknown, malformed, or already removed)."""


class LinkExpired(LookupError):
    """The link existed but has expired (the archive is deleted)."""


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed(token: str) -> bool:
    return isinstance(token, str) and TOKEN_RE.fullmatch(token) is not None


def token_hash(token: str) -> str:
    """SHA-256 hex of the token (64 characters); raises `LinkInvalid` for malformed tokens."""
    if not is_well_formed(token):
        raise LinkInvalid("malformed token")
    return hashlib.sha256(token.encode("ascii")).hexdigest()
