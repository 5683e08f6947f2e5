"""A real CalDAV server (Radicale) for the scheduling tests, on a free loopback port.

Why a real server instead of a fake: CalDAV clients and servers disagree in many small ways
(URLs of new objects, UID conflicts, how time ranges match floating times), and those are
exactly the places a fake would agree with whatever the code under test assumes.

`running_radicale(folder)` starts `python -m radicale` with its own config file (so no system
or user config leaks in), storage under `folder`, and either no authentication (any user name
is accepted and owns `/<user>/`) or an htpasswd file in plain text. It waits until the port
answers and stops the process afterwards. The conftest fixtures `radicale` / `radicale_url`
wrap it per test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import caldav

START_TIMEOUT_S = 20.0


@dataclass
class RadicaleServer:
    """A running Radicale: `url` is the server root, e.g. http://127.0.0.1:40123/."""

    url: str
    port: int
    folder: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self) -> None:
        """Stop the server (idempotent); the port then refuses connections."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _write_config(folder: Path, port: int, users: dict[str, str] | None) -> Path:
    storage = folder / "collections"
    lines = [
        "[server]",
        f"hosts = 127.0.0.1:{port}",
        "delay_on_error = 0",
        "[auth]",
        "delay = 0",
    ]
    if users:
        htpasswd = folder / "htpasswd"
        htpasswd.write_text("".join(f"{user}:{password}\n" for user, password in users.items()))
        lines += [
            "type = htpasswd",
            f"htpasswd_filename = {htpasswd}",
            "htpasswd_encryption = plain",
        ]
    else:
        lines.append("type = none")
    lines += [
        "[rights]",
        "type = owner_only",
        "[storage]",
        f"filesystem_folder = {storage}",
        "[logging]",
        "level = warning",
        "mask_passwords = True",
    ]
    config = folder / "radicale.conf"
    config.write_text("\n".join(lines) + "\n")
    return config


def start_radicale(folder: Path, *, users: dict[str, str] | None = None) -> RadicaleServer:
    """Start Radicale with storage in `folder` (created); `users` turns on htpasswd (plain)
    authentication with those user → password pairs. Returns once the port answers."""
    folder.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        config = _write_config(folder, port, users)
        log_path = folder / "radicale.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RADICALE_")}
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=folder,
            )
        server = RadicaleServer(
            url=f"http://127.0.0.1:{port}/",
            port=port,
            folder=folder,
            process=process,
            log_path=log_path,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(port):
                return server
            time.sleep(0.05)
        server.stop()
        last_error = server.log()
    raise RuntimeError(f"Radicale did not start:\n{last_error[-2000:]}")


@contextmanager
def running_radicale(
    folder: Path, *, users: dict[str, str] | None = None
) -> Iterator[RadicaleServer]:
    """`start_radicale` as a context manager that always stops the server."""
    server = start_radicale(folder, users=users)
    try:
        yield server
    finally:
        server.stop()


def make_calendar(
    server_url: str,
    *,
    user: str = "alice",
    password: str = "x",
    name: str = "Work",
    cal_id: str | None = None,
) -> str:
    """Create a calendar (MKCALENDAR) for `user` and return its collection URL."""
    with caldav.DAVClient(
        url=server_url, username=user, password=password, timeout=10, enable_rfc6764=False
    ) as client:
        calendar = client.principal().make_calendar(name=name, cal_id=cal_id)
        return str(calendar.url)


def add_raw_event(calendar_url: str, ics: str, *, user: str = "alice", password: str = "x") -> None:
    """Store iCalendar text as-is (no SEQUENCE bump) in a calendar: test data set-up."""
    with caldav.DAVClient(
        url=calendar_url, username=user, password=password, timeout=10, enable_rfc6764=False
    ) as client:
        client.calendar(url=calendar_url).add_event(ics, increase_seqno=False)


def event_uids(calendar_url: str, *, user: str = "alice", password: str = "x") -> list[str]:
    """The UIDs of all events stored in a calendar (one per stored object), sorted."""
    with caldav.DAVClient(
        url=calendar_url, username=user, password=password, timeout=10, enable_rfc6764=False
    ) as client:
        events = client.calendar(url=calendar_url).get_events()
        return sorted(str(e.icalendar_component.get("UID")) for e in events)


def event_texts(calendar_url: str, *, user: str = "alice", password: str = "x") -> list[str]:
    """The stored iCalendar text of every object in a calendar."""
    with caldav.DAVClient(
        url=calendar_url, username=user, password=password, timeout=10, enable_rfc6764=False
    ) as client:
        return [str(e.data) for e in client.calendar(url=calendar_url).get_events()]
