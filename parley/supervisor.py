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
import socket
import sqlite3
import subprocess
import sys
import threading
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
    # Ready only once this text is in its log as well (action servers share one port, so the
    # health URL alone cannot tell which of them answered).
    ready_log: str = ""
    # Shares its port with its siblings (SO_REUSEPORT): the port may already be ours.
    shared_port: bool = False
    # When the supervisor restarted it (monotonic seconds), for the crash-loop budget.
    restarts: list[float] = field(default_factory=list)
    gave_up: bool = False
    log_offset: int = 0


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


def model_id_of(path: Path) -> str:
    """The model_id Rasa reports for a trained model (its archive's metadata.json): gateways
    route only to replicas that serve this one (bot/replicas.py)."""
    import json
    import tarfile

    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.name.lstrip("/") == "metadata.json":
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return str(json.load(handle).get("model_id") or "")
    except (OSError, tarfile.TarError, ValueError):
        return ""
    return ""


def rasa_process(settings: Settings, *, name: str = "rasa", port: int | None = None) -> Process:
    """One Rasa server; with replicas, one per port (all on the same tracker and lock store)."""
    prepare_sqlite_tracker(settings.tracker_url)
    port = settings.rasa_port if port is None else port
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
            "TICKET_LOCK_LIFETIME": str(settings.lock_lifetime_s),
        }
    )
    argv = [
        str(rasa_bin(settings)), "run",
        "--model", str(model_path(settings)),
        "--endpoints", str(settings.endpoints_file),
        "--credentials", str(settings.root / "credentials.yml"),
        "--interface", settings.rasa_host, "--port", str(port),
    ]  # fmt: skip
    return Process(name, argv, f"http://{settings.rasa_host}:{port}/", env)


def actions_process(settings: Settings, *, name: str = "actions") -> Process:
    """One action server (parley/serve_actions.py); replicas share the actions port."""
    env = dict(os.environ)
    env.update({"SANIC_HOST": settings.actions_host, "PYTHONUNBUFFERED": "1"})
    argv = [sys.executable, "-m", "parley", "serve-actions"]
    base = f"http://{settings.actions_host}:{settings.actions_port}"
    return Process(name, argv, base + "/health", env, ready_log="Worker ready", shared_port=True)


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
    """Starts the processes, waits until each is ready, and (with `restart=True`, as
    `parley run` and the fault tests use it) starts again any that dies — the job a container
    orchestrator's restart policy does in production. A process that dies more than
    `RESTART_BUDGET` times within `RESTART_WINDOW_S` is given up on (a crash loop)."""

    RESTART_BUDGET = 5
    RESTART_WINDOW_S = 60.0

    def __init__(
        self,
        settings: Settings,
        processes: list[Process],
        log_dir: Path,
        *,
        restart: bool = False,
        echo=print,  # type: ignore[no-untyped-def]
    ) -> None:
        self.settings = settings
        self.processes = processes
        self.log_dir = log_dir
        self.restart = restart
        self.echo = echo
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()

    def _spawn(self, proc: Process) -> None:
        proc.log_path = self.log_dir / f"{proc.name}.log"
        log = open(proc.log_path, "ab")  # noqa: SIM115 - handed to the child
        proc.log_offset = log.tell()
        proc.popen = subprocess.Popen(
            proc.argv,
            cwd=self.settings.root,
            env={**proc.env, **_settings_env(self.settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def start(self, timeout_s: float = 240.0, echo=print) -> None:  # type: ignore[no-untyped-def]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports()
        self._stopping.clear()
        for proc in self.processes:
            self._spawn(proc)
            echo(f"  starting {proc.name:8} (pid {proc.popen.pid}, log {proc.log_path})")  # type: ignore[union-attr]
        self.wait_ready(timeout_s, echo)
        if self.restart and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
            self._watcher.start()

    def _check_ports(self) -> None:
        """Refuse to start on a port something else holds. Action servers bind theirs with
        SO_REUSEPORT, so a leftover action server from another run would otherwise silently
        share their traffic."""
        seen: set[tuple[str, int]] = set()
        for proc in self.processes:
            if not proc.health_url:
                continue
            url = httpx.URL(proc.health_url)
            key = (url.host, url.port or 80)
            if key in seen:
                continue
            seen.add(key)
            if not _port_free(*key):
                raise StartupError(
                    f"port {key[1]} on {key[0]} is in use ({proc.name}): is another Parley "
                    "running? Stop it or choose other ports (README, Configuration)."
                )

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            for proc in self.processes:
                if self._stopping.is_set():
                    return
                if proc.popen is None or proc.popen.poll() is None or proc.failed:
                    continue
                if proc.gave_up:
                    continue
                with self._lock:
                    if self._stopping.is_set():
                        return
                    now = time.monotonic()
                    proc.restarts = [t for t in proc.restarts if now - t < self.RESTART_WINDOW_S]
                    if len(proc.restarts) >= self.RESTART_BUDGET:
                        proc.gave_up = True
                        self.echo(f"  gave up  {proc.name:8} (died {len(proc.restarts) + 1} "
                                  f"times within {self.RESTART_WINDOW_S:.0f} s)")  # fmt: skip
                        continue
                    code = proc.popen.returncode
                    proc.restarts.append(now)
                    self._spawn(proc)
                    self.echo(f"  restart  {proc.name:8} (exited with {code}; "
                              f"pid {proc.popen.pid})")  # fmt: skip

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
                    if proc.ready_log and proc.ready_log not in self._new_log(proc):
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

    def ready(self, proc: Process) -> bool:
        """Whether `proc` (e.g. a restarted one) is running and ready again."""
        if proc.popen is None or proc.popen.poll() is not None:
            return False
        if proc.ready_log and proc.ready_log not in self._new_log(proc):
            return False
        if not proc.health_url:
            return True
        try:
            return httpx.get(proc.health_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    @staticmethod
    def _new_log(proc: Process) -> str:
        """What this run of the process wrote to its log (the log is appended to)."""
        if proc.log_path is None or not proc.log_path.exists():
            return ""
        with open(proc.log_path, "rb") as handle:
            handle.seek(proc.log_offset)
            return handle.read().decode(errors="replace")

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
        self._stopping.set()
        with self._lock:  # a restart in progress finishes first; none starts after this
            pass
        if self._watcher is not None:
            self._watcher.join(5)
            self._watcher = None
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

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one process's group (SIGKILL: the fault tests' kill -9; SIGSTOP/SIGCONT:
        a stalled process). With `restart=True` a killed process is started again."""
        for proc in self.processes:
            if proc.name == name and proc.popen and proc.popen.poll() is None:
                with self._lock:  # not while the watcher is restarting it
                    _signal_group(proc.popen, sig)
                    if sig == signal.SIGKILL:
                        proc.popen.wait(10)

    def exited(self) -> list[Process]:
        """Processes that stopped and are not (or no longer) being restarted."""
        return [
            p
            for p in self.processes
            if p.popen
            and p.popen.poll() is not None
            and not p.failed
            and (p.gave_up or not self.restart)
        ]

    def names(self, prefix: str) -> list[str]:
        """The processes called `prefix` or `prefix-N` (the replicas of one kind)."""
        return [p.name for p in self.processes if re.fullmatch(rf"{prefix}(-\d+)?", p.name)]

    def get(self, name: str) -> Process | None:
        return next((p for p in self.processes if p.name == name), None)


def _port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port (a plain bind, without SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


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
        "PARLEY_RASA_URLS": ",".join(settings.rasa_urls),
        "PARLEY_RASA_MODEL_ID": settings.rasa_model_id,
        "PARLEY_RASA_TIMEOUT_S": str(settings.rasa_timeout_s),
        "PARLEY_REPLICAS": str(settings.replicas),
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
