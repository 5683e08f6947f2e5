"""A local stand-in for Slack: its Web API, Socket Mode, and signed Events API requests.

Used by the tests (Slack itself is unreachable from here). It speaks Slack's wire formats:

* Web API at `POST /api/<method>` (JSON or form bodies, or query parameters; `GET` too, as
  slack_sdk sends read methods; the token as `Authorization: Bearer` or a `token` field):
  `auth.test`, `chat.postMessage`, `chat.update`, `views.publish`, `conversations.open`,
  `apps.connections.open`, `users.info` (with each user's `tz`: `set_timezone()`), and the
  three steps of a file upload as `files_upload_v2` makes them: `files.getUploadURLExternal`
  (an upload URL on this server), the POST of the bytes to it, `files.completeUploadExternal`
  (the file is shared into a channel and kept: `shared_files()`); any other method answers
  `ok: true`. A wrong
  token gets `{"ok": false, "error": "invalid_auth"}` (HTTP 200, like Slack); `ratelimit(n)`
  makes the next n calls answer 429 `ratelimited` with `Retry-After`; `fail(method, error)`
  makes a method's next call fail with that error code. Every call is recorded.
* Socket Mode: `apps.connections.open` (app-level token only) returns a `ws://` URL on this
  server; a connection gets `hello`, then the envelopes pushed with `push()`; the client's
  acknowledgements are recorded by `envelope_id`.
* Events API: `sign()` / `post_event()` sign a body with the signing secret exactly as Slack
  does (v0, HMAC-SHA256 over `v0:<timestamp>:<body>`) and POST it to a gateway.

`views.open` / `views.update` answer with the view (an id, a hash) and keep each view's
latest content (`views`); `chat.postEphemeral` is recorded like every call. Slash commands
are form posts (`slash_command()` fields, sent signed by `post_form()`).

Builders (`message_event`, `home_opened`, `block_actions`, `slash_command`,
`view_submission`) make realistic payloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

TEAM_ID = "T0PARLEY1"
TEAM_NAME = "Parley Test"
BOT_USER_ID = "U0PARLEYBOT"
BOT_ID = "B0PARLEYBOT"
BOT_NAME = "parley"
APP_ID = "A0PARLEY1"


DEFAULT_TIMEZONE = "America/Los_Angeles"  # a user the test did not configure


@dataclass
class SharedFile:
    """A file uploaded and shared into a channel (files.completeUploadExternal)."""

    file_id: str
    channel: str
    filename: str
    title: str
    data: bytes
    initial_comment: str = ""


@dataclass
class _Upload:
    filename: str
    length: int
    data: bytes | None = None


@dataclass
class Call:
    """One Web API call as received."""

    method: str
    token: str | None
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


def sign(secret: str, body: bytes, timestamp: int | str) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackStandIn:
    """Slack's side, on a free 127.0.0.1 port in the running event loop."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-bot-token",
        app_token: str = "xapp-test-app-token",
        signing_secret: str = "test-signing-secret-0123456789",
        team_id: str = TEAM_ID,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.calls: list[Call] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.port = 0
        self._rate_limited = 0
        self._failures: dict[str, list[str]] = {}
        self.retry_after_s = 0
        self._ts = itertools.count(1)
        self.timezones: dict[str, str | None] = {}  # user id -> tz (None: no tz in the profile)
        self.shared: list[SharedFile] = []
        self.views: dict[str, dict[str, Any]] = {}  # view id -> latest content (views.open/update)
        self.upload_statuses: list[int] = []  # HTTP status of each POST to an upload URL
        self._uploads: dict[str, _Upload] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._connected = asyncio.Event()

    # ---- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    async def start(self) -> SlackStandIn:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket-mode", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        for address in self._runner.addresses:
            self.port = int(address[1])
            break
        return self

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- control

    def ratelimit(self, count: int = 1, retry_after_s: int = 0) -> None:
        """The next `count` Web API calls answer 429 ratelimited with Retry-After."""
        self._rate_limited = count
        self.retry_after_s = retry_after_s

    def fail(self, method: str, error: str, count: int = 1) -> None:
        """The next `count` calls of `method` answer `{"ok": false, "error": error}`."""
        self._failures.setdefault(method, []).extend([error] * count)

    def set_timezone(self, user: str, tz: str | None) -> None:
        """What users.info reports as `user`'s `tz` (None: the profile has none)."""
        self.timezones[user] = tz

    def shared_files(self, channel: str | None = None) -> list[SharedFile]:
        return [f for f in self.shared if channel is None or f.channel == channel]

    async def wait_shared(
        self, count: int, channel: str | None = None, timeout: float = 10.0
    ) -> list[SharedFile]:
        await self.wait_for(lambda: len(self.shared_files(channel)) >= count, timeout)
        return self.shared_files(channel)

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def posted(self, channel: str | None = None) -> list[str]:
        """Texts of the messages posted (optionally to one channel)."""
        return [
            str(c.args.get("text", ""))
            for c in self.calls_of("chat.postMessage")
            if channel is None or c.args.get("channel") == channel
        ]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02
    ) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the stand-in did not see what was expected in time")
            await asyncio.sleep(interval)

    async def wait_posted(self, count: int, channel: str | None = None, timeout: float = 10.0):
        await self.wait_for(lambda: len(self.posted(channel)) >= count, timeout)
        return self.posted(channel)

    # ---- Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        args: dict[str, Any] = dict(request.query)
        mime = request.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            if mime == "application/json" and raw:
                loaded = json.loads(raw)
                args.update(loaded if isinstance(loaded, dict) else {})
            elif raw:
                args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        for key in ("blocks", "view"):  # form bodies carry these as JSON strings
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else args.pop("token", None)
        call = Call(method, token, args)
        self.calls.append(call)
        if self._rate_limited > 0:
            self._rate_limited -= 1
            call.status = 429
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self.retry_after_s)},
            )
        failures = self._failures.get(method)
        if failures:
            call.status = 400
            return web.json_response({"ok": False, "error": failures.pop(0)})
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            ticket = secrets.token_urlsafe(8)
            return web.json_response(
                {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}"}
            )
        if token != self.bot_token:
            return web.json_response(
                {"ok": False, "error": "invalid_auth" if token else "not_authed"}
            )
        call.response = self._answer(method, args)
        return web.json_response(call.response)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://parley-test.slack.com/",
                "team": TEAM_NAME,
                "user": BOT_NAME,
                "team_id": self.team_id,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            channel = args.get("channel")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"type": "message", "text": args.get("text", ""), "ts": ts},
            }
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "views.publish":
            if not args.get("user_id") or not isinstance(args.get("view"), dict):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": {"id": "V" + secrets.token_hex(4).upper()}}
        if method == "conversations.open":
            users = str(args.get("users", ""))
            if not users:
                return {"ok": False, "error": "users_list_not_supplied"}
            return {"ok": True, "channel": {"id": "D" + users.split(",")[0].lstrip("UW")}}
        if method == "users.info":
            return self._user_info(str(args.get("user", "")))
        if method == "views.open":
            if not args.get("trigger_id") or not isinstance(args.get("view"), dict):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": self._view(args["view"])}
        if method == "views.update":
            view_id = args.get("view_id")
            if not view_id or not isinstance(args.get("view"), dict):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "view": self._view(args["view"], str(view_id))}
        if method == "chat.postEphemeral":
            if not args.get("channel") or not args.get("user"):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"}
        if method == "files.getUploadURLExternal":
            return self._upload_url(args)
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        return {"ok": True}

    def _view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        """A modal as views.open / views.update return it (with its id and a fresh hash);
        the latest content of each view is kept (`views`)."""
        view_id = view_id or "V" + secrets.token_hex(5).upper()
        opened = {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = opened
        return opened

    def _user_info(self, user: str) -> dict[str, Any]:
        if not user or user[0] not in "UW":
            return {"ok": False, "error": "user_not_found"}
        profile: dict[str, Any] = {
            "id": user,
            "team_id": self.team_id,
            "name": "someone",
            "deleted": False,
            "is_bot": False,
            "profile": {"display_name": "someone"},
        }
        tz = self.timezones.get(user, DEFAULT_TIMEZONE)
        if tz is not None:
            profile.update({"tz": tz, "tz_label": tz, "tz_offset": 0})
        return {"ok": True, "user": profile}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = str(args.get("filename", ""))
        try:
            length = int(args.get("length", ""))
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + secrets.token_hex(5).upper()
        self._uploads[file_id] = _Upload(filename, length)
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL: the file's bytes as the body (no token: the URL is the secret)."""
        pending = self._uploads.get(request.match_info["file_id"])
        data = await request.read()
        if pending is None:
            status, text = 404, "file not found"
        elif len(data) != pending.length:
            status, text = 400, f"length mismatch: expected {pending.length}, got {len(data)}"
        else:
            pending.data = data
            status, text = 200, f"OK - {len(data)}"
        self.upload_statuses.append(status)
        return web.Response(status=status, text=text, content_type="text/plain")

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            files = json.loads(args.get("files") or "null")
        except (TypeError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        channel = str(args.get("channel_id") or "")
        done = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            pending = self._uploads.get(str(file_id))
            if pending is None:
                return {"ok": False, "error": "file_not_found"}
            if pending.data is None:
                return {"ok": False, "error": "file_upload_not_complete"}
            done.append((str(file_id), pending, str(item.get("title") or pending.filename)))
        shared = []
        for file_id, pending, title in done:
            del self._uploads[file_id]
            assert pending.data is not None
            if channel:
                self.shared.append(
                    SharedFile(
                        file_id,
                        channel,
                        pending.filename,
                        title,
                        pending.data,
                        str(args.get("initial_comment") or ""),
                    )
                )
            shared.append(
                {
                    "id": file_id,
                    "name": pending.filename,
                    "title": title,
                    "size": len(pending.data),
                    "channels": [channel] if channel else [],
                }
            )
        return {"ok": True, "files": shared}

    # ---- Socket Mode

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "standin", "approximate_connection_time": 3600},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._connected.set()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                    self.acks[data["envelope_id"]] = data
        finally:
            if ws in self.sockets:
                self.sockets.remove(ws)
        return ws

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self.wait_for(lambda: bool(self.sockets), timeout)

    async def push(
        self,
        payload: Any,
        *,
        kind: str = "events_api",
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Send one envelope over the (first) open socket; returns its envelope_id."""
        envelope_id = envelope_id or secrets.token_hex(8)
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = "timeout" if retry_attempt else ""
        await self.push_raw(json.dumps(envelope))
        return envelope_id

    async def push_raw(self, text: str) -> None:
        if not self.sockets:
            raise RuntimeError("no Socket Mode connection")
        await self.sockets[0].send_str(text)

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        await self.wait_for(lambda: envelope_id in self.acks, timeout)
        return self.acks[envelope_id]

    # ---- Events API (HTTP mode)

    def headers(
        self, body: bytes, *, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret or self.signing_secret, body, ts),
        }

    async def post_event(
        self,
        http: aiohttp.ClientSession,
        url: str,
        payload: Any,
        *,
        form: bool | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        retry_num: int | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, str]:
        """POST `payload` as Slack would (signed); interactions go form-encoded as
        `payload=<json>`. `headers` replaces the signature headers (forgeries)."""
        if raw is not None:
            body, content_type = raw, "application/json"
        else:
            interactive = isinstance(payload, dict) and payload.get("type") in (
                "block_actions",
                "view_submission",
            )
            if form if form is not None else interactive:
                from urllib.parse import urlencode

                body = urlencode({"payload": json.dumps(payload)}).encode()
                content_type = "application/x-www-form-urlencoded"
            else:
                body, content_type = json.dumps(payload).encode(), "application/json"
        sent = {"Content-Type": content_type}
        sent.update(
            headers
            if headers is not None
            else self.headers(body, timestamp=timestamp, secret=secret)
        )
        if retry_num is not None:
            sent["X-Slack-Retry-Num"] = str(retry_num)
            sent["X-Slack-Retry-Reason"] = "http_timeout"
        async with http.post(url, data=body, headers=sent) as response:
            return response.status, await response.text()

    async def post_form(
        self,
        http: aiohttp.ClientSession,
        url: str,
        fields: dict[str, str],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """POST form fields as Slack sends a slash command (one field per value), signed;
        `headers` replaces the signature headers (forgeries)."""
        from urllib.parse import urlencode

        body = urlencode(fields).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded"}
        sent.update(
            headers
            if headers is not None
            else self.headers(body, timestamp=timestamp, secret=secret)
        )
        async with http.post(url, data=body, headers=sent) as response:
            return response.status, await response.text()


# ---- payload builders


def event_callback(event: dict[str, Any], *, team_id: str = TEAM_ID, event_id: str = "") -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def message_event(
    user: str, text: str, *, channel: str | None = None, channel_type: str = "im", **extra: Any
) -> dict[str, Any]:
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": f"{time.time():.6f}",
        "channel": channel or "D" + user.lstrip("UW"),
        "channel_type": channel_type,
        "event_ts": f"{time.time():.6f}",
    }
    event.update(extra)
    return event


def home_opened(user: str, *, tab: str = "home") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user.lstrip("UW"),
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


def block_actions(
    user: str,
    action_id: str,
    value: str,
    *,
    title: str = "",
    channel: str | None = None,
    message: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """A button press as Slack sends it (`message` is the posted message it belongs to)."""
    channel = channel or "D" + user.lstrip("UW")
    body: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "view" if message is None else "message", "channel_id": channel},
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}",
        "team": {"id": team_id, "domain": "parley-test"},
        "channel": {"id": channel, "name": "directmessage"},
        "actions": [
            {
                "action_id": action_id,
                "block_id": "parley_buttons_0",
                "text": {"type": "plain_text", "text": title, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": action_ts or f"{time.time():.6f}",
            }
        ],
    }
    if message is not None:
        body["message"] = message
        body["container"]["message_ts"] = message.get("ts")
    return body


def posted_message(call: Call) -> dict[str, Any]:
    """The message object Slack includes in a block_actions payload for a post."""
    return {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "text": call.args.get("text", ""),
        "blocks": call.args.get("blocks", []),
        "ts": call.response.get("ts", ""),
    }


def slash_command(
    user: str,
    command: str,
    text: str = "",
    *,
    team_id: str = TEAM_ID,
    channel: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """A slash command's form fields as Slack posts them (send with `post_form`)."""
    channel = channel or "D" + user.lstrip("UW")
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "parley-test",
        "channel_id": channel,
        "channel_name": "directmessage" if channel.startswith("D") else "general",
        "user_id": user,
        "user_name": "someone",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{team_id}/1/{secrets.token_hex(8)}",
        "trigger_id": trigger_id
        or f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}",
    }


def view_submission(
    user: str,
    view: dict[str, Any],
    answers: dict[str, str | None],
    *,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The submission of a modal the app opened (`view` as views.open returned it, e.g.
    `SlackStandIn.views[id]`): each input block's element gets the value in `answers` under
    its `action_id` (missing: None, an empty optional input)."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks", []):
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        element = block.get("element", {})
        action_id = element.get("action_id", "")
        values[block.get("block_id", "")] = {
            action_id: {
                "type": element.get("type", "plain_text_input"),
                "value": answers.get(action_id),
            }
        }
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "parley-test"},
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}",
        "view": {
            **view,
            "state": {"values": values},
            "private_metadata": view.get("private_metadata", ""),
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
