"""The deployment files (deploy/): Compose and kustomize accept them, and they agree with the
code they deploy.

There is no Docker engine and no cluster here, so nothing is started. What is checked is what
can go wrong without anyone noticing until a deploy: Compose's own parser (`config`) and
kustomize's renderer accept the files; every setting they pass is one Parley (or Rasa's
endpoints.prod.yml) actually reads; gateways list exactly the Rasa replicas that exist, at
the port Rasa listens on; every command a container runs parses with Parley's CLI; every file
a Dockerfile copies exists and reaches the build context; no secret is written in them; and
the image health check script tells a serving process from a missing one.
"""

from __future__ import annotations

import base64
import fnmatch
import http.server
import importlib.util
import json
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer.main
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
K8S = DEPLOY / "k8s"
DOCKERFILES = sorted(
    p for p in (DEPLOY / "docker").glob("Dockerfile.*") if p.suffix != ".dockerignore"
)
SECRET_NAMES = ("PARLEY_MASTER_KEY", "PARLEY_TRACKER_KEY", "POSTGRES_PASSWORD")
# Set by the images / Rasa itself rather than by Parley's settings (documented in deploy/).
RASA_OWN_ENV = {"RASA_TELEMETRY_ENABLED", "TICKET_LOCK_LIFETIME"}
BASE64_KEY = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=")


# ---------------------------------------------------------------- what the code reads


def settings_env_names() -> set[str]:
    """Every variable parley/settings.py reads (`_env("X", …)` and `os.environ.get("X", …)`)."""
    text = (ROOT / "parley" / "settings.py").read_text(encoding="utf-8")
    names = set(re.findall(r"""_env\(\s*["']([A-Z0-9_]+)["']""", text))
    names |= set(re.findall(r"""os\.environ\.get\(\s*["']([A-Z0-9_]+)["']""", text))
    return names


def rasa_env_names() -> set[str]:
    """What a Rasa container must be given: endpoints.prod.yml's `${X}` and rasa_ext's key."""
    endpoints = (ROOT / "endpoints.prod.yml").read_text(encoding="utf-8")
    names = set(re.findall(r"\$\{([A-Z0-9_]+)\}", endpoints))
    store = (ROOT / "rasa_ext" / "encrypted_tracker_store.py").read_text(encoding="utf-8")
    match = re.search(r"""^KEY_ENV\s*=\s*["']([A-Z0-9_]+)["']""", store, re.MULTILINE)
    assert match, "rasa_ext/encrypted_tracker_store.py no longer names its key variable"
    return names | {match.group(1)}


def check_env_names(where: str, names: set[str]) -> None:
    known = settings_env_names() | rasa_env_names() | RASA_OWN_ENV
    unknown = sorted(n for n in names if n not in known and not n.startswith("POSTGRES_"))
    assert not unknown, f"{where}: set but read by nothing: {unknown}"


# ---------------------------------------------------------------- Dockerfiles


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def stages(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage (`FROM … AS name`; an unnamed last stage is "")."""
    result: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for word, rest in dockerfile_instructions(path):
        if word == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else ""
            current = result.setdefault(name, [])
            base = parts[0]
            if base in result and base != name:  # FROM another stage: inherit its settings
                current.extend(result[base])
            continue
        current.append((word, rest))
    return result


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def dockerignore_admits(ignore_file: Path, rel: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    patterns = []
    for raw in ignore_file.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append((line.startswith("!"), line.lstrip("!").rstrip("/")))
    parts = Path(rel).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    admitted = True
    for negated, pattern in patterns:
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            admitted = negated
    return admitted


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_every_copy_source_exists_and_reaches_the_build_context(dockerfile: Path) -> None:
    ignore_file = dockerfile.with_name(dockerfile.name + ".dockerignore")
    assert ignore_file.is_file(), f"{dockerfile.name} has no {ignore_file.name}"
    copies = [rest for word, rest in dockerfile_instructions(dockerfile) if word == "COPY"]
    assert copies
    for rest in copies:
        args = [a for a in shlex.split(rest) if not a.startswith("--")]
        assert "--from" not in rest, rest
        *sources, _target = args
        for source in sources:
            assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source}: no such path"
            assert dockerignore_admits(ignore_file, source), (
                f"{dockerfile.name}: COPY {source} is excluded by {ignore_file.name}"
            )
    # …and what must never enter an image is kept out of the context.
    for private in (".venv", ".venv-rasa", "var", "models", ".env", "var/master.key"):
        assert not dockerignore_admits(ignore_file, private), f"{private} reaches the build"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_images_run_as_a_non_root_user_with_health_checks(dockerfile: Path) -> None:
    all_stages = stages(dockerfile)
    bases = {
        rest.split()[0] for word, rest in dockerfile_instructions(dockerfile) if word == "FROM"
    }
    # Every image one can build (a stage no other stage builds on), with what it inherits.
    for name, instructions in ((n, i) for n, i in all_stages.items() if n not in bases):
        users = [rest for word, rest in instructions if word == "USER"]
        assert users, f"{dockerfile.name} stage {name!r} runs as root"
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"stage {name!r}: USER {users[-1]}"
        checks = [rest for word, rest in instructions if word == "HEALTHCHECK"]
        assert checks and checks[-1] != "NONE", f"{dockerfile.name} stage {name!r}"
        for word, rest in instructions:
            assert word not in ("ARG", "ENV") or not any(s in rest for s in SECRET_NAMES), (
                f"{dockerfile.name} bakes a secret into the image: {word} {rest}"
            )


# ---------------------------------------------------------------- commands


def cli_accepts(argv: list[str]) -> None:
    """`parley <argv>` resolves to a command whose parameters parse (nothing is run)."""
    from parley.cli import app

    # A group (Typer's own or click's) is whatever has subcommands.
    command: Any = typer.main.get_command(app)
    rest = list(argv)
    while hasattr(command, "commands") and rest and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    assert not hasattr(command, "commands"), f"parley {' '.join(argv)}: not a command"
    command.make_context("parley", rest)


def parley_argv(command: list[str]) -> list[str] | None:
    return command[1:] if command and command[0] == "parley" else None


def test_every_parley_command_in_the_deploy_files_exists(compose: dict[str, Any]) -> None:
    commands: list[list[str]] = []
    for dockerfile in DOCKERFILES:
        for word, rest in dockerfile_instructions(dockerfile):
            if word == "CMD":
                commands.append(exec_form(rest))
    for service in compose["config"]["services"].values():
        if service.get("command"):
            commands.append(list(service["command"]))
    for container in k8s_containers(k8s_render()):
        commands.append(list(container.get("command") or []))
    argvs = [a for a in map(parley_argv, commands) if a is not None]
    assert {a[0] for a in argvs} >= {"serve-actions", "serve-web", "worker", "jobs"}
    for argv in argvs:
        cli_accepts(argv)
    # The jobs directory the migration imports is the one copied into the image.
    assert ["jobs", "load", "jobs"] in argvs and (ROOT / "jobs").is_dir()


# ---------------------------------------------------------------- Compose


@pytest.fixture(scope="module")
def compose_cmd() -> list[str]:
    """`docker compose` when the plugin works, else `docker-compose` (installed if missing)."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure-compose.sh")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    plugin = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return ["docker", "compose"] if plugin.returncode == 0 else ["docker-compose"]


def throwaway_secrets() -> dict[str, str]:
    return {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "PARLEY_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "PARLEY_TRACKER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def run_compose(
    compose_cmd: list[str], tmp: Path, env_vars: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    # An empty env file and a clean environment: neither a developer's deploy/.env nor this
    # process's variables (the test session sets PARLEY_MASTER_KEY) can fill a gap.
    empty = tmp / "empty.env"
    empty.write_text("")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp), **env_vars}
    return subprocess.run(
        [*compose_cmd, "--env-file", str(empty), "-f", str(COMPOSE_FILE), *args],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def compose(compose_cmd: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The resolved compose file (anchors merged, variables filled in) and the throw-away
    secrets it was resolved with."""
    tmp = tmp_path_factory.mktemp("compose")
    values = throwaway_secrets()
    done = run_compose(compose_cmd, tmp, values, "config")
    assert done.returncode == 0, done.stderr
    return {"config": yaml.safe_load(done.stdout), "secrets": values}


def test_compose_accepts_the_file_with_every_client(compose_cmd: list[str], tmp_path: Path) -> None:
    clients = [compose_cmd]
    for other in (["docker", "compose"], ["docker-compose"]):
        if other != compose_cmd and subprocess.run([*other, "version"], capture_output=True,
                                                   check=False).returncode == 0:  # fmt: skip
            clients.append(other)
    for client in clients:
        done = run_compose(client, tmp_path, throwaway_secrets(), "config", "-q")
        assert done.returncode == 0, f"{' '.join(client)}: {done.stderr}"


@pytest.mark.parametrize("missing", SECRET_NAMES)
def test_compose_refuses_to_start_without_each_secret(
    compose_cmd: list[str], tmp_path: Path, missing: str
) -> None:
    values = throwaway_secrets()
    del values[missing]
    done = run_compose(compose_cmd, tmp_path, values, "config", "-q")
    assert done.returncode != 0
    assert missing in done.stderr


def test_compose_services_and_how_they_reach_each_other(compose: dict[str, Any]) -> None:
    services = compose["config"]["services"]
    rasa = sorted(n for n in services if re.fullmatch(r"rasa-\d+", n))
    assert len(rasa) >= 2
    assert {"postgres", "redis", "migrate", "actions", "web", "worker"} <= set(services)

    # Gateways hash over exactly the rasa-N services, at the port Rasa listens on.
    rasa_port = rasa_listen_port(services[rasa[0]])
    parley_services = [n for n, s in services.items() if "DATABASE_URL" in env_of(s)]
    assert {"migrate", "actions", "web", "worker"} <= set(parley_services)
    for name in parley_services:
        urls = [urlsplit(u) for u in env_of(services[name])["PARLEY_RASA_URLS"].split(",")]
        assert sorted(u.hostname for u in urls) == rasa, name
        assert {u.port for u in urls} == {rasa_port}, name

    # Every Rasa replica gets what endpoints.prod.yml and rasa_ext read, and never the master key.
    for name in rasa:
        env = env_of(services[name])
        assert rasa_env_names() <= set(env), name
        assert "PARLEY_MASTER_KEY" not in env and "DATABASE_URL" not in env
        assert env["RASA_TELEMETRY_ENABLED"] == "false"
        endpoint = urlsplit(env["PARLEY_ACTION_ENDPOINT"])
        actions = services[endpoint.hostname]
        assert str(endpoint.port) == env_of(actions)["PARLEY_ACTIONS_PORT"]
        assert env_of(actions)["PARLEY_ACTIONS_HOST"] == "0.0.0.0"
        assert services[name]["build"]["dockerfile"].endswith("Dockerfile.rasa")

    # The two databases live on the compose postgres, and the app and Rasa agree on the tracker.
    tracker = {env_of(services[n])["PARLEY_TRACKER_URL"] for n in [*rasa, *parley_services]}
    assert len(tracker) == 1
    assert urlsplit(tracker.pop()).hostname == "postgres"
    assert urlsplit(env_of(services["web"])["DATABASE_URL"]).hostname == "postgres"
    init_sql = DEPLOY / "postgres" / "init-rasa-tracker.sql"
    assert "CREATE DATABASE rasa_tracker" in init_sql.read_text(encoding="utf-8")

    # Only the web gateway is reachable from outside.
    assert [n for n, s in services.items() if s.get("ports")] == ["web"]
    web = env_of(services["web"])
    assert web["PARLEY_WEB_HOST"] == "0.0.0.0"

    # Start order: everything that uses the database waits for the migration to succeed,
    # and every service waited on as healthy has a health check.
    for name in ("actions", "web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    for name, service in services.items():
        for dep, how in (service.get("depends_on") or {}).items():
            if how.get("condition") == "service_healthy":
                assert has_healthcheck(services[dep]), f"{name} waits for {dep}'s health"
    assert services["actions"]["deploy"]["replicas"] >= 2


def test_compose_gets_secrets_only_from_the_environment(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in SECRET_NAMES:
        for line in text.splitlines():
            if re.match(rf"\s*{name}\s*:", line):
                assert re.search(rf"\$\{{{name}:\?", line), line
    # The values handed in arrive where they are needed, and the master key only there.
    values = compose["secrets"]
    services = compose["config"]["services"]
    holders = {n for n, s in services.items() if values["PARLEY_MASTER_KEY"] in env_of(s).values()}
    assert holders == {"migrate", "actions", "web", "worker"}
    tracker_holders = {
        n for n, s in services.items() if values["PARLEY_TRACKER_KEY"] in env_of(s).values()
    }
    assert tracker_holders == {n for n in services if n.startswith("rasa-")}


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # KEY=VALUE form
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def rasa_listen_port(service: dict[str, Any]) -> int:
    command = service.get("command") or exec_form(
        [rest for word, rest in dockerfile_instructions(DEPLOY / "docker" / "Dockerfile.rasa")
         if word == "CMD"][-1]
    )  # fmt: skip
    return int(command[command.index("--port") + 1])


def has_healthcheck(service: dict[str, Any]) -> bool:
    if service.get("healthcheck") and not service["healthcheck"].get("disable"):
        return True
    build = service.get("build")
    if not build:
        return False
    dockerfile = ROOT / build["dockerfile"]
    stage = stages(dockerfile)[build.get("target", "")]
    return any(word == "HEALTHCHECK" and rest != "NONE" for word, rest in stage)


def test_compose_build_targets_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["config"]["services"].items():
        build = service.get("build")
        if not build:
            continue
        dockerfile = ROOT / build["dockerfile"]
        assert dockerfile.is_file(), name
        assert build.get("target", "") in stages(dockerfile), name


# ---------------------------------------------------------------- Kubernetes


_k8s_cache: list[dict[str, Any]] = []


def k8s_render() -> list[dict[str, Any]]:
    if not _k8s_cache:
        done = subprocess.run(
            ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        _k8s_cache.extend(d for d in yaml.safe_load_all(done.stdout) if d)
    return _k8s_cache


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
        return doc["spec"]["template"]["spec"]
    return None


def k8s_containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for d in docs if (spec := pod_spec(d)) for c in spec["containers"]]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def secret_template() -> dict[str, dict[str, str]]:
    docs = list(yaml.safe_load_all((K8S / "secret.example.yaml").read_text(encoding="utf-8")))
    return {d["metadata"]["name"]: d["stringData"] for d in docs if d}


def test_kustomize_renders_the_expected_objects() -> None:
    docs = k8s_render()
    kinds = Counter(d["kind"] for d in docs)
    assert kinds == Counter(
        {"Namespace": 1, "ConfigMap": 1, "Service": 3, "PersistentVolumeClaim": 1,
         "Deployment": 3, "StatefulSet": 1, "Job": 1}
    )  # fmt: skip
    # Secrets are created out of band: applying the directory never overwrites them.
    assert "Secret" not in kinds
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {"parley"}
    images = {c["image"].split(":")[0] for c in k8s_containers(docs)}
    assert images == {"parley-rasa", "parley-actions", "parley-gateway", "parley-worker"}


def test_k8s_gateways_list_every_rasa_pod_by_its_stable_name() -> None:
    docs = k8s_render()
    config = by_kind(docs, "ConfigMap")["parley-config"]["data"]
    sts = by_kind(docs, "StatefulSet")["rasa"]
    headless = by_kind(docs, "Service")[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    pod_labels = sts["spec"]["template"]["metadata"]["labels"]
    assert headless["spec"]["selector"].items() <= pod_labels.items()
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    port = int(args[args.index("--port") + 1])
    expected = [
        f"http://{sts['metadata']['name']}-{i}.{headless['metadata']['name']}:{port}"
        for i in range(sts["spec"]["replicas"])
    ]
    assert config["PARLEY_RASA_URLS"].split(",") == expected
    assert sts["spec"]["replicas"] >= 2
    # The image's default command, the StatefulSet and the Helm alternative run Rasa alike.
    dockerfile_cmd = exec_form(
        [r for w, r in dockerfile_instructions(DEPLOY / "docker" / "Dockerfile.rasa")
         if w == "CMD"][-1]
    )  # fmt: skip
    values = yaml.safe_load((K8S / "rasa-values.yaml").read_text(encoding="utf-8"))
    assert args == dockerfile_cmd == values["args"]
    assert "endpoints.prod.yml" in args and "credentials.yml" in args


def test_k8s_services_select_pods_and_ports_that_exist() -> None:
    docs = k8s_render()
    workloads = [d for d in docs if pod_spec(d)]
    for name, service in by_kind(docs, "Service").items():
        matching = [
            w for w in workloads
            if service["spec"]["selector"].items()
            <= w["spec"]["template"]["metadata"]["labels"].items()
        ]  # fmt: skip
        assert len(matching) == 1, name
        port_names = {
            p["name"]
            for c in pod_spec(matching[0])["containers"]
            for p in c.get("ports", [])  # type: ignore[index]
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, name
    # Rasa reaches the action servers through their Service.
    sts = by_kind(docs, "StatefulSet")["rasa"]
    env = {e["name"]: e for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    endpoint = urlsplit(env["PARLEY_ACTION_ENDPOINT"]["value"])
    actions = by_kind(docs, "Service")[endpoint.hostname]
    assert endpoint.port in {p["port"] for p in actions["spec"]["ports"]}


def test_k8s_settings_secrets_and_security() -> None:
    docs = k8s_render()
    config = by_kind(docs, "ConfigMap")["parley-config"]["data"]
    template = secret_template()
    assert all(v == "" for keys in template.values() for v in keys.values()), "values in template"
    names: set[str] = set(config) | {k for keys in template.values() for k in keys}
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        assert spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            for ref in container.get("envFrom", []):
                if "secretRef" in ref:
                    assert ref["secretRef"]["name"] in template
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] == "parley-config"
            for item in container.get("env", []):
                names.add(item["name"])
                source = item.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["key"] in template[ref["name"]], ref
                if "configMapKeyRef" in source:
                    assert source["configMapKeyRef"]["key"] in config
    check_env_names("deploy/k8s", names)
    # Rasa pods get what Rasa reads, the tracker subkey, and never the master key.
    sts = by_kind(docs, "StatefulSet")["rasa"]
    rasa_container = sts["spec"]["template"]["spec"]["containers"][0]
    rasa_env = {e["name"] for e in rasa_container["env"]}
    assert rasa_env_names() <= rasa_env
    assert "envFrom" not in rasa_container and "PARLEY_MASTER_KEY" not in template["parley-rasa"]
    values = yaml.safe_load((K8S / "rasa-values.yaml").read_text(encoding="utf-8"))
    assert {e["name"] for e in values["extraEnv"]} == rasa_env
    assert values["applicationSettings"]["telemetry"]["enabled"] is False
    assert config["RASA_TELEMETRY_ENABLED"] == "false"


def test_compose_env_names_are_read_by_parley_or_rasa(compose: dict[str, Any]) -> None:
    names: set[str] = set()
    for service in compose["config"]["services"].values():
        names |= set(env_of(service))
    assert "DATABASE_URL" in names and "PARLEY_RASA_URLS" in names
    check_env_names("deploy/docker-compose.yml", names)


# ---------------------------------------------------------------- secrets


def test_no_secret_value_in_any_deploy_file() -> None:
    # deploy/.env is the operator's own filled-in copy (git-ignored): the one place they belong.
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p != DEPLOY / ".env"]
    assert len(files) > 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not BASE64_KEY.search(text), f"{path}: looks like a 32-byte key"
        for name in SECRET_NAMES:
            for match in re.finditer(rf"^[ \t]*{name}[ \t]*[=:][ \t]*(\S.*)?$", text, re.MULTILINE):
                value = (match.group(1) or "").strip().strip("\"'")
                # Empty, or filled from elsewhere: `${VAR:?…}` (Compose) or `$(command)` (docs).
                assert value == "" or value.startswith(("${", "$(")), f"{path}: {name} = value"
    master = ROOT / "var" / "master.key"
    if master.is_file():
        key = master.read_text(encoding="utf-8").strip()
        assert all(key not in p.read_text(encoding="utf-8") for p in files)


# ---------------------------------------------------------------- the health check script


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "parley_deploy_healthcheck", DEPLOY / "docker" / "healthcheck.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path in ("/health", "/healthz")
        self.send_response(200 if ok else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}' if ok else b"")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_healthcheck(kind: str, tmp_path: Path, **env: str) -> int:
    done = subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "healthcheck.py"), kind],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(tmp_path), **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode


@pytest.mark.parametrize(
    ("kind", "host_var", "port_var"),
    [
        ("actions", "PARLEY_ACTIONS_HOST", "PARLEY_ACTIONS_PORT"),
        ("web", "PARLEY_WEB_HOST", "PARLEY_WEB_PORT"),
        ("telegram", "PARLEY_TELEGRAM_HOST", "PARLEY_TELEGRAM_PORT"),
        ("slack", "PARLEY_SLACK_HOST", "PARLEY_SLACK_PORT"),
        ("voice", "PARLEY_VOICE_HOST", "PARLEY_VOICE_PORT"),
    ],
)
def test_healthcheck_follows_the_settings_port(
    health_server: int, tmp_path: Path, kind: str, host_var: str, port_var: str
) -> None:
    # Bound to every interface as in a container, checked over loopback.
    up = run_healthcheck(kind, tmp_path, **{host_var: "0.0.0.0", port_var: str(health_server)})
    assert up == 0
    down = run_healthcheck(kind, tmp_path, **{host_var: "0.0.0.0", port_var: str(closed_port())})
    assert down == 1


def test_healthcheck_worker_checks_its_database(tmp_path: Path, pg_database: str) -> None:
    assert run_healthcheck("worker", tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/p.db") == 0
    assert run_healthcheck("worker", tmp_path, DATABASE_URL=pg_database) == 0
    refused = f"postgresql://parley@127.0.0.1:{closed_port()}/parley"
    assert run_healthcheck("worker", tmp_path, DATABASE_URL=refused) == 1


def test_healthcheck_knows_which_gateway_a_container_runs() -> None:
    module = load_healthcheck()
    assert module.gateway_kind(["/usr/local/bin/python", "/usr/local/bin/parley",
                                "serve-telegram"]) == "telegram"  # fmt: skip
    assert module.gateway_kind(["parley", "serve-voice"]) == "voice"
    assert module.gateway_kind(["parley", "serve-actions"]) == ""
    assert module.gateway_kind([]) == ""
    assert module.local_host("0.0.0.0") == "127.0.0.1"
    assert module.local_host("10.0.0.7") == "10.0.0.7"
    with pytest.raises(SystemExit):
        module.check("nonsense")
    # Every kind the images and manifests ask for is one the script knows.
    used = []
    for dockerfile in DOCKERFILES:
        for word, rest in dockerfile_instructions(dockerfile):
            if word == "HEALTHCHECK" and "parley-healthcheck" in rest:
                used.append(exec_form(rest.split("CMD", 1)[1].strip())[1])
    for container in k8s_containers(k8s_render()):
        probe = container.get("livenessProbe", {}).get("exec", {}).get("command", [])
        if probe[:1] == ["parley-healthcheck"]:
            used.append(probe[1])
    assert set(used) >= {"actions", "gateway", "worker"}
    assert set(used) <= {"actions", "gateway", "worker", *module.GATEWAYS}
