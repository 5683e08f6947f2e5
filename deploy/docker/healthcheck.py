#!/usr/bin/env python
"""Container health check for Parley's processes (`parley-healthcheck KIND` in the images).

Why a script and not `curl` in the Dockerfile: the slim Python images have no curl, and the
port to check is a setting (PARLEY_ACTIONS_PORT, PARLEY_WEB_PORT, …) that only Parley's own
settings resolve the same way the process did. Exit status 0 = healthy, 1 = not.

KIND is one of:
  actions   GET /health of the action server
  web | telegram | slack | voice
            GET /healthz of that gateway
  gateway   the gateway this container runs, read from its main process's command line
            (`parley serve-telegram` → telegram), so one image health check fits all four
  worker    the worker has no HTTP endpoint: its database answers `SELECT 1`
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

GATEWAYS = ("web", "telegram", "slack", "voice")
TIMEOUT_S = 4.0


def local_host(host: str) -> str:
    """Where to reach a server that listens on `host` from inside its own container."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "[::]") else host


def gateway_kind(cmdline: list[str]) -> str:
    """`[..., 'parley', 'serve-slack']` → "slack"; "" when no gateway command is in it."""
    for arg in cmdline:
        if arg.startswith("serve-") and arg[len("serve-") :] in GATEWAYS:
            return arg[len("serve-") :]
    return ""


def main_process_cmdline(pid: int = 1) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def health_url(kind: str) -> str:
    from parley.settings import load_settings

    s = load_settings()
    host_port = {
        "actions": (s.actions_host, s.actions_port, "/health"),
        "web": (s.web_host, s.web_port, "/healthz"),
        "telegram": (s.telegram_host, s.telegram_port, "/healthz"),
        "slack": (s.slack_host, s.slack_port, "/healthz"),
        "voice": (s.voice_host, s.voice_port, "/healthz"),
    }
    host, port, path = host_port[kind]
    return f"http://{local_host(host)}:{port}{path}"


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def database_ok() -> bool:
    from sqlalchemy import text

    from parley.settings import load_settings
    from storage.db import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT 1")).scalar() == 1
    except Exception:  # any driver error means "not healthy"; the reason is not needed here
        return False
    finally:
        engine.dispose()


def check(kind: str) -> bool:
    if kind == "worker":
        return database_ok()
    if kind == "gateway":
        kind = gateway_kind(main_process_cmdline()) or "web"
    if kind not in ("actions", *GATEWAYS):
        raise SystemExit(f"usage: parley-healthcheck actions|gateway|worker|{'|'.join(GATEWAYS)}")
    return http_ok(health_url(kind))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {Path(sys.argv[0]).name} KIND")
    sys.exit(0 if check(sys.argv[1]) else 1)
