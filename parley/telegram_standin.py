"""A local stand-in for the Telegram Bot API: it plays Telegram's side against our gateway.

Used by the tests (Telegram itself is unreachable from here) and handy for trying the gateway
on a laptop. It speaks the Bot API wire format that aiogram uses against a custom API server
(`TelegramAPIServer.from_base(url)`): `POST /bot<token>/<method>` with form or JSON parameters,
answered with `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
"parameters"}`; files are downloaded from `GET /file/bot<token>/<file_path>`.

What it implements: getMe, getUpdates (offset, limit, long-poll timeout), sendMessage,
sendDocument (a multipart upload, `attach://` references included, or a known file_id; the file
is kept, see `sent_documents`), sendChatAction, answerCallbackQuery, editMessageReplyMarkup,
editMessageText, getFile,
setWebhook / deleteWebhook / getWebhookInfo, setMyCommands and a few other harmless setters;
any other method gets Telegram's 404. A wrong token gets Telegram's 401. In webhook mode the
stand-in pushes each queued update to the webhook URL with the `X-Telegram-Bot-Api-Secret-Token`
header, like Telegram, one at a time. It records every call, and can answer the next call(s) of
a method with a 429 flood error carrying `parameters.retry_after`.

It runs its own event loop in a daemon thread (`start()` / `stop()`), so the gateway under
test can run on the test's loop; the `wait_*` helpers are coroutines that poll without
blocking that loop. The `*_update` functions build updates as Telegram sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import mimetypes
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123456789:AAH-standin-token_0123456789abcdefghij"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_LONG_POLL_S = 5.0  # the stand-in answers an empty long poll sooner than Telegram would
# Methods Telegram answers with `true` that the stand-in only records.
HARMLESS = frozenset(
    {
        "setmycommands",
        "deletemycommands",
        "setmydescription",
        "setmyshortdescription",
        "setchatmenubutton",
        "setmyname",
        "close",
        "logout",
    }
)

_message_ids = itertools.count(1000)
_user_ids = itertools.count(5000)


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, as received."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ApiCall:
    method: str  # as the URL spells it (aiogram: camelCase)
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None  # what the stand-in answered (e.g. the sent Message)
    status: int = 200
    files: dict[str, Upload] = field(default_factory=dict)  # multipart file parts by field

    @property
    def name(self) -> str:
        return self.method.lower()


@dataclass(frozen=True)
class SentDocument:
    """A document the bot sent (sendDocument), with the bytes Telegram received."""

    chat_id: int
    filename: str
    mime_type: str
    data: bytes
    caption: str
    result: dict[str, Any]


@dataclass
class _File:
    file_id: str
    file_path: str
    data: bytes


class TelegramStandIn:
    """The Bot API on a free 127.0.0.1 port (in its own thread and loop)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "parley_test_bot",
        first_name: str = "Parley",
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[ApiCall] = []
        self.unauthorized = 0  # requests refused for a wrong token
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_statuses: list[int] = []  # HTTP status of each webhook push
        self.port = 0
        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed (polling)
        self._next_update_id = 1
        self._files: dict[str, _File] = {}
        self._paths: dict[str, _File] = {}
        self._flood: dict[str, list[int]] = {}  # method (lower) -> retry_after per refusal
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._new_update: asyncio.Event | None = None
        self._push_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TelegramStandIn:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, daemon=True, name="tg-standin")
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._thread is None or not self._thread.is_alive():
            self._loop.close()
        self._loop = None

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        assert self._loop is not None, "start() the stand-in first"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self) -> None:
        self._new_update = asyncio.Event()
        self._push_queue = asyncio.Queue()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._pusher = asyncio.create_task(self._push_loop())
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        await web.SockSite(self._runner, sock).start()

    async def _stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ test controls
    def enqueue(self, update: dict[str, Any]) -> int:
        """Queue an update as Telegram would (it assigns `update_id`); returns the id. In
        webhook mode it is pushed to the webhook, otherwise handed out by getUpdates."""
        with self._lock:
            update = dict(update)
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
            if self.webhook_url:
                assert self._loop is not None and self._push_queue is not None
                self._loop.call_soon_threadsafe(self._push_queue.put_nowait, update)
            else:
                self._updates.append(update)
                if self._loop is not None and self._new_update is not None:
                    self._loop.call_soon_threadsafe(self._new_update.set)
            return int(update["update_id"])

    def enqueue_raw(self, update: Any) -> None:
        """Queue anything at all as an update, unchanged (a malformed one, for the hostile
        tests); polling still confirms it by position."""
        with self._lock:
            if isinstance(update, dict):  # Telegram's update_id is authoritative
                update = {**update, "update_id": self._next_update_id}
                self._updates.append(update)
            else:
                self._updates.append({"__raw__": update, "update_id": self._next_update_id})
            self._next_update_id += 1
            if self._loop is not None and self._new_update is not None:
                self._loop.call_soon_threadsafe(self._new_update.set)

    def add_file(self, data: bytes, path: str) -> str:
        """Make `data` downloadable; returns its file_id (as getFile and downloads see it)."""
        file_id = "F" + secrets.token_urlsafe(16)
        item = _File(file_id, f"{path.strip('/')}", data)
        with self._lock:
            self._files[file_id] = item
            self._paths[item.file_path] = item
        return file_id

    def flood(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 Too Many Requests."""
        with self._lock:
            self._flood.setdefault(method.lower(), []).extend([retry_after] * times)

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def calls_of(self, method: str) -> list[ApiCall]:
        name = method.lower()
        with self._lock:
            return [c for c in self.calls if c.name == name]

    def sent_documents(self, chat_id: int | None = None) -> list[SentDocument]:
        """The documents sent successfully (to `chat_id`), in order."""
        out = []
        for c in self.calls_of("sendDocument"):
            if c.status != 200 or not isinstance(c.result, dict):
                continue
            if chat_id is not None and int(c.params.get("chat_id", 0)) != chat_id:
                continue
            document = c.result["document"]
            with self._lock:
                item = self._files[document["file_id"]]
            out.append(
                SentDocument(
                    chat_id=int(c.params.get("chat_id", 0)),
                    filename=str(document.get("file_name", "")),
                    mime_type=str(document.get("mime_type", "")),
                    data=item.data,
                    caption=str(c.result.get("caption", "")),
                    result=c.result,
                )
            )
        return out

    async def wait_documents(
        self, count: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[SentDocument]:
        await self.wait_for(
            lambda: len(self.sent_documents(chat_id)) >= count, timeout, f"{count} documents"
        )
        return self.sent_documents(chat_id)

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(c.params.get("text", ""))
            for c in self.calls_of("sendMessage")
            if chat_id is None or int(c.params.get("chat_id", 0)) == chat_id
        ]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Wait (without blocking the caller's loop) until `predicate()` is true."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_sent(self, count: int, chat_id: int | None = None, timeout: float = 10.0):  # type: ignore[no-untyped-def]
        """Wait until at least `count` messages were sent (to `chat_id`); returns their texts."""
        await self.wait_for(
            lambda: len(self.sent_texts(chat_id)) >= count, timeout, f"{count} sent messages"
        )
        return self.sent_texts(chat_id)

    async def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[ApiCall]:
        await self.wait_for(
            lambda: len(self.calls_of(method)) >= count, timeout, f"{count} {method} calls"
        )
        return self.calls_of(method)

    # ------------------------------------------------------------------ wire format
    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.method != "POST":
            return params, files
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = {}
            if isinstance(body, dict):
                params.update(body)
        elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                    params[key] = "<file>"
                else:
                    params[key] = value if isinstance(value, str) else "<file>"
        for key in ("reply_markup", "allowed_updates", "link_preview_options", "commands"):
            value = params.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(value)
        return params, files

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            with self._lock:
                self.unauthorized += 1
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await self._params(request)
        name = method.lower()
        record = ApiCall(method, params, files=files)
        with self._lock:
            self.calls.append(record)
            refusals = self._flood.get(name)
            retry_after = refusals.pop(0) if refusals else None
        if retry_after is not None:
            record.status = 429
            return self._error(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        handler = getattr(self, "_m_" + name, None)
        if name == "senddocument":
            answer = self._send_document(params, files)
        elif handler is not None:
            answer = await handler(params)
        elif name in HARMLESS:
            answer = self._ok(True)
        else:
            answer = self._error(404, "Not Found")
        record.status = answer.status
        if answer.status == 200 and isinstance(answer, web.Response) and answer.body:
            record.result = json.loads(answer.body)["result"]  # type: ignore[arg-type]
        return answer

    async def _m_getme(self, _params: dict[str, Any]) -> web.Response:
        return self._ok(self.bot_user)

    async def _m_getupdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return self._error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _int(params.get("offset"), 0)
        limit = max(1, min(100, _int(params.get("limit"), 100)))
        timeout = min(MAX_LONG_POLL_S, max(0.0, float(_int(params.get("timeout"), 0))))
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            with self._lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                batch = [u.get("__raw__", u) for u in self._updates]
                batch = batch[:limit]
                self._new_update.clear()
            if batch or time.monotonic() >= deadline:
                return self._ok(batch)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self._new_update.wait(), max(0.01, deadline - time.monotonic())
                )

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        chat_id = _int(params.get("chat_id"), 0)
        message: dict[str, Any] = {
            "message_id": message_id or next(_message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
            "text": str(params.get("text", "")),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        return message

    async def _m_sendmessage(self, params: dict[str, Any]) -> web.Response:
        text = str(params.get("text", ""))
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        if _int(params.get("chat_id"), 0) == 0:
            return self._error(400, "Bad Request: chat not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard") or []:
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        return self._ok(self._message(params))

    def _send_document(self, params: dict[str, Any], files: dict[str, Upload]) -> web.Response:
        """sendDocument: the file as a multipart part (`document=attach://<part>`, or the part
        named `document`) or the file_id of a file Telegram already has."""
        if _int(params.get("chat_id"), 0) == 0:
            return self._error(400, "Bad Request: chat not found")
        ref = params.get("document")
        upload: Upload | None = None
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
        elif "document" in files:
            upload = files["document"]
        elif isinstance(ref, str) and ref:
            with self._lock:
                known = self._files.get(ref)
            if known is not None:
                upload = Upload(known.file_path.rsplit("/", 1)[-1], "", known.data)
        if upload is None:
            return self._error(400, "Bad Request: there is no document in the request")
        if not upload.data:
            return self._error(400, "Bad Request: file must be non-empty")
        caption = str(params.get("caption", ""))
        if len(caption.encode("utf-16-le")) // 2 > 1024:
            return self._error(400, "Bad Request: message caption is too long")
        name = upload.filename or "document"
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        file_id = self.add_file(upload.data, f"documents/{secrets.token_hex(4)}_{name}")
        message = self._message(params)
        del message["text"]
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "file_name": name,
            "mime_type": mime,
            "file_size": len(upload.data),
        }
        if caption:
            message["caption"] = caption
        return self._ok(message)

    async def _m_sendchataction(self, _params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_answercallbackquery(self, _params: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self._message(params, _int(params.get("message_id"), 0) or None))

    async def _m_editmessagetext(self, params: dict[str, Any]) -> web.Response:
        return self._ok(self._message(params, _int(params.get("message_id"), 0) or None))

    async def _m_getfile(self, params: dict[str, Any]) -> web.Response:
        with self._lock:
            item = self._files.get(str(params.get("file_id", "")))
        if item is None:
            return self._error(400, "Bad Request: invalid file_id")
        return self._ok(
            {
                "file_id": item.file_id,
                "file_unique_id": item.file_id[:12],
                "file_size": len(item.data),
                "file_path": item.file_path,
            }
        )

    async def _m_setwebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = str(params.get("url", ""))
        self.webhook_secret = str(params.get("secret_token", ""))
        return self._ok(True)

    async def _m_deletewebhook(self, _params: dict[str, Any]) -> web.Response:
        self.webhook_url = ""
        self.webhook_secret = ""
        return self._ok(True)

    async def _m_getwebhookinfo(self, _params: dict[str, Any]) -> web.Response:
        return self._ok(
            {"url": self.webhook_url, "has_custom_certificate": False, "pending_update_count": 0}
        )

    async def _download(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        with self._lock:
            item = self._paths.get(request.match_info["path"])
        if item is None:
            return self._error(404, "Not Found")
        return web.Response(body=item.data, content_type="application/octet-stream")

    async def _push_loop(self) -> None:
        assert self._push_queue is not None and self._http is not None
        while True:
            update = await self._push_queue.get()
            headers = {SECRET_HEADER: self.webhook_secret} if self.webhook_secret else {}
            try:
                async with self._http.post(self.webhook_url, json=update, headers=headers) as r:
                    status = r.status
            except aiohttp.ClientError:
                status = 0
            self.webhook_statuses.append(status)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------- update builders
def user(user_id: int, first_name: str = "Casey") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}


def _message(chat_id: int, chat_type: str = "private", **content: Any) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = "Casey"
    else:
        chat["title"] = "Some group"
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat,
        **content,
    }
    if chat_type != "channel":
        message["from"] = user(chat_id if chat_type == "private" else next(_user_ids))
    return message


def message_update(chat_id: int, chat_type: str = "private", **content: Any) -> dict[str, Any]:
    """An update carrying a new message with `content` (e.g. sticker={...})."""
    return {"message": _message(chat_id, chat_type, **content)}


def text_update(chat_id: int, text: str, chat_type: str = "private") -> dict[str, Any]:
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return message_update(chat_id, chat_type, **content)


def callback_update(
    chat_id: int, data: str, message: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A button press on `message` (a sendMessage result) in a private chat."""
    if message is None:
        message = _message(chat_id, text="Question?")
    return {
        "callback_query": {
            "id": str(next(_message_ids)) + secrets.token_hex(4),
            "from": user(chat_id),
            "message": message,
            "chat_instance": "ci" + str(chat_id),
            "data": data,
        }
    }


def voice_update(
    chat_id: int, file_id: str, *, size: int, duration: int = 3, mime: str = "audio/ogg"
) -> dict[str, Any]:
    return message_update(
        chat_id,
        voice={
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "duration": duration,
            "mime_type": mime,
            "file_size": size,
        },
    )


def audio_update(
    chat_id: int, file_id: str, *, size: int, duration: int = 3, mime: str = "audio/mpeg"
) -> dict[str, Any]:
    return message_update(
        chat_id,
        audio={
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "duration": duration,
            "mime_type": mime,
            "file_size": size,
            "file_name": "answer.mp3",
        },
    )


def document_update(
    chat_id: int, file_id: str, *, size: int, file_name: str, mime: str
) -> dict[str, Any]:
    return message_update(
        chat_id,
        document={
            "file_id": file_id,
            "file_unique_id": file_id[:12],
            "file_name": file_name,
            "mime_type": mime,
            "file_size": size,
        },
    )


def sticker_update(chat_id: int) -> dict[str, Any]:
    return message_update(
        chat_id,
        sticker={
            "file_id": "S" + secrets.token_hex(6),
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        },
    )


def photo_update(chat_id: int) -> dict[str, Any]:
    return message_update(
        chat_id,
        photo=[
            {"file_id": "P1", "file_unique_id": "p1", "width": 90, "height": 90},
            {"file_id": "P2", "file_unique_id": "p2", "width": 800, "height": 800},
        ],
        caption="my photo",
    )


def location_update(chat_id: int) -> dict[str, Any]:
    return message_update(chat_id, location={"latitude": 52.52, "longitude": 13.405})


def contact_update(chat_id: int) -> dict[str, Any]:
    return message_update(chat_id, contact={"phone_number": "+15550001111", "first_name": "Casey"})


def poll_message_update(chat_id: int) -> dict[str, Any]:
    return message_update(chat_id, poll=_poll())


def _poll() -> dict[str, Any]:
    return {
        "id": "poll" + secrets.token_hex(4),
        "question": "Which?",
        "options": [
            {"persistent_id": "a", "text": "A", "voter_count": 0},
            {"persistent_id": "b", "text": "B", "voter_count": 0},
        ],
        "total_voter_count": 0,
        "allows_revoting": False,
        "members_only": False,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }


def poll_update() -> dict[str, Any]:
    return {"poll": _poll()}


def edited_message_update(chat_id: int, text: str) -> dict[str, Any]:
    message = _message(chat_id, text=text)
    message["edit_date"] = int(time.time())
    return {"edited_message": message}


def channel_post_update(chat_id: int, text: str) -> dict[str, Any]:
    return {"channel_post": _message(chat_id, "channel", text=text)}


def unknown_update(kind: str = "future_update_kind") -> dict[str, Any]:
    return {kind: {"id": 1, "something": "new"}}
