"""Rasa's REST channel, passing on the request's `metadata` (Rasa's own drops it).

Why: gateways know things about a message that the action server needs and that are not its
text. Only gateways reach Rasa's REST port (bound to 127.0.0.1 by `parley run`), and only two
keys are passed on, each checked, so a message cannot smuggle in anything else:

* `speech`: the phone gateway sends a spoken answer's transcript with its speech confidence
  and the ref of the kept recording; the action server stores them with the answer (the
  scorer's insufficient-data guard uses the confidence). An object of at most 2 KB.
* `timezone`: the person's IANA time zone as the web page's browser or their Slack profile
  reports it ("Europe/Berlin"); the scheduling dialogue offers it as a guess the person
  confirms. A string of at most 64 characters matching `TIMEZONE_RE`.

Anything else under `metadata` is dropped; when neither key is valid there is no metadata.
The channel keeps the name "rest", so its URL stays /webhooks/rest/webhook.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request

MAX_METADATA_BYTES = 2048
TIMEZONE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{1,63}$")


def _speech(metadata: dict[str, Any]) -> dict[str, Any] | None:
    speech = metadata.get("speech")
    if not isinstance(speech, dict):
        return None
    if len(json.dumps(speech, default=str)) > MAX_METADATA_BYTES:
        return None
    return speech


def _timezone(metadata: dict[str, Any]) -> str | None:
    zone = metadata.get("timezone")
    if not isinstance(zone, str) or not TIMEZONE_RE.match(zone):
        return None
    return zone


class MetadataRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        if not isinstance(metadata, dict):
            return None
        passed: dict[str, Any] = {}
        speech = _speech(metadata)
        if speech is not None:
            passed["speech"] = speech
        zone = _timezone(metadata)
        if zone is not None:
            passed["timezone"] = zone
        return passed or None
