"""Run one action-server process on a port that several processes share (`parley serve-actions`).

Why not `python -m rasa_sdk`: with `--replicas N` we run N independent action servers, so a
killed one takes down only its own in-flight calls and is restarted on its own. They listen
on ONE address with SO_REUSEPORT, and the kernel spreads Rasa's connections over them — the
same job a Kubernetes Service does for the action-server Deployment (deploy/k8s). Rasa keeps
one action endpoint URL, and no proxy process sits in the path of every turn.

The Sanic app itself is rasa-sdk's (`rasa_sdk.endpoint.create_app`), unchanged: the same
/webhook and /health, the same request handling as `python -m rasa_sdk`.
"""

from __future__ import annotations

import logging
import socket

ACTIONS_PACKAGE = "actions"
BACKLOG = 1024


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket that other processes may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def serve(host: str, port: int, package: str = ACTIONS_PACKAGE) -> None:
    """Serve the actions in `package` until SIGINT/SIGTERM."""
    from rasa_sdk import utils
    from rasa_sdk.endpoint import DEFAULT_KEEP_ALIVE_TIMEOUT, create_app
    from rasa_sdk.executor import ActionExecutor

    utils.configure_colored_logging("INFO")
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    executor = ActionExecutor()
    executor.register_package(package)
    app = create_app(executor)
    app.config.KEEP_ALIVE_TIMEOUT = DEFAULT_KEEP_ALIVE_TIMEOUT
    sock = shared_socket(host, port)
    logging.getLogger("parley.actions").info("action server listening (shared port %d)", port)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
