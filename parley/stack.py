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
    """Settings for a private stack: its own var dir, SQLite files and free ports (one per
    Rasa replica when `replicas` > 1)."""
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
    replicas = int(values.get("replicas", base.replicas))  # type: ignore[call-overload]
    if replicas > 1 and "rasa_urls_list" not in overrides:
        host = str(values.get("rasa_host", base.rasa_host))
        ports = [int(values["rasa_port"])] + [free_port() for _ in range(replicas - 1)]  # type: ignore[call-overload]
        values["rasa_urls_list"] = ",".join(f"http://{host}:{p}" for p in ports)
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


def rasa_replica_urls(settings: Settings) -> list[str]:
    """The Rasa replicas this stack runs: PARLEY_RASA_URLS when set, else `replicas`
    consecutive ports from PARLEY_RASA_PORT (5005, 5006, …)."""
    if settings.rasa_urls_list.strip():
        return list(settings.rasa_urls)
    return [
        f"http://{settings.rasa_host}:{settings.rasa_port + i}" for i in range(settings.replicas)
    ]


def check_replicas(settings: Settings) -> None:
    """Replicas share their conversations through the tracker and lock stores, so they need
    the production profile (PostgreSQL + Redis): SQLite and the in-memory lock store belong
    to one process. Raises ValueError with what to do."""
    if settings.replicas < 1 or settings.replicas > 16:
        raise ValueError(f"--replicas must be between 1 and 16 (got {settings.replicas})")
    if settings.replicas > 1 and settings.profile != "prod":
        raise ValueError(
            "--replicas needs --profile prod (PostgreSQL tracker store, Redis lock store): "
            "the embedded profile keeps conversations in one process."
        )
    if settings.replicas > 1 and settings.database_url.startswith("sqlite"):
        raise ValueError(
            "--replicas needs a PostgreSQL DATABASE_URL: several action servers writing one "
            "SQLite file would queue behind its single writer."
        )


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


def build_supervisor(
    settings: Settings,
    *,
    web: bool = True,
    restart: bool = False,
    echo=print,  # type: ignore[no-untyped-def]
) -> Supervisor:
    """Every process of a stack. With `settings.replicas` = N > 1: N Rasa servers (rasa-1 …
    rasa-N, each on its own port) and N action servers (actions-1 … actions-N, sharing the
    actions port); the gateways get every Rasa URL and route each sender to one of them."""
    from parley.supervisor import model_id_of
    from parley.training import model_path

    check_replicas(settings)
    urls = rasa_replica_urls(settings)
    many = len(urls) > 1
    settings = dataclasses.replace(
        settings,
        rasa_urls_list=",".join(urls),
        rasa_model_id=settings.rasa_model_id or model_id_of(model_path(settings)),
    )
    processes: list[Process] = []
    for i in range(settings.replicas):
        processes.append(actions_process(settings, name=f"actions-{i + 1}" if many else "actions"))
    for i, url in enumerate(urls):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        processes.append(
            rasa_process(settings, name=f"rasa-{i + 1}" if many else "rasa", port=port)
        )
    if web:
        processes.append(web_process(settings))
    if web and settings.voice_enabled:
        processes.append(voice_process(settings))
    if web and settings.telegram_enabled:
        processes.append(telegram_process(settings))
    if web and settings.slack_enabled:
        processes.append(slack_process(settings))
    processes.append(worker_process(settings))
    return Supervisor(settings, processes, settings.var_dir / "log", restart=restart, echo=echo)
