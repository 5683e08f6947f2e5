"""Let rasa-sdk 3.21 run actions that Rasa 3.6 calls without the domain.

Why: with every action call Rasa sends its whole domain (every intent, slot, form and
response) unless `enable_selective_domain` is on in endpoints.yml, and serialising and parsing
it on both sides was a large share of each turn's cost — more so as the privacy intents grew
the domain. No Parley action reads the domain (the form's required slot comes from the
database). rasa-sdk 3.21, however, answers a call without a domain with HTTP 449 "missing
domain context", expecting the newer Rasa to retry with it; Rasa 3.6 never sends the
`domain_digest` that protocol relies on and does not retry. So a call that carries neither a
domain nor a digest (only Rasa 3.6 sends those) gets the last domain seen, or an empty one.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import ActionExecutor

_original = ActionExecutor.update_and_return_domain


def _domain_optional(self: ActionExecutor, payload: dict[str, Any], action_name: str) -> Any:
    if payload.get("domain") is None and payload.get("domain_digest") is None:
        return self.domain or {}
    return _original(self, payload, action_name)


def install() -> None:
    """Idempotent: patch the executor once per process."""
    if ActionExecutor.update_and_return_domain is not _domain_optional:
        ActionExecutor.update_and_return_domain = _domain_optional  # type: ignore[method-assign]
