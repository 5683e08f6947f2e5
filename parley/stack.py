"""Start a complete Parley stack (action server, Rasa, web chat, worker) on chosen or free ports.

Used by `parley run`, by the end-to-end tests and by the benchmarks, so all three exercise
exactly the same processes and configuration.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from pathlib import Path

from parley.settings import Settings
from parley.supervisor import (
    Process,
    Supervisor,
    actions_process,
    rasa_process,
    slack_process,
    telegram_process,
    voice_process,
    web_process,
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_settings(base: Settings, var_dir: Path, **overrides: object) -> Settings:
    """Settings for a private stack: its own var dir, SQLite files and free ports."""
    var_dir.mkdir(parents=True, exist_ok=True)
    values: dict[str, object] = {
        "var_dir": var_dir,
        "database_url": f"sqlite:///{var_dir / 'parley.db'}",
        "tracker_url": f"sqlite:///{var_dir / 'rasa-tracker.db'}",
        "rasa_port": free_port(),
        "actions_port": free_port(),
        "web_port": free_port(),
        "voice_port": free_port(),
        "telegram_port": free_port(),
        "slack_port": free_port(),
    }
    values.update(overrides)
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


def worker_process(settings: Settings) -> Process:
    """The background worker (the purge job). It has no HTTP endpoint: it counts as ready
    as soon as it runs, so it adds nothing to start-up time."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PARLEY_REDIS_HOST": settings.redis_host,
            "PARLEY_REDIS_PORT": str(settings.redis_port),
            "PARLEY_REDIS_DB": str(settings.redis_db),
            "PARLEY_LOCK_PREFIX": settings.lock_prefix,
            "PARLEY_PURGE_AFTER_DAYS": str(settings.purge_after_days),
        }
    )
    return Process("worker", [sys.executable, "-m", "parley", "worker"], "", env)


def build_supervisor(settings: Settings, *, web: bool = True) -> Supervisor:
    processes = [actions_process(settings), rasa_process(settings)]
    if web:
        processes.append(web_process(settings))
    if web and settings.voice_enabled:
        processes.append(voice_process(settings))
    if web and settings.telegram_enabled:
        processes.append(telegram_process(settings))
    if web and settings.slack_enabled:
        processes.append(slack_process(settings))
    processes.append(worker_process(settings))
    return Supervisor(settings, processes, settings.var_dir / "log")
