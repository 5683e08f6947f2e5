"""The gateways' access log: method, path, status and time — never bodies or query strings.

Bodies and query strings carry what people typed, phone numbers, turn tokens and export
tokens, so they never reach a log; `path` is what the caller decided is safe to show. An
unexpected exception is logged by its type only (its message could quote the person).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def logged(
    request: web.Request,
    handler: Handler,
    logger: logging.Logger,
    *,
    path: str,
    on_http_error: Callable[[web.HTTPException], web.StreamResponse | None] = lambda _e: None,
    on_error: Callable[[], web.StreamResponse],
) -> web.StreamResponse:
    """Run `handler`, log the request. `on_http_error` may answer an HTTP error itself (None:
    raised as it is); `on_error` answers (or raises for) any other exception."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        answer = on_http_error(exc)
        if answer is None:
            raise
        return answer
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    except Exception as exc:
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, path)
        status = 500
        return on_error()
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s %s %d %.1fms", request.method, path, status, elapsed_ms)
