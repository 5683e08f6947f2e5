"""Start, watch and stop Parley's processes: action server, Rasa server, gateways.

Each runs as its own process (Rasa even in its own Python), so the supervisor only needs
to know how to start each, how to tell it is ready (an HTTP health URL), and how to stop it.
`parley run` and the end-to-end tests use this same code, so the tests start what users run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from parley.settings import Settings
from parley.training import model_path, rasa_bin, rasa_env


@dataclass
class Process:
    name: str
    argv: list[str]
    health_url: str  # "" for a process without an HTTP endpoint: ready once it runs
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # An optional gateway (Telegram, Slack) that fails to start — a rejected token, say — is
    # reported and left off; the rest of Parley keeps running.
    optional: bool = False
    failed: str = ""


_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [\w.]+ ")


class StartupError(RuntimeError):
    pass


def prepare_sqlite_tracker(url: str) -> None:
    """Put an embedded SQLite tracker store in WAL mode before Rasa opens it.

    WAL is a property of the database file, so setting it once makes every Rasa commit
    cheaper (no rollback journal, fewer fsyncs) without touching Rasa's own code.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return
    path = Path(url[len(prefix) :])
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def tracker_key(settings: Settings) -> str:
    """The Rasa tracker store's key (base64), derived from the master key: the Rasa process
    gets this one subkey, never the master key (rasa_ext/encrypted_tracker_store.py)."""
    import base64

    from storage.encryption import MasterKey

    return base64.b64encode(MasterKey.load(settings).derive_key("tracker")).decode("ascii")


def rasa_process(settings: Settings) -> Process:
    prepare_sqlite_tracker(settings.tracker_url)
    env = rasa_env(
        {
            # rasa_ext (the encrypted tracker store) is imported from the repository root.
            "PYTHONPATH": str(settings.root),
            "PARLEY_TRACKER_KEY": tracker_key(settings),
            "PARLEY_ACTION_ENDPOINT": settings.action_endpoint,
            "PARLEY_TRACKER_URL": settings.tracker_url,
            "PARLEY_REDIS_HOST": settings.redis_host,
            "PARLEY_REDIS_PORT": str(settings.redis_port),
            "PARLEY_REDIS_DB": str(settings.redis_db),
            "PARLEY_LOCK_PREFIX": settings.lock_prefix,
        }
    )
    argv = [
        str(rasa_bin(settings)), "run",
        "--model", str(model_path(settings)),
        "--endpoints", str(settings.endpoints_file),
        "--credentials", str(settings.root / "credentials.yml"),
        "--interface", settings.rasa_host, "--port", str(settings.rasa_port),
    ]  # fmt: skip
    return Process("rasa", argv, settings.rasa_url + "/", env)


def actions_process(settings: Settings) -> Process:
    env = dict(os.environ)
    env.update({"SANIC_HOST": settings.actions_host, "PYTHONUNBUFFERED": "1"})
    argv = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port",
            str(settings.actions_port)]  # fmt: skip
    base = f"http://{settings.actions_host}:{settings.actions_port}"
    return Process("actions", argv, base + "/health", env)


def web_process(settings: Settings) -> Process:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    argv = [sys.executable, "-m", "parley", "serve-web"]
    return Process("web", argv, settings.web_url + "healthz", env)


def telegram_process(settings: Settings) -> Process:
    # Each gateway's credentials go to that gateway's process only.
    env = dict(os.environ)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PARLEY_TELEGRAM_TOKEN": settings.telegram_token,
            "PARLEY_TELEGRAM_API_URL": settings.telegram_api_url,
            "PARLEY_TELEGRAM_MODE": settings.telegram_mode,
            "PARLEY_TELEGRAM_WEBHOOK_URL": settings.telegram_webhook_url,
            "PARLEY_TELEGRAM_WEBHOOK_SECRET": settings.telegram_webhook_secret,
            "PARLEY_MAX_UPLOAD_MB": str(settings.max_upload_mb),
        }
    )
    argv = [sys.executable, "-m", "parley", "serve-telegram"]
    return Process("telegram", argv, settings.telegram_url + "healthz", env, optional=True)


def slack_process(settings: Settings) -> Process:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "PARLEY_SLACK_BOT_TOKEN": settings.slack_bot_token,
            "PARLEY_SLACK_APP_TOKEN": settings.slack_app_token,
            "PARLEY_SLACK_SIGNING_SECRET": settings.slack_signing_secret,
            "PARLEY_SLACK_MODE": settings.slack_mode,
            "PARLEY_SLACK_API_URL": settings.slack_api_url,
        }
    )
    argv = [sys.executable, "-m", "parley", "serve-slack"]
    return Process("slack", argv, settings.slack_url + "healthz", env, optional=True)


def voice_process(settings: Settings) -> Process:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    argv = [sys.executable, "-m", "parley", "serve-voice"]
    return Process("voice", argv, settings.voice_url + "healthz", env)


class Supervisor:
    def __init__(self, settings: Settings, processes: list[Process], log_dir: Path) -> None:
        self.settings = settings
        self.processes = processes
        self.log_dir = log_dir

    def start(self, timeout_s: float = 240.0, echo=print) -> None:  # type: ignore[no-untyped-def]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for proc in self.processes:
            proc.log_path = self.log_dir / f"{proc.name}.log"
            log = open(proc.log_path, "ab")  # noqa: SIM115 - handed to the child
            proc.popen = subprocess.Popen(
                proc.argv,
                cwd=self.settings.root,
                env={**proc.env, **_settings_env(self.settings)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            echo(f"  starting {proc.name:8} (pid {proc.popen.pid}, log {proc.log_path})")
        self.wait_ready(timeout_s, echo)

    def wait_ready(self, timeout_s: float, echo=print) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout_s
        pending = list(self.processes)
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for proc in list(pending):
                    assert proc.popen is not None
                    if proc.popen.poll() is not None and proc.optional:
                        proc.failed = self.reason(proc)
                        pending.remove(proc)
                        echo(f"  off      {proc.name:8} {proc.failed}")
                        continue
                    if proc.popen.poll() is not None:
                        raise StartupError(
                            f"{proc.name} exited with code {proc.popen.returncode} during "
                            f"start-up. Last lines of {proc.log_path}:\n{self.tail(proc)}"
                        )
                    if not proc.health_url:  # no HTTP endpoint (the worker): running is ready
                        pending.remove(proc)
                        echo(f"  ready    {proc.name:8} (running)")
                        continue
                    try:
                        if client.get(proc.health_url).status_code == 200:
                            pending.remove(proc)
                            echo(f"  ready    {proc.name:8} {proc.health_url}")
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    names = ", ".join(p.name for p in pending)
                    raise StartupError(f"not ready after {timeout_s:.0f}s: {names}")
                if pending:
                    time.sleep(0.5)

    def reason(self, proc: Process) -> str:
        """Why an optional process stopped: its last log line that says so ("… rejected …")."""
        lines = [ln for ln in self.tail(proc, 40).splitlines() if ln.strip()]
        for line in reversed(lines):
            if "PARLEY_" in line or "rejected" in line.lower() or "error" in line.lower():
                # "2026-11-23 09:37:18,688 parley.telegram <message>" → "<message>"
                return _LOG_PREFIX.sub("", line.strip())[-300:]
        code = proc.popen.returncode if proc.popen else None
        return f"exited with code {code} (see {proc.log_path})"

    def health(self, proc: Process) -> dict[str, object]:
        """The JSON a gateway's health URL answers (bot name, mode), or {} if none."""
        if not proc.health_url:
            return {}
        try:
            data = httpx.get(proc.health_url, timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def tail(proc: Process, lines: int = 30) -> str:
        if proc.log_path is None or not proc.log_path.exists():
            return ""
        return "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM everything (gateways first), then SIGKILL what is left after the timeout."""
        for proc in reversed(self.processes):
            if proc.popen and proc.popen.poll() is None:
                _signal_group(proc.popen, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in reversed(self.processes):
            if not proc.popen:
                continue
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait(5)

    def kill(self, name: str) -> None:
        """Hard-kill one process (used by restart tests)."""
        for proc in self.processes:
            if proc.name == name and proc.popen and proc.popen.poll() is None:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait(10)

    def exited(self) -> list[Process]:
        return [
            p for p in self.processes if p.popen and p.popen.poll() is not None and not p.failed
        ]

    def get(self, name: str) -> Process | None:
        return next((p for p in self.processes if p.name == name), None)


def _signal_group(popen: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, sig)


def _settings_env(settings: Settings) -> dict[str, str]:
    """Hand the supervisor's settings to children explicitly, so all agree."""
    return {
        "PARLEY_ROOT": str(settings.root),
        "PARLEY_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        "PARLEY_PROFILE": settings.profile,
        "PARLEY_RASA_HOST": settings.rasa_host,
        "PARLEY_RASA_PORT": str(settings.rasa_port),
        "PARLEY_ACTIONS_HOST": settings.actions_host,
        "PARLEY_ACTIONS_PORT": str(settings.actions_port),
        "PARLEY_WEB_HOST": settings.web_host,
        "PARLEY_WEB_PORT": str(settings.web_port),
        "PARLEY_VOICE_HOST": settings.voice_host,
        "PARLEY_VOICE_PORT": str(settings.voice_port),
        "PARLEY_TELEGRAM_HOST": settings.telegram_host,
        "PARLEY_TELEGRAM_PORT": str(settings.telegram_port),
        "PARLEY_SLACK_HOST": settings.slack_host,
        "PARLEY_SLACK_PORT": str(settings.slack_port),
        "PARLEY_TRACKER_URL": settings.tracker_url,
        "PARLEY_JOBS_DIR": str(settings.jobs_dir),
        "PARLEY_MODELS_DIR": str(settings.models_dir),
        "RASA_TELEMETRY_ENABLED": "false",
        # Children read the same master key: from the environment when it is set there,
        # else from PARLEY_VAR_DIR/master.key (generated by the parent before they start).
        **({"PARLEY_MASTER_KEY": settings.master_key} if settings.master_key else {}),
    }
