"""The web chat gateway: serves the chat page and forwards messages to Rasa.

Design notes:

* Privacy: message text is never logged. The access log records method, path (never the
  query string, and `/export/…` without its token), status and timing only.
* Export downloads (`GET /export/<token>`) and proactive messages for the page (`GET
  /api/outbox`) need the app database and the file store; without them (`create_app(rasa)`
  alone, as in the gateway's own tests) those routes answer 503 / an empty list.
* Ordering: messages of one session are forwarded to Rasa one at a time, in arrival order,
  so two quick messages (a double click, Enter pressed twice) never race inside Rasa.
* The page is fully self-contained (no CDN, fonts, cookies or analytics) and runs under a
  strict Content-Security-Policy with no inline script or style.
* Files from the action server (a calendar invite, `BotMessage.attachment`, validated there)
  travel inside the JSON reply as base64 (`"attachment": {filename, mime, data, caption}`);
  the page turns them into a download link. The outbox carries text only.
* Time zone: the page sends the browser's IANA zone (`"timezone"`) with each message; a
  valid one that this Python's zoneinfo knows goes to Rasa as metadata (the scheduling
  dialogue's first guess, which the person confirms); anything else is ignored silently —
  a wrong clock setting must never stand between a person and their interview.
* Message ids: the page sends an id with each message (`"id"`, made in the browser) and sends
  the same id again when the person retries a message whose send failed, so a message that
  did reach Rasa the first time is recognised there and not processed twice. A missing or
  invalid id (`MESSAGE_ID_RE`) is replaced by one made here (that send is then not
  recognisable when retried — the page always sends one).
* Replicas: `run_web_gateway` reaches every Rasa replica in PARLEY_RASA_URLS
  (`RasaClient.from_settings`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.access_log import Handler, logged
from bot.inbound import prepare
from bot.linking import ChannelLinker
from bot.rasa_client import (
    UNAVAILABLE_MESSAGE,
    BotMessage,
    RasaClient,
    RasaUnavailable,
    timezone_hint,
    valid_message_id,
)
from bot.session_locks import SessionLocks
from fairness.publication import SUMMARY_FILE, SUMMARY_ROUTE, summary_dir
from privacy import outbox
from privacy.export import LinkExpired, LinkInvalid, open_link
from storage.db import Database
from storage.files import FileStore

logger = logging.getLogger("parley.web")

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 64 * 1024
SENDER_PREFIX = "web:"

SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_STATIC_NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}$")
_CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}

_API_ERRORS = {
    404: "No such API endpoint.",
    405: "This endpoint does not accept that HTTP method.",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


AUDIT_SUMMARY_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
AUDIT_SUMMARY_MISSING_MESSAGE = (
    "No bias-audit summary has been published here yet. The employer publishes it with "
    "`parley audit publish`."
)

RASA_KEY = web.AppKey("rasa", RasaClient)
PUBLIC_DIR_KEY = web.AppKey("public_dir", Path)
LOCKS_KEY = web.AppKey("session_locks", SessionLocks)
INDEX_KEY = web.AppKey("index_html", bytes)
DB_KEY = web.AppKey("database", Database)
FILES_KEY = web.AppKey("file_store", FileStore)
LINKER_KEY = web.AppKey("channel_linker", ChannelLinker)

EXPORT_PREFIX = "/export/"
MAX_OUTBOX_BATCH = 20

EXPORT_INVALID_MESSAGE = (
    "This download link is not valid. Links are long and exact: copy the whole link from the "
    'message you received. To get a new one, ask in the chat: "export my data".'
)
EXPORT_EXPIRED_MESSAGE = (
    "This download link has expired, and the archive was deleted. To get a new one, ask in "
    'the chat: "export my data".'
)
EXPORT_UNAVAILABLE_MESSAGE = "Downloads are not available on this server right now."


def _log_path(request: web.Request) -> str:
    """The path as logged: an export token is a password to someone's data, so it is cut."""
    path = request.path
    return EXPORT_PREFIX + "…" if path.startswith(EXPORT_PREFIX) else path


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _security_headers(response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


async def _on_response_prepare(_request: web.Request, response: web.StreamResponse) -> None:
    # Runs for every response, including 404s and errors raised anywhere in aiohttp.
    _security_headers(response)


@web.middleware
async def _access_log_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The access log (export tokens cut from the path); JSON errors on /api."""
    api = request.path.startswith("/api/")

    def http_error(exc: web.HTTPException) -> web.StreamResponse | None:
        if not api or exc.status < 400:
            return None
        response = _error(exc.status, _API_ERRORS.get(exc.status, exc.reason))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response

    def error() -> web.StreamResponse:
        if api:
            return _error(500, "Something went wrong on our side. Please try again.")
        raise web.HTTPInternalServerError() from None

    return await logged(
        request, handler, logger, path=_log_path(request), on_http_error=http_error, on_error=error
    )


def _render_index(title: str) -> bytes:
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return template.replace("{{title}}", html.escape(title, quote=True)).encode("utf-8")


async def _index(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[INDEX_KEY],
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if not _STATIC_NAME_RE.match(name) or ".." in name:
        raise web.HTTPNotFound()
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in _CONTENT_TYPES:
        raise web.HTTPNotFound()
    if path.name == "index.html":  # the page itself is only served (rendered) at "/"
        raise web.HTTPNotFound()
    content_type = _CONTENT_TYPES[path.suffix]
    body = path.read_bytes()
    charset = "utf-8" if content_type.startswith("text/") or path.suffix == ".svg" else None
    return web.Response(
        body=body,
        content_type=content_type,
        charset=charset,
        headers={"Cache-Control": "no-cache"},
    )


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _read_json(request: web.Request) -> Any:
    content_type = request.headers.get("Content-Type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime and mime != "application/json" and not mime.endswith("+json"):
        raise _Reject(415, "Send the message as JSON (Content-Type: application/json).")
    too_large = _Reject(
        413,
        f"The request is too large (limit {MAX_BODY_BYTES // 1024} KiB). "
        "Please send a shorter message.",
    )
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise too_large
    try:
        raw = await request.read()  # also enforces client_max_size for chunked bodies
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Reject(400, "The request body is not valid JSON.") from None


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _validate(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise _Reject(400, 'Expected a JSON object like {"session": "...", "text": "..."}.')
    session = body.get("session")
    text = body.get("text")
    if session is None:
        raise _Reject(400, 'Missing "session" (the conversation id).')
    if not isinstance(session, str):
        raise _Reject(400, '"session" must be a string.')
    if not SESSION_RE.match(session):
        raise _Reject(400, '"session" must be 8 to 64 characters of letters, digits, "_" or "-".')
    if text is None:
        raise _Reject(400, 'Missing "text" (the message).')
    if not isinstance(text, str):
        raise _Reject(400, '"text" must be a string.')
    return session, text


async def _messages(request: web.Request) -> web.Response:
    try:
        body = await _read_json(request)
        session, text = _validate(body)
    except _Reject as rejected:
        return _error(rejected.status, rejected.message)
    zone = timezone_hint(body.get("timezone"))
    metadata = {"timezone": zone} if zone is not None else None
    message_id = valid_message_id(body.get("id"))  # None: RasaClient makes one

    linker = request.app.get(LINKER_KEY)
    link = await linker.handle(SENDER_PREFIX + session, text) if linker is not None else None
    if link is not None and not link.resume:
        return _reply([BotMessage(text=link.reply)])
    prepared = prepare("/start" if link is not None else text)
    if prepared.reply is not None:
        return _reply([BotMessage(text=prepared.reply)])
    assert prepared.text is not None

    locks = request.app[LOCKS_KEY]
    if locks.busy(session):
        return _error(
            429,
            "You're sending messages faster than the interviewer can answer. "
            "Please wait for the reply.",
        )
    try:
        async with locks.hold(session):
            messages = await request.app[RASA_KEY].send(
                SENDER_PREFIX + session, prepared.text, metadata, message_id=message_id
            )
    except RasaUnavailable as exc:
        logger.warning("rasa unavailable: %s", exc)  # exc says why (HTTP code, timeout), no text
        return _error(503, UNAVAILABLE_MESSAGE)
    if link is not None:
        messages = [BotMessage(text=link.reply), *messages]
    return _reply(messages)


def _text_page(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=message + "\n",
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )


async def _audit_summary(request: web.Request) -> web.Response:
    """The published bias-audit summary: a static page of group totals (no individual), read
    from disk on every request so a new `parley audit publish` shows at once. Its own CSP:
    the page carries its styles inline and no script at all."""
    folder = request.app.get(PUBLIC_DIR_KEY)
    path = folder / SUMMARY_FILE if folder is not None else None
    try:
        body = await asyncio.to_thread(path.read_bytes) if path is not None else None
    except (FileNotFoundError, NotADirectoryError):
        body = None
    if body is None:
        return _text_page(404, AUDIT_SUMMARY_MISSING_MESSAGE)
    return web.Response(
        body=body,
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": AUDIT_SUMMARY_CSP,
            "Cache-Control": "no-cache",
        },
    )


async def _export(request: web.Request) -> web.Response:
    """The candidate's export archive behind a short-lived link (never pasted in a chat)."""
    db, files = request.app.get(DB_KEY), request.app.get(FILES_KEY)
    if db is None or files is None:
        return _text_page(503, EXPORT_UNAVAILABLE_MESSAGE)
    token = request.match_info["token"]
    try:
        data = await asyncio.to_thread(open_link, db, files, token)
    except LinkInvalid:
        return _text_page(404, EXPORT_INVALID_MESSAGE)
    except LinkExpired:
        return _text_page(410, EXPORT_EXPIRED_MESSAGE)
    stamp = time.strftime("%Y%m%d", time.gmtime())
    return web.Response(
        body=data,
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="parley-export-{stamp}.zip"',
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
        },
    )


def _take_outbox(db: Database, sender_id: str) -> list[str]:
    """Pending proactive messages for one web session, marked sent in the same transaction."""
    with db.transaction() as s:
        rows = outbox.pending(s, sender_id, limit=MAX_OUTBOX_BATCH)
        texts = []
        for row in rows:
            if row.text:  # None: unreadable (the candidate's key is gone) — drop it
                texts.append(row.text)
            outbox.mark_sent(row)
        return texts


async def _outbox(request: web.Request) -> web.Response:
    """Messages the system sends on its own (a one-time code, a notice update, an export
    link), polled by the open page. They never pass through Rasa, so they are not in the
    conversation's tracker."""
    session = request.query.get("session", "")
    if not SESSION_RE.match(session):
        return _error(400, '"session" must be 8 to 64 characters of letters, digits, "_" or "-".')
    db = request.app.get(DB_KEY)
    if db is None:
        return _reply([])
    # One poll at a time per session (two tabs): a message is handed out exactly once.
    async with request.app[LOCKS_KEY].hold("outbox:" + session):
        texts = await asyncio.to_thread(_take_outbox, db, SENDER_PREFIX + session)
    return _reply([BotMessage(text=t) for t in texts])


def message_json(message: BotMessage) -> dict[str, Any]:
    """One message as the page receives it; `attachment` only when the message has one."""
    data = message.to_json()
    if message.attachment is not None:
        data["attachment"] = message.attachment.to_json()
    return data


def _reply(messages: list[BotMessage]) -> web.Response:
    return web.json_response(
        {"messages": [message_json(m) for m in messages if m.visible]},
        headers={"Cache-Control": "no-store"},
    )


def create_app(
    rasa: RasaClient,
    *,
    title: str = "Parley",
    db: Database | None = None,
    files: FileStore | None = None,
    public_dir: Path | None = None,
) -> web.Application:
    """Build the web gateway. The caller owns `rasa` (and `db`) and closes them after the app
    stops. `db` and `files` enable export downloads and outbox delivery; `public_dir` holds
    the published bias-audit summary (`parley audit publish`), served at /audit-summary."""
    app = web.Application(
        middlewares=[_access_log_and_errors],
        client_max_size=MAX_BODY_BYTES,
    )
    app[RASA_KEY] = rasa
    app[LOCKS_KEY] = SessionLocks()
    app[INDEX_KEY] = _render_index(title)
    if db is not None:
        app[DB_KEY] = db
        app[LINKER_KEY] = ChannelLinker(db)
    if files is not None:
        app[FILES_KEY] = files
    if public_dir is not None:
        app[PUBLIC_DIR_KEY] = public_dir
    app.on_response_prepare.append(_on_response_prepare)
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/healthz", _healthz)
    app.router.add_post("/api/messages", _messages)
    app.router.add_get("/api/outbox", _outbox, allow_head=False)
    # No HEAD: a HEAD must not count as a download.
    app.router.add_get(EXPORT_PREFIX + "{token:.*}", _export, allow_head=False)
    app.router.add_get(SUMMARY_ROUTE, _audit_summary)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start `app` on host:port inside the running event loop; `await runner.cleanup()` stops it.

    With port 0 the OS picks a free port; read it from `runner.addresses`.
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    logger.info("web gateway listening on http://%s:%d", host, port)
    return runner


def rasa_client_for(rasa_url: str | Sequence[str] | None, settings: Any) -> RasaClient:
    """The gateway's Rasa client: every replica in PARLEY_RASA_URLS when `rasa_url` is None or
    the settings' own single URL (what the CLI passes), else exactly the URL(s) given."""
    if rasa_url is None or rasa_url == settings.rasa_url:
        return RasaClient.from_settings(settings)
    return RasaClient(
        rasa_url, timeout_s=settings.rasa_timeout_s, expected_model=settings.rasa_model_id
    )


def open_storage(settings: Any) -> tuple[Database, FileStore]:
    """The app database (with the master key from `settings`) and the encrypted file store,
    as the action server opens them. Migrations are `parley run`'s job, not the gateway's."""
    from storage.encryption import Keyring

    db = Database(settings.database_url, Keyring.load(settings))
    return db, FileStore(settings.files_dir, db)


async def _run(
    rasa_url: str | Sequence[str] | None, host: str, port: int, title: str, settings: Any
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # e.g. not main thread
            loop.add_signal_handler(sig, stop.set)
    db, files = open_storage(settings)
    try:
        async with rasa_client_for(rasa_url, settings) as rasa:
            app = create_app(
                rasa, title=title, db=db, files=files, public_dir=summary_dir(settings)
            )
            runner = await serve(app, host, port)
            try:
                await stop.wait()
                logger.info("web gateway stopping")
            finally:
                await runner.cleanup()
    finally:
        db.dispose()


def run_web_gateway(
    rasa_url: str | Sequence[str] | None,
    host: str,
    port: int,
    *,
    title: str = "Parley",
    settings: Any = None,
) -> None:
    """Run the gateway until SIGINT or SIGTERM, then stop cleanly (used by the CLI).
    `settings` (default: `parley.settings.load_settings()`) says where the database, the
    master key and the file store are, and, with `rasa_url` None, the Rasa replicas
    (PARLEY_RASA_URLS)."""
    if settings is None:
        from parley.settings import load_settings

        settings = load_settings()
    asyncio.run(_run(rasa_url, host, port, title, settings))
