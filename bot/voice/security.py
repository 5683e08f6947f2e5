"""Is this request really from Twilio, and is it new?

Every webhook carries `X-Twilio-Signature`: an HMAC of the full URL Twilio requested plus the
POST parameters, keyed with the account's auth token. We check it with twilio's own
`RequestValidator` against the *configured public URL* (behind a proxy or tunnel the URL we
see is not the one Twilio signed). A forged, unsigned or wrongly signed request gets 403.

Replays: Twilio webhooks carry no timestamp, so a captured request could be sent again. Each
signature is accepted once (a Twilio retry of a request we answered is recognised by its
`I-Twilio-Idempotency-Token` and gets the same answer again, nothing is redone); the turn
URLs also carry a single-use token. The memory is per process and bounded (README, "Phone").
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping

from twilio.request_validator import RequestValidator

REPLAY_WINDOW_S = 24 * 3600
MAX_REMEMBERED = 100_000


class SignatureCheck:
    def __init__(self, auth_token: str, public_url: str) -> None:
        self._validator = RequestValidator(auth_token)
        self._base = public_url.rstrip("/")

    def url_for(self, path_qs: str) -> str:
        """The URL Twilio requested, as Twilio saw it."""
        return self._base + path_qs

    def valid(self, path_qs: str, params: Mapping[str, str], signature: str | None) -> bool:
        if not signature:
            return False
        try:
            return bool(self._validator.validate(self.url_for(path_qs), dict(params), signature))
        except Exception:  # malformed input to the validator is simply not valid
            return False

    def sign(self, path_qs: str, params: Mapping[str, str]) -> str:
        """The signature Twilio would send (used by `parley call` tests and the stand-in)."""
        return self._validator.compute_signature(self.url_for(path_qs), dict(params))


class ReplayGuard:
    """Remembers accepted signatures for a day; answers a retry with the first answer."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S, limit: int = MAX_REMEMBERED) -> None:
        self._seen: OrderedDict[str, tuple[float, str, str | None]] = OrderedDict()
        self._window = window_s
        self._limit = limit

    @staticmethod
    def _key(signature: str) -> str:
        return hashlib.sha256(signature.encode()).hexdigest()

    def check(self, signature: str, idempotency: str | None) -> tuple[bool, str | None]:
        """(fresh, earlier answer): fresh requests go on; a retry gets the earlier answer;
        anything else seen before is a replay (False, None)."""
        now = time.monotonic()
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if now - oldest[0] <= self._window and len(self._seen) <= self._limit:
                break
            self._seen.popitem(last=False)
        found = self._seen.get(self._key(signature))
        if found is None:
            return True, None
        _, answer, token = found
        if idempotency and token == idempotency and answer:
            return False, answer
        return False, None

    def remember(self, signature: str, idempotency: str | None, answer: str = "") -> None:
        self._seen[self._key(signature)] = (time.monotonic(), answer, idempotency)
