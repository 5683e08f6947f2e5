"""Rasa's REST channel, passing on the request's `metadata` (Rasa's own drops it).

Why: the phone gateway sends a spoken answer's transcript with its speech confidence and the
ref of the kept recording; the action server reads them from the user event's metadata and
stores them with the answer (the scorer's insufficient-data guard uses the confidence).
Only gateways reach Rasa's REST port (bound to 127.0.0.1 by `parley run`), and only objects
under the `speech` key of at most 2 KB are passed on, so a message cannot smuggle in more.
The channel keeps the name "rest", so its URL stays /webhooks/rest/webhook.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.request import Request

MAX_METADATA_BYTES = 2048


class MetadataRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        body = request.json if isinstance(request.json, dict) else {}
        metadata = body.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("speech"), dict):
            return None
        speech = metadata["speech"]
        if len(json.dumps(speech, default=str)) > MAX_METADATA_BYTES:
            return None
        return {"speech": speech}
