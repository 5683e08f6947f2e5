"""What Slack sends us, checked and reduced to a canonical form before anything acts on it.

Why a canonical form: slack-bolt reads many optional fields of a payload while it builds its
request context (enterprise, team, user, channel, authorizations, response URLs...), and it
assumes Slack's shapes — a hostile or broken payload with a list where an object belongs makes
it raise before any of our code runs. So the gateway never hands bolt what arrived: it builds
a new body from the few fields Parley uses, each checked for type and format, and acknowledges
and drops everything else (other event types, channels, unknown interactions). The same form
is used in HTTP and Socket Mode, so both modes behave identically.

The employer side adds three shapes: the slash commands `/shortlist`, `/parley-admin` and
`/parley-override` (form fields, no `type`), submissions of its modals (`callback_id`
`employer_*`, text inputs only) and presses on its buttons (`action_id` `employer_*`).

Signatures (HTTP mode): Slack signs `v0:<timestamp>:<body>` with HMAC-SHA256 and the app's
signing secret. A request is accepted only with a valid signature and a timestamp within five
minutes of now; the caller additionally refuses a signature it has already seen (an exact
replay inside the window).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

MAX_TIMESTAMP_SKEW_S = 300

TEAM_RE = re.compile(r"^[TE][A-Z0-9]{1,30}$")
USER_RE = re.compile(r"^[UW][A-Z0-9]{1,30}$")
CHANNEL_RE = re.compile(r"^[CDG][A-Z0-9]{1,30}$")
BOT_RE = re.compile(r"^B[A-Z0-9]{1,30}$")
TS_RE = re.compile(r"^\d{1,12}\.\d{1,8}$")
ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
# Parley's own actions only: the buttons under replies, the App Home's start button and the
# employer side's buttons (shortlist rows, pages).
ACTION_ID_RE = re.compile(r"^(?:parley_button_\d{1,4}|parley_home_start|employer_[a-z_]{1,30})$")
# The employer side's slash commands and modals (bot/slack/employer/).
COMMANDS = frozenset({"/shortlist", "/parley-admin", "/parley-override"})
CALLBACK_ID_RE = re.compile(r"^employer_[a-z_]{1,30}$")
VIEW_ID_RE = re.compile(r"^V[A-Z0-9]{1,30}$")
VIEW_HASH_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
INPUT_TYPES = frozenset({"plain_text_input", "number_input"})

MAX_TEXT_CHARS = 100_000  # Slack's own limit is 40,000; `bot.inbound.prepare` says "too long"
MAX_VALUE_CHARS = 2_000  # Block Kit button value limit
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3_000
MAX_COMMAND_TEXT_CHARS = 4_000  # a slash command's arguments; longer ones read as empty
MAX_METADATA_CHARS = 3_000  # a view's private_metadata (Slack's limit)
MAX_INPUT_CHARS = 3_000  # a plain_text_input's value (Slack's limit)
MAX_VIEW_INPUTS = 10


def verify_signature(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """None when the request is authentic and fresh, else the reason (for the log)."""
    if not timestamp or not signature:
        return "unsigned"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "bad timestamp"
    if abs(now - int(timestamp)) > MAX_TIMESTAMP_SKEW_S:
        return "stale timestamp"
    if not signature.isascii() or not signature.startswith("v0="):
        return "bad signature"
    expected = sign(secret, body, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return "bad signature"
    return None


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Slack's v0 request signature of `body` sent at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _str(value: Any, pattern: re.Pattern[str] | None = None, max_len: int = 200) -> str | None:
    if not isinstance(value, str) or not value or len(value) > max_len:
        return None
    if pattern is not None and not pattern.match(value):
        return None
    return value


def _copy_ids(body: dict[str, Any], out: dict[str, Any], *keys: str) -> None:
    """Copy the optional id fields `keys` that are well-formed (the rest is left out)."""
    for key in keys:
        value = _str(body.get(key), ID_RE)
        if value is not None:
            out[key] = value


def _text(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS:
        return value
    return None


def kind(body: dict[str, Any]) -> str:
    """A short, safe description of a payload for the log (never its content)."""
    payload_type = body.get("type")
    label = payload_type if isinstance(payload_type, str) and ID_RE.match(payload_type) else "?"
    event = body.get("event")
    if isinstance(event, dict):
        event_type = event.get("type")
        if isinstance(event_type, str) and ID_RE.match(event_type):
            label += "/" + event_type
    return label


def _message_event(event: dict[str, Any]) -> dict[str, Any] | None:
    channel = _str(event.get("channel"), CHANNEL_RE)
    if channel is None:
        return None
    out: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "channel_type": _str(event.get("channel_type"), ID_RE) or "",
        "ts": _str(event.get("ts"), TS_RE) or "",
    }
    user = _str(event.get("user"), USER_RE)
    if user is not None:
        out["user"] = user
    # Slack's id of a message a person sent (a UUID): the message id Rasa's side keys on.
    client_msg_id = _str(event.get("client_msg_id"), ID_RE)
    if client_msg_id is not None:
        out["client_msg_id"] = client_msg_id
    subtype = _str(event.get("subtype"), ID_RE)
    if subtype is not None:
        out["subtype"] = subtype
    elif "subtype" in event and event["subtype"] is not None:
        out["subtype"] = "unknown"
    bot_id = event.get("bot_id")
    if bot_id is not None:  # any bot marker, well-formed or not, means "not a person"
        out["bot_id"] = _str(bot_id, BOT_RE) or "B0"
    text = _text(event.get("text"))
    if text is not None:
        out["text"] = text
    files = event.get("files")
    if isinstance(files, list) and files:
        out["files"] = len(files)
    team = _str(event.get("team"), TEAM_RE)
    if team is not None:
        out["team"] = team
    edited = event.get("message")
    if isinstance(edited, dict):
        inner: dict[str, Any] = {}
        inner_user = _str(edited.get("user"), USER_RE)
        if inner_user is not None:
            inner["user"] = inner_user
        if edited.get("bot_id") is not None:
            inner["bot_id"] = "B0"
        out["message"] = inner
    return out


def _home_event(event: dict[str, Any]) -> dict[str, Any] | None:
    user = _str(event.get("user"), USER_RE)
    if user is None:
        return None
    out: dict[str, Any] = {"type": "app_home_opened", "user": user}
    tab = _str(event.get("tab"), ID_RE)
    if tab is not None:
        out["tab"] = tab
    channel = _str(event.get("channel"), CHANNEL_RE)
    if channel is not None:
        out["channel"] = channel
    return out


_EVENTS = {"message": _message_event, "app_home_opened": _home_event}


def _event_callback(body: dict[str, Any]) -> dict[str, Any] | None:
    team = _str(body.get("team_id"), TEAM_RE)
    event_id = _str(body.get("event_id"), ID_RE)
    event = body.get("event")
    if team is None or event_id is None or not isinstance(event, dict):
        return None
    build = _EVENTS.get(event.get("type")) if isinstance(event.get("type"), str) else None
    clean_event = build(event) if build is not None else None
    if clean_event is None:
        return None
    out: dict[str, Any] = {
        "type": "event_callback",
        "team_id": team,
        "event_id": event_id,
        "event": clean_event,
    }
    _copy_ids(body, out, "api_app_id")
    event_time = body.get("event_time")
    if isinstance(event_time, int) and not isinstance(event_time, bool):
        out["event_time"] = event_time
    return out


def _sections(blocks: Any) -> list[dict[str, Any]]:
    """The text sections of a message we posted (what stays visible after a button press)."""
    kept: list[dict[str, Any]] = []
    if not isinstance(blocks, list):
        return kept
    for block in blocks[:MAX_BLOCKS]:
        if not isinstance(block, dict) or block.get("type") != "section":
            continue
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
            continue
        value = text.get("text")
        if isinstance(value, str) and 0 < len(value) <= MAX_SECTION_CHARS:
            kept.append({"type": "section", "text": {"type": text["type"], "text": value}})
    return kept


def _block_actions(body: dict[str, Any]) -> dict[str, Any] | None:
    user = body.get("user")
    team = body.get("team")
    actions = body.get("actions")
    if not isinstance(user, dict) or not isinstance(actions, list) or len(actions) != 1:
        return None
    user_id = _str(user.get("id"), USER_RE)
    # The person's own workspace (in a shared channel it differs from the app's).
    team_id = _str(user.get("team_id"), TEAM_RE)
    if team_id is None and isinstance(team, dict):
        team_id = _str(team.get("id"), TEAM_RE)
    action = actions[0]
    if user_id is None or team_id is None or not isinstance(action, dict):
        return None
    action_id = _str(action.get("action_id"), ACTION_ID_RE)
    action_ts = _str(action.get("action_ts"), TS_RE)
    if action_id is None or action_ts is None:
        return None
    value = action.get("value", "")
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        return None
    label = action.get("text")
    title = label.get("text") if isinstance(label, dict) else None
    clean_action = {
        "type": "button",
        "action_id": action_id,
        "block_id": _str(action.get("block_id"), ID_RE) or "",
        "value": value,
        "action_ts": action_ts,
        "text": {"type": "plain_text", "text": title if _str(title, max_len=200) else ""},
    }
    out: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id},
        "user": {"id": user_id, "team_id": team_id},
        "actions": [clean_action],
    }
    _copy_ids(body, out, "trigger_id", "api_app_id")
    container = body.get("container")
    channel = body.get("channel")
    channel_id = _str(channel.get("id"), CHANNEL_RE) if isinstance(channel, dict) else None
    if channel_id is None and isinstance(container, dict):
        channel_id = _str(container.get("channel_id"), CHANNEL_RE)
    if channel_id is not None:
        out["channel"] = {"id": channel_id}
    message = body.get("message")
    if isinstance(message, dict) and channel_id is not None:
        ts = _str(message.get("ts"), TS_RE)
        if ts is not None:
            text = message.get("text")
            out["message"] = {
                "ts": ts,
                "text": text if isinstance(text, str) and len(text) <= MAX_TEXT_CHARS else "",
                "blocks": _sections(message.get("blocks")),
            }
            out["container"] = {"type": "message", "channel_id": channel_id, "message_ts": ts}
    return out


def _command(body: dict[str, Any]) -> dict[str, Any] | None:
    """A slash command (`/shortlist`, `/parley-admin`, `/parley-override`): Slack posts it
    form-encoded, one field per value, with no `type`. Over-long arguments become empty ones
    (the command then shows its usage) rather than being dropped without a word."""
    command = body.get("command")
    if not isinstance(command, str) or command not in COMMANDS:
        return None
    team = _str(body.get("team_id"), TEAM_RE)
    user = _str(body.get("user_id"), USER_RE)
    trigger = _str(body.get("trigger_id"), ID_RE)
    if team is None or user is None or trigger is None:
        return None
    text = body.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_COMMAND_TEXT_CHARS:
        text = ""
    out: dict[str, Any] = {
        "command": command,
        "text": text,
        "team_id": team,
        "user_id": user,
        "trigger_id": trigger,
    }
    channel = _str(body.get("channel_id"), CHANNEL_RE)
    if channel is not None:
        out["channel_id"] = channel
    _copy_ids(body, out, "api_app_id")
    return out


def _view_values(state: Any) -> dict[str, dict[str, dict[str, Any]]] | None:
    """A modal's input values: `{block_id: {action_id: {"type", "value"}}}`, text inputs only."""
    if not isinstance(state, dict):
        return None
    values = state.get("values", {})
    if not isinstance(values, dict) or len(values) > MAX_VIEW_INPUTS:
        return None
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for block_id, actions in values.items():
        if _str(block_id, ID_RE) is None or not isinstance(actions, dict) or len(actions) != 1:
            return None
        ((action_id, element),) = actions.items()
        if _str(action_id, ID_RE) is None or not isinstance(element, dict):
            return None
        element_type = element.get("type")
        value = element.get("value")
        if element_type not in INPUT_TYPES:
            return None
        if value is not None and (not isinstance(value, str) or len(value) > MAX_INPUT_CHARS):
            return None
        out[block_id] = {action_id: {"type": element_type, "value": value}}
    return out


def _view_submission(body: dict[str, Any]) -> dict[str, Any] | None:
    """A modal of the employer side submitted (`callback_id` `employer_*`)."""
    user = body.get("user")
    team = body.get("team")
    view = body.get("view")
    if not isinstance(user, dict) or not isinstance(view, dict):
        return None
    user_id = _str(user.get("id"), USER_RE)
    team_id = _str(user.get("team_id"), TEAM_RE)
    if team_id is None and isinstance(team, dict):
        team_id = _str(team.get("id"), TEAM_RE)
    callback_id = _str(view.get("callback_id"), CALLBACK_ID_RE)
    view_id = _str(view.get("id"), VIEW_ID_RE)
    values = _view_values(view.get("state"))
    if None in (user_id, team_id, callback_id, view_id) or values is None:
        return None
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > MAX_METADATA_CHARS:
        return None
    clean_view: dict[str, Any] = {
        "id": view_id,
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "state": {"values": values},
    }
    view_hash = _str(view.get("hash"), VIEW_HASH_RE)
    if view_hash is not None:
        clean_view["hash"] = view_hash
    out: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id},
        "user": {"id": user_id, "team_id": team_id},
        "view": clean_view,
    }
    _copy_ids(body, out, "trigger_id", "api_app_id")
    return out


def canonical(body: Any) -> dict[str, Any] | None:
    """The payload reduced to what Parley handles, or None: acknowledge it and do nothing."""
    if not isinstance(body, dict):
        return None
    payload_type = body.get("type")
    if payload_type == "event_callback":
        return _event_callback(body)
    if payload_type == "block_actions":
        return _block_actions(body)
    if payload_type == "view_submission":
        return _view_submission(body)
    if payload_type is None and "command" in body:
        return _command(body)
    return None


def dedupe_key(body: dict[str, Any]) -> str | None:
    """What identifies a delivery of this (canonical) payload: Slack sends an event again when
    it got no answer in time (with X-Slack-Retry-Num), and an action delivered twice has the
    same user and action_ts. (Two presses are two actions; `SlackGateway.on_button` accepts
    only the first answer per message.) A slash command or a modal submission delivered twice
    has the same trigger id."""
    if body.get("type") == "event_callback":
        return "event:" + str(body["event_id"])
    if body.get("type") == "block_actions":
        action = body["actions"][0]
        return f"action:{body['user']['id']}:{action['action_ts']}"
    if body.get("type") == "view_submission":
        # Not the view's hash: a modal submitted again after we showed input errors keeps
        # its hash, and that second submission must be handled. Each submission has its own
        # trigger id.
        trigger = body.get("trigger_id")
        return f"view:{body['view']['id']}:{trigger}" if trigger else None
    if "command" in body:  # each invocation has its own trigger id
        return f"command:{body['trigger_id']}"
    return None
