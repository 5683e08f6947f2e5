"""Process supervision details that the end-to-end tests rely on."""

from __future__ import annotations

import dataclasses
import signal
import socket
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from parley.settings import Settings
from parley.stack import build_supervisor, check_replicas, isolated_settings
from parley.supervisor import Process, StartupError, Supervisor, prepare_sqlite_tracker


def test_sqlite_tracker_store_is_put_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "tracker.db"
    prepare_sqlite_tracker(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_non_sqlite_tracker_is_left_alone(tmp_path: Path) -> None:
    prepare_sqlite_tracker("postgresql://postgres@127.0.0.1:5432/x")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- restarts and replicas


def _sleeper(name: str) -> Process:
    return Process(name, [sys.executable, "-c", "import time; time.sleep(120)"], "")


def _wait(predicate, timeout_s: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_killed_process_is_started_again(tmp_path: Path) -> None:
    events: list[str] = []
    sup = Supervisor(Settings(root=tmp_path, var_dir=tmp_path), [_sleeper("one")], tmp_path,
                     restart=True, echo=events.append)  # fmt: skip
    sup.start(echo=lambda _m: None)
    try:
        proc = sup.get("one")
        assert proc is not None and proc.popen is not None
        first = proc.popen.pid
        sup.kill("one")
        assert _wait(lambda: proc.popen is not None and proc.popen.pid != first)
        assert _wait(lambda: sup.ready(proc))
        assert any("restart  one" in e and "exited with -9" in e for e in events)
        assert sup.exited() == []  # being restarted: not reported as dead
    finally:
        sup.stop()
    assert proc.popen.poll() is not None  # stop() stops the restarted one too


def test_a_crash_loop_is_given_up(tmp_path: Path) -> None:
    crash = Process("crash", [sys.executable, "-c", "import time; time.sleep(0.3)"], "")
    events: list[str] = []
    sup = Supervisor(Settings(root=tmp_path, var_dir=tmp_path), [crash], tmp_path,
                     restart=True, echo=events.append)  # fmt: skip
    sup.start(echo=lambda _m: None)
    try:
        assert _wait(lambda: crash.gave_up, timeout_s=30)
        assert len(crash.restarts) == Supervisor.RESTART_BUDGET
        assert sup.exited() == [crash]  # `parley run` then stops with its log
        assert any("gave up  crash" in e for e in events)
    finally:
        sup.stop()


def test_without_restart_a_dead_process_is_reported(tmp_path: Path) -> None:
    sup = Supervisor(Settings(root=tmp_path, var_dir=tmp_path), [_sleeper("one")], tmp_path)
    sup.start(echo=lambda _m: None)
    try:
        sup.kill("one")
        assert [p.name for p in sup.exited()] == ["one"]
    finally:
        sup.stop()


def test_a_stopped_process_can_be_continued(tmp_path: Path) -> None:
    sup = Supervisor(Settings(root=tmp_path, var_dir=tmp_path), [_sleeper("one")], tmp_path,
                     restart=True)  # fmt: skip
    sup.start(echo=lambda _m: None)
    try:
        proc = sup.get("one")
        assert proc is not None and proc.popen is not None
        pid = proc.popen.pid
        sup.kill("one", signal.SIGSTOP)
        assert _wait(lambda: Path(f"/proc/{pid}/stat").read_text().split()[2] == "T")
        sup.kill("one", signal.SIGCONT)
        assert _wait(lambda: Path(f"/proc/{pid}/stat").read_text().split()[2] != "T")
        assert proc.popen.pid == pid and proc.restarts == []
    finally:
        sup.stop()


def test_start_refuses_a_port_that_is_taken(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = Process("web", [sys.executable, "-c", "pass"], f"http://127.0.0.1:{port}/healthz")
        sup = Supervisor(Settings(root=tmp_path, var_dir=tmp_path), [proc], tmp_path)
        with pytest.raises(StartupError, match=f"port {port} on 127.0.0.1 is in use"):
            sup.start(echo=lambda _m: None)
        assert proc.popen is None  # nothing was started


def test_replicas_need_the_production_profile(tmp_path: Path) -> None:
    base = Settings(root=tmp_path, var_dir=tmp_path)
    with pytest.raises(ValueError, match="needs --profile prod"):
        check_replicas(dataclasses.replace(base, replicas=2))
    with pytest.raises(ValueError, match="PostgreSQL DATABASE_URL"):
        check_replicas(dataclasses.replace(base, replicas=2, profile="prod"))
    for bad in (0, -1, 17):
        with pytest.raises(ValueError, match="between 1 and 16"):
            check_replicas(dataclasses.replace(base, replicas=bad))
    check_replicas(base)  # one replica, embedded: fine


def test_a_replicated_stack_has_one_rasa_port_each_and_one_shared_actions_port(
    tmp_path: Path,
) -> None:
    settings = isolated_settings(
        Settings(root=Path(__file__).resolve().parents[1]),
        tmp_path,
        profile="prod",
        replicas=3,
        database_url="postgresql://postgres@127.0.0.1:5432/unused",
    )
    sup = build_supervisor(settings, web=True)
    names = [p.name for p in sup.processes]
    assert names[:6] == ["actions-1", "actions-2", "actions-3", "rasa-1", "rasa-2", "rasa-3"]
    assert "web" in names and "worker" in names
    rasa_ports = {p.health_url for p in sup.processes if p.name.startswith("rasa-")}
    assert len(rasa_ports) == 3
    actions = [p for p in sup.processes if p.name.startswith("actions-")]
    assert {p.health_url for p in actions} == {actions[0].health_url}
    assert all(p.shared_port and p.argv[-1] == "serve-actions" for p in actions)
    # Every child is told every replica and the model to expect.
    env = sup.settings
    assert len(env.rasa_urls) == 3 and env.rasa_model_id
