"""Which Rasa replica a gateway sends a person's message to.

Why consistent hashing: Rasa keeps a conversation's tracker in a shared store and serialises a
conversation's messages with a shared lock store, so any replica *can* answer any person, but
each replica also keeps caches, and two replicas answering one person's quick messages at once
wait on each other's lock. Sending every sender to the same replica ("sticky") avoids both,
and rendezvous (highest-random-weight) hashing does it without shared state: every gateway
process computes the same order from the same list of URLs, and adding or removing one of N
replicas moves only the ~1/N of senders whose first choice it is.

* Order: for each replica, score = the first 8 bytes of sha256(sender + "|" + url); the
  sender's replicas by descending score are its order. Healthy replicas come first; replicas
  marked down (a connection failed: `mark_down`) go last but are still tried when nothing
  else is left. A replica is "down" for `down_for_s` seconds, then tried again.
* Model check: replicas behind one gateway must serve the same trained model, or one
  person's answers would be understood differently depending on where they land (during a
  rolling deploy, for instance). Before a replica is first used, after it was down, and every
  `recheck_s` seconds while in use, `GET <url>/webhooks/rest/model` (rasa_ext/rest_channel.py)
  says which model it serves. The reference is `expected_model` (PARLEY_RASA_MODEL_ID) or,
  when that is empty, the model id most checked replicas serve (last known ids count, so a
  replica going down does not flip the majority; ties go to the model of the first URL in the
  list). A replica serving another model is "drained": left out of every order, and logged
  once with its URL and both ids. A replica that cannot answer the check counts as down; one
  whose REST channel has no model route (HTTP 404) reports no id and is only used while no
  replica reports one.
* With a single replica and no expected model there is nothing to compare, so no check is
  made at all (one replica, one model).

Nothing personal is logged: URLs and model ids only, never a sender.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

logger = logging.getLogger("parley.replicas")

MODEL_PATH = "/webhooks/rest/model"
CHECK_TIMEOUT_S = 5.0


def score(sender: str, url: str) -> int:
    """The rendezvous weight of `url` for `sender` (stable across processes and restarts)."""
    digest = hashlib.sha256(f"{sender}|{url}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass
class _Replica:
    url: str
    down_until: float = 0.0  # monotonic time until which the replica counts as down
    checked_at: float | None = None  # None: must be checked before it is used
    model_id: str | None = None  # None: never checked; "": it answered but did not say
    drain_logged: tuple[str, str] | None = None  # (its model, the reference) last logged


class ReplicaSet:
    """The Rasa replicas one gateway routes to, with their health and model state."""

    def __init__(
        self,
        urls: str | Sequence[str],
        expected_model: str = "",
        down_for_s: float = 2.0,
        *,
        recheck_s: float = 30.0,
        check_timeout_s: float = CHECK_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        listed = [urls] if isinstance(urls, str) else list(urls)
        cleaned: list[str] = []
        for url in listed:
            url = url.strip().rstrip("/")
            if url and url not in cleaned:
                cleaned.append(url)
        if not cleaned:
            raise ValueError("at least one Rasa URL is needed")
        self._replicas = {url: _Replica(url) for url in cleaned}
        self.expected_model = expected_model.strip()
        self.down_for_s = down_for_s
        self.recheck_s = recheck_s
        self.check_timeout_s = check_timeout_s
        self._clock = clock
        self._refreshing: asyncio.Lock | None = None

    @property
    def urls(self) -> list[str]:
        """Every configured replica, in the configured order."""
        return list(self._replicas)

    def __len__(self) -> int:
        return len(self._replicas)

    # ---- health -------------------------------------------------------------------------

    def is_down(self, url: str) -> bool:
        return self._replicas[url].down_until > self._clock()

    def mark_down(self, url: str) -> None:
        """The replica failed a connection (or died mid-request): it goes to the end of every
        order for `down_for_s` seconds and is checked again before it is next used."""
        replica = self._replicas[url]
        if replica.down_until <= self._clock():
            logger.warning("rasa replica %s is down; routing around it", url)
        replica.down_until = self._clock() + self.down_for_s
        replica.checked_at = None

    def mark_up(self, url: str) -> None:
        """The replica answered."""
        self._replicas[url].down_until = 0.0

    # ---- models -------------------------------------------------------------------------

    @property
    def checks_models(self) -> bool:
        """Whether model ids are compared at all (see the module docstring)."""
        return bool(self.expected_model) or len(self._replicas) > 1

    def reference_model(self) -> str:
        """The model every replica should serve: the expected one, else the majority's
        ("" when no replica has said which model it serves)."""
        if self.expected_model:
            return self.expected_model
        ids = [r.model_id for r in self._replicas.values() if r.model_id]
        if not ids:
            return ""
        counts = Counter(ids)
        best = max(counts.values())
        return next(model for model in ids if counts[model] == best)  # ids are in URL order

    def is_drained(self, url: str) -> bool:
        """Serves a model other than the reference (or does not say, while others do)."""
        if not self.checks_models:
            return False
        model = self._replicas[url].model_id
        if model is None:  # not checked yet: it will be, before it is used
            return False
        reference = self.reference_model()
        return bool(reference) and model != reference

    def needs_check(self, url: str) -> bool:
        if not self.checks_models:
            return False
        checked_at = self._replicas[url].checked_at
        return checked_at is None or self._clock() - checked_at >= self.recheck_s

    async def check(self, url: str, http: httpx.AsyncClient, *, log: bool = True) -> bool:
        """Ask the replica which model it serves; True when it may be used. A replica that
        cannot answer is marked down. `log=False`: the caller logs drains once all checks
        of a round are in (a half-known majority would log a wrong drain)."""
        replica = self._replicas[url]
        try:
            response = await http.get(url + MODEL_PATH, timeout=self.check_timeout_s)
        except httpx.HTTPError as exc:
            logger.warning("rasa replica %s: model check failed (%s)", url, type(exc).__name__)
            self.mark_down(url)
            return False
        if response.status_code == 404:  # a REST channel without the model route
            model = ""
        elif response.status_code != 200:  # 503: no model loaded yet
            logger.warning("rasa replica %s: model check got HTTP %d", url, response.status_code)
            self.mark_down(url)
            return False
        else:
            try:
                data = response.json()
                model = data.get("model_id") if isinstance(data, dict) else None
            except ValueError:
                model = None
            model = model if isinstance(model, str) else ""
        replica.model_id = model
        replica.checked_at = self._clock()
        self.mark_up(url)
        if log:
            self._log_drains()
        return not self.is_drained(url)

    async def refresh(self, http: httpx.AsyncClient) -> None:
        """Check every replica that needs it and is not down (at once, one refresh at a time),
        so the majority is known before a first message is routed."""
        if not self.checks_models:
            return
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:
            due = [u for u in self._replicas if self.needs_check(u) and not self.is_down(u)]
            if due:
                await asyncio.gather(*(self.check(u, http, log=False) for u in due))
                self._log_drains()

    def _log_drains(self) -> None:
        reference = self.reference_model()
        for replica in self._replicas.values():
            if self.is_drained(replica.url):
                state = (replica.model_id or "", reference)
                if replica.drain_logged != state:
                    replica.drain_logged = state
                    logger.warning(
                        "rasa replica %s serves model %r, not %r: not routed to (drained)",
                        replica.url,
                        replica.model_id or "(none reported)",
                        reference,
                    )
            elif replica.drain_logged is not None:
                replica.drain_logged = None
                logger.info(
                    "rasa replica %s serves model %r again: routed to", replica.url, reference
                )

    # ---- routing ------------------------------------------------------------------------

    def order(self, sender: str) -> list[str]:
        """The replicas to try for `sender`, best first: its rendezvous order, healthy ones
        before those marked down; drained replicas are left out."""
        usable = [u for u in self._replicas if not self.is_drained(u)]
        ranked = sorted(usable, key=lambda u: score(sender, u), reverse=True)
        return [u for u in ranked if not self.is_down(u)] + [u for u in ranked if self.is_down(u)]
